//! Integration tests of the gRPC door: the real server on a socket, clients nobody here wrote
//! (Python grpcio with stubs from grpcio-tools, grpcio-reflection, grpcio-status), tonic's
//! generated client, and the REST door for comparison.

mod common;

mod coverage;
mod deadline;
mod errors;
mod health;
mod parity;
mod python;
mod stream_tree;
mod web;
