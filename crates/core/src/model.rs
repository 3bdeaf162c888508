//! The domain model: what operations take and return. Serialised in camelCase by every door.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::names::{RefName, RemoteUrl, RepoName, RepoPath, Rev, RevRange, WorkspaceName};
use crate::oid::Oid;

/// A person and a moment, as in a commit's author or committer line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Signature {
    /// The name (no `<`, `>` or newline).
    pub name: String,
    /// The email (no `<`, `>` or newline).
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// The time zone offset in minutes east of UTC.
    pub offset_minutes: i32,
}

impl Signature {
    /// A signature at a given time; fails on names or emails git cannot store.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        time: i64,
        offset_minutes: i32,
    ) -> crate::Result<Self> {
        let sig = Self {
            name: name.into(),
            email: email.into(),
            time,
            offset_minutes,
        };
        sig.validate()?;
        Ok(sig)
    }

    /// Checks the fields git writes verbatim into objects.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |s: &str| s.bytes().any(|b| matches!(b, b'<' | b'>' | b'\n' | b'\0'));
        // An empty email is refused too: git can write `<>`, but libgit2 cannot make such a
        // signature, and both engines must give one answer.
        if self.name.trim().is_empty()
            || self.email.trim().is_empty()
            || bad(&self.name)
            || bad(&self.email)
        {
            return Err(crate::Error::invalid(format!(
                "signature {:?} <{:?}> is not valid",
                self.name, self.email
            )));
        }
        if self.name.len() > 512 || self.email.len() > 512 || self.offset_minutes.abs() >= 24 * 60 {
            return Err(crate::Error::invalid(
                "signature is too long or its offset out of range",
            ));
        }
        Ok(())
    }

    /// The `Name <email> time +hhmm` form used in object headers.
    pub fn to_header(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.abs();
        format!(
            "{} <{}> {} {sign}{:02}{:02}",
            self.name,
            self.email,
            self.time,
            off / 60,
            off % 60
        )
    }
}

/// Seconds since the Unix epoch now (0 if the clock is before it): the time of a signature
/// whose caller gave none.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Signature {
    /// The name the server commits, merges and tags as when a request names no one.
    pub const SERVER_NAME: &'static str = "gitapi";
    /// The email of [`Signature::SERVER_NAME`].
    pub const SERVER_EMAIL: &'static str = "gitapi@localhost";

    /// The server's identity at `time` (UTC).
    pub fn server_at(time: i64) -> Self {
        Self {
            name: Self::SERVER_NAME.to_owned(),
            email: Self::SERVER_EMAIL.to_owned(),
            time,
            offset_minutes: 0,
        }
    }

    /// The server's identity now: what a committer, tagger or stasher defaults to when a request
    /// names none.
    pub fn server() -> Self {
        Self::server_at(unix_now())
    }
}

/// A person as a caller names one, before defaults: every door takes this and turns it into a
/// [`Signature`] here, so a missing time means now and a missing offset means UTC in every door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
#[cfg_attr(feature = "graphql", graphql(name = "PersonInput"))]
pub struct Person {
    /// The name.
    pub name: String,
    /// The email.
    pub email: String,
    /// Seconds since the Unix epoch; now when absent.
    pub time: Option<i64>,
    /// Minutes east of UTC; 0 when absent.
    pub offset_minutes: Option<i32>,
}

impl Person {
    /// The signature, with `now` for a missing time; fails on names or emails git cannot store.
    pub fn signature_at(&self, now: i64) -> crate::Result<Signature> {
        Signature::new(
            self.name.clone(),
            self.email.clone(),
            self.time.unwrap_or(now),
            self.offset_minutes.unwrap_or(0),
        )
    }

    /// The signature, with the current time for a missing time.
    pub fn signature(&self) -> crate::Result<Signature> {
        self.signature_at(unix_now())
    }

    /// The signature of `person`, or the server's identity ([`Signature::server`]) when the
    /// request names no one.
    pub fn signature_or_server(person: Option<&Person>) -> crate::Result<Signature> {
        person.map_or_else(|| Ok(Signature::server()), Person::signature)
    }

