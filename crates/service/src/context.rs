//! The call context: who calls, through which door, under which deadline, for which request.
//!
//! Every service operation takes a [`CallContext`] instead of a bare [`Principal`], so the
//! funnel can authorize, log, trace and bound the work without each door passing the same
//! four things separately.

use std::fmt;
use std::time::Duration;

use gitapi_core::Deadline;

use crate::auth::Principal;

/// Which door a call came through, for spans and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    /// The REST API.
    Rest,
    /// The GraphQL API.
    GraphQl,
    /// The gRPC API.
    Grpc,
    /// Live streams (SSE, WebSocket).
    Stream,
    /// Git's Smart HTTP protocol.
    SmartHttp,
    /// The server itself or a test, not a client.
    Internal,
}

impl Door {
    /// The label used in spans and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::GraphQl => "graphql",
            Self::Grpc => "grpc",
            Self::Stream => "stream",
            Self::SmartHttp => "smart_http",
            Self::Internal => "internal",
        }
    }
}

/// An id that ties the log lines and spans of one request together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// A new process-unique id.
    pub fn generate() -> Self {
        Self(gitapi_telemetry::http::new_request_id())
    }

    /// A client's id (an `X-Request-Id` header) when it is short printable ASCII, else a new
    /// one: a client string goes into logs, so it must not forge lines or grow without bound.
    pub fn from_client(id: Option<&str>) -> Self {
        match id {
            Some(s) if gitapi_telemetry::http::is_safe_request_id(s) => Self(s.to_owned()),
            _ => Self::generate(),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who calls, through which door, with which deadline and request id.
#[derive(Debug, Clone)]
pub struct CallContext {
    principal: Principal,
    door: Door,
    request_id: RequestId,
    deadline: Deadline,
}

impl CallContext {
    /// A call by `principal` through `door`, with a new request id and no deadline of its own
    /// (the service's limits still apply).
    pub fn new(principal: Principal, door: Door) -> Self {
        Self {
            principal,
            door,
            request_id: RequestId::generate(),
            deadline: Deadline::NONE,
        }
    }

    /// The operator's own authority, for the composition root (a configuration reload): full
    /// access, door [`Door::Internal`]. Doors never use it; they authenticate their caller.
    pub fn operator() -> Self {
        Self::new(Principal::Open, Door::Internal)
    }

    /// The same caller and request id, through another door (the REST door's event streams
    /// are [`Door::Stream`]).
    pub fn through(mut self, door: Door) -> Self {
        self.door = door;
        self
    }

    /// The same call with a given request id.
    pub fn with_request_id(mut self, id: RequestId) -> Self {
        self.request_id = id;
        self
    }

    /// The same call with the caller's own deadline (a gRPC deadline, a client timeout); the
    /// service uses the earlier of it and its own.
    pub fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    /// The same call with a deadline `d` from now.
    pub fn with_timeout(self, d: Duration) -> Self {
        self.with_deadline(Deadline::after(d))
    }

    /// Who calls.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Through which door.
    pub fn door(&self) -> Door {
        self.door
    }

    /// The request id.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The caller's own deadline ([`Deadline::NONE`] when it set none).
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_kept_only_when_safe() {
        assert_eq!(RequestId::from_client(Some("abc-1")).as_str(), "abc-1");
        for bad in ["", "a b", "x\ny", &"z".repeat(200)] {
            assert_ne!(RequestId::from_client(Some(bad)).as_str(), bad);
        }
        assert_ne!(RequestId::generate(), RequestId::generate());
    }
}
