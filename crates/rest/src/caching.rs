//! HTTP caching of the read routes: strong `ETag`s, `If-None-Match` answered with
//! `304 Not Modified`, and a `Cache-Control` decided from the revisions a URL names.
//!
//! One middleware, [`cache_reads`], runs after routing on every REST route and acts on the
//! `GET` (and `HEAD`) routes of [`CACHED_READS`] only. In order, for such a request it:
//!
//! 1. decides `Cache-Control` from the matched route's parameters ([`cache_control`]): when
//!    every revision the URL names is a full object id the answer can never change, so it is
//!    `immutable` for a year (`private` when the request carried `Authorization`, so a shared
//!    cache keeps no authorized answer); a branch, a tag, `HEAD` or a defaulted revision is
//!    `no-cache` (revalidate each time, which the ETag makes cheap);
//! 2. runs the handler;
//! 3. on a `200` whose body is whole in memory (a JSON or text answer, never a stream), sets a
//!    strong `ETag`: the SHA-256 of the content type and the body bytes, so two formats of one
//!    diff differ ([`strong_etag`]). A handler that set its own `ETag` keeps it (the blob
//!    route's is the blob id, known before the content streams);
//! 4. answers `304` with no body when `If-None-Match` matches that tag ([`none_match`], the
//!    weak comparison RFC 9110 §13.1.2 prescribes for it).
//!
//! The answer is computed before the comparison: the tag is of the body, so nothing cheaper
//! names it. What a 304 saves is the transfer and the client's parsing.

use axum::RequestExt as _;
use axum::body::{Body, HttpBody as _};
use axum::extract::{MatchedPath, RawPathParams, Request};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, RefOr, Required, ResponseBuilder, Type};

use gitapi_core::Error;

use crate::error::ApiError;

/// `Cache-Control` of an answer that no change to the repository can alter.
const IMMUTABLE_PUBLIC: &str = "public, max-age=31536000, immutable";
/// The same, for a request that carried credentials: only the caller's own cache may keep it.
const IMMUTABLE_PRIVATE: &str = "private, max-age=31536000, immutable";
/// `Cache-Control` of an answer that names something that moves: keep it, but ask each time.
const REVALIDATE: &str = "no-cache";

/// A read route whose answers carry ETags, and where its URL names revisions.
#[derive(Debug)]
pub(crate) struct CachedRead {
    /// The route template, as axum matches it (`{*ref}` for a wildcard).
    pub(crate) route: &'static str,
    /// Every place the URL can name a revision or otherwise pick what is read. A route with
    /// none (a ref listing) reads state that moves, so it is never immutable.
    revs: &'static [RevAt],
}

