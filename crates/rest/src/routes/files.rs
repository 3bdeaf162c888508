//! Trees and files: directory listings, raw blob content (with ETag), archives of a commit's
//! tree (tar, tar.gz, zip, streamed), and file writes in a workspace's work tree.

use axum::extract::{OriginalUri, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use gitapi_core::{BlobRef, Error, FileMode, ListTree, Oid, Page, TreeEntry};

use super::{PageQuery, Paged, de, no_content, repo, repo_path, rev, workspace};
use crate::caching::none_match;
use crate::error::ApiResult;
use crate::extract::{Caller, Json, Path, Query, RawBody};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_files))
        .routes(routes!(get_blob))
        .routes(routes!(get_archive))
        .routes(routes!(put_file, delete_file))
        .routes(routes!(move_file))
}

/// A directory listing query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FilesQuery {
    /// The tree-ish (default `HEAD`).
    rev: Option<String>,
    /// The directory (the root when absent).
    path: Option<String>,
    /// List everything below, files only (`1`/`true`), as `git ls-tree -r`.
    #[serde(default, deserialize_with = "de::flag")]
    recursive: bool,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// The `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// Lists a directory of a tree-ish, sorted as git sorts.
#[utoipa::path(get, path = "/v1/repos/{repo}/files", tag = "files",
    params(("repo" = String, Path, description = "repository name"), FilesQuery),
    responses((status = 200, body = Page<TreeEntry>)))]
async fn list_files(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<FilesQuery>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Paged<TreeEntry>> {
    let query = ListTree {
        rev: rev(q.rev.as_deref().unwrap_or("HEAD"))?,
        path: q.path.as_deref().map(repo_path).transpose()?,
        recursive: q.recursive,
    };
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let entries = s
        .svc
        .list_tree(&who, &repo(&name)?, query, &page.request())
        .await?;
    Ok(Paged::of(entries, uri))
}

/// Which blob to read: `rev` and `path`, or `oid`.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct BlobQuery {
    /// The tree-ish (default `HEAD`), with `path`.
    rev: Option<String>,
    /// The file's path.
    path: Option<String>,
    /// Or the blob's id.
    oid: Option<Oid>,
}

/// A content type from the file name; `application/octet-stream` when unknown. Text types are
/// served as plain text so a browser never runs what it reads (no `text/html`).
fn content_type(path: Option<&str>) -> &'static str {
    let ext = path
        .and_then(|p| p.rsplit('/').next())
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some(
            "txt" | "md" | "rs" | "toml" | "c" | "h" | "py" | "go" | "sh" | "yml" | "yaml" | "html"
            | "htm" | "css" | "js" | "ts" | "java" | "rb" | "cfg" | "ini" | "csv" | "lock" | "xml"
            | "svg",
        ) => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("pdf") => "application/pdf",
        Some("gz") => "application/gzip",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Raw file content. `ETag` is the blob id; `If-None-Match` with it answers `304`. Asked by
/// `oid`, or by a full commit id as `rev`, the answer is `immutable`; otherwise `no-cache`.
#[utoipa::path(get, path = "/v1/repos/{repo}/blob", tag = "files",
    params(("repo" = String, Path, description = "repository name"), BlobQuery),
    responses((status = 200, description = "the bytes", body = Vec<u8>, content_type = "application/octet-stream",
               headers(("ETag" = String, description = "the blob id, quoted"))),
              (status = 304, description = "not modified")))]
async fn get_blob(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path(name): Path<String>,
    Query(q): Query<BlobQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let r = repo(&name)?;
    let blob = match (q.oid, q.path.as_deref()) {
        (Some(oid), None) if q.rev.is_none() => BlobRef::ByOid(oid),
        (None, Some(path)) => BlobRef::ByPath {
            rev: rev(q.rev.as_deref().unwrap_or("HEAD"))?,
            path: repo_path(path)?,
        },
        _ => return Err(Error::invalid("give rev and path, or oid").into()),
    };
    // With `If-None-Match`, read only the blob's header (id, size, mode): a match answers 304
    // without reading content, and otherwise the content streams by the id just read, so a
    // ref moving in between cannot mix two blobs.
    let (etag, mut res) = if headers.contains_key(IF_NONE_MATCH) {
        let h = s.svc.blob_header(&who, &r, blob).await?;
        let etag = format!("\"{}\"", h.oid);
        if none_match(&headers, &etag) {
            (etag, StatusCode::NOT_MODIFIED.into_response())
        } else {
            let stream = s.svc.stream_blob(&who, &r, BlobRef::ByOid(h.oid)).await?;
            (etag, blob_response(stream, q.path.as_deref()))
        }
    } else {
        let stream = s.svc.stream_blob(&who, &r, blob).await?;
        let etag = format!("\"{}\"", stream.oid);
        (etag, blob_response(stream, q.path.as_deref()))
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(ETAG, v);
    }
    res.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

/// Where an archive's entries go.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ArchiveQuery {
    /// A directory every entry is put under (`project-1.0` gives `project-1.0/README.md`); a
    /// repository path, so no `..`, no leading `/`, no `.git`.
    prefix: Option<String>,
}

