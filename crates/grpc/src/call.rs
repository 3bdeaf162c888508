//! The caller of a gRPC request as a [`CallContext`]: the bearer token from the
//! `authorization` metadata, the client's `x-request-id`, and its `grpc-timeout` as the
//! call's deadline.

use std::time::Duration;

use tonic::metadata::MetadataMap;

use gitapi_core::Result;
use gitapi_service::{CallContext, Door, RepoService, RequestId};

/// Authenticates the caller of a request and builds its call context. A `grpc-timeout`
/// becomes the deadline the service applies (the earlier of it and the server's own).
pub(crate) fn context(svc: &RepoService, md: &MetadataMap) -> Result<CallContext> {
    let token = md.get("authorization").map(|v| v.as_bytes());
    let who = svc.authenticate(token)?;
    let id = md.get("x-request-id").and_then(|v| v.to_str().ok());
    let cx = CallContext::new(who, Door::Grpc).with_request_id(RequestId::from_client(id));
    Ok(match md.get("grpc-timeout").and_then(|v| v.to_str().ok()) {
        Some(t) => match parse_timeout(t) {
            Some(d) => cx.with_timeout(d),
            None => cx,
        },
        None => cx,
    })
}

/// Parses a `grpc-timeout` value: at most 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`),
/// as the gRPC over HTTP/2 specification writes it. Anything else is ignored, as gRPC servers do.
pub(crate) fn parse_timeout(v: &str) -> Option<Duration> {
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_as_the_spec_writes_them() {
        assert_eq!(parse_timeout("10m"), Some(Duration::from_millis(10)));
        assert_eq!(parse_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "m", "123456789m", "10x", "-1S", "1.5S"] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }
}