    /// The signature of `person`, if any (for fields whose default is decided later, such as a
    /// committer that defaults to the author).
    pub fn optional_signature(person: Option<&Person>) -> crate::Result<Option<Signature>> {
        person.map(Person::signature).transpose()
    }
}

/// The kind of a Git object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum ObjectKind {
    /// A file's content.
    Blob,
    /// A directory.
    Tree,
    /// A commit (in a tree: a submodule entry).
    Commit,
    /// An annotated tag.
    Tag,
}

/// The mode of a tree entry, as git stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum FileMode {
    /// `100644`.
    Regular,
    /// `100755`.
    Executable,
    /// `120000`: the blob holds the link target.
    Symlink,
    /// `040000`.
    Tree,
    /// `160000`: a submodule's commit.
    Submodule,
}

impl FileMode {
    /// The octal number git writes.
    pub fn bits(self) -> u32 {
        match self {
            Self::Regular => 0o100644,
            Self::Executable => 0o100755,
            Self::Symlink => 0o120000,
            Self::Tree => 0o040000,
            Self::Submodule => 0o160000,
        }
    }

    /// From git's octal number (`100664` is read as regular, as git does).
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            0o100644 | 0o100664 => Some(Self::Regular),
            0o100755 => Some(Self::Executable),
            0o120000 => Some(Self::Symlink),
            0o040000 => Some(Self::Tree),
            0o160000 => Some(Self::Submodule),
            _ => None,
        }
    }

    /// The object kind an entry of this mode points at.
    pub fn object_kind(self) -> ObjectKind {
        match self {
            Self::Regular | Self::Executable | Self::Symlink => ObjectKind::Blob,
            Self::Tree => ObjectKind::Tree,
            Self::Submodule => ObjectKind::Commit,
        }
    }
}

/// Facts about one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RepoInfo {
    /// The name.
    pub name: RepoName,
    /// The branch `HEAD` points at (`refs/heads/main`), even when it has no commit yet.
    pub default_branch: Option<RefName>,
    /// Whether it has no commit at all.
    pub empty: bool,
    /// Whether it is a mirror of a remote (kept in sync by `sync_mirror`).
    pub mirror: bool,
}

/// How to create a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InitOptions {
    /// The branch `HEAD` points at; `refs/heads/main` when not given.
    pub default_branch: Option<RefName>,
}

/// Where a clone or mirror comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneOptions {
    /// The remote, already checked against the clone policy.
    pub url: RemoteUrl,
    /// A mirror copies every ref and can be re-synced with pruning.
    pub mirror: bool,
}

/// What `gc` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct GcOutcome {
    /// Loose objects before.
    pub loose_objects_before: u64,
    /// Loose objects after.
    pub loose_objects_after: u64,
    /// Pack files after.
    pub packs_after: u64,
}

/// One `key = value` of a repository's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct ConfigEntry {
    /// The key, lowercase.
    pub key: String,
    /// The value.
    pub value: String,
}

/// Which refs a listing returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum RefKind {
    /// `refs/heads/*`.
    Branches,
    /// `refs/tags/*`.
    Tags,
    /// Everything under `refs/`.
    #[default]
    All,
}

/// A ref and what it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Ref {
    /// The full name.
    pub name: RefName,
    /// The object the ref points at directly (an annotated tag's own object for such tags).
    pub target: Oid,
    /// For an annotated tag: the object it finally points at (`^{}`).
    pub peeled: Option<Oid>,
}

/// A page request: at most `limit` items after the opaque `cursor` of a previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    /// At most this many (engines cap it at [`PageRequest::MAX_LIMIT`]; 0 means the default 100).
    pub limit: usize,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The largest page.
    pub const MAX_LIMIT: usize = 1000;

    /// The effective limit.
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => 100,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A ref listing query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListRefs {
    /// Only names starting with this (a full-name prefix such as `refs/heads/feature/`).
    pub prefix: Option<String>,
    /// Branches, tags or all.
    pub kind: RefKind,
    /// Pagination; refs come sorted by name and the cursor is the last name seen.
    pub page: PageRequest,
}

