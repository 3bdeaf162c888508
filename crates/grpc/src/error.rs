//! Errors as `tonic::Status`: the code from the one error table ([`ErrorKind::codes`]), and a
//! `google.rpc.Status` in the details with a `google.rpc.ErrorInfo` (reason: the stable code
//! upper-cased, domain `gitapi`, metadata `code`: the stable code itself) and, for a lost
//! compare-and-swap or a merge conflict, a typed `gitapi.v1.RefMismatch` or
//! `gitapi.v1.MergeConflict`.

use prost::Message as _;
use tonic::{Code, Status};

use gitapi_core::{Error, ErrorDetails, ErrorKind};

use crate::pb;

/// The `domain` of every `google.rpc.ErrorInfo` this door sends.
pub const ERROR_DOMAIN: &str = "gitapi";

const TYPE_PREFIX: &str = "type.googleapis.com/";

/// The gRPC code of a kind, read from the error table.
pub fn code_of(kind: ErrorKind) -> Code {
    Code::from_i32(kind.grpc_code().number)
}

fn any(name: &str, m: &impl prost::Message) -> prost_types::Any {
    prost_types::Any {
        type_url: format!("{TYPE_PREFIX}{name}"),
        value: m.encode_to_vec(),
    }
}

/// The status a service error answers with. A server error (`INTERNAL`, `UNAVAILABLE`, ...)
/// hides its message and details from the client and logs them, as the REST door does.
pub fn status(err: &Error) -> Status {
    let kind = err.kind();
    let code = code_of(kind);
    let (message, details) = if kind.is_server_error() {
        tracing::error!(
            code = kind.code(),
            grpc = kind.grpc_code().name,
            error = %err.chain(),
            details = ?err.details(),
            "grpc call failed"
        );
        (kind.summary().to_owned(), None)
    } else {
        (err.message().to_owned(), err.details())
    };
    let info = tonic_types::pb::ErrorInfo {
        reason: kind.code().to_ascii_uppercase(),
        domain: ERROR_DOMAIN.to_owned(),
        metadata: [("code".to_owned(), kind.code().to_owned())].into(),
    };
    let mut anys = vec![any("google.rpc.ErrorInfo", &info)];
    match details {
        Some(ErrorDetails::RefMismatch {
            refname,
            expected,
            actual,
        }) => anys.push(any(
            "gitapi.v1.RefMismatch",
            &pb::RefMismatch {
                refname: refname.clone(),
                expected: expected.map(|o| o.to_string()).unwrap_or_default(),
                actual: actual.map(|o| o.to_string()).unwrap_or_default(),
            },
        )),
        Some(ErrorDetails::MergeConflict { paths }) => anys.push(any(
            "gitapi.v1.MergeConflict",
            &pb::MergeConflict {
                paths: paths.clone(),
            },
        )),
        None => {}
    }
    let body = tonic_types::pb::Status {
        code: code as i32,
        message: message.clone(),
        details: anys,
    };
    Status::with_details(code, message, body.encode_to_vec().into())
}

/// The service error a status carries, decoded from its details: the inverse of [`status`]
/// for client errors (used by tests and by Rust clients of this door).
pub fn error_of(status: &Status) -> Option<Error> {
    let body = tonic_types::pb::Status::decode(status.details()).ok()?;
    let mut kind = None;
    let mut details = None;
    for a in &body.details {
        match a.type_url.strip_prefix(TYPE_PREFIX) {
            Some("google.rpc.ErrorInfo") => {
                let info = tonic_types::pb::ErrorInfo::decode(a.value.as_slice()).ok()?;
                kind = info
                    .metadata
                    .get("code")
                    .and_then(|c| ErrorKind::from_code(c));
            }
            Some("gitapi.v1.RefMismatch") => {
                let m = pb::RefMismatch::decode(a.value.as_slice()).ok()?;
                let oid = |s: &str| {
                    (!s.is_empty())
                        .then(|| gitapi_core::Oid::from_hex(s).ok())
                        .flatten()
                };
                details = Some(ErrorDetails::RefMismatch {
                    expected: oid(&m.expected),
                    actual: oid(&m.actual),
                    refname: m.refname,
                });
            }
            Some("gitapi.v1.MergeConflict") => {
                let m = pb::MergeConflict::decode(a.value.as_slice()).ok()?;
                details = Some(ErrorDetails::MergeConflict { paths: m.paths });
            }
            _ => {}
        }
    }
    let err = Error::new(kind?, status.message());
    Some(match details {
        Some(d) => err.with_details(d),
        None => err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitapi_core::Oid;

    #[test]
    fn every_kind_answers_with_its_table_code_and_error_info() {
        for kind in ErrorKind::ALL {
            let s = status(&Error::new(kind, "m"));
            assert_eq!(s.code() as i32, kind.grpc_code().number, "{kind:?}");
            let back = error_of(&s).expect("decodable details");
            assert_eq!(back.kind(), kind);
            let shown = if kind.is_server_error() {
                kind.summary()
            } else {
                "m"
            };
            assert_eq!(s.message(), shown);
        }
    }

    #[test]
    fn a_lost_compare_and_swap_carries_both_oids() {
        let a = Oid::from_bytes([1; 20]);
        let b = Oid::from_bytes([2; 20]);
        let err = Error::ref_mismatch("refs/heads/main", Some(a), Some(b));
        let s = status(&err);
        assert_eq!(s.code(), Code::Aborted);
        assert_eq!(error_of(&s), Some(err));
        let conflict = Error::merge_conflict("merging", vec!["a".into(), "b".into()]);
        assert_eq!(error_of(&status(&conflict)), Some(conflict));
    }
}
