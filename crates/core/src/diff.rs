//! Structured diffs and their text renderings (patch and numstat), shared by every engine so
//! that the same structured answer always renders to the same bytes.

use std::fmt::Write as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{DiffOptions, FileMode};
use crate::oid::Oid;

/// The id of the empty tree, which every Git repository knows without storing it.
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum DiffStatus {
    /// New.
    Added,
    /// Removed.
    Deleted,
    /// Changed content or mode.
    Modified,
    /// Moved, maybe with changes.
    Renamed,
    /// Copied from another file, maybe with changes.
    Copied,
    /// Changed between file, symlink and submodule.
    TypeChanged,
}

impl DiffStatus {
    /// The letter `git diff --name-status` prints.
    pub fn letter(self) -> char {
        match self {
            Self::Added => 'A',
            Self::Deleted => 'D',
            Self::Modified => 'M',
            Self::Renamed => 'R',
            Self::Copied => 'C',
            Self::TypeChanged => 'T',
        }
    }
}

/// Where a diff line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[cfg_attr(feature = "graphql", graphql(rename_items = "camelCase"))]
pub enum LineOrigin {
    /// In both sides.
    Context,
    /// Only in the new side.
    Addition,
    /// Only in the old side.
    Deletion,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct DiffLine {
    /// Where it comes from.
    pub origin: LineOrigin,
    /// The text without its line ending.
    pub content: String,
    /// The line number in the old side.
    pub old_lineno: Option<u32>,
    /// The line number in the new side.
    pub new_lineno: Option<u32>,
    /// Whether this is the last line of its side and has no newline at the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_newline: bool,
}

/// A run of changed lines with context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct Hunk {
    /// First old line (0 when the old side is empty).
    pub old_start: u32,
    /// Old line count.
    pub old_lines: u32,
    /// First new line (0 when the new side is empty).
    pub new_start: u32,
    /// New line count.
    pub new_lines: u32,
    /// The function context git prints after the second `@@` (may be empty).
    pub heading: String,
    /// The lines.
    pub lines: Vec<DiffLine>,
}

/// The change of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct FileDiff {
    /// What happened.
    pub status: DiffStatus,
    /// The old path (absent for added files).
    pub old_path: Option<String>,
    /// The new path (absent for deleted files).
    pub new_path: Option<String>,
    /// The old mode.
    pub old_mode: Option<FileMode>,
    /// The new mode.
    pub new_mode: Option<FileMode>,
    /// The old blob ([`Oid::ZERO`] when absent).
    pub old_oid: Oid,
    /// The new blob ([`Oid::ZERO`] when absent, or not yet hashed in a work tree).
    pub new_oid: Oid,
    /// Similarity percent, for renames and copies.
    pub similarity: Option<u8>,
    /// Whether git treats either side as binary. Then there are no hunks, except for a
    /// typechange, whose text side keeps its hunk (git prints a typechange as the deletion of
    /// the old side followed by the addition of the new one, each half binary or text).
    pub binary: bool,
    /// Added lines.
    pub additions: u32,
    /// Removed lines.
    pub deletions: u32,
    /// The hunks.
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    /// The path to show: the new one, or the old one for deletions.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("")
    }
}

/// Totals of a diff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "graphql", derive(async_graphql::SimpleObject))]
pub struct DiffStats {
    /// Files changed.
    pub files_changed: usize,
    /// Lines added.
    pub insertions: u64,
    /// Lines removed.
    pub deletions: u64,
}

/// A structured diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    /// The id to render this diff again later; `None` for diffs against a work tree, whose
    /// state cannot be named by object ids.
    pub id: Option<DiffId>,
    /// The files, sorted by path as git sorts them.
    pub files: Vec<FileDiff>,
    /// Totals.
    pub stats: DiffStats,
}

impl Diff {
    /// Builds a diff and fills in its totals.
    pub fn new(id: Option<DiffId>, files: Vec<FileDiff>) -> Self {
        let stats = DiffStats {
            files_changed: files.len(),
            insertions: files.iter().map(|f| u64::from(f.additions)).sum(),
            deletions: files.iter().map(|f| u64::from(f.deletions)).sum(),
        };
        Self { id, files, stats }
    }

