//! Integration tests of the GraphQL door: the real server on a socket, queries and mutations
//! over HTTP, the REST door for comparison, clients nobody here wrote (Python gql), and the
//! schema held to the service's operations.

mod common;

mod coverage;
mod errors;
mod fuzz;
mod js_clients;
mod limits;
mod loader;
mod parity;
mod playground;
mod python;
mod queries;
mod subscriptions;
