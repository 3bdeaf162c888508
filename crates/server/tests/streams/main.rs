//! The live streams, over a real socket with the server's own `run` (so shutdown is the
//! real one): Server-Sent Events of ref and repository events and the WebSocket live log and
//! blame.

mod common;
mod live;
mod sse;
