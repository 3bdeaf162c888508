//! The conversion layer between core types and protobuf messages.
//!
//! Answers go out with `From<&core> for pb`; requests come in through [`RepoRequest::parse`],
//! which validates every string once into a core type (a bad value is `INVALID_ARGUMENT`,
//! as in every door). Each conversion has an inverse (`TryFrom<pb> for core`,
//! [`RepoRequest::build`]) so a property test checks that core → proto → core is the identity
//! for every message (see `tests` below).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_types::Timestamp;

use gitapi_core::diff::{DiffLine, DiffStats, FileDiff, Hunk};
use gitapi_core::{
    AheadBehind, Amend, BlameHunk, BlameQuery, BlobHeader, BlobRef, Commit, CommitFiles,
    CommitIndex, ConfigEntry, CreateTag, Diff, DiffId, DiffOptions, DiffRequest, DiffSpec,
    DiffStatus, Error, FastForward, FileAction, FileMode, FileStatus, GcOutcome, InitOptions,
    LineOrigin, ListRefs, ListTree, LogQuery, Merge, MergeKind, MergeOutcome, ObjectKind, Oid,
    PageRequest, Person, PickCommit, Rebase, RebaseOutcome, RebaseStep, Ref, RefKind, RefName,
    RefUpdate, RepoInfo, RepoName, RepoPath, Reset, ResetMode, ResetTarget, Result, Rev, RevRange,
    Signature, Signing, StashEntry, StashSave, StatusEntry, TagAnnotation, TagObject, TreeEntry,
    WorkspaceInfo, WorkspaceName,
};
use gitapi_service::{
    CanaryConfig, CanaryMode, EngineKind, ProtectionRule, RefChangeKind, RefEvent, RefPattern,
    RepoSource, SwitchStatus,
};

use crate::pb;

// --- Scalars ---

/// A repository name.
pub fn repo(s: &str) -> Result<RepoName> {
    RepoName::new(s)
}

/// A revision.
pub fn rev(s: &str) -> Result<Rev> {
    Rev::new(s)
}

/// A full ref name.
pub fn refname(s: &str) -> Result<RefName> {
    RefName::new(s)
}

/// A branch, short (`main`) or full (`refs/heads/main`).
pub fn branch(s: &str) -> Result<RefName> {
    RefName::branch_or_full(s)
}

/// A path in a tree.
pub fn path(s: &str) -> Result<RepoPath> {
    RepoPath::new(s)
}

/// An object id.
pub fn oid(s: &str) -> Result<Oid> {
    Oid::from_hex(s)
}

/// A workspace name; the default workspace when empty.
pub fn workspace(s: &str) -> Result<WorkspaceName> {
    if s.is_empty() {
        Ok(WorkspaceName::default_workspace())
    } else {
        WorkspaceName::new(s)
    }
}

/// `None` for an empty string, else the parsed value.
pub fn opt<T>(s: &str, parse: impl FnOnce(&str) -> Result<T>) -> Result<Option<T>> {
    if s.is_empty() {
        Ok(None)
    } else {
        parse(s).map(Some)
    }
}

/// An optional string field parsed when present.
fn opt_field<T>(s: Option<&str>, parse: impl FnOnce(&str) -> Result<T>) -> Result<Option<T>> {
    s.map(parse).transpose()
}

pub(crate) fn text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn small(n: u64, what: &str) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::invalid(format!("{what} {n} is too large")))
}

/// A page request from `page_size` and `page_token`.
pub fn page(size: u32, token: &str) -> PageRequest {
    PageRequest {
        limit: usize::try_from(size).unwrap_or(PageRequest::MAX_LIMIT),
        cursor: (!token.is_empty()).then(|| token.to_owned()),
    }
}

fn page_size(p: &PageRequest) -> u32 {
    u32::try_from(p.limit).unwrap_or(u32::MAX)
}

fn timestamp(t: SystemTime) -> Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn system_time(t: &Timestamp) -> Result<SystemTime> {
    let secs = u64::try_from(t.seconds).map_err(|_| Error::invalid("time before 1970"))?;
    let nanos = u32::try_from(t.nanos).map_err(|_| Error::invalid("negative nanoseconds"))?;
    Ok(UNIX_EPOCH + Duration::new(secs, nanos))
}

// --- Enums ---

/// The wire value of an optional mode (`UNSPECIFIED` for none).
pub fn mode_to(m: Option<FileMode>) -> i32 {
    (match m {
        None => pb::FileMode::Unspecified,
        Some(FileMode::Regular) => pb::FileMode::Regular,
        Some(FileMode::Executable) => pb::FileMode::Executable,
        Some(FileMode::Symlink) => pb::FileMode::Symlink,
        Some(FileMode::Tree) => pb::FileMode::Tree,
        Some(FileMode::Submodule) => pb::FileMode::Submodule,
    }) as i32
}

/// An optional mode from the wire.
pub fn mode_from(v: i32) -> Result<Option<FileMode>> {
    Ok(match pb::FileMode::try_from(v) {
        Ok(pb::FileMode::Unspecified) => None,
        Ok(pb::FileMode::Regular) => Some(FileMode::Regular),
        Ok(pb::FileMode::Executable) => Some(FileMode::Executable),
        Ok(pb::FileMode::Symlink) => Some(FileMode::Symlink),
        Ok(pb::FileMode::Tree) => Some(FileMode::Tree),
        Ok(pb::FileMode::Submodule) => Some(FileMode::Submodule),
        Err(_) => return Err(Error::invalid(format!("file mode {v} is not known"))),
    })
}

fn mode_required(v: i32) -> Result<FileMode> {
    mode_from(v)?.ok_or_else(|| Error::invalid("a file mode is required"))
}

fn kind_to(k: ObjectKind) -> i32 {
    (match k {
        ObjectKind::Blob => pb::ObjectKind::Blob,
        ObjectKind::Tree => pb::ObjectKind::Tree,
        ObjectKind::Commit => pb::ObjectKind::Commit,
        ObjectKind::Tag => pb::ObjectKind::Tag,
    }) as i32
}

fn kind_from(v: i32) -> Result<ObjectKind> {
    match pb::ObjectKind::try_from(v) {
        Ok(pb::ObjectKind::Blob) => Ok(ObjectKind::Blob),
        Ok(pb::ObjectKind::Tree) => Ok(ObjectKind::Tree),
        Ok(pb::ObjectKind::Commit) => Ok(ObjectKind::Commit),
        Ok(pb::ObjectKind::Tag) => Ok(ObjectKind::Tag),
        _ => Err(Error::invalid(format!("object kind {v} is not known"))),
    }
}

fn file_status_to(s: FileStatus) -> i32 {
    (match s {
        FileStatus::Unmodified => pb::FileStatus::Unmodified,
        FileStatus::Added => pb::FileStatus::Added,
        FileStatus::Modified => pb::FileStatus::Modified,
        FileStatus::Deleted => pb::FileStatus::Deleted,
        FileStatus::TypeChanged => pb::FileStatus::TypeChanged,
        FileStatus::Conflicted => pb::FileStatus::Conflicted,
    }) as i32
}

fn file_status_from(v: i32) -> Result<FileStatus> {
    match pb::FileStatus::try_from(v) {
        Ok(pb::FileStatus::Unmodified) => Ok(FileStatus::Unmodified),
        Ok(pb::FileStatus::Added) => Ok(FileStatus::Added),
        Ok(pb::FileStatus::Modified) => Ok(FileStatus::Modified),
        Ok(pb::FileStatus::Deleted) => Ok(FileStatus::Deleted),
        Ok(pb::FileStatus::TypeChanged) => Ok(FileStatus::TypeChanged),
        Ok(pb::FileStatus::Conflicted) => Ok(FileStatus::Conflicted),
        _ => Err(Error::invalid(format!("file status {v} is not known"))),
    }
}

fn diff_status_to(s: DiffStatus) -> i32 {
    (match s {
        DiffStatus::Added => pb::DiffStatus::Added,
        DiffStatus::Deleted => pb::DiffStatus::Deleted,
        DiffStatus::Modified => pb::DiffStatus::Modified,
        DiffStatus::Renamed => pb::DiffStatus::Renamed,
        DiffStatus::Copied => pb::DiffStatus::Copied,
        DiffStatus::TypeChanged => pb::DiffStatus::TypeChanged,
    }) as i32
}

fn diff_status_from(v: i32) -> Result<DiffStatus> {
    match pb::DiffStatus::try_from(v) {
        Ok(pb::DiffStatus::Added) => Ok(DiffStatus::Added),
        Ok(pb::DiffStatus::Deleted) => Ok(DiffStatus::Deleted),
        Ok(pb::DiffStatus::Modified) => Ok(DiffStatus::Modified),
        Ok(pb::DiffStatus::Renamed) => Ok(DiffStatus::Renamed),
        Ok(pb::DiffStatus::Copied) => Ok(DiffStatus::Copied),
        Ok(pb::DiffStatus::TypeChanged) => Ok(DiffStatus::TypeChanged),
        _ => Err(Error::invalid(format!("diff status {v} is not known"))),
    }
}

fn origin_to(o: LineOrigin) -> i32 {
    (match o {
        LineOrigin::Context => pb::LineOrigin::Context,
        LineOrigin::Addition => pb::LineOrigin::Addition,
        LineOrigin::Deletion => pb::LineOrigin::Deletion,
    }) as i32
}

fn origin_from(v: i32) -> Result<LineOrigin> {
    match pb::LineOrigin::try_from(v) {
        Ok(pb::LineOrigin::Context) => Ok(LineOrigin::Context),
        Ok(pb::LineOrigin::Addition) => Ok(LineOrigin::Addition),
        Ok(pb::LineOrigin::Deletion) => Ok(LineOrigin::Deletion),
        _ => Err(Error::invalid(format!("line origin {v} is not known"))),
    }
}