    /// Renders as `git diff` patch text (`git apply` takes it back).
    pub fn to_patch(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            render_file_patch(f, &mut out);
        }
        out
    }

    /// Renders as `git diff --numstat`.
    pub fn to_numstat(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let path = match (&f.old_path, &f.new_path, f.status) {
                (Some(old), Some(new), DiffStatus::Renamed | DiffStatus::Copied) => {
                    pretty_rename(old, new)
                }
                _ => quote_path(f.path()),
            };
            if f.binary {
                let _ = writeln!(out, "-\t-\t{path}");
            } else {
                let _ = writeln!(out, "{}\t{}\t{path}", f.additions, f.deletions);
            }
        }
        out
    }

    /// Renders as `git diff --name-status`.
    pub fn to_name_status(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            match (f.status, &f.old_path, &f.new_path) {
                (DiffStatus::Renamed | DiffStatus::Copied, Some(old), Some(new)) => {
                    let _ = writeln!(
                        out,
                        "{}{:03}\t{}\t{}",
                        f.status.letter(),
                        f.similarity.unwrap_or(100),
                        quote_path(old),
                        quote_path(new)
                    );
                }
                _ => {
                    let _ = writeln!(out, "{}\t{}", f.status.letter(), quote_path(f.path()));
                }
            }
        }
        out
    }
}

fn mode_octal(m: FileMode) -> String {
    format!("{:06o}", m.bits())
}

fn render_file_patch(f: &FileDiff, out: &mut String) {
    if let Some((deletion, addition)) = typechange_halves(f) {
        render_file_patch(&deletion, out);
        render_file_patch(&addition, out);
        return;
    }
    let old_path = f.old_path.as_deref().unwrap_or_else(|| f.path());
    let new_path = f.new_path.as_deref().unwrap_or_else(|| f.path());
    let a = quote_path(&format!("a/{old_path}"));
    let b = quote_path(&format!("b/{new_path}"));
    let _ = writeln!(out, "diff --git {a} {b}");
    match f.status {
        DiffStatus::Added => {
            let mode = f.new_mode.unwrap_or(FileMode::Regular);
            let _ = writeln!(out, "new file mode {}", mode_octal(mode));
        }
        DiffStatus::Deleted => {
            let mode = f.old_mode.unwrap_or(FileMode::Regular);
            let _ = writeln!(out, "deleted file mode {}", mode_octal(mode));
        }
        _ => {
            if let (Some(om), Some(nm)) = (f.old_mode, f.new_mode)
                && om != nm
            {
                let _ = writeln!(out, "old mode {}", mode_octal(om));
                let _ = writeln!(out, "new mode {}", mode_octal(nm));
            }
            if matches!(f.status, DiffStatus::Renamed | DiffStatus::Copied) {
                let verb = if f.status == DiffStatus::Renamed {
                    "rename"
                } else {
                    "copy"
                };
                let _ = writeln!(out, "similarity index {}%", f.similarity.unwrap_or(100));
                let _ = writeln!(out, "{verb} from {}", quote_path(old_path));
                let _ = writeln!(out, "{verb} to {}", quote_path(new_path));
            }
        }
    }
    let content_changed = f.old_oid != f.new_oid || f.new_oid.is_zero();
    if !content_changed {
        return;
    }
    let same_mode = match (f.old_mode, f.new_mode) {
        (Some(om), Some(nm)) if om == nm => Some(om),
        _ => None,
    };
    let _ = write!(out, "index {}..{}", f.old_oid.short(7), f.new_oid.short(7));
    match same_mode {
        Some(m) => {
            let _ = writeln!(out, " {}", mode_octal(m));
        }
        None => out.push('\n'),
    }
    let minus = if f.status == DiffStatus::Added {
        "/dev/null".to_owned()
    } else {
        a
    };
    let plus = if f.status == DiffStatus::Deleted {
        "/dev/null".to_owned()
    } else {
        b
    };
    if f.binary {
        let _ = writeln!(out, "Binary files {minus} and {plus} differ");
        return;
    }
    if f.hunks.is_empty() {
        return;
    }
    let _ = writeln!(out, "--- {minus}");
    let _ = writeln!(out, "+++ {plus}");
    for h in &f.hunks {
        let _ = write!(
            out,
            "@@ -{} +{} @@",
            range(h.old_start, h.old_lines),
            range(h.new_start, h.new_lines)
        );
        if h.heading.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, " {}", h.heading);
        }
        for l in &h.lines {
            out.push(match l.origin {
                LineOrigin::Context => ' ',
                LineOrigin::Addition => '+',
                LineOrigin::Deletion => '-',
            });
            out.push_str(&l.content);
            out.push('\n');
            if l.no_newline {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
}

fn range(start: u32, lines: u32) -> String {
    if lines == 1 {
        start.to_string()
    } else {
        format!("{start},{lines}")
    }
}

/// Quotes a path the way git does with `core.quotePath` on: paths with `"`, `\`, control
/// characters or bytes above 0x7f are put in double quotes with C escapes (octal for bytes).
pub fn quote_path(path: &str) -> String {
    let needs = path
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b >= 0x80 || b == b'"' || b == b'\\');
    if !needs {
        return path.to_owned();
    }
    let mut out = String::with_capacity(path.len() + 8);
    out.push('"');
    for b in path.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b if !(0x20..0x7f).contains(&b) => {
                let _ = write!(out, "\\{b:03o}");
            }
            b => out.push(char::from(b)),
        }
    }
    out.push('"');
    out
}

