//! Integration tests of gitapi-cache; modules mirror `src/`.

// Tests may unwrap through `expect`; the workspace lint is about library code.
#![allow(clippy::unwrap_used)]

mod memory;
mod redis;
mod store;
mod support;