fn ref_kind_to(k: RefKind) -> i32 {
    (match k {
        RefKind::Branches => pb::RefKind::Branches,
        RefKind::Tags => pb::RefKind::Tags,
        RefKind::All => pb::RefKind::All,
    }) as i32
}

fn ref_kind_from(v: i32) -> Result<RefKind> {
    match pb::RefKind::try_from(v) {
        Ok(pb::RefKind::Branches) => Ok(RefKind::Branches),
        Ok(pb::RefKind::Tags) => Ok(RefKind::Tags),
        Ok(pb::RefKind::All | pb::RefKind::Unspecified) => Ok(RefKind::All),
        Err(_) => Err(Error::invalid(format!("ref kind {v} is not known"))),
    }
}

fn reset_mode_to(m: ResetMode) -> i32 {
    (match m {
        ResetMode::Soft => pb::ResetMode::Soft,
        ResetMode::Mixed => pb::ResetMode::Mixed,
        ResetMode::Hard => pb::ResetMode::Hard,
    }) as i32
}

fn reset_mode_from(v: i32) -> Result<ResetMode> {
    match pb::ResetMode::try_from(v) {
        Ok(pb::ResetMode::Soft) => Ok(ResetMode::Soft),
        Ok(pb::ResetMode::Mixed | pb::ResetMode::Unspecified) => Ok(ResetMode::Mixed),
        Ok(pb::ResetMode::Hard) => Ok(ResetMode::Hard),
        Err(_) => Err(Error::invalid(format!("reset mode {v} is not known"))),
    }
}

fn ff_to(f: FastForward) -> i32 {
    (match f {
        FastForward::Ff => pb::FastForward::Ff,
        FastForward::NoFf => pb::FastForward::NoFf,
        FastForward::FfOnly => pb::FastForward::FfOnly,
    }) as i32
}

fn ff_from(v: i32) -> Result<FastForward> {
    match pb::FastForward::try_from(v) {
        Ok(pb::FastForward::Ff | pb::FastForward::Unspecified) => Ok(FastForward::Ff),
        Ok(pb::FastForward::NoFf) => Ok(FastForward::NoFf),
        Ok(pb::FastForward::FfOnly) => Ok(FastForward::FfOnly),
        Err(_) => Err(Error::invalid(format!(
            "fast-forward mode {v} is not known"
        ))),
    }
}

fn merge_kind_to(k: MergeKind) -> i32 {
    (match k {
        MergeKind::UpToDate => pb::MergeKind::UpToDate,
        MergeKind::FastForward => pb::MergeKind::FastForward,
        MergeKind::Merged => pb::MergeKind::Merged,
    }) as i32
}

fn merge_kind_from(v: i32) -> Result<MergeKind> {
    match pb::MergeKind::try_from(v) {
        Ok(pb::MergeKind::UpToDate) => Ok(MergeKind::UpToDate),
        Ok(pb::MergeKind::FastForward) => Ok(MergeKind::FastForward),
        Ok(pb::MergeKind::Merged) => Ok(MergeKind::Merged),
        _ => Err(Error::invalid(format!("merge kind {v} is not known"))),
    }
}

/// The wire value of an engine.
pub fn engine_to(k: EngineKind) -> i32 {
    (match k {
        EngineKind::Libgit2 => pb::Engine::Libgit2,
        EngineKind::Shell => pb::Engine::Shell,
    }) as i32
}

/// An optional engine from the wire (`UNSPECIFIED`: none).
pub fn engine_from(v: i32) -> Result<Option<EngineKind>> {
    match pb::Engine::try_from(v) {
        Ok(pb::Engine::Unspecified) => Ok(None),
        Ok(pb::Engine::Libgit2) => Ok(Some(EngineKind::Libgit2)),
        Ok(pb::Engine::Shell) => Ok(Some(EngineKind::Shell)),
        Err(_) => Err(Error::invalid(format!("engine {v} is not known"))),
    }
}

// --- Answers ---

impl From<&Signature> for pb::Signature {
    fn from(s: &Signature) -> Self {
        Self {
            name: s.name.clone(),
            email: s.email.clone(),
            time: Some(Timestamp {
                seconds: s.time,
                nanos: 0,
            }),
            offset_minutes: s.offset_minutes,
        }
    }
}

impl TryFrom<pb::Signature> for Signature {
    type Error = Error;
    /// A signature as a caller names one: a missing time is now (see [`Person`]).
    fn try_from(s: pb::Signature) -> Result<Self> {
        Person {
            name: s.name,
            email: s.email,
            time: s.time.map(|t| t.seconds),
            offset_minutes: Some(s.offset_minutes),
        }
        .signature()
    }
}

/// A signature a caller may leave out: the server's identity now when absent.
pub fn signature_or_server(s: Option<pb::Signature>) -> Result<Signature> {
    s.map_or_else(|| Ok(Signature::server()), Signature::try_from)
}

fn opt_signature(s: Option<pb::Signature>) -> Result<Option<Signature>> {
    s.map(Signature::try_from).transpose()
}

impl From<&Commit> for pb::Commit {
    fn from(c: &Commit) -> Self {
        Self {
            oid: c.oid.to_string(),
            tree: c.tree.to_string(),
            parents: c.parents.iter().map(Oid::to_string).collect(),
            author: Some((&c.author).into()),
            committer: Some((&c.committer).into()),
            message: c.message.clone(),
            signature: c.signature.clone(),
        }
    }
}

impl TryFrom<pb::Commit> for Commit {
    type Error = Error;
    fn try_from(c: pb::Commit) -> Result<Self> {
        let sig = |s: Option<pb::Signature>| {
            s.ok_or_else(|| Error::invalid("a signature is missing"))
                .and_then(Signature::try_from)
        };
        Ok(Self {
            oid: oid(&c.oid)?,
            tree: oid(&c.tree)?,
            parents: c.parents.iter().map(|p| oid(p)).collect::<Result<_>>()?,
            author: sig(c.author)?,
            committer: sig(c.committer)?,
            message: c.message,
            signature: c.signature,
        })
    }
}

impl From<&Ref> for pb::Ref {
    fn from(r: &Ref) -> Self {
        Self {
            name: r.name.to_string(),
            target: r.target.to_string(),
            peeled: text(r.peeled),
        }
    }
}

impl From<&TagObject> for pb::TagObject {
    fn from(t: &TagObject) -> Self {
        Self {
            oid: t.oid.to_string(),
            name: t.name.clone(),
            target: t.target.to_string(),
            target_kind: kind_to(t.target_kind),
            tagger: t.tagger.as_ref().map(Into::into),
            message: t.message.clone(),
            signature: t.signature.clone(),
        }
    }
}

impl TryFrom<pb::Ref> for Ref {
    type Error = Error;
    fn try_from(r: pb::Ref) -> Result<Self> {
        Ok(Self {
            name: refname(&r.name)?,
            target: oid(&r.target)?,
            peeled: opt(&r.peeled, oid)?,
        })
    }
}

impl From<&TreeEntry> for pb::TreeEntry {
    fn from(e: &TreeEntry) -> Self {
        Self {
            name: e.name.clone(),
            path: e.path.clone(),
            mode: mode_to(Some(e.mode)),
            kind: kind_to(e.kind),
            oid: e.oid.to_string(),
            size: e.size,
        }
    }
}

impl TryFrom<pb::TreeEntry> for TreeEntry {
    type Error = Error;
    fn try_from(e: pb::TreeEntry) -> Result<Self> {
        Ok(Self {
            mode: mode_required(e.mode)?,
            kind: kind_from(e.kind)?,
            oid: oid(&e.oid)?,
            name: e.name,
            path: e.path,
            size: e.size,
        })
    }
}

impl From<&BlobHeader> for pb::BlobHeader {
    fn from(h: &BlobHeader) -> Self {
        Self {
            oid: h.oid.to_string(),
            size: h.size,
            mode: mode_to(h.mode),
        }
    }
}

impl TryFrom<pb::BlobHeader> for BlobHeader {
    type Error = Error;
    fn try_from(h: pb::BlobHeader) -> Result<Self> {
        Ok(Self {
            oid: oid(&h.oid)?,
            size: h.size,
            mode: mode_from(h.mode)?,
        })
    }
}

impl From<&RepoInfo> for pb::RepositoryInfo {
    fn from(r: &RepoInfo) -> Self {
        Self {
            name: r.name.to_string(),
            default_branch: text(r.default_branch.as_ref()),
            empty: r.empty,
            mirror: r.mirror,
        }
    }
}

impl TryFrom<pb::RepositoryInfo> for RepoInfo {
    type Error = Error;
    fn try_from(r: pb::RepositoryInfo) -> Result<Self> {
        Ok(Self {
            name: repo(&r.name)?,
            default_branch: opt(&r.default_branch, refname)?,
            empty: r.empty,
            mirror: r.mirror,
        })
    }
}

impl From<&WorkspaceInfo> for pb::WorkspaceInfo {
    fn from(w: &WorkspaceInfo) -> Self {
        Self {
            name: w.name.to_string(),
            branch: w.branch.to_string(),
            base: text(w.base),
        }
    }
}

impl TryFrom<pb::WorkspaceInfo> for WorkspaceInfo {
    type Error = Error;
    fn try_from(w: pb::WorkspaceInfo) -> Result<Self> {
        Ok(Self {
            name: WorkspaceName::new(&w.name)?,
            branch: refname(&w.branch)?,
            base: opt(&w.base, oid)?,
        })
    }
}