/// `old => new` with the common leading directories and trailing part folded into braces, as
/// git prints renames in `--stat` and `--numstat` (`dir/{a => b}.txt`).
///
/// A port of git's `pprint_rename` (`diff.c`): the common prefix ends at a `/`, the common
/// suffix starts at a `/`, and when there is a prefix the suffix may reach back into its final
/// `/`, so that a move into or out of a folder shares that slash
/// (`crates/core/{ => flags}/config.rs`). A middle part that the overlap makes negative is
/// empty. Paths that need quoting are printed whole, each quoted.
pub fn pretty_rename(old: &str, new: &str) -> String {
    let (old_q, new_q) = (quote_path(old), quote_path(new));
    if old_q.starts_with('"') || new_q.starts_with('"') {
        return format!("{old_q} => {new_q}");
    }
    let (a, b) = (old.as_bytes(), new.as_bytes());
    // The byte at `i`, with the terminating NUL of a C string at `len`.
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    // Common prefix up to and including the last '/' they share.
    let mut pfx = 0;
    let mut i = 0;
    while i < a.len() && i < b.len() && a[i] == b[i] {
        if a[i] == b'/' {
            pfx = i + 1;
        }
        i += 1;
    }
    // Common suffix starting at a '/'. With a prefix, the walk may look at the prefix's final
    // '/' too (git lets it run one byte into the prefix); without one it stops at the start.
    let low = pfx - usize::from(pfx > 0);
    let mut sfx = 0;
    let (mut ia, mut ib) = (a.len(), b.len());
    while low <= ia && low <= ib && at(a, ia) == at(b, ib) {
        if at(a, ia) == b'/' {
            sfx = a.len() - ia;
        }
        if ia == 0 || ib == 0 {
            break;
        }
        ia -= 1;
        ib -= 1;
    }
    let a_mid = a.len().saturating_sub(pfx + sfx);
    let b_mid = b.len().saturating_sub(pfx + sfx);
    let mid_old = &old[pfx..pfx + a_mid];
    let mid_new = &new[pfx..pfx + b_mid];
    if pfx + sfx == 0 {
        return format!("{mid_old} => {mid_new}");
    }
    format!(
        "{}{{{mid_old} => {mid_new}}}{}",
        &old[..pfx],
        &old[old.len() - sfx..]
    )
}

/// Whether git takes content for binary: a NUL byte in its first 8,000 bytes
/// (`buffer_is_binary`, without attributes).
pub fn buffer_is_binary(buf: &[u8]) -> bool {
    buf.iter().take(8000).any(|&b| b == 0)
}