/// A tag to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateTag {
    /// `refs/tags/...`.
    pub name: RefName,
    /// What it tags.
    pub target: Rev,
    /// With a message and tagger: an annotated tag object; without: a lightweight tag.
    pub annotation: Option<TagAnnotation>,
}

/// The object part of an annotated tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TagAnnotation {
    /// Who tagged, and when.
    pub tagger: Signature,
    /// The message.
    pub message: String,
}

/// An annotated tag object, as `git cat-file tag` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct TagObject {
    /// Its id.
    pub oid: Oid,
    /// The name it was made with (its `tag` header), which a ref may not share.
    pub name: String,
    /// The object it tags (its `object` header).
    pub target: Oid,
    /// The kind of that object (its `type` header).
    pub target_kind: ObjectKind,
    /// Who tagged, and when; very old tags have none.
    pub tagger: Option<Signature>,
    /// The message, without the signature.
    pub message: String,
    /// The signature git appends to a signed tag's message (armored PGP, SSH or X.509),
    /// from its `-----BEGIN` line to the end.
    pub signature: Option<String>,
}

/// A tag: the ref, and the tag object when the tag is annotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Tag {
    /// The full ref name (`refs/tags/v1.0.0`).
    pub name: RefName,
    /// What the ref points at: the tag object of an annotated tag, the tagged object of a
    /// lightweight one.
    pub target: Oid,
    /// For an annotated tag: the object it finally points at (`^{}`).
    pub peeled: Option<Oid>,
    /// For an annotated tag: its tag object; absent for a lightweight tag.
    pub object: Option<TagObject>,
}

/// One ref change of a (possibly atomic, multi-ref) update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::InputObject))]
#[cfg_attr(feature = "graphql", graphql(name = "RefUpdateInput"))]
pub struct RefUpdate {
    /// The ref.
    pub name: RefName,
    /// The new value; [`Oid::ZERO`] deletes the ref.
    pub new: Oid,
    /// Compare-and-swap: the value the ref must have now ([`Oid::ZERO`]: must not exist);
    /// `None` updates unconditionally.
    pub expected_old: Option<Oid>,
}

/// A commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Commit {
    /// Its id.
    pub oid: Oid,
    /// Its root tree.
    pub tree: Oid,
    /// Its parents, in order.
    pub parents: Vec<Oid>,
    /// Who wrote it.
    pub author: Signature,
    /// Who committed it.
    pub committer: Signature,
    /// The full message, as stored.
    pub message: String,
    /// The `gpgsig` header, if signed (armored text).
    pub signature: Option<String>,
}

impl Commit {
    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// One entry of a tree listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TreeEntry {
    /// The last component.
    pub name: String,
    /// The full path from the root.
    pub path: String,
    /// The mode.
    pub mode: FileMode,
    /// The object kind it points at.
    pub kind: ObjectKind,
    /// The object id.
    pub oid: Oid,
    /// The size in bytes, for blobs.
    pub size: Option<u64>,
}

/// A tree listing query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListTree {
    /// The tree-ish.
    pub rev: Rev,
    /// The directory to list; the root when `None`.
    pub path: Option<RepoPath>,
    /// Whether to descend into subdirectories (then only blobs and submodules are listed, as
    /// `git ls-tree -r`).
    pub recursive: bool,
}

/// Which blob to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum BlobRef {
    /// A file at a path in a tree-ish.
    #[serde(rename_all = "camelCase")]
    ByPath {
        /// The tree-ish.
        rev: Rev,
        /// The path.
        path: RepoPath,
    },
    /// A blob by id.
    ByOid(Oid),
}

/// A blob read whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    /// Its id.
    pub oid: Oid,
    /// Its size.
    pub size: u64,
    /// The mode of the tree entry, when read by path.
    pub mode: Option<FileMode>,
    /// The bytes.
    #[serde(skip)]
    pub content: Bytes,
}

