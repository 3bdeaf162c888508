//! Errors as GraphQL errors, through the one error table ([`ErrorKind::codes`]).
//!
//! Every error carries `extensions.code` (the table's GraphQL code, `NOT_FOUND`),
//! `extensions.kind` (the stable code the REST door puts in its error body, `not_found`) and,
//! for a lost compare-and-swap or a merge conflict, `extensions.details` exactly as the REST
//! body's `details` (`{"type": "refMismatch", "refname", "expected", "actual"}`,
//! `{"type": "mergeConflict", "paths"}`). A server error (5xx in REST) hides its message and
//! details from the client and logs them, as the other doors do.

use async_graphql::{ErrorExtensions as _, Value};

use gitapi_core::{Error, ErrorKind};

/// The GraphQL error a service error answers with. The one mapping of this door.
pub fn to_graphql(err: &Error) -> async_graphql::Error {
    let kind = err.kind();
    let (message, details) = if kind.is_server_error() {
        tracing::error!(
            code = kind.code(),
            error = %err.chain(),
            details = ?err.details(),
            "graphql call failed"
        );
        (kind.summary().to_owned(), None)
    } else {
        (err.message().to_owned(), err.details())
    };
    let details = details.and_then(|d| serde_json::to_value(d).ok());
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", kind.graphql_code());
        ext.set("kind", kind.code());
        if let Some(d) = details
            && let Ok(v) = Value::from_json(d)
        {
            ext.set("details", v);
        }
    })
}

/// The kind a GraphQL error's `extensions.kind` names (the inverse of [`to_graphql`] for the
/// kind; used by tests and Rust clients).
pub fn kind_of(err: &async_graphql::ServerError) -> Option<ErrorKind> {
    match err.extensions.as_ref()?.get("kind")? {
        Value::String(s) => ErrorKind::from_code(s),
        _ => None,
    }
}

/// Maps a service result into a resolver result through [`to_graphql`]. Resolvers use this
/// instead of `?` on a service error, which would lose the code.
pub(crate) trait Gql<T> {
    /// The result with its error mapped.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> Gql<T> for gitapi_core::Result<T> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| to_graphql(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapi_core::Oid;

    fn ext(err: &async_graphql::Error, key: &str) -> Option<Value> {
        err.extensions.as_ref()?.get(key).cloned()
    }

    #[test]
    fn every_kind_carries_its_table_codes() {
        for kind in ErrorKind::ALL {
            let e = to_graphql(&Error::new(kind, "m"));
            assert_eq!(
                ext(&e, "code"),
                Some(Value::String(kind.graphql_code().into()))
            );
            assert_eq!(ext(&e, "kind"), Some(Value::String(kind.code().into())));
            let shown = if kind.is_server_error() {
                kind.summary()
            } else {
                "m"
            };
            assert_eq!(e.message, shown);
        }
    }

    #[test]
    fn a_lost_compare_and_swap_carries_both_oids_as_rest_does() {
        let a = Oid::from_bytes([1; 20]);
        let err = Error::ref_mismatch("refs/heads/main", Some(a), None);
        let details = ext(&to_graphql(&err), "details").expect("details");
        let json = details.into_json().expect("JSON");
        assert_eq!(
            json,
            serde_json::to_value(err.details().expect("details")).expect("JSON")
        );
        assert_eq!(json["expected"], a.to_string());
        assert_eq!(json["type"], "refMismatch");
    }
}