/// Where a URL names a revision.
#[derive(Debug)]
enum RevAt {
    /// A path parameter holding one revision (`/commits/{sha}`).
    Path(&'static str),
    /// A query parameter holding one revision, and what the route reads when it is absent.
    Query(&'static str, Absent),
    /// A query parameter holding `rev`, `A..B` or `A...B`; `HEAD` when absent.
    Range(&'static str),
    /// A path parameter holding a diff id, which encodes two object ids and the options only
    /// ([`gitapi_core::DiffKey`]), so it names nothing that moves.
    DiffId(&'static str),
    /// A query parameter that, given with any value but this one, makes the route read a
    /// workspace (its index or work tree), which no id names.
    Only(&'static str, &'static str),
}

/// What a route reads in place of an absent revision parameter.
#[derive(Debug)]
enum Absent {
    /// `HEAD`, which moves.
    Head,
    /// `HEAD` when this other query parameter is given (a blob's `rev` goes with `path`).
    HeadWith(&'static str),
    /// Nothing in its place: it is optional and derived from the others (a diff's `from` is
    /// `to`'s parent), the other form of the request is used, or the route refuses it.
    Nothing,
}

/// Every route the middleware serves, with its revision parameters as its handler reads them
/// (`routes/commits.rs`, `history.rs`, `files.rs`, `refs.rs`). A test checks each is a `GET`
/// of the OpenAPI document, so a renamed route cannot silently drop out.
pub(crate) const CACHED_READS: &[CachedRead] = &[
    CachedRead {
        route: "/v1/repos/{repo}/commits",
        revs: &[RevAt::Range("range")],
    },
    CachedRead {
        route: "/v1/repos/{repo}/commits/{sha}",
        revs: &[RevAt::Path("sha")],
    },
    CachedRead {
        route: "/v1/repos/{repo}/diff",
        revs: &[
            RevAt::Only("kind", "commits"),
            RevAt::Query("from", Absent::Nothing),
            RevAt::Query("to", Absent::Head),
        ],
    },
    CachedRead {
        route: "/v1/repos/{repo}/diffs/{id}",
        revs: &[RevAt::DiffId("id")],
    },
    CachedRead {
        route: "/v1/repos/{repo}/blame",
        revs: &[RevAt::Query("rev", Absent::Head)],
    },
    CachedRead {
        route: "/v1/repos/{repo}/files",
        revs: &[RevAt::Query("rev", Absent::Head)],
    },
    CachedRead {
        route: "/v1/repos/{repo}/blob",
        revs: &[
            RevAt::Query("oid", Absent::Nothing),
            RevAt::Query("rev", Absent::HeadWith("path")),
        ],
    },
    CachedRead {
        route: "/v1/repos/{repo}/merge-base",
        revs: &[
            RevAt::Query("a", Absent::Nothing),
            RevAt::Query("b", Absent::Nothing),
        ],
    },
    CachedRead {
        route: "/v1/repos/{repo}/ahead-behind",
        revs: &[
            RevAt::Query("a", Absent::Nothing),
            RevAt::Query("b", Absent::Nothing),
        ],
    },
    CachedRead {
        route: "/v1/repos/{repo}/is-ancestor",
        revs: &[
            RevAt::Query("ancestor", Absent::Nothing),
            RevAt::Query("descendant", Absent::Nothing),
        ],
    },
    CachedRead {
        route: "/v1/repos/{repo}/resolve",
        revs: &[RevAt::Query("rev", Absent::Nothing)],
    },
    CachedRead {
        route: "/v1/repos/{repo}/refs",
        revs: &[],
    },
    CachedRead {
        route: "/v1/repos/{repo}/refs/{*ref}",
        revs: &[],
    },
];

/// The cached read a route template names, if any.
pub(crate) fn cached_read(route: &str) -> Option<&'static CachedRead> {
    CACHED_READS.iter().find(|r| r.route == route)
}

/// Whether `s` is a full object id in its canonical form (40 lowercase hex digits): git
/// resolves such a string to that object before any ref, so it names the same thing forever.
fn is_full_oid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether every revision a request names is a full object id, and it names at least one:
/// then its answer depends on immutable objects only. `path` holds the path parameters,
/// `query` the query's pairs (a parameter may repeat; each occurrence must be an id).
fn names_only_ids(read: &CachedRead, path: &[(&str, &str)], query: &[(String, String)]) -> bool {
    let values = |name: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let given = |name: &str| query.iter().any(|(k, _)| k == name);
    let mut named = false;
    for at in read.revs {
        match at {
            RevAt::Path(name) => match path.iter().find(|(k, _)| k == name) {
                Some((_, v)) if is_full_oid(v) => named = true,
                _ => return false,
            },
            RevAt::DiffId(name) => {
                if !path.iter().any(|(k, _)| k == name) {
                    return false;
                }
                named = true;
            }
            RevAt::Query(name, absent) => {
                let vs = values(name);
                if vs.is_empty() {
                    match absent {
                        Absent::Head => return false,
                        Absent::HeadWith(other) if given(other) => return false,
                        Absent::HeadWith(_) | Absent::Nothing => {}
                    }
                } else if vs.iter().all(|v| is_full_oid(v)) {
                    named = true;
                } else {
                    return false;
                }
            }
            RevAt::Range(name) => {
                let vs = values(name);
                let pinned = |v: &&str| {
                    let (a, b) = v
                        .split_once("...")
                        .or_else(|| v.split_once(".."))
                        .unwrap_or((v, v));
                    is_full_oid(a) && is_full_oid(b)
                };
                if vs.is_empty() || !vs.iter().all(pinned) {
                    return false;
                }
                named = true;
            }
            RevAt::Only(name, value) => {
                if values(name).iter().any(|v| v != value) {
                    return false;
                }
            }
        }
    }
    named
}

/// The `Cache-Control` of a read: immutable when the URL names only object ids (private when
/// the request carried credentials), otherwise revalidated on each use.
fn cache_control(
    read: &CachedRead,
    path: &[(&str, &str)],
    query: &[(String, String)],
    authorized: bool,
) -> HeaderValue {
    HeaderValue::from_static(if !names_only_ids(read, path, query) {
        REVALIDATE
    } else if authorized {
        IMMUTABLE_PRIVATE
    } else {
        IMMUTABLE_PUBLIC
    })
}

/// A strong entity tag of an answer: the quoted hex SHA-256 of its content type, a zero byte
/// and its body. The content type is in it so `?format=json` and `?format=patch` of one diff
/// never share a tag.
pub(crate) fn strong_etag(content_type: &[u8], body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(content_type);
    hash.update([0]);
    hash.update(body);
    format!("\"{}\"", hex::encode(hash.finalize()))
}

/// Whether `If-None-Match` matches `etag` (a quoted tag, `"…"`): `*`, or a listed tag whose
/// opaque part equals it. The comparison is weak (RFC 9110 §13.1.2), so `W/"x"` matches `"x"`.
/// The header may repeat and each value is a comma-separated list; a malformed list is read up
/// to the first error (a tag may itself contain commas, so the list is parsed, not split).
pub(crate) fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = etag.strip_prefix("W/").unwrap_or(etag);
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|v| list_matches(v.as_bytes(), opaque.as_bytes()))
}

/// One `If-None-Match` value against an opaque tag (quotes included).
fn list_matches(mut s: &[u8], opaque: &[u8]) -> bool {
    loop {
        s = s.trim_ascii_start();
        while let Some(rest) = s.strip_prefix(b",") {
            s = rest.trim_ascii_start();
        }
        if s.is_empty() {
            return false;
        }
        if s.starts_with(b"*") {
            // `*` matches any current representation; it should stand alone, but a client
            // that lists it beside tags means "anything" all the same.
            return true;
        }
        s = s.strip_prefix(b"W/").unwrap_or(s);
        let Some(body) = s.strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = body.iter().position(|&b| b == b'"') else {
            return false;
        };
        // The tag with its quotes.
        if &s[..end + 2] == opaque {
            return true;
        }
        s = &body[end + 1..];
    }
}

/// The middleware of the cached reads (see the module documentation). It is a route layer, so
/// it sees the route template; every other route and method passes through untouched.
pub(crate) async fn cache_reads(mut req: Request, next: Next) -> Response {
    let read = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| cached_read(p.as_str()));
    let Some(read) = read.filter(|_| matches!(*req.method(), Method::GET | Method::HEAD)) else {
        return next.run(req).await;
    };
    // Decided before the handler takes the request. Parameters that do not parse leave the
    // answer revalidated; the handler refuses them anyway.
    let params = req.extract_parts::<RawPathParams>().await.ok();
    let path: Vec<(&str, &str)> = params.iter().flat_map(|p| p.iter()).collect();
    let query = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(req.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let authorized = req.headers().contains_key(AUTHORIZATION);
    let cache = cache_control(read, &path, &query, authorized);
    let mut conditions = HeaderMap::new();
    for v in req.headers().get_all(IF_NONE_MATCH) {
        conditions.append(IF_NONE_MATCH, v.clone());
    }

    let res = next.run(req).await;
    finish(res, cache, &conditions).await
}

/// Tags an answer and answers `304` when the request's `If-None-Match` matches.
async fn finish(res: Response, cache: HeaderValue, conditions: &HeaderMap) -> Response {
    let status = res.status();
    if status == StatusCode::NOT_MODIFIED {
        // The handler compared its own tag (the blob route); it still gets the policy.
        let mut res = res;
        res.headers_mut().insert(CACHE_CONTROL, cache);
        return res;
    }
    if status != StatusCode::OK {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let (etag, body) = match parts.headers.get(ETAG).cloned() {
        Some(etag) => (etag, body),
        None => {
            // Only a body whole in memory (what JSON and text answers are) is hashed: a
            // stream would have to be held in full first, so it goes out untagged. The known
            // size is also the bound of the read, so this never buffers more than exists.
            let Some(size) = body.size_hint().exact() else {
                return Response::from_parts(parts, body);
            };
            let limit = usize::try_from(size).unwrap_or(usize::MAX);
            let bytes = match axum::body::to_bytes(body, limit).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    let err = Error::internal(format!("reading an answer to tag it: {e}"));
                    return ApiError::from(err).into_response();
                }
            };
            let content_type = parts
                .headers
                .get(CONTENT_TYPE)
                .map_or(&b""[..], |v| v.as_bytes());
            let tag = strong_etag(content_type, &bytes);
            let Ok(etag) = HeaderValue::from_str(&tag) else {
                return Response::from_parts(parts, Body::from(bytes));
            };
            (etag, Body::from(bytes))
        }
    };
    let matched = etag.to_str().is_ok_and(|tag| none_match(conditions, tag));
    if matched {
        // RFC 9110 §15.4.5: a 304 carries the validator and caching fields a 200 would.
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        let headers = not_modified.headers_mut();
        headers.insert(ETAG, etag);
        headers.insert(CACHE_CONTROL, cache);
        if let Some(vary) = parts.headers.get(VARY) {
            headers.insert(VARY, vary.clone());
        }
        return not_modified;
    }
    parts.headers.insert(ETAG, etag);
    parts.headers.insert(CACHE_CONTROL, cache);
    Response::from_parts(parts, body)
}

/// The grammar of `If-None-Match` (RFC 9110 §13.1.2) in the document: `*` or a list of tags
/// of visible ASCII. Besides saying what is valid, it keeps generated requests (schemathesis)
/// from sending control bytes, which no header may carry and hyper refuses before any route.
const IF_NONE_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*)$"#;