/// What a blob is without its content: enough for an ETag check, a `Content-Length` and a
/// mode, so a `304` reads no content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct BlobHeader {
    /// Its id.
    pub oid: Oid,
    /// Its size.
    pub size: u64,
    /// The mode of the tree entry, when read by path.
    pub mode: Option<FileMode>,
}

/// A blob read as a stream of chunks.
pub struct BlobStream {
    /// Its id.
    pub oid: Oid,
    /// Its size.
    pub size: u64,
    /// The mode of the tree entry, when read by path.
    pub mode: Option<FileMode>,
    /// The chunks, in order.
    pub chunks: futures::stream::BoxStream<'static, crate::Result<Bytes>>,
}

impl BlobStream {
    /// The largest chunk a blob stream yields.
    pub const CHUNK: usize = 64 * 1024;

    /// A stream over content already in memory: chunks of at most [`BlobStream::CHUNK`]
    /// bytes, each a slice of `content` (no copy).
    pub fn from_bytes(header: BlobHeader, content: Bytes) -> Self {
        let chunks: Vec<crate::Result<Bytes>> = content
            .chunks(Self::CHUNK)
            .map(|c| Ok(content.slice_ref(c)))
            .collect();
        Self {
            oid: header.oid,
            size: header.size,
            mode: header.mode,
            chunks: futures::StreamExt::boxed(futures::stream::iter(chunks)),
        }
    }
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("oid", &self.oid)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// One change to files, applied to a tree without a work tree. In JSON it is read through
/// [`FileActionWire`], which refuses unknown fields and takes `content` as base64 or text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", try_from = "FileActionWire")]
pub enum FileAction {
    /// Create or replace a file.
    #[serde(rename_all = "camelCase")]
    Put {
        /// Where.
        path: RepoPath,
        /// The content (base64 in JSON).
        #[serde(serialize_with = "base64_bytes::serialize")]
        content: Bytes,
        /// Regular when not given; for a new file. An existing file keeps its mode unless given.
        mode: Option<FileMode>,
    },
    /// Remove a file (a directory path removes the whole directory).
    Delete {
        /// What.
        path: RepoPath,
    },
    /// Move a file or directory.
    Move {
        /// From.
        from: RepoPath,
        /// To (must not exist).
        to: RepoPath,
    },
    /// Change a file's executable bit.
    Chmod {
        /// What.
        path: RepoPath,
        /// Executable or regular.
        executable: bool,
    },
}

/// How a put action's `content` is written in JSON: base64 (the default, for any bytes) or
/// the text itself (UTF-8), as GitLab's commits API takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ContentEncoding {
    /// `content` is base64.
    #[default]
    Base64,
    /// `content` is the file's text.
    Text,
}

/// A [`FileAction`] as JSON carries it. Unknown fields are refused: a misspelt or foreign
/// field (`"encoding": "txt"` from another API) must not change silently what is stored.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = FileAction))]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum FileActionWire {
    /// Create or replace a file.
    #[serde(rename_all = "camelCase")]
    Put {
        /// Where.
        path: RepoPath,
        /// The content: base64, or the text itself with `"encoding": "text"`.
        content: String,
        /// How `content` is written (`base64` when not given).
        #[serde(default)]
        encoding: ContentEncoding,
        /// Regular when not given; for a new file. An existing file keeps its mode unless given.
        mode: Option<FileMode>,
    },
    /// Remove a file (a directory path removes the whole directory).
    Delete {
        /// What.
        path: RepoPath,
    },
    /// Move a file or directory.
    Move {
        /// From.
        from: RepoPath,
        /// To (must not exist).
        to: RepoPath,
    },
    /// Change a file's executable bit.
    Chmod {
        /// What.
        path: RepoPath,
        /// Executable or regular.
        executable: bool,
    },
}

impl TryFrom<FileActionWire> for FileAction {
    type Error = String;