/// An archive of the tree of the commit a revision names, as `git archive` writes it for that
/// commit, streamed: `{rev}.tar`, `{rev}.tar.gz` or `{rev}.zip` (`main.zip`, `v1.0.tar.gz`,
/// a commit id). `404` when the revision resolves to nothing, `400` for another suffix.
#[utoipa::path(get, path = "/v1/repos/{repo}/archive/{*file}", tag = "files",
    params(("repo" = String, Path, description = "repository name"),
           ("file" = String, Path, description = "the revision and the format: `{rev}.tar`, `{rev}.tar.gz` or `{rev}.zip`"),
           ArchiveQuery),
    responses((status = 200, description = "the archive", body = Vec<u8>, content_type = "application/octet-stream",
               headers(("Content-Disposition" = String, description = "attachment, named after the repository and the commit")))))]
async fn get_archive(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, file)): Path<(String, String)>,
    Query(q): Query<ArchiveQuery>,
) -> ApiResult<Response> {
    use gitapi_service::ArchiveFormat;
    let r = repo(&name)?;
    let (format, spec, suffix) = ArchiveFormat::ALL
        .into_iter()
        .find_map(|(format, suffix)| {
            let spec = file.strip_suffix(suffix)?;
            (!spec.is_empty()).then_some((format, spec, suffix))
        })
        .ok_or_else(|| {
            Error::invalid(format!(
                "archive {file:?} is not {{rev}}.tar, {{rev}}.tar.gz or {{rev}}.zip"
            ))
        })?;
    let prefix = q.prefix.as_deref().map(repo_path).transpose()?;
    let archive = s
        .svc
        .archive(&who, &r, &rev(spec)?, format, prefix.as_ref())
        .await?;
    let content_type = match format {
        ArchiveFormat::Tar => "application/x-tar",
        ArchiveFormat::TarGz => "application/gzip",
        ArchiveFormat::Zip => "application/zip",
    };
    let short = &archive.commit.to_string()[..12];
    let mut res = axum::body::Body::from_stream(archive.chunks).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The repository name and the hex id are safe in a quoted file name.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{short}{suffix}\"",
        r.as_str()
    )) {
        res.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The bytes of a blob as they stream from the engine, never held whole.
fn blob_response(stream: gitapi_core::BlobStream, path: Option<&str>) -> Response {
    let mut res = axum::body::Body::from_stream(stream.chunks).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    res.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(stream.size));
    res
}

/// How to write a work-tree file.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PutFileQuery {
    /// `regular`, `executable` or `symlink` (content is the target); kept when absent.
    mode: Option<FileMode>,
}

/// Writes a file into a workspace's work tree (not staged); the body is the content.
#[utoipa::path(put, path = "/v1/repos/{repo}/workspaces/{workspace}/files/{*path}", tag = "files",
    params(("repo" = String, Path, description = "repository name"),
           ("workspace" = String, Path, description = "workspace name"),
           ("path" = String, Path, description = "the file's path"),
           PutFileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204, description = "written"),
              (status = 415, description = "`invalid_argument`: the body is not \
               `application/octet-stream` or `text/*` (a JSON or form body would be stored as \
               the file)", body = crate::error::ErrorBody)))]
async fn put_file(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, ws, path)): Path<(String, String, String)>,
    Query(q): Query<PutFileQuery>,
    headers: HeaderMap,
    RawBody(content): RawBody,
) -> ApiResult<StatusCode> {
    check_file_content_type(&headers)?;
    let (r, ws, path) = (repo(&name)?, workspace(Some(&ws))?, repo_path(&path)?);
    s.svc
        .put_file(&who, &r, &ws, &path, content, q.mode)
        .await?;
    Ok(no_content())
}

/// The body of a work-tree write is the file itself: `application/octet-stream`, `text/*`, or
/// no content type. Anything else (`application/json` above all) is refused with 415, since a
/// client that sent JSON meant a structure, not a file holding the JSON text.
fn check_file_content_type(headers: &HeaderMap) -> Result<(), crate::error::ApiError> {
    let Some(ct) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/octet-stream" || essence.starts_with("text/") {
        return Ok(());
    }
    Err(crate::error::ApiError::with_status(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::invalid(format!(
            "a file's content is sent as application/octet-stream (or text/*), not {essence:?}"
        )),
    ))
}

/// Removes a file from a workspace's work tree (not staged).
#[utoipa::path(delete, path = "/v1/repos/{repo}/workspaces/{workspace}/files/{*path}", tag = "files",
    params(("repo" = String, Path, description = "repository name"),
           ("workspace" = String, Path, description = "workspace name"),
           ("path" = String, Path, description = "the file's path")),
    responses((status = 204, description = "removed")))]
async fn delete_file(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, ws, path)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let (r, ws, path) = (repo(&name)?, workspace(Some(&ws))?, repo_path(&path)?);
    s.svc.delete_file(&who, &r, &ws, &path).await?;
    Ok(no_content())
}

/// A move in a work tree.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MoveBody {
    /// From.
    from: String,
    /// To.
    to: String,
}

/// Moves a file in a workspace's work tree (not staged).
#[utoipa::path(post, path = "/v1/repos/{repo}/workspaces/{workspace}/moves", tag = "files",
    params(("repo" = String, Path, description = "repository name"),
           ("workspace" = String, Path, description = "workspace name")),
    request_body = MoveBody,
    responses((status = 204, description = "moved")))]
async fn move_file(
    State(s): State<AppState>,
    Caller(who): Caller,
    Path((name, ws)): Path<(String, String)>,
    Json(body): Json<MoveBody>,
) -> ApiResult<StatusCode> {
    let (r, ws) = (repo(&name)?, workspace(Some(&ws))?);
    let (from, to) = (repo_path(&body.from)?, repo_path(&body.to)?);
    s.svc.move_file(&who, &r, &ws, &from, &to).await?;
    Ok(no_content())
}