impl From<&StatusEntry> for pb::StatusEntry {
    fn from(s: &StatusEntry) -> Self {
        Self {
            path: s.path.clone(),
            staged: file_status_to(s.staged),
            unstaged: file_status_to(s.unstaged),
            untracked: s.untracked,
        }
    }
}

impl TryFrom<pb::StatusEntry> for StatusEntry {
    type Error = Error;
    fn try_from(s: pb::StatusEntry) -> Result<Self> {
        Ok(Self {
            staged: file_status_from(s.staged)?,
            unstaged: file_status_from(s.unstaged)?,
            path: s.path,
            untracked: s.untracked,
        })
    }
}

impl From<&StashEntry> for pb::StashEntry {
    fn from(s: &StashEntry) -> Self {
        Self {
            index: u32::try_from(s.index).unwrap_or(u32::MAX),
            oid: s.oid.to_string(),
            message: s.message.clone(),
        }
    }
}

impl TryFrom<pb::StashEntry> for StashEntry {
    type Error = Error;
    fn try_from(s: pb::StashEntry) -> Result<Self> {
        Ok(Self {
            index: small(u64::from(s.index), "stash index")?,
            oid: oid(&s.oid)?,
            message: s.message,
        })
    }
}

impl From<&BlameHunk> for pb::BlameHunk {
    fn from(h: &BlameHunk) -> Self {
        Self {
            commit: h.commit.to_string(),
            orig_path: h.orig_path.clone(),
            orig_start: h.orig_start,
            final_start: h.final_start,
            lines: h.lines,
        }
    }
}

impl TryFrom<pb::BlameHunk> for BlameHunk {
    type Error = Error;
    fn try_from(h: pb::BlameHunk) -> Result<Self> {
        Ok(Self {
            commit: oid(&h.commit)?,
            orig_path: h.orig_path,
            orig_start: h.orig_start,
            final_start: h.final_start,
            lines: h.lines,
        })
    }
}

impl From<&ConfigEntry> for pb::ConfigEntry {
    fn from(c: &ConfigEntry) -> Self {
        Self {
            key: c.key.clone(),
            value: c.value.clone(),
        }
    }
}

impl From<pb::ConfigEntry> for ConfigEntry {
    fn from(c: pb::ConfigEntry) -> Self {
        Self {
            key: c.key,
            value: c.value,
        }
    }
}

impl From<&AheadBehind> for pb::AheadBehind {
    fn from(a: &AheadBehind) -> Self {
        Self {
            ahead: count(a.ahead),
            behind: count(a.behind),
        }
    }
}

impl TryFrom<pb::AheadBehind> for AheadBehind {
    type Error = Error;
    fn try_from(a: pb::AheadBehind) -> Result<Self> {
        Ok(Self {
            ahead: small(a.ahead, "ahead count")?,
            behind: small(a.behind, "behind count")?,
        })
    }
}

impl From<&DiffLine> for pb::DiffLine {
    fn from(l: &DiffLine) -> Self {
        Self {
            origin: origin_to(l.origin),
            content: l.content.clone(),
            old_lineno: l.old_lineno,
            new_lineno: l.new_lineno,
            no_newline: l.no_newline,
        }
    }
}

impl TryFrom<pb::DiffLine> for DiffLine {
    type Error = Error;
    fn try_from(l: pb::DiffLine) -> Result<Self> {
        Ok(Self {
            origin: origin_from(l.origin)?,
            content: l.content,
            old_lineno: l.old_lineno,
            new_lineno: l.new_lineno,
            no_newline: l.no_newline,
        })
    }
}

