//! Test support: a CGI bridge that serves `git http-backend` on 127.0.0.1, and hermetic
//! repositories built with the git CLI.

pub mod fixtures;
pub mod server;

pub use fixtures::*;
pub use server::*;