/// The two patches git prints for a typechange (a file turned into a symlink or back): the
/// deletion of the old side and the addition of the new one, as `git diff` splits the pair
/// (`run_diff` in `diff.c`). `None` for any other file. A half without hunk is binary when
/// the file is (the other side of a typechange, a symlink, is always text with one hunk).
pub fn typechange_halves(f: &FileDiff) -> Option<(FileDiff, FileDiff)> {
    if f.status != DiffStatus::TypeChanged {
        return None;
    }
    let (old_hunks, new_hunks): (Vec<Hunk>, Vec<Hunk>) =
        f.hunks.iter().cloned().partition(|h| h.old_lines > 0);
    let deletion = FileDiff {
        status: DiffStatus::Deleted,
        new_path: None,
        new_mode: None,
        new_oid: Oid::ZERO,
        similarity: None,
        binary: f.binary && old_hunks.is_empty(),
        hunks: old_hunks,
        ..f.clone()
    };
    let addition = FileDiff {
        status: DiffStatus::Added,
        old_path: None,
        old_mode: None,
        old_oid: Oid::ZERO,
        similarity: None,
        binary: f.binary && new_hunks.is_empty(),
        hunks: new_hunks,
        ..f.clone()
    };
    Some((deletion, addition))
}

/// The hunk of a whole side of a typechange, as git prints it: every line deleted (`old`) or
/// added; `None` when the side is empty or binary (git prints no hunk then).
pub fn whole_file_hunk(content: &[u8], old: bool) -> Option<Hunk> {
    if content.is_empty() || buffer_is_binary(content) {
        return None;
    }
    let mut lines = Vec::new();
    let mut rest = content;
    let mut n = 0u32;
    while !rest.is_empty() {
        let (line, no_newline) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let l = &rest[..i];
                rest = &rest[i + 1..];
                (l, false)
            }
            None => {
                let l = rest;
                rest = &[];
                (l, true)
            }
        };
        n += 1;
        lines.push(DiffLine {
            origin: if old {
                LineOrigin::Deletion
            } else {
                LineOrigin::Addition
            },
            content: String::from_utf8_lossy(line).into_owned(),
            old_lineno: old.then_some(n),
            new_lineno: (!old).then_some(n),
            no_newline,
        });
    }
    Some(Hunk {
        old_start: u32::from(old),
        old_lines: if old { n } else { 0 },
        new_start: u32::from(!old),
        new_lines: if old { 0 } else { n },
        heading: String::new(),
        lines,
    })
}

/// The lines added and removed by a typechange as `git diff --numstat` counts them: git
/// counts a line diff of the two sides (not the two whole-file halves of the patch), so lines
/// the sides share are not counted (a file `g` without newline turned into a symlink to `g`
/// counts `0 0`). `hunks` are the halves' hunks; binary typechanges count nothing.
pub fn typechange_counts(hunks: &[Hunk]) -> (u32, u32) {
    type Line<'a> = (&'a str, bool);
    let side = |origin: LineOrigin| -> Vec<Line<'_>> {
        hunks
            .iter()
            .flat_map(|h| h.lines.iter())
            .filter(|l| l.origin == origin)
            .map(|l| (l.content.as_str(), l.no_newline))
            .collect()
    };
    let (old, new) = (side(LineOrigin::Deletion), side(LineOrigin::Addition));
    // One side is a symlink target (one line), so the table is small; a pathological pair
    // counts as disjoint rather than costing quadratic time.
    let common = if old.len().saturating_mul(new.len()) > 16_000_000 {
        0
    } else {
        lcs_len(&old, &new)
    };
    let n = |v: usize| u32::try_from(v - common).unwrap_or(u32::MAX);
    (n(new.len()), n(old.len()))
}

/// The length of the longest common subsequence of two line lists.
fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// What a diff id encodes: two resolved tree-ish ids and the options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DiffKey {
    /// The old side (a commit or tree id; the empty tree for "nothing").
    pub from: Oid,
    /// The new side (a commit or tree id).
    pub to: Oid,
    /// The options.
    pub options: DiffOptions,
}

/// A deterministic, self-describing id of a diff: the same inputs give the same id, and the id
/// alone is enough to compute the diff again, so no server state is needed to render it later
/// in another format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct DiffId(String);

const DIFF_ID_PREFIX: &str = "d1.";

impl DiffId {
    /// Encodes a key.
    pub fn encode(key: &DiffKey) -> Self {
        let json = serde_json::to_vec(key).expect("a DiffKey always serialises");
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        Self(format!("{DIFF_ID_PREFIX}{b64}"))
    }