impl From<&Hunk> for pb::DiffHunk {
    fn from(h: &Hunk) -> Self {
        Self {
            old_start: h.old_start,
            old_lines: h.old_lines,
            new_start: h.new_start,
            new_lines: h.new_lines,
            heading: h.heading.clone(),
            lines: h.lines.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::DiffHunk> for Hunk {
    type Error = Error;
    fn try_from(h: pb::DiffHunk) -> Result<Self> {
        Ok(Self {
            old_start: h.old_start,
            old_lines: h.old_lines,
            new_start: h.new_start,
            new_lines: h.new_lines,
            heading: h.heading,
            lines: h
                .lines
                .into_iter()
                .map(DiffLine::try_from)
                .collect::<Result<_>>()?,
        })
    }
}

impl From<&FileDiff> for pb::FileDiff {
    fn from(f: &FileDiff) -> Self {
        Self {
            status: diff_status_to(f.status),
            old_path: f.old_path.clone(),
            new_path: f.new_path.clone(),
            old_mode: mode_to(f.old_mode),
            new_mode: mode_to(f.new_mode),
            old_oid: f.old_oid.to_string(),
            new_oid: f.new_oid.to_string(),
            similarity: f.similarity.map(u32::from),
            binary: f.binary,
            additions: f.additions,
            deletions: f.deletions,
            hunks: f.hunks.iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::FileDiff> for FileDiff {
    type Error = Error;
    fn try_from(f: pb::FileDiff) -> Result<Self> {
        Ok(Self {
            status: diff_status_from(f.status)?,
            old_path: f.old_path,
            new_path: f.new_path,
            old_mode: mode_from(f.old_mode)?,
            new_mode: mode_from(f.new_mode)?,
            old_oid: oid(&f.old_oid)?,
            new_oid: oid(&f.new_oid)?,
            similarity: f
                .similarity
                .map(|s| u8::try_from(s).map_err(|_| Error::invalid("similarity over 255")))
                .transpose()?,
            binary: f.binary,
            additions: f.additions,
            deletions: f.deletions,
            hunks: f
                .hunks
                .into_iter()
                .map(Hunk::try_from)
                .collect::<Result<_>>()?,
        })
    }
}

/// A diff as the messages of a `Diff` stream: the summary, then one message per file.
pub fn diff_messages(d: &Diff) -> impl Iterator<Item = pb::DiffResponse> + '_ {
    let summary = pb::DiffSummary {
        id: text(d.id.as_ref().map(DiffId::as_str)),
        files_changed: count(d.stats.files_changed),
        insertions: d.stats.insertions,
        deletions: d.stats.deletions,
    };
    let first = pb::DiffResponse {
        part: Some(pb::diff_response::Part::Summary(summary)),
    };
    std::iter::once(first).chain(d.files.iter().map(|f| pb::DiffResponse {
        part: Some(pb::diff_response::Part::File(f.into())),
    }))
}

/// A diff read back from the messages of a `Diff` stream.
pub fn diff_from_messages(msgs: impl IntoIterator<Item = pb::DiffResponse>) -> Result<Diff> {
    let mut summary = None;
    let mut files = Vec::new();
    for m in msgs {
        match m.part {
            Some(pb::diff_response::Part::Summary(s)) => summary = Some(s),
            Some(pb::diff_response::Part::File(f)) => files.push(FileDiff::try_from(f)?),
            None => return Err(Error::invalid("an empty diff message")),
        }
    }
    let s = summary.ok_or_else(|| Error::invalid("a diff stream without its summary"))?;
    Ok(Diff {
        id: (!s.id.is_empty()).then(|| DiffId::from_string(s.id)),
        files,
        stats: DiffStats {
            files_changed: small(s.files_changed, "files changed")?,
            insertions: s.insertions,
            deletions: s.deletions,
        },
    })
}

impl From<&MergeOutcome> for pb::MergeResponse {
    fn from(m: &MergeOutcome) -> Self {
        Self {
            kind: merge_kind_to(m.kind),
            tip: m.tip.to_string(),
        }
    }
}

impl TryFrom<pb::MergeResponse> for MergeOutcome {
    type Error = Error;
    fn try_from(m: pb::MergeResponse) -> Result<Self> {
        Ok(Self {
            kind: merge_kind_from(m.kind)?,
            tip: oid(&m.tip)?,
        })
    }
}

impl From<&RebaseOutcome> for pb::RebaseResponse {
    fn from(r: &RebaseOutcome) -> Self {
        Self {
            tip: r.tip.to_string(),
            commits: r.commits.iter().map(Oid::to_string).collect(),
        }
    }
}

impl TryFrom<pb::RebaseResponse> for RebaseOutcome {
    type Error = Error;
    fn try_from(r: pb::RebaseResponse) -> Result<Self> {
        Ok(Self {
            tip: oid(&r.tip)?,
            commits: r.commits.iter().map(|c| oid(c)).collect::<Result<_>>()?,
        })
    }
}

impl From<&GcOutcome> for pb::GarbageCollectResponse {
    fn from(g: &GcOutcome) -> Self {
        Self {
            loose_objects_before: g.loose_objects_before,
            loose_objects_after: g.loose_objects_after,
            packs_after: g.packs_after,
        }
    }
}

impl From<pb::GarbageCollectResponse> for GcOutcome {
    fn from(g: pb::GarbageCollectResponse) -> Self {
        Self {
            loose_objects_before: g.loose_objects_before,
            loose_objects_after: g.loose_objects_after,
            packs_after: g.packs_after,
        }
    }
}

impl From<&ProtectionRule> for pb::ProtectionRule {
    fn from(r: &ProtectionRule) -> Self {
        Self {
            pattern: r.pattern.as_str().to_owned(),
            no_force_push: r.no_force_push,
            no_deletion: r.no_deletion,
            require_signed_commits: r.require_signed_commits,
        }
    }
}

impl TryFrom<pb::ProtectionRule> for ProtectionRule {
    type Error = Error;
    fn try_from(r: pb::ProtectionRule) -> Result<Self> {
        Ok(Self {
            pattern: RefPattern::new(&r.pattern)?,
            no_force_push: r.no_force_push,
            no_deletion: r.no_deletion,
            require_signed_commits: r.require_signed_commits,
        })
    }
}

impl From<&CanaryConfig> for pb::Canary {
    fn from(c: &CanaryConfig) -> Self {
        Self {
            fraction: c.fraction,
            mode: (match c.mode {
                CanaryMode::Shadow => pb::CanaryMode::Shadow,
                CanaryMode::Route => pb::CanaryMode::Route,
            }) as i32,
        }
    }
}

impl TryFrom<pb::Canary> for CanaryConfig {
    type Error = Error;
    fn try_from(c: pb::Canary) -> Result<Self> {
        let mode = match pb::CanaryMode::try_from(c.mode) {
            Ok(pb::CanaryMode::Shadow | pb::CanaryMode::Unspecified) => CanaryMode::Shadow,
            Ok(pb::CanaryMode::Route) => CanaryMode::Route,
            Err(_) => {
                return Err(Error::invalid(format!(
                    "canary mode {} is not known",
                    c.mode
                )));
            }
        };
        Ok(Self {
            fraction: c.fraction,
            mode,
        })
    }
}

fn by_engine<V: Copy>(m: &BTreeMap<EngineKind, V>, f: impl Fn(V) -> u64) -> HashMap<String, u64> {
    m.iter()
        .map(|(k, v)| (k.as_str().to_owned(), f(*v)))
        .collect()
}

fn engine_keyed<V>(
    m: HashMap<String, u64>,
    f: impl Fn(u64) -> Result<V>,
) -> Result<BTreeMap<EngineKind, V>> {
    m.into_iter()
        .map(|(k, v)| Ok((k.parse::<EngineKind>()?, f(v)?)))
        .collect()
}

impl From<&SwitchStatus> for pb::BackendStatus {
    fn from(s: &SwitchStatus) -> Self {
        let named = |m: &BTreeMap<String, u64>| m.clone().into_iter().collect();
        Self {
            backend: engine_to(s.backend),
            switched_at: Some(timestamp(s.switched_at)),
            switches: s.switches,
            in_flight: by_engine(&s.in_flight, count),
            served: by_engine(&s.served, |v| v),
            canary: Some((&s.canary).into()),
            canary_compared: named(&s.canary_compared),
            canary_mismatches: named(&s.canary_mismatches),
            canary_inconclusive: s.canary_inconclusive,
        }
    }
}

impl TryFrom<pb::BackendStatus> for SwitchStatus {
    type Error = Error;
    fn try_from(s: pb::BackendStatus) -> Result<Self> {
        Ok(Self {
            backend: engine_from(s.backend)?.ok_or_else(|| Error::invalid("no engine"))?,
            switched_at: system_time(&s.switched_at.unwrap_or_default())?,
            switches: s.switches,
            in_flight: engine_keyed(s.in_flight, |v| small(v, "in flight"))?,
            served: engine_keyed(s.served, Ok)?,
            canary: s.canary.unwrap_or_default().try_into()?,
            canary_compared: s.canary_compared.into_iter().collect(),
            canary_mismatches: s.canary_mismatches.into_iter().collect(),
            canary_inconclusive: s.canary_inconclusive,
        })
    }
}

impl From<&RefEvent> for pb::RefChange {
    fn from(e: &RefEvent) -> Self {
        Self {
            repository: e.repo.to_string(),
            name: e.refname.to_string(),
            old: text(e.old),
            new: text(e.new),
            kind: (match e.kind {
                RefChangeKind::Created => pb::RefChangeKind::Created,
                RefChangeKind::Updated => pb::RefChangeKind::Updated,
                RefChangeKind::Deleted => pb::RefChangeKind::Deleted,
            }) as i32,
        }
    }
}

impl TryFrom<pb::RefChange> for RefEvent {
    type Error = Error;
    fn try_from(c: pb::RefChange) -> Result<Self> {
        let kind = match pb::RefChangeKind::try_from(c.kind) {
            Ok(pb::RefChangeKind::Created) => RefChangeKind::Created,
            Ok(pb::RefChangeKind::Updated) => RefChangeKind::Updated,
            Ok(pb::RefChangeKind::Deleted) => RefChangeKind::Deleted,
            _ => {
                return Err(Error::invalid(format!(
                    "ref change kind {} is not known",
                    c.kind
                )));
            }
        };
        Ok(Self {
            repo: repo(&c.repository)?,
            refname: refname(&c.name)?,
            old: opt(&c.old, oid)?,
            new: opt(&c.new, oid)?,
            kind,
        })
    }
}

// --- Requests ---

impl From<&FileAction> for pb::FileAction {
    fn from(a: &FileAction) -> Self {
        use pb::file_action::Action;
        let action = match a {
            FileAction::Put {
                path,
                content,
                mode,
            } => Action::Put(pb::PutFileAction {
                path: path.to_string(),
                content: content.clone(),
                mode: mode_to(*mode),
            }),
            FileAction::Delete { path } => Action::Delete(pb::DeleteFileAction {
                path: path.to_string(),
            }),
            FileAction::Move { from, to } => Action::Move(pb::MoveFileAction {
                from: from.to_string(),
                to: to.to_string(),
            }),
            FileAction::Chmod { path, executable } => Action::Chmod(pb::ChmodFileAction {
                path: path.to_string(),
                executable: *executable,
            }),
        };
        Self {
            action: Some(action),
        }
    }
}

impl TryFrom<pb::FileAction> for FileAction {
    type Error = Error;
    fn try_from(a: pb::FileAction) -> Result<Self> {
        use pb::file_action::Action;
        match a.action {
            Some(Action::Put(p)) => Ok(FileAction::Put {
                path: path(&p.path)?,
                content: p.content,
                mode: mode_from(p.mode)?,
            }),
            Some(Action::Delete(d)) => Ok(FileAction::Delete {
                path: path(&d.path)?,
            }),
            Some(Action::Move(m)) => Ok(FileAction::Move {
                from: path(&m.from)?,
                to: path(&m.to)?,
            }),
            Some(Action::Chmod(c)) => Ok(FileAction::Chmod {
                path: path(&c.path)?,
                executable: c.executable,
            }),
            None => Err(Error::invalid("a file action names no action")),
        }
    }
}

fn actions(v: Vec<pb::FileAction>) -> Result<Vec<FileAction>> {
    v.into_iter().map(FileAction::try_from).collect()
}

impl From<&Signing> for pb::Signing {
    fn from(s: &Signing) -> Self {
        use pb::signing::Method;
        let method = match s {
            Signing::None => Method::None(pb::signing::Unsigned {}),
            Signing::Operator => Method::Operator(pb::signing::OperatorKey {}),
            Signing::Provided { signature } => Method::Provided(signature.clone()),
        };
        Self {
            method: Some(method),
        }
    }
}

fn signing(s: Option<pb::Signing>) -> Signing {
    use pb::signing::Method;
    match s.and_then(|s| s.method) {
        None | Some(Method::None(_)) => Signing::None,
        Some(Method::Operator(_)) => Signing::Operator,
        Some(Method::Provided(signature)) => Signing::Provided { signature },
    }
}

/// A request message that names a repository and carries one core request.
pub trait RepoRequest: Sized {
    /// The core request.
    type Core;
    /// Validates the message into the repository and the core request.
    fn parse(self) -> Result<(RepoName, Self::Core)>;
    /// The message for a core request (the inverse of [`RepoRequest::parse`]).
    fn build(repo: &RepoName, core: &Self::Core) -> Self;
}

impl RepoRequest for pb::CommitFilesRequest {
    type Core = CommitFiles;
    fn parse(self) -> Result<(RepoName, CommitFiles)> {
        Ok((
            repo(&self.repository)?,
            CommitFiles {
                branch: refname(&self.branch)?,
                expected_tip: opt_field(self.expected_tip.as_deref(), oid)?,
                start_point: opt(&self.start_point, rev)?,
                actions: actions(self.actions)?,
                message: self.message,
                author: signature_or_server(self.author)?,
                committer: opt_signature(self.committer)?,
                signing: signing(self.signing),
                allow_empty: self.allow_empty,
            },
        ))
    }
    fn build(repo: &RepoName, c: &CommitFiles) -> Self {
        Self {
            repository: repo.to_string(),
            branch: c.branch.to_string(),
            expected_tip: c.expected_tip.map(|o| o.to_string()),
            start_point: text(c.start_point.as_ref()),
            actions: c.actions.iter().map(Into::into).collect(),
            message: c.message.clone(),
            author: Some((&c.author).into()),
            committer: c.committer.as_ref().map(Into::into),
            signing: Some((&c.signing).into()),
            allow_empty: c.allow_empty,
        }
    }
}

impl RepoRequest for pb::CommitIndexRequest {
    type Core = CommitIndex;
    fn parse(self) -> Result<(RepoName, CommitIndex)> {
        Ok((
            repo(&self.repository)?,
            CommitIndex {
                workspace: workspace(&self.workspace)?,
                message: self.message,
                author: signature_or_server(self.author)?,
                committer: opt_signature(self.committer)?,
                signing: signing(self.signing),
                allow_empty: self.allow_empty,
                amend: self.amend,
            },
        ))
    }
    fn build(repo: &RepoName, c: &CommitIndex) -> Self {
        Self {
            repository: repo.to_string(),
            workspace: c.workspace.to_string(),
            message: c.message.clone(),
            author: Some((&c.author).into()),
            committer: c.committer.as_ref().map(Into::into),
            signing: Some((&c.signing).into()),
            allow_empty: c.allow_empty,
            amend: c.amend,
        }
    }
}

impl RepoRequest for pb::AmendRequest {
    type Core = Amend;
    fn parse(self) -> Result<(RepoName, Amend)> {
        Ok((
            repo(&self.repository)?,
            Amend {
                branch: refname(&self.branch)?,
                expected_tip: opt_field(self.expected_tip.as_deref(), oid)?,
                message: self.message,
                author: opt_signature(self.author)?,
                committer: signature_or_server(self.committer)?,
                actions: actions(self.actions)?,
            },
        ))
    }
    fn build(repo: &RepoName, a: &Amend) -> Self {
        Self {
            repository: repo.to_string(),
            branch: a.branch.to_string(),
            expected_tip: a.expected_tip.map(|o| o.to_string()),
            message: a.message.clone(),
            author: a.author.as_ref().map(Into::into),
            committer: Some((&a.committer).into()),
            actions: a.actions.iter().map(Into::into).collect(),
        }
    }
}

impl RepoRequest for pb::ResetRequest {
    type Core = Reset;
    fn parse(self) -> Result<(RepoName, Reset)> {
        use pb::reset_request::Target;
        let target = match self.target {
            Some(Target::Branch(b)) => ResetTarget::Branch {
                branch: refname(&b.branch)?,
                expected_tip: opt_field(b.expected_tip.as_deref(), oid)?,
            },
            Some(Target::Workspace(w)) => ResetTarget::Workspace {
                workspace: workspace(&w)?,
            },
            None => return Err(Error::invalid("a reset names no branch or workspace")),
        };
        Ok((
            repo(&self.repository)?,
            Reset {
                target,
                to: rev(&self.to)?,
                mode: reset_mode_from(self.mode)?,
            },
        ))
    }
    fn build(repo: &RepoName, r: &Reset) -> Self {
        use pb::reset_request::{BranchTarget, Target};
        let target = match &r.target {
            ResetTarget::Branch {
                branch,
                expected_tip,
            } => Target::Branch(BranchTarget {
                branch: branch.to_string(),
                expected_tip: expected_tip.map(|o| o.to_string()),
            }),
            ResetTarget::Workspace { workspace } => Target::Workspace(workspace.to_string()),
        };
        Self {
            repository: repo.to_string(),
            target: Some(target),
            to: r.to.to_string(),
            mode: reset_mode_to(r.mode),
        }
    }
}

impl RepoRequest for pb::PickRequest {
    type Core = PickCommit;
    fn parse(self) -> Result<(RepoName, PickCommit)> {
        Ok((
            repo(&self.repository)?,
            PickCommit {
                commit: rev(&self.commit)?,
                branch: refname(&self.branch)?,
                expected_tip: opt_field(self.expected_tip.as_deref(), oid)?,
                mainline: self.mainline,
                committer: signature_or_server(self.committer)?,
            },
        ))
    }
    fn build(repo: &RepoName, p: &PickCommit) -> Self {
        Self {
            repository: repo.to_string(),
            commit: p.commit.to_string(),
            branch: p.branch.to_string(),
            expected_tip: p.expected_tip.map(|o| o.to_string()),
            mainline: p.mainline,
            committer: Some((&p.committer).into()),
        }
    }
}

impl RepoRequest for pb::MergeRequest {
    type Core = Merge;
    fn parse(self) -> Result<(RepoName, Merge)> {
        Ok((
            repo(&self.repository)?,
            Merge {
                source: rev(&self.source)?,
                target: refname(&self.target)?,
                expected_tip: opt_field(self.expected_tip.as_deref(), oid)?,
                fast_forward: ff_from(self.fast_forward)?,
                message: self.message,
                committer: signature_or_server(self.committer)?,
            },
        ))
    }
    fn build(repo: &RepoName, m: &Merge) -> Self {
        Self {
            repository: repo.to_string(),
            source: m.source.to_string(),
            target: m.target.to_string(),
            expected_tip: m.expected_tip.map(|o| o.to_string()),
            fast_forward: ff_to(m.fast_forward),
            message: m.message.clone(),
            committer: Some((&m.committer).into()),
        }
    }
}

impl From<&RebaseStep> for pb::RebaseStep {
    fn from(s: &RebaseStep) -> Self {
        use pb::rebase_step::Action;
        let (commit, action, message) = match s {
            RebaseStep::Pick { commit } => (commit, Action::Pick, None),
            RebaseStep::Reword { commit, message } => {
                (commit, Action::Reword, Some(message.clone()))
            }
            RebaseStep::Squash { commit, message } => (commit, Action::Squash, message.clone()),
            RebaseStep::Fixup { commit } => (commit, Action::Fixup, None),
            RebaseStep::Drop { commit } => (commit, Action::Drop, None),
        };
        Self {
            commit: commit.to_string(),
            action: action as i32,
            message,
        }
    }
}

impl TryFrom<pb::RebaseStep> for RebaseStep {
    type Error = Error;
    fn try_from(s: pb::RebaseStep) -> Result<Self> {
        use pb::rebase_step::Action;
        let commit = oid(&s.commit)?;
        match Action::try_from(s.action) {
            Ok(Action::Pick) => Ok(RebaseStep::Pick { commit }),
            Ok(Action::Reword) => Ok(RebaseStep::Reword {
                commit,
                message: s
                    .message
                    .ok_or_else(|| Error::invalid("a reword step needs a message"))?,
            }),
            Ok(Action::Squash) => Ok(RebaseStep::Squash {
                commit,
                message: s.message,
            }),
            Ok(Action::Fixup) => Ok(RebaseStep::Fixup { commit }),
            Ok(Action::Drop) => Ok(RebaseStep::Drop { commit }),
            _ => Err(Error::invalid(format!(
                "rebase action {} is not known",
                s.action
            ))),
        }
    }
}

impl RepoRequest for pb::RebaseRequest {
    type Core = Rebase;
    fn parse(self) -> Result<(RepoName, Rebase)> {
        let plan = if self.plan.is_empty() {
            None
        } else {
            Some(
                self.plan
                    .into_iter()
                    .map(RebaseStep::try_from)
                    .collect::<Result<_>>()?,
            )
        };
        Ok((
            repo(&self.repository)?,
            Rebase {
                branch: refname(&self.branch)?,
                expected_tip: opt_field(self.expected_tip.as_deref(), oid)?,
                onto: rev(&self.onto)?,
                upstream: opt(&self.upstream, rev)?,
                plan,
                committer: signature_or_server(self.committer)?,
            },
        ))
    }
    fn build(repo: &RepoName, r: &Rebase) -> Self {
        Self {
            repository: repo.to_string(),
            branch: r.branch.to_string(),
            expected_tip: r.expected_tip.map(|o| o.to_string()),
            onto: r.onto.to_string(),
            upstream: text(r.upstream.as_ref()),
            plan: r.plan.iter().flatten().map(pb::RebaseStep::from).collect(),
            committer: Some((&r.committer).into()),
        }
    }
}

impl RepoRequest for pb::CreateTagRequest {
    type Core = CreateTag;
    fn parse(self) -> Result<(RepoName, CreateTag)> {
        let annotation = match self.annotation {
            Some(a) => Some(TagAnnotation {
                tagger: signature_or_server(a.tagger)?,
                message: a.message,
            }),
            None => None,
        };
        Ok((
            repo(&self.repository)?,
            CreateTag {
                name: refname(&self.name)?,
                target: rev(&self.target)?,
                annotation,
            },
        ))
    }
    fn build(repo: &RepoName, t: &CreateTag) -> Self {
        Self {
            repository: repo.to_string(),
            name: t.name.to_string(),
            target: t.target.to_string(),
            annotation: t.annotation.as_ref().map(|a| pb::TagAnnotation {
                tagger: Some((&a.tagger).into()),
                message: a.message.clone(),
            }),
        }
    }
}

impl From<&RefUpdate> for pb::RefUpdate {
    fn from(u: &RefUpdate) -> Self {
        Self {
            name: u.name.to_string(),
            new: u.new.to_string(),
            expected_old: u.expected_old.map(|o| o.to_string()),
        }
    }
}

impl TryFrom<pb::RefUpdate> for RefUpdate {
    type Error = Error;
    fn try_from(u: pb::RefUpdate) -> Result<Self> {
        Ok(Self {
            name: refname(&u.name)?,
            new: oid(&u.new)?,
            expected_old: opt_field(u.expected_old.as_deref(), oid)?,
        })
    }
}

impl RepoRequest for pb::UpdateRefsRequest {
    type Core = Vec<RefUpdate>;
    fn parse(self) -> Result<(RepoName, Vec<RefUpdate>)> {
        Ok((
            repo(&self.repository)?,
            self.updates
                .into_iter()
                .map(RefUpdate::try_from)
                .collect::<Result<_>>()?,
        ))
    }
    fn build(repo: &RepoName, u: &Vec<RefUpdate>) -> Self {
        Self {
            repository: repo.to_string(),
            updates: u.iter().map(Into::into).collect(),
        }
    }
}

impl RepoRequest for pb::ListRefsRequest {
    type Core = ListRefs;
    fn parse(self) -> Result<(RepoName, ListRefs)> {
        Ok((
            repo(&self.repository)?,
            ListRefs {
                prefix: (!self.prefix.is_empty()).then_some(self.prefix),
                kind: ref_kind_from(self.kind)?,
                page: page(self.page_size, &self.page_token),
            },
        ))
    }
    fn build(repo: &RepoName, q: &ListRefs) -> Self {
        Self {
            repository: repo.to_string(),
            prefix: q.prefix.clone().unwrap_or_default(),
            kind: ref_kind_to(q.kind),
            page_size: page_size(&q.page),
            page_token: q.page.cursor.clone().unwrap_or_default(),
        }
    }
}

impl RepoRequest for pb::ListTreeRequest {
    type Core = (ListTree, PageRequest);
    fn parse(self) -> Result<(RepoName, (ListTree, PageRequest))> {
        Ok((
            repo(&self.repository)?,
            (
                ListTree {
                    rev: rev(&self.revision)?,
                    path: opt(&self.path, path)?,
                    recursive: self.recursive,
                },
                page(self.page_size, &self.page_token),
            ),
        ))
    }
    fn build(repo: &RepoName, (q, p): &(ListTree, PageRequest)) -> Self {
        Self {
            repository: repo.to_string(),
            revision: q.rev.to_string(),
            path: text(q.path.as_ref()),
            recursive: q.recursive,
            page_size: page_size(p),
            page_token: p.cursor.clone().unwrap_or_default(),
        }
    }
}

impl From<&BlobRef> for pb::BlobSelector {
    fn from(b: &BlobRef) -> Self {
        use pb::blob_selector::Selector;
        let selector = match b {
            BlobRef::ByPath { rev, path } => Selector::Path(pb::PathInRevision {
                revision: rev.to_string(),
                path: path.to_string(),
            }),
            BlobRef::ByOid(o) => Selector::Oid(o.to_string()),
        };
        Self {
            selector: Some(selector),
        }
    }
}

/// The blob a selector names.
pub fn blob_ref(b: Option<pb::BlobSelector>) -> Result<BlobRef> {
    use pb::blob_selector::Selector;
    match b.and_then(|b| b.selector) {
        Some(Selector::Path(p)) => Ok(BlobRef::ByPath {
            rev: rev(&p.revision)?,
            path: path(&p.path)?,
        }),
        Some(Selector::Oid(o)) => Ok(BlobRef::ByOid(oid(&o)?)),
        None => Err(Error::invalid("no blob named: give a path or an oid")),
    }
}

impl RepoRequest for pb::ReadBlobRequest {
    type Core = BlobRef;
    fn parse(self) -> Result<(RepoName, BlobRef)> {
        Ok((repo(&self.repository)?, blob_ref(self.blob)?))
    }
    fn build(repo: &RepoName, b: &BlobRef) -> Self {
        Self {
            repository: repo.to_string(),
            blob: Some(b.into()),
        }
    }
}

impl RepoRequest for pb::LogRequest {
    type Core = LogQuery;
    fn parse(self) -> Result<(RepoName, LogQuery)> {
        Ok((
            repo(&self.repository)?,
            LogQuery {
                range: RevRange::parse(&self.range)?,
                path: opt(&self.path, path)?,
                limit: small(u64::from(self.limit), "limit")?,
                offset: small(u64::from(self.offset), "offset")?,
                first_parent: self.first_parent,
                follow: self.follow,
            },
        ))
    }
    fn build(repo: &RepoName, q: &LogQuery) -> Self {
        Self {
            repository: repo.to_string(),
            range: q.range.to_string(),
            path: text(q.path.as_ref()),
            limit: u32::try_from(q.limit).unwrap_or(u32::MAX),
            offset: u32::try_from(q.offset).unwrap_or(u32::MAX),
            first_parent: q.first_parent,
            follow: q.follow,
        }
    }
}

impl RepoRequest for pb::BlameRequest {
    type Core = BlameQuery;
    fn parse(self) -> Result<(RepoName, BlameQuery)> {
        let lines = match (self.start_line, self.end_line) {
            (0, 0) => None,
            (s, e) if s >= 1 && e >= s => Some((s, e)),
            (s, e) => {
                return Err(Error::invalid(format!(
                    "line range {s}..{e} is not valid: 1-based, start <= end"
                )));
            }
        };
        Ok((
            repo(&self.repository)?,
            BlameQuery {
                path: path(&self.path)?,
                rev: rev(&self.revision)?,
                lines,
            },
        ))
    }
    fn build(repo: &RepoName, q: &BlameQuery) -> Self {
        let (start_line, end_line) = q.lines.unwrap_or((0, 0));
        Self {
            repository: repo.to_string(),
            revision: q.rev.to_string(),
            path: q.path.to_string(),
            start_line,
            end_line,
        }
    }
}

impl From<&DiffOptions> for pb::DiffOptions {
    fn from(o: &DiffOptions) -> Self {
        Self {
            context_lines: Some(o.context_lines),
            find_renames: Some(o.find_renames),
            find_copies: o.find_copies,
            rename_threshold: Some(u32::from(o.rename_threshold)),
            paths: o.paths.iter().map(ToString::to_string).collect(),
        }
    }
}

impl TryFrom<pb::DiffOptions> for DiffOptions {
    type Error = Error;
    fn try_from(o: pb::DiffOptions) -> Result<Self> {
        let d = DiffOptions::default();
        let threshold = match o.rename_threshold {
            Some(t) => {
                u8::try_from(t).map_err(|_| Error::invalid("renameThreshold is over 100"))?
            }
            None => d.rename_threshold,
        };
        DiffOptions::new(
            o.context_lines.unwrap_or(d.context_lines),
            o.find_renames.unwrap_or(d.find_renames),
            o.find_copies,
            threshold,
            o.paths.iter().map(|p| path(p)).collect::<Result<_>>()?,
        )
    }
}

impl From<&DiffSpec> for pb::DiffSpec {
    fn from(s: &DiffSpec) -> Self {
        use pb::diff_spec::{Commits, Spec, WorkspaceSide};
        let side = |w: &WorkspaceName, from: &Option<Rev>| WorkspaceSide {
            workspace: w.to_string(),
            from: text(from.as_ref()),
        };
        let spec = match s {
            DiffSpec::Commits { from, to } => Spec::Commits(Commits {
                from: text(from.as_ref()),
                to: to.to_string(),
            }),
            DiffSpec::Index { workspace, from } => Spec::Index(side(workspace, from)),
            DiffSpec::TreeToWorktree { workspace, from } => {
                Spec::TreeToWorktree(side(workspace, from))
            }
            DiffSpec::Worktree { workspace } => Spec::Worktree(side(workspace, &None)),
        };
        Self { spec: Some(spec) }
    }
}

impl TryFrom<pb::DiffSpec> for DiffSpec {
    type Error = Error;
    fn try_from(s: pb::DiffSpec) -> Result<Self> {
        use pb::diff_spec::Spec;
        Ok(match s.spec {
            Some(Spec::Commits(c)) => DiffSpec::Commits {
                from: opt(&c.from, rev)?,
                to: rev(&c.to)?,
            },
            Some(Spec::Index(w)) => DiffSpec::Index {
                workspace: workspace(&w.workspace)?,
                from: opt(&w.from, rev)?,
            },
            Some(Spec::TreeToWorktree(w)) => DiffSpec::TreeToWorktree {
                workspace: workspace(&w.workspace)?,
                from: opt(&w.from, rev)?,
            },
            Some(Spec::Worktree(w)) => {
                if !w.from.is_empty() {
                    return Err(Error::invalid(
                        "a work-tree diff compares the index: `from` must be empty",
                    ));
                }
                DiffSpec::Worktree {
                    workspace: workspace(&w.workspace)?,
                }
            }
            None => return Err(Error::invalid("a diff names nothing to compare")),
        })
    }
}

impl RepoRequest for pb::DiffRequest {
    type Core = DiffRequest;
    fn parse(self) -> Result<(RepoName, DiffRequest)> {
        Ok((
            repo(&self.repository)?,
            DiffRequest {
                spec: self
                    .spec
                    .ok_or_else(|| Error::invalid("a diff names nothing to compare"))?
                    .try_into()?,
                options: self.options.unwrap_or_default().try_into()?,
            },
        ))
    }
    fn build(repo: &RepoName, d: &DiffRequest) -> Self {
        Self {
            repository: repo.to_string(),
            spec: Some((&d.spec).into()),
            options: Some((&d.options).into()),
        }
    }
}

impl RepoRequest for pb::StashSaveRequest {
    type Core = StashSave;
    fn parse(self) -> Result<(RepoName, StashSave)> {
        Ok((
            repo(&self.repository)?,
            StashSave {
                workspace: workspace(&self.workspace)?,
                message: self.message,
                include_untracked: self.include_untracked,
                stasher: signature_or_server(self.stasher)?,
            },
        ))
    }
    fn build(repo: &RepoName, s: &StashSave) -> Self {
        Self {
            repository: repo.to_string(),
            workspace: s.workspace.to_string(),
            message: s.message.clone(),
            include_untracked: s.include_untracked,
            stasher: Some((&s.stasher).into()),
        }
    }
}

impl RepoRequest for pb::CreateRepositoryRequest {
    type Core = RepoSource;
    fn parse(self) -> Result<(RepoName, RepoSource)> {
        use pb::create_repository_request::Source;
        let source = match self.source {
            None => RepoSource::Empty(InitOptions::default()),
            Some(Source::Empty(e)) => RepoSource::Empty(InitOptions {
                default_branch: opt(&e.default_branch, refname)?,
            }),
            Some(Source::Remote(r)) => RepoSource::Remote {
                url: r.url,
                mirror: r.mirror,
            },
        };
        Ok((repo(&self.repository)?, source))
    }
    fn build(repo: &RepoName, s: &RepoSource) -> Self {
        use pb::create_repository_request::{EmptySource, RemoteSource, Source};
        let source = match s {
            RepoSource::Empty(o) => Source::Empty(EmptySource {
                default_branch: text(o.default_branch.as_ref()),
            }),
            RepoSource::Remote { url, mirror } => Source::Remote(RemoteSource {
                url: url.clone(),
                mirror: *mirror,
            }),
        };
        Self {
            repository: repo.to_string(),
            source: Some(source),
        }
    }
}

#[cfg(test)]
mod tests {
    //! core → proto → core is the identity for every message, on generated values.

    use super::*;
    use gitapi_core::diff::DiffStats;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    fn oid_s() -> impl Strategy<Value = Oid> {
        any::<[u8; 20]>().prop_map(Oid::from_bytes)
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9]{0,7}"
    }

    fn text_s() -> impl Strategy<Value = String> {
        "[ -~]{0,24}"
    }

    fn repo_s() -> impl Strategy<Value = RepoName> {
        word().prop_map(|w| repo(&w).expect("a valid name"))
    }

    fn ref_s() -> impl Strategy<Value = RefName> {
        (prop_oneof!["heads", "tags"], word())
            .prop_map(|(k, w)| refname(&format!("refs/{k}/{w}")).expect("a valid ref"))
    }

    fn path_s() -> impl Strategy<Value = RepoPath> {
        vec(word(), 1..4).prop_map(|p| path(&p.join("/")).expect("a valid path"))
    }

    fn rev_s() -> impl Strategy<Value = Rev> {
        prop_oneof![
            oid_s().prop_map(Rev::from),
            (word(), 0u8..9).prop_map(|(w, n)| rev(&format!("{w}~{n}")).expect("a valid rev")),
        ]
    }

    fn ws_s() -> impl Strategy<Value = WorkspaceName> {
        word().prop_map(|w| WorkspaceName::new(&w).expect("a valid workspace"))
    }

    fn sig_s() -> impl Strategy<Value = Signature> {
        (
            "[A-Za-z][A-Za-z .]{0,15}",
            "[a-z]{1,8}@[a-z]{1,8}\\.com",
            0i64..4_000_000_000,
            -1439i32..1440,
        )
            .prop_map(|(n, e, t, o)| Signature::new(n, e, t, o).expect("a valid signature"))
    }

    fn mode_s() -> impl Strategy<Value = FileMode> {
        prop_oneof![
            Just(FileMode::Regular),
            Just(FileMode::Executable),
            Just(FileMode::Symlink),
            Just(FileMode::Tree),
            Just(FileMode::Submodule),
        ]
    }

    fn commit_s() -> impl Strategy<Value = Commit> {
        (
            oid_s(),
            oid_s(),
            vec(oid_s(), 0..3),
            sig_s(),
            sig_s(),
            text_s(),
            option::of(text_s()),
        )
            .prop_map(
                |(oid, tree, parents, author, committer, message, signature)| Commit {
                    oid,
                    tree,
                    parents,
                    author,
                    committer,
                    message,
                    signature,
                },
            )
    }

    fn action_s() -> impl Strategy<Value = FileAction> {
        prop_oneof![
            (path_s(), vec(any::<u8>(), 0..64), option::of(mode_s())).prop_map(
                |(path, content, mode)| FileAction::Put {
                    path,
                    content: content.into(),
                    mode,
                }
            ),
            path_s().prop_map(|path| FileAction::Delete { path }),
            (path_s(), path_s()).prop_map(|(from, to)| FileAction::Move { from, to }),
            (path_s(), any::<bool>())
                .prop_map(|(path, executable)| FileAction::Chmod { path, executable }),
        ]
    }

    fn signing_s() -> impl Strategy<Value = Signing> {
        prop_oneof![
            Just(Signing::None),
            Just(Signing::Operator),
            text_s().prop_map(|signature| Signing::Provided { signature }),
        ]
    }

    fn status_s() -> impl Strategy<Value = FileStatus> {
        prop_oneof![
            Just(FileStatus::Unmodified),
            Just(FileStatus::Added),
            Just(FileStatus::Modified),
            Just(FileStatus::Deleted),
            Just(FileStatus::TypeChanged),
            Just(FileStatus::Conflicted),
        ]
    }

    fn file_diff_s() -> impl Strategy<Value = FileDiff> {
        let line = (
            prop_oneof![
                Just(LineOrigin::Context),
                Just(LineOrigin::Addition),
                Just(LineOrigin::Deletion)
            ],
            text_s(),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            any::<bool>(),
        )
            .prop_map(
                |(origin, content, old_lineno, new_lineno, no_newline)| DiffLine {
                    origin,
                    content,
                    old_lineno,
                    new_lineno,
                    no_newline,
                },
            );
        let hunk = (any::<(u32, u32, u32, u32)>(), text_s(), vec(line, 0..4)).prop_map(
            |((os, ol, ns, nl), heading, lines)| Hunk {
                old_start: os,
                old_lines: ol,
                new_start: ns,
                new_lines: nl,
                heading,
                lines,
            },
        );
        let status = prop_oneof![
            Just(DiffStatus::Added),
            Just(DiffStatus::Deleted),
            Just(DiffStatus::Modified),
            Just(DiffStatus::Renamed),
            Just(DiffStatus::Copied),
            Just(DiffStatus::TypeChanged),
        ];
        (
            status,
            (option::of(text_s()), option::of(text_s())),
            (option::of(mode_s()), option::of(mode_s())),
            (oid_s(), oid_s()),
            option::of(any::<u8>()),
            any::<(bool, u32, u32)>(),
            vec(hunk, 0..3),
        )
            .prop_map(
                |(
                    status,
                    (old_path, new_path),
                    (old_mode, new_mode),
                    (old_oid, new_oid),
                    similarity,
                    (binary, additions, deletions),
                    hunks,
                )| FileDiff {
                    status,
                    old_path,
                    new_path,
                    old_mode,
                    new_mode,
                    old_oid,
                    new_oid,
                    similarity,
                    binary,
                    additions,
                    deletions,
                    hunks,
                },
            )
    }

    fn page_s() -> impl Strategy<Value = PageRequest> {
        (0usize..2000, option::of("[a-zA-Z0-9]{1,12}"))
            .prop_map(|(limit, cursor)| PageRequest { limit, cursor })
    }

    /// `TryFrom<proto>` undoes `From<&core>`.
    fn answer_round_trip<C, P>(c: &C)
    where
        for<'a> P: From<&'a C>,
        C: TryFrom<P, Error = Error> + PartialEq + std::fmt::Debug,
    {
        let back = C::try_from(P::from(c)).expect("converts back");
        assert_eq!(&back, c);
    }

    /// `parse` undoes `build`.
    fn request_round_trip<P: RepoRequest>(r: &RepoName, c: &P::Core)
    where
        P::Core: PartialEq + std::fmt::Debug,
    {
        let (repo2, back) = P::build(r, c).parse().expect("parses back");
        assert_eq!(&repo2, r);
        assert_eq!(&back, c);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn signatures_and_commits(c in commit_s()) {
            answer_round_trip::<Signature, pb::Signature>(&c.author);
            answer_round_trip::<Commit, pb::Commit>(&c);
        }

        #[test]
        fn refs_and_updates(name in ref_s(), target in oid_s(), peeled in option::of(oid_s()), expected in option::of(oid_s())) {
            answer_round_trip::<Ref, pb::Ref>(&Ref { name: name.clone(), target, peeled });
            answer_round_trip::<RefUpdate, pb::RefUpdate>(&RefUpdate { name, new: target, expected_old: expected });
        }

        #[test]
        fn tree_entries_and_blob_headers(name in word(), p in path_s(), mode in mode_s(), o in oid_s(), size in option::of(any::<u64>()), hm in option::of(mode_s())) {
            let kind = mode.object_kind();
            answer_round_trip::<TreeEntry, pb::TreeEntry>(&TreeEntry { name, path: p.to_string(), mode, kind, oid: o, size });
            answer_round_trip::<BlobHeader, pb::BlobHeader>(&BlobHeader { oid: o, size: size.unwrap_or(0), mode: hm });
        }

        #[test]
        fn repositories_workspaces_status_and_stash(
            r in repo_s(), b in option::of(ref_s()), empty in any::<bool>(), mirror in any::<bool>(),
            w in ws_s(), base in option::of(oid_s()), p in text_s(), staged in status_s(),
            unstaged in status_s(), untracked in any::<bool>(), index in 0usize..100, o in oid_s(), m in text_s(),
        ) {
            answer_round_trip::<RepoInfo, pb::RepositoryInfo>(&RepoInfo { name: r, default_branch: b.clone(), empty, mirror });
            if let Some(branch) = b {
                answer_round_trip::<WorkspaceInfo, pb::WorkspaceInfo>(&WorkspaceInfo { name: w, branch, base });
            }
            answer_round_trip::<StatusEntry, pb::StatusEntry>(&StatusEntry { path: p, staged, unstaged, untracked });
            answer_round_trip::<StashEntry, pb::StashEntry>(&StashEntry { index, oid: o, message: m });
        }

        #[test]
        fn blame_ancestry_config_and_outcomes(
            o in oid_s(), p in text_s(), nums in any::<(u32, u32, u32)>(), ab in any::<(u32, u32)>(),
            key in word(), value in text_s(), tips in vec(oid_s(), 0..4), g in any::<(u64, u64, u64)>(),
        ) {
            answer_round_trip::<BlameHunk, pb::BlameHunk>(&BlameHunk { commit: o, orig_path: p, orig_start: nums.0, final_start: nums.1, lines: nums.2 });
            answer_round_trip::<AheadBehind, pb::AheadBehind>(&AheadBehind { ahead: ab.0 as usize, behind: ab.1 as usize });
            let entry = ConfigEntry { key, value };
            prop_assert_eq!(ConfigEntry::from(pb::ConfigEntry::from(&entry)), entry);
            for kind in [MergeKind::UpToDate, MergeKind::FastForward, MergeKind::Merged] {
                answer_round_trip::<MergeOutcome, pb::MergeResponse>(&MergeOutcome { kind, tip: o });
            }
            answer_round_trip::<RebaseOutcome, pb::RebaseResponse>(&RebaseOutcome { tip: o, commits: tips });
            let gc = GcOutcome { loose_objects_before: g.0, loose_objects_after: g.1, packs_after: g.2 };
            prop_assert_eq!(GcOutcome::from(pb::GarbageCollectResponse::from(&gc)), gc);
        }

        #[test]
        fn diffs_as_streams(files in vec(file_diff_s(), 0..4), id in option::of("d1\\.[a-zA-Z0-9_-]{4,20}")) {
            let d = Diff::new(id.map(DiffId::from_string), files);
            for f in &d.files {
                answer_round_trip::<FileDiff, pb::FileDiff>(f);
            }
            prop_assert_eq!(diff_from_messages(diff_messages(&d)).expect("a diff"), d);
        }

        #[test]
        fn protections_canary_backend_and_ref_events(
            w in word(), flags in any::<(bool, bool, bool)>(), fraction in 0.0f64..1.0, route in any::<bool>(),
            r in repo_s(), name in ref_s(), old in option::of(oid_s()), new in option::of(oid_s()),
            served in any::<(u64, u64)>(), secs in 0u64..4_000_000_000, nanos in 0u32..1_000_000_000,
        ) {
            let rule = ProtectionRule {
                pattern: RefPattern::new(&format!("refs/heads/{w}/*")).expect("a pattern"),
                no_force_push: flags.0, no_deletion: flags.1, require_signed_commits: flags.2,
            };
            answer_round_trip::<ProtectionRule, pb::ProtectionRule>(&rule);
            let canary = CanaryConfig { fraction, mode: if route { CanaryMode::Route } else { CanaryMode::Shadow } };
            answer_round_trip::<CanaryConfig, pb::Canary>(&canary);
            let status = SwitchStatus {
                backend: if route { EngineKind::Shell } else { EngineKind::Libgit2 },
                switched_at: UNIX_EPOCH + Duration::new(secs, nanos),
                switches: served.0,
                in_flight: [(EngineKind::Libgit2, 1), (EngineKind::Shell, 2)].into(),
                served: [(EngineKind::Libgit2, served.0), (EngineKind::Shell, served.1)].into(),
                canary,
                canary_compared: [("get_ref".to_owned(), served.1)].into(),
                canary_mismatches: BTreeMap::new(),
                canary_inconclusive: served.0,
            };
            answer_round_trip::<SwitchStatus, pb::BackendStatus>(&status);
            let kind = match (old, new) {
                (None, _) => RefChangeKind::Created,
                (_, None) => RefChangeKind::Deleted,
                _ => RefChangeKind::Updated,
            };
            answer_round_trip::<RefEvent, pb::RefChange>(&RefEvent { repo: r, refname: name, old, new, kind });
        }

        #[test]
        fn commit_requests(
            r in repo_s(), branch in ref_s(), tip in option::of(oid_s()), start in option::of(rev_s()),
            actions in vec(action_s(), 0..4), message in text_s(), author in sig_s(),
            committer in option::of(sig_s()), signing in signing_s(), flags in any::<(bool, bool)>(), w in ws_s(),
        ) {
            request_round_trip::<pb::CommitFilesRequest>(&r, &CommitFiles {
                branch: branch.clone(), expected_tip: tip, start_point: start, actions: actions.clone(),
                message: message.clone(), author: author.clone(), committer: committer.clone(),
                signing: signing.clone(), allow_empty: flags.0,
            });
            request_round_trip::<pb::CommitIndexRequest>(&r, &CommitIndex {
                workspace: w, message: message.clone(), author: author.clone(), committer: committer.clone(),
                signing, allow_empty: flags.0, amend: flags.1,
            });
            request_round_trip::<pb::AmendRequest>(&r, &Amend {
                branch, expected_tip: tip, message: Some(message), author: committer, committer: author, actions,
            });
        }

        #[test]
        fn reset_pick_merge_rebase_requests(
            r in repo_s(), branch in ref_s(), tip in option::of(oid_s()), to in rev_s(), w in ws_s(),
            mode in prop_oneof![Just(ResetMode::Soft), Just(ResetMode::Mixed), Just(ResetMode::Hard)],
            mainline in option::of(1u32..3), committer in sig_s(), message in option::of(text_s()),
            ff in prop_oneof![Just(FastForward::Ff), Just(FastForward::NoFf), Just(FastForward::FfOnly)],
            upstream in option::of(rev_s()), steps in option::of(vec((oid_s(), 0u8..5, text_s()), 1..4)),
            by_branch in any::<bool>(),
        ) {
            let target = if by_branch {
                ResetTarget::Branch { branch: branch.clone(), expected_tip: tip }
            } else {
                ResetTarget::Workspace { workspace: w }
            };
            request_round_trip::<pb::ResetRequest>(&r, &Reset { target, to: to.clone(), mode });
            request_round_trip::<pb::PickRequest>(&r, &PickCommit {
                commit: to.clone(), branch: branch.clone(), expected_tip: tip, mainline, committer: committer.clone(),
            });
            request_round_trip::<pb::MergeRequest>(&r, &Merge {
                source: to.clone(), target: branch.clone(), expected_tip: tip, fast_forward: ff,
                message: message.clone(), committer: committer.clone(),
            });
            let plan = steps.map(|steps| steps.into_iter().map(|(commit, k, m)| match k {
                0 => RebaseStep::Pick { commit },
                1 => RebaseStep::Reword { commit, message: m },
                2 => RebaseStep::Squash { commit, message: Some(m) },
                3 => RebaseStep::Fixup { commit },
                _ => RebaseStep::Drop { commit },
            }).collect());
            request_round_trip::<pb::RebaseRequest>(&r, &Rebase {
                branch, expected_tip: tip, onto: to, upstream, plan, committer,
            });
        }

        #[test]
        fn ref_tree_blob_log_blame_requests(
            r in repo_s(), name in ref_s(), target in rev_s(), tagger in sig_s(), message in text_s(),
            annotated in any::<bool>(), updates in vec((ref_s(), oid_s(), option::of(oid_s())), 1..4),
            prefix in option::of("refs/[a-z]{1,6}/"), kind in prop_oneof![Just(RefKind::Branches), Just(RefKind::Tags), Just(RefKind::All)],
            page in page_s(), dir in option::of(path_s()), recursive in any::<bool>(), o in oid_s(),
            p in path_s(), two in option::of((rev_s(), any::<bool>())), nums in any::<(u16, u16, bool, bool)>(),
            lines in option::of((1u32..500, 0u32..500)),
        ) {
            request_round_trip::<pb::CreateTagRequest>(&r, &CreateTag {
                name, target: target.clone(),
                annotation: annotated.then_some(TagAnnotation { tagger, message }),
            });
            let updates: Vec<RefUpdate> = updates.into_iter()
                .map(|(name, new, expected_old)| RefUpdate { name, new, expected_old }).collect();
            request_round_trip::<pb::UpdateRefsRequest>(&r, &updates);
            request_round_trip::<pb::ListRefsRequest>(&r, &ListRefs { prefix, kind, page: page.clone() });
            request_round_trip::<pb::ListTreeRequest>(&r, &(ListTree { rev: target.clone(), path: dir.clone(), recursive }, page));
            request_round_trip::<pb::ReadBlobRequest>(&r, &BlobRef::ByOid(o));
            request_round_trip::<pb::ReadBlobRequest>(&r, &BlobRef::ByPath { rev: target.clone(), path: p.clone() });
            let range = match two {
                None => RevRange::Single(target.clone()),
                Some((b, false)) => RevRange::TwoDot(target.clone(), b),
                Some((b, true)) => RevRange::ThreeDot(target.clone(), b),
            };
            request_round_trip::<pb::LogRequest>(&r, &LogQuery {
                range, path: dir, limit: usize::from(nums.0), offset: usize::from(nums.1),
                first_parent: nums.2, follow: nums.3,
            });
            request_round_trip::<pb::BlameRequest>(&r, &BlameQuery {
                path: p, rev: target, lines: lines.map(|(s, n)| (s, s + n)),
            });
        }

        #[test]
        fn diff_stash_and_create_requests(
            r in repo_s(), from in option::of(rev_s()), to in rev_s(), w in ws_s(), which in 0u8..4,
            context in 0u32..10_000, flags in any::<(bool, bool)>(), threshold in 0u8..=100,
            paths in vec(path_s(), 0..3), message in option::of(text_s()), stasher in sig_s(),
            default_branch in option::of(ref_s()), url in option::of("https://[a-z]{1,8}\\.example/[a-z]{1,8}"),
            mirror in any::<bool>(),
        ) {
            let spec = match which {
                0 => DiffSpec::Commits { from: from.clone(), to },
                1 => DiffSpec::Index { workspace: w.clone(), from: from.clone() },
                2 => DiffSpec::TreeToWorktree { workspace: w.clone(), from },
                _ => DiffSpec::Worktree { workspace: w.clone() },
            };
            let options = DiffOptions::new(context, flags.0, flags.1, threshold, paths).expect("valid options");
            request_round_trip::<pb::DiffRequest>(&r, &DiffRequest { spec, options });
            request_round_trip::<pb::StashSaveRequest>(&r, &StashSave {
                workspace: w, message, include_untracked: flags.0, stasher,
            });
            let source = match url {
                Some(url) => RepoSource::Remote { url, mirror },
                None => RepoSource::Empty(InitOptions { default_branch }),
            };
            request_round_trip::<pb::CreateRepositoryRequest>(&r, &source);
        }
    }

    #[test]
    fn an_absent_signature_is_the_server_and_an_absent_time_is_now() {
        let before = gitapi_core::unix_now();
        let s = signature_or_server(None).expect("the server");
        assert_eq!(s.name, Signature::SERVER_NAME);
        let given = pb::Signature {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            time: None,
            offset_minutes: -60,
        };
        let s = Signature::try_from(given).expect("valid");
        assert!(s.time >= before);
        assert_eq!(s.offset_minutes, -60);
        let _ = DiffStats::default();
    }
}
