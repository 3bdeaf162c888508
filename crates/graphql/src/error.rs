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

/// Gives the table's `INVALID_ARGUMENT` to every error the executor makes itself (a document
/// that does not parse or validate, a scalar that refuses its value, a query over the depth or
/// complexity limit), so every error a client sees carries a code, as the resolvers' do.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coded;

impl async_graphql::extensions::ExtensionFactory for Coded {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(Coded)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for Coded {
    async fn request(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        next: async_graphql::extensions::NextRequest<'_>,
    ) -> async_graphql::Response {
        coded(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        stream: futures::stream::BoxStream<'s, async_graphql::Response>,
        next: async_graphql::extensions::NextSubscribe<'_>,
    ) -> futures::stream::BoxStream<'s, async_graphql::Response> {
        use futures::StreamExt as _;
        next.run(ctx, stream).map(coded).boxed()
    }
}

fn coded(mut res: async_graphql::Response) -> async_graphql::Response {
    for e in &mut res.errors {
        let ext = e.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", ErrorKind::InvalidArgument.graphql_code());
            ext.set("kind", ErrorKind::InvalidArgument.code());
        }
    }
    res
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
