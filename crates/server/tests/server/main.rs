//! Integration tests of the gitapi server: every route in process, hostile input, protected
//! branches, auth, the OpenAPI document, and the real binary on a socket.

#[path = "../support/announce.rs"]
mod announce;
mod common;

mod archive;
mod auth;
mod binary;
mod cache;
mod cache_crash;
mod cluster;
mod empty;
mod etags;
mod explorer;
mod hostile;
mod http_limits;
mod memory;
mod openapi;
mod otlp;
mod protect;
mod routes;
mod schemathesis;
mod secrets;
mod switch;
mod telemetry;
mod tls;
mod traps;