    fn try_from(w: FileActionWire) -> Result<Self, String> {
        Ok(match w {
            FileActionWire::Put {
                path,
                content,
                encoding,
                mode,
            } => {
                let content = match encoding {
                    ContentEncoding::Text => Bytes::from(content.into_bytes()),
                    ContentEncoding::Base64 => {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD
                            .decode(content)
                            .map(Bytes::from)
                            .map_err(|e| {
                                format!(
                                    "content of {:?} is not base64 ({e}); send \
                                     \"encoding\": \"text\" for text",
                                    path.as_str()
                                )
                            })?
                    }
                };
                FileAction::Put {
                    path,
                    content,
                    mode,
                }
            }
            FileActionWire::Delete { path } => FileAction::Delete { path },
            FileActionWire::Move { from, to } => FileAction::Move { from, to },
            FileActionWire::Chmod { path, executable } => FileAction::Chmod { path, executable },
        })
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for FileAction {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <FileActionWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for FileAction {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("FileAction")
    }

    // The wire type's own components (`ContentEncoding`, `RepoPath`, `FileMode`) must be
    // registered too, or the document would refer to schemas it does not hold.
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <FileActionWire as utoipa::ToSchema>::schemas(schemas);
    }
}

mod base64_bytes {
    use base64::Engine;
    use bytes::Bytes;
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }
}

/// How a new commit is signed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Signing {
    /// Not signed.
    #[default]
    None,
    /// Signed in process with the operator's configured key.
    Operator,
    /// A signature the caller made over the payload that [`crate::GitBackend::commit_payload`]
    /// returns for the same request (armored text, stored as the `gpgsig` header).
    Provided {
        /// The armored signature.
        signature: String,
    },
}

/// A commit made from a list of file actions on a branch tip, without a work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CommitFiles {
    /// The branch to advance (created when `expected_tip` is [`Oid::ZERO`]).
    pub branch: RefName,
    /// Compare-and-swap on the branch: its tip now, or [`Oid::ZERO`] for a new branch.
    /// `None` takes whatever the tip is.
    pub expected_tip: Option<Oid>,
    /// For a new branch: where it starts; `None` makes a root commit.
    pub start_point: Option<Rev>,
    /// The changes, applied in order.
    pub actions: Vec<FileAction>,
    /// The message.
    pub message: String,
    /// The author.
    pub author: Signature,
    /// The committer; the author when `None`.
    pub committer: Option<Signature>,
    /// How to sign.
    #[serde(default)]
    pub signing: Signing,
    /// Whether a commit whose tree equals its parent's is allowed.
    #[serde(default)]
    pub allow_empty: bool,
}

/// A commit made from a workspace's index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CommitIndex {
    /// The workspace.
    pub workspace: WorkspaceName,
    /// The message.
    pub message: String,
    /// The author.
    pub author: Signature,
    /// The committer; the author when `None`.
    pub committer: Option<Signature>,
    /// How to sign.
    #[serde(default)]
    pub signing: Signing,
    /// Whether a commit whose tree equals its parent's is allowed.
    #[serde(default)]
    pub allow_empty: bool,
    /// Replace the workspace's tip commit instead of adding to it (`commit --amend`).
    #[serde(default)]
    pub amend: bool,
}

/// Cherry-pick or revert one commit onto a branch, without a work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PickCommit {
    /// The commit to pick or revert.
    pub commit: Rev,
    /// The branch that gets the new commit.
    pub branch: RefName,
    /// Compare-and-swap on the branch tip.
    pub expected_tip: Option<Oid>,
    /// For a merge commit: which parent (1-based) is the mainline.
    pub mainline: Option<u32>,
    /// The committer.
    pub committer: Signature,
}

/// Rewrite a branch's tip commit, without a work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Amend {
    /// The branch.
    pub branch: RefName,
    /// Compare-and-swap on the branch tip.
    pub expected_tip: Option<Oid>,
    /// A new message; the old one when `None`.
    pub message: Option<String>,
    /// A new author; the old one when `None`.
    pub author: Option<Signature>,
    /// The committer of the new commit.
    pub committer: Signature,
    /// File changes to fold into the commit.
    #[serde(default)]
    pub actions: Vec<FileAction>,
}

/// `git reset` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum ResetMode {
    /// Move the tip only.
    Soft,
    /// Move the tip and the index.
    Mixed,
    /// Move the tip, the index and the work tree.
    Hard,
}