/// Describes the caching of a cached read in its OpenAPI operation: the `If-None-Match`
/// header, the `ETag` and `Cache-Control` of its `200`, and the `304`. What a handler already
/// declared (the blob route's own tag) is kept.
pub(crate) fn describe(op: &mut Operation) {
    let header = |why: &str| {
        let mut h = Header::default();
        h.description = Some(why.to_owned());
        h
    };
    let etag = "a strong tag of this answer (the blob id for a blob, else the SHA-256 of its \
        content type and body), quoted";
    let cache = "`public, max-age=31536000, immutable` (`private` with `Authorization`) when \
        every revision the URL names is a full object id, else `no-cache`";
    let params = op.parameters.get_or_insert_with(Vec::new);
    let declared = params.iter().any(|p| match p {
        RefOr::T(p) => p.name.eq_ignore_ascii_case(IF_NONE_MATCH.as_str()),
        RefOr::Ref(_) => false,
    });
    if !declared {
        params.push(RefOr::T(
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "`*` or a list of tags (`W/` allowed); when one is this answer's `ETag` \
                     the answer is `304` without a body",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(IF_NONE_MATCH_PATTERN)),
                ))
                .build(),
        ));
    }
    if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
        ok.headers
            .entry("ETag".to_owned())
            .or_insert_with(|| RefOr::T(header(etag)));
        ok.headers
            .entry("Cache-Control".to_owned())
            .or_insert_with(|| RefOr::T(header(cache)));
    }
    op.responses
        .responses
        .entry("304".to_owned())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description("not modified: `If-None-Match` names this answer's `ETag`")
                    .build(),
            )
        });
    if let Some(RefOr::T(not_modified)) = op.responses.responses.get_mut("304") {
        not_modified
            .headers
            .entry("ETag".to_owned())
            .or_insert_with(|| RefOr::T(header(etag)));
        not_modified
            .headers
            .entry("Cache-Control".to_owned())
            .or_insert_with(|| RefOr::T(header(cache)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0123456789abcdef0123456789abcdef01234567";
    const B: &str = "89abcdef0123456789abcdef0123456789abcdef";

    fn inm(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                IF_NONE_MATCH,
                HeaderValue::from_str(v).expect("a header value"),
            );
        }
        h
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn read(route: &str) -> &'static CachedRead {
        cached_read(route).expect("a cached route")
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_lists() {
        let tag = "\"abc\"";
        assert!(none_match(&inm(&["\"abc\""]), tag));
        assert!(none_match(&inm(&["W/\"abc\""]), tag));
        assert!(none_match(&inm(&["\"x\", W/\"abc\""]), tag));
        assert!(none_match(&inm(&["\"x\",\"y\"", "\"abc\""]), tag));
        assert!(none_match(&inm(&["*"]), tag));
        assert!(none_match(&inm(&[" , \"abc\" ,"]), tag));
        assert!(!none_match(&inm(&["\"abcd\""]), tag));
        assert!(
            !none_match(&inm(&["abc"]), tag),
            "an unquoted tag is malformed"
        );
        assert!(!none_match(&inm(&["\"ab"]), tag));
        assert!(!none_match(&HeaderMap::new(), tag));
        // A comma inside a tag belongs to it: the list is parsed, not split.
        assert!(none_match(&inm(&["\"a,b\""]), "\"a,b\""));
        assert!(!none_match(&inm(&["\"a,b\""]), "\"b\""));
    }

    #[test]
    fn etags_are_strong_and_differ_by_content_type() {
        let json = strong_etag(b"application/json", b"{}");
        assert!(json.starts_with('"') && json.ends_with('"') && json.len() == 66);
        assert_eq!(json, strong_etag(b"application/json", b"{}"));
        assert_ne!(json, strong_etag(b"text/plain; charset=utf-8", b"{}"));
        assert_ne!(json, strong_etag(b"application/json", b"[]"));
    }

    #[test]
    fn only_full_ids_make_an_answer_immutable() {
        let commit = read("/v1/repos/{repo}/commits/{sha}");
        assert!(names_only_ids(commit, &[("repo", "r"), ("sha", A)], &[]));
        assert!(!names_only_ids(commit, &[("sha", "main")], &[]));
        assert!(!names_only_ids(commit, &[("sha", &A[..39])], &[]));
        assert!(
            !names_only_ids(commit, &[("sha", &A.to_uppercase())], &[]),
            "only the canonical form counts"
        );

        let log = read("/v1/repos/{repo}/commits");
        assert!(!names_only_ids(log, &[], &[]), "the log of HEAD moves");
        assert!(names_only_ids(log, &[], &q(&[("range", A)])));
        assert!(names_only_ids(
            log,
            &[],
            &q(&[("range", &format!("{A}..{B}"))])
        ));
        assert!(names_only_ids(
            log,
            &[],
            &q(&[("range", &format!("{A}...{B}"))])
        ));
        assert!(!names_only_ids(
            log,
            &[],
            &q(&[("range", &format!("{A}..main"))])
        ));

        let diff = read("/v1/repos/{repo}/diff");
        assert!(names_only_ids(diff, &[], &q(&[("from", A), ("to", B)])));
        assert!(names_only_ids(
            diff,
            &[],
            &q(&[("to", B), ("format", "patch")])
        ));
        assert!(!names_only_ids(diff, &[], &q(&[("from", A)])), "to is HEAD");
        assert!(!names_only_ids(
            diff,
            &[],
            &q(&[("from", A), ("to", "main")])
        ));
        assert!(names_only_ids(
            diff,
            &[],
            &q(&[("kind", "commits"), ("from", A), ("to", B)])
        ));
        assert!(
            !names_only_ids(diff, &[], &q(&[("kind", "index"), ("from", A)])),
            "a workspace moves"
        );
        assert!(
            !names_only_ids(diff, &[], &q(&[("to", A), ("to", "main")])),
            "every occurrence counts"
        );

        let by_id = read("/v1/repos/{repo}/diffs/{id}");
        assert!(names_only_ids(by_id, &[("id", "d1.xyz")], &[]));

        let blob = read("/v1/repos/{repo}/blob");
        assert!(names_only_ids(blob, &[], &q(&[("oid", A)])));
        assert!(!names_only_ids(blob, &[], &q(&[("path", "a.txt")])));
        assert!(names_only_ids(
            blob,
            &[],
            &q(&[("path", "a.txt"), ("rev", A)])
        ));

        let files = read("/v1/repos/{repo}/files");
        assert!(!names_only_ids(files, &[], &q(&[("recursive", "1")])));
        assert!(names_only_ids(
            files,
            &[],
            &q(&[("rev", A), ("recursive", "1")])
        ));

        let refs = read("/v1/repos/{repo}/refs");
        assert!(!names_only_ids(refs, &[], &[]), "refs move");
        let one_ref = read("/v1/repos/{repo}/refs/{*ref}");
        assert!(!names_only_ids(one_ref, &[("ref", A)], &[]));
    }

    #[test]
    fn credentials_make_an_immutable_answer_private() {
        let commit = read("/v1/repos/{repo}/commits/{sha}");
        let path = [("sha", A)];
        assert_eq!(
            cache_control(commit, &path, &[], false),
            HeaderValue::from_static(IMMUTABLE_PUBLIC)
        );
        assert_eq!(
            cache_control(commit, &path, &[], true),
            HeaderValue::from_static(IMMUTABLE_PRIVATE)
        );
        assert_eq!(
            cache_control(commit, &[("sha", "HEAD")], &[], true),
            HeaderValue::from_static(REVALIDATE)
        );
    }

    #[test]
    fn every_cached_route_is_a_get_of_the_document() {
        let doc = crate::openapi();
        for read in CACHED_READS {
            let path = read.route.replace("{*", "{");
            let item = doc.paths.paths.get(&path);
            assert!(
                item.is_some_and(|i| i.get.is_some()),
                "{} is not a GET route",
                read.route
            );
        }
    }
}