    /// Decodes an id a caller sent back.
    pub fn decode(&self) -> Result<DiffKey, Error> {
        let bad = || Error::invalid(format!("diff id {:?} is not valid", self.0));
        let b64 = self.0.strip_prefix(DIFF_ID_PREFIX).ok_or_else(bad)?;
        if b64.len() > 16 * 1024 {
            return Err(bad());
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| bad())?;
        let key: DiffKey = serde_json::from_slice(&json).map_err(|_| bad())?;
        // An id is caller input like any other: its options get the bounds a door's get.
        key.options
            .validate()
            .map_err(|e| Error::invalid(format!("diff id {:?} is not valid: {}", self.0, e)))?;
        Ok(key)
    }

    /// Wraps a string from a caller (checked by [`DiffId::decode`]).
    pub fn from_string(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_folding_matches_git() {
        assert_eq!(pretty_rename("a.txt", "b.txt"), "a.txt => b.txt");
        assert_eq!(
            pretty_rename("dir/a.txt", "dir/b.txt"),
            "dir/{a.txt => b.txt}"
        );
        assert_eq!(pretty_rename("a/x/f", "b/x/f"), "{a => b}/x/f");
        assert_eq!(pretty_rename("d/a/f", "d/b/f"), "d/{a => b}/f");
        assert_eq!(pretty_rename("f", "d/f"), "f => d/f");
        assert_eq!(
            pretty_rename("crates/core/config.rs", "crates/core/flags/config.rs"),
            "crates/core/{ => flags}/config.rs"
        );
        assert_eq!(pretty_rename("a/b/c", "a/c"), "a/{b => }/c");
    }

    /// The numbers `git diff --numstat` prints for these typechanges (file to symlink `g`).
    #[test]
    fn typechange_counts_are_git_numstat() {
        for (old, new, want) in [
            (&b"hello\nworld\n"[..], &b"g"[..], (1, 2)),
            (b"g", b"g", (0, 0)),
            (b"x\ng", b"g", (0, 1)),
            (b"", b"g", (1, 0)),
            (b"g", b"x\ng", (1, 0)),
        ] {
            let hunks: Vec<Hunk> = whole_file_hunk(old, true)
                .into_iter()
                .chain(whole_file_hunk(new, false))
                .collect();
            assert_eq!(typechange_counts(&hunks), want, "{old:?} -> {new:?}");
        }
        assert!(whole_file_hunk(b"\0bin", true).is_none());
        let h = whole_file_hunk(b"a\nb", false).expect("text");
        assert_eq!(
            (h.old_start, h.old_lines, h.new_start, h.new_lines),
            (0, 0, 1, 2)
        );
        assert!(h.lines[1].no_newline && !h.lines[0].no_newline);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_path("plain/path.txt"), "plain/path.txt");
        assert_eq!(quote_path("caf\u{e9}"), "\"caf\\303\\251\"");
        assert_eq!(quote_path("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn diff_id_round_trip() {
        let key = DiffKey {
            from: Oid::ZERO,
            to: Oid::from_bytes([7; 20]),
            options: DiffOptions::default(),
        };
        let id = DiffId::encode(&key);
        assert_eq!(DiffId::encode(&key), id);
        assert_eq!(id.decode().ok(), Some(key));
        assert!(DiffId::from_string("d1.!!").decode().is_err());
        assert!(DiffId::from_string("x").decode().is_err());
    }

    /// A diff id is caller input: one forged to carry 4,000,000,000 context lines (or a
    /// threshold over 100 %) is refused as `InvalidArgument` before any engine sees it.
    #[test]
    fn diff_id_with_options_out_of_bounds_is_invalid_argument() {
        for options in [
            DiffOptions {
                context_lines: 4_000_000_000,
                ..DiffOptions::default()
            },
            DiffOptions {
                rename_threshold: 200,
                ..DiffOptions::default()
            },
        ] {
            let id = DiffId::encode(&DiffKey {
                from: Oid::ZERO,
                to: Oid::from_bytes([7; 20]),
                options,
            });
            let err = id.decode().expect_err("options out of bounds");
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        }
    }
}