/// What a reset moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ResetTarget {
    /// A branch of the bare repository (moved with compare-and-swap; the mode is ignored).
    #[serde(rename_all = "camelCase")]
    Branch {
        /// The branch.
        branch: RefName,
        /// Compare-and-swap on its tip.
        expected_tip: Option<Oid>,
    },
    /// A workspace: its base commit and its branch, then index and work tree by mode.
    #[serde(rename_all = "camelCase")]
    Workspace {
        /// The workspace.
        workspace: WorkspaceName,
    },
}

/// A reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Reset {
    /// What moves.
    pub target: ResetTarget,
    /// Where to.
    pub to: Rev,
    /// How much.
    pub mode: ResetMode,
}

/// A workspace: a linked work tree with its own index, pinned to the commit it was last synced
/// with (its base) and attached to a branch that its commits advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
#[cfg_attr(feature = "graphql", graphql(name = "Workspace"))]
pub struct WorkspaceInfo {
    /// Its name.
    pub name: WorkspaceName,
    /// The branch its commits advance.
    pub branch: RefName,
    /// The commit its index and work tree started from (`None` on an unborn branch).
    pub base: Option<Oid>,
}

/// The state of one path in `status`, as in `git status --porcelain=v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum FileStatus {
    /// Unchanged (only seen as one side of a status entry).
    Unmodified,
    /// New.
    Added,
    /// Changed content or mode.
    Modified,
    /// Removed.
    Deleted,
    /// Changed between file, symlink and submodule.
    TypeChanged,
    /// Unmerged (a conflict left in the index).
    Conflicted,
}

/// One path that differs somewhere between base, index and work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct StatusEntry {
    /// The path.
    pub path: String,
    /// Base commit vs index (`X` of porcelain v2).
    pub staged: FileStatus,
    /// Index vs work tree (`Y` of porcelain v2).
    pub unstaged: FileStatus,
    /// Not tracked (then both sides are [`FileStatus::Unmodified`]).
    pub untracked: bool,
}

/// One stash entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct StashEntry {
    /// Its position, 0 the newest.
    pub index: usize,
    /// The stash commit.
    pub oid: Oid,
    /// Its message as git writes it (`On main: message`).
    pub message: String,
}

/// A stash save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StashSave {
    /// The workspace.
    pub workspace: WorkspaceName,
    /// The message; git's default when `None`.
    pub message: Option<String>,
    /// Also stash untracked files.
    #[serde(default)]
    pub include_untracked: bool,
    /// Who stashes.
    pub stasher: Signature,
}

/// Fast-forward modes of a merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum FastForward {
    /// Fast-forward when possible, else a merge commit.
    #[default]
    Ff,
    /// Always a merge commit.
    NoFf,
    /// Only fast-forward; otherwise `FailedPrecondition`.
    FfOnly,
}

/// Merge a revision into a branch, without a work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Merge {
    /// What to merge.
    pub source: Rev,
    /// The branch that moves.
    pub target: RefName,
    /// Compare-and-swap on the target tip.
    pub expected_tip: Option<Oid>,
    /// Fast-forward mode.
    #[serde(default)]
    pub fast_forward: FastForward,
    /// The merge commit's message; `Merge <source> into <target>` by default.
    pub message: Option<String>,
    /// The merge commit's committer (and author).
    pub committer: Signature,
}

/// How a merge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum MergeKind {
    /// The source was already in the target; nothing moved.
    UpToDate,
    /// The target moved forward to the source.
    FastForward,
    /// A merge commit was made.
    Merged,
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct MergeOutcome {
    /// How it ended.
    pub kind: MergeKind,
    /// The target's tip afterwards.
    pub tip: Oid,
}

/// One step of an interactive rebase plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum RebaseStep {
    /// Apply the commit as it is.
    Pick {
        /// The commit.
        commit: Oid,
    },
    /// Apply the commit with a new message.
    Reword {
        /// The commit.
        commit: Oid,
        /// The new message.
        message: String,
    },
    /// Fold into the previous commit, joining the messages.
    Squash {
        /// The commit.
        commit: Oid,
        /// The message of the combined commit; both messages joined when `None`.
        message: Option<String>,
    },
    /// Fold into the previous commit, keeping the previous message.
    Fixup {
        /// The commit.
        commit: Oid,
    },
    /// Leave the commit out.
    Drop {
        /// The commit.
        commit: Oid,
    },
}

