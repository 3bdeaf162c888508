//! The Redis level (filled in below).