/// Rebase a branch onto a revision, without a work tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rebase {
    /// The branch that is rewritten.
    pub branch: RefName,
    /// Compare-and-swap on the branch tip.
    pub expected_tip: Option<Oid>,
    /// The new base.
    pub onto: Rev,
    /// The commits to replay are `upstream..branch`; `onto` when `None`.
    pub upstream: Option<Rev>,
    /// An interactive plan; the commits of `upstream..branch` picked in order when `None`.
    /// A plan must name each of those commits exactly once.
    pub plan: Option<Vec<RebaseStep>>,
    /// The committer of the rewritten commits.
    pub committer: Signature,
}

/// The result of a rebase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct RebaseOutcome {
    /// The branch's new tip.
    pub tip: Oid,
    /// The new commits, oldest first.
    pub commits: Vec<Oid>,
}

/// Ahead and behind counts of two commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct AheadBehind {
    /// Commits in `a` not in `b`.
    pub ahead: usize,
    /// Commits in `b` not in `a`.
    pub behind: usize,
}

/// A log query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LogQuery {
    /// What to walk.
    pub range: RevRange,
    /// Only commits that change this path (TREESAME simplification, as `git log -- path`).
    pub path: Option<RepoPath>,
    /// At most this many (0: no limit).
    #[serde(default)]
    pub limit: usize,
    /// Skip this many first.
    #[serde(default)]
    pub offset: usize,
    /// Follow only first parents.
    #[serde(default)]
    pub first_parent: bool,
    /// Follow the path across renames (needs `path`; as `git log --follow`).
    #[serde(default)]
    pub follow: bool,
}

impl LogQuery {
    /// Everything reachable from `rev`.
    pub fn of(rev: Rev) -> Self {
        Self {
            range: RevRange::Single(rev),
            path: None,
            limit: 0,
            offset: 0,
            first_parent: false,
            follow: false,
        }
    }
}

/// A blame query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlameQuery {
    /// The file.
    pub path: RepoPath,
    /// The commit to blame at.
    pub rev: Rev,
    /// Only these final lines, 1-based and inclusive.
    pub lines: Option<(u32, u32)>,
}

/// A run of lines that come from one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlameHunk {
    /// The commit that last changed these lines.
    pub commit: Oid,
    /// The path in that commit.
    pub orig_path: String,
    /// The first line in that commit, 1-based.
    pub orig_start: u32,
    /// The first line in the blamed file, 1-based.
    pub final_start: u32,
    /// How many lines.
    pub lines: u32,
}

/// A repository and the tree-ish its caller wants to diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DiffSpec {
    /// Between two tree-ishes (`from` may be absent: the empty tree).
    #[serde(rename_all = "camelCase")]
    Commits {
        /// The old side (`None`: the empty tree, or the first parent when `to` is a commit
        /// with exactly one parent).
        from: Option<Rev>,
        /// The new side.
        to: Rev,
    },
    /// A tree-ish (the workspace base when `None`) vs the workspace's index (`git diff --cached`).
    #[serde(rename_all = "camelCase")]
    Index {
        /// The workspace.
        workspace: WorkspaceName,
        /// The old side.
        from: Option<Rev>,
    },
    /// A tree-ish (the workspace base when `None`) vs the workspace's work tree (`git diff REV`).
    #[serde(rename_all = "camelCase")]
    TreeToWorktree {
        /// The workspace.
        workspace: WorkspaceName,
        /// The old side.
        from: Option<Rev>,
    },
    /// The index vs the work tree (`git diff`).
    #[serde(rename_all = "camelCase")]
    Worktree {
        /// The workspace.
        workspace: WorkspaceName,
    },
}

/// Options of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct DiffOptions {
    /// Context lines around changes (git's default 3).
    pub context_lines: u32,
    /// Detect renames.
    pub find_renames: bool,
    /// Detect copies (from files modified in the same change, as `git diff -C`).
    pub find_copies: bool,
    /// Similarity threshold for renames and copies, percent (git's default 50).
    pub rename_threshold: u8,
    /// Only these paths (a path names a file or a whole directory).
    pub paths: Vec<RepoPath>,
}

impl DiffOptions {
    /// The most context lines a diff may ask for.
    pub const MAX_CONTEXT_LINES: u32 = 10_000;

    /// Validated options. Every door builds its options here, and [`crate::DiffId::decode`]
    /// checks the options an id carries the same way, so no door can ask an engine for more.
    pub fn new(
        context_lines: u32,
        find_renames: bool,
        find_copies: bool,
        rename_threshold: u8,
        paths: Vec<RepoPath>,
    ) -> crate::Result<Self> {
        let options = Self {
            context_lines,
            find_renames,
            find_copies,
            rename_threshold,
            paths,
        };
        options.validate()?;
        Ok(options)
    }

    /// Checks the bounds: at most [`DiffOptions::MAX_CONTEXT_LINES`] context lines and a
    /// threshold of at most 100 percent.
    pub fn validate(&self) -> crate::Result<()> {
        if self.context_lines > Self::MAX_CONTEXT_LINES {
            return Err(crate::Error::invalid(format!(
                "contextLines is over {}",
                Self::MAX_CONTEXT_LINES
            )));
        }
        if self.rename_threshold > 100 {
            return Err(crate::Error::invalid("renameThreshold is over 100"));
        }
        Ok(())
    }
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            context_lines: 3,
            find_renames: true,
            find_copies: false,
            rename_threshold: 50,
            paths: Vec::new(),
        }
    }
}

/// A full request for a diff; also what a [`crate::DiffId`] encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DiffRequest {
    /// What to compare.
    pub spec: DiffSpec,
    /// How.
    #[serde(default)]
    pub options: DiffOptions,
}

impl DiffRequest {
    /// Checks the options (see [`DiffOptions::validate`]).
    pub fn validate(&self) -> crate::Result<()> {
        self.options.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_defaults_time_to_now_and_offset_to_utc() {
        let p = Person {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            time: None,
            offset_minutes: None,
        };
        let sig = p.signature_at(1_700_000_000).expect("valid person");
        assert_eq!((sig.time, sig.offset_minutes), (1_700_000_000, 0));
        let given = Person {
            time: Some(5),
            offset_minutes: Some(-90),
            ..p.clone()
        };
        let sig = given.signature_at(1_700_000_000).expect("valid person");
        assert_eq!((sig.time, sig.offset_minutes), (5, -90));
        let before = unix_now();
        let sig = p.signature().expect("valid person");
        assert!(sig.time >= before && sig.time <= unix_now());
        let bad = Person {
            name: "<x>".into(),
            ..p
        };
        assert_eq!(
            bad.signature().map_err(|e| e.kind()).err(),
            Some(crate::ErrorKind::InvalidArgument)
        );
    }

    #[test]
    fn a_missing_person_is_the_server_identity_now() {
        let before = unix_now();
        let sig = Person::signature_or_server(None).expect("the server identity");
        assert_eq!(sig.name, Signature::SERVER_NAME);
        assert_eq!(sig.email, Signature::SERVER_EMAIL);
        assert_eq!(sig.offset_minutes, 0);
        assert!(sig.time >= before);
        assert!(sig.validate().is_ok());
        assert_eq!(Person::optional_signature(None), Ok(None));
    }

    #[test]
    fn diff_options_are_bounded() {
        let ok = DiffOptions::new(DiffOptions::MAX_CONTEXT_LINES, true, false, 100, Vec::new());
        assert!(ok.is_ok());
        for (context, threshold) in [(DiffOptions::MAX_CONTEXT_LINES + 1, 50), (3, 101)] {
            let err = DiffOptions::new(context, true, false, threshold, Vec::new())
                .expect_err("out of bounds");
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        }
        assert!(DiffOptions::default().validate().is_ok());
    }
}
