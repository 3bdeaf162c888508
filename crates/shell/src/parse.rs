//! Pure parsers of git's object formats and porcelain outputs. No I/O: each takes bytes and
//! returns domain values, so each is unit-tested on bytes.

use gitapi_core::{
    Commit, DiffLine, DiffStatus, FileMode, FileStatus, Hunk, LineOrigin, ObjectKind, Oid,
    Signature, StatusEntry, TagObject,
};

/// A malformed input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot parse {what}: {detail}")]
pub(crate) struct ParseError {
    what: &'static str,
    detail: String,
}

impl ParseError {
    fn new(what: &'static str, detail: impl Into<String>) -> Self {
        Self {
            what,
            detail: detail.into(),
        }
    }
}

impl From<ParseError> for gitapi_core::Error {
    fn from(e: ParseError) -> Self {
        gitapi_core::Error::internal(e.to_string())
    }
}

type Result<T> = std::result::Result<T, ParseError>;

/// One entry of a tree object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    /// The mode bits as stored.
    pub(crate) mode: u32,
    /// The name bytes.
    pub(crate) name: Vec<u8>,
    /// The object id.
    pub(crate) oid: Oid,
}

impl RawEntry {
    /// The mode as the domain knows it.
    pub(crate) fn file_mode(&self) -> Option<FileMode> {
        FileMode::from_bits(self.mode)
    }
}

/// Parses a tree object (`<octal mode> SP <name> NUL <20 bytes>`*).
pub(crate) fn parse_tree(data: &[u8]) -> Result<Vec<RawEntry>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| ParseError::new("tree", "entry without mode"))?;
        let mode_text = std::str::from_utf8(&rest[..sp])
            .map_err(|_| ParseError::new("tree", "mode is not text"))?;
        let mode = u32::from_str_radix(mode_text, 8)
            .map_err(|_| ParseError::new("tree", format!("mode {mode_text:?}")))?;
        let after = &rest[sp + 1..];
        let nul = after
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| ParseError::new("tree", "entry without name end"))?;
        let name = after[..nul].to_vec();
        let id = after
            .get(nul + 1..nul + 21)
            .and_then(Oid::from_slice)
            .ok_or_else(|| ParseError::new("tree", "truncated id"))?;
        out.push(RawEntry {
            mode,
            name,
            oid: id,
        });
        rest = &after[nul + 21..];
    }
    Ok(out)
}

/// Parses `Name <email> 1700000000 +0100`.
pub(crate) fn parse_signature(s: &str) -> Result<Signature> {
    let bad = || ParseError::new("signature", s.to_owned());
    let lt = s.find('<').ok_or_else(bad)?;
    let gt = s.rfind('>').ok_or_else(bad)?;
    if gt < lt {
        return Err(bad());
    }
    let name = s[..lt].trim().to_owned();
    let email = s[lt + 1..gt].to_owned();
    let mut when = s[gt + 1..].split_whitespace();
    let time: i64 = when.next().and_then(|t| t.parse().ok()).unwrap_or(0);
    let offset_minutes = match when.next() {
        Some(tz) if tz.len() == 5 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let hours: i32 = tz[1..3].parse().map_err(|_| bad())?;
            let minutes: i32 = tz[3..5].parse().map_err(|_| bad())?;
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (hours * 60 + minutes)
        }
        _ => 0,
    };
    Ok(Signature {
        name,
        email,
        time,
        offset_minutes,
    })
}

/// Parses a commit object into the domain commit (the `gpgsig` header unfolded, without its
/// trailing newline, as libgit2 extracts it).
pub(crate) fn parse_commit(oid: Oid, data: &[u8]) -> Result<Commit> {
    let text = String::from_utf8_lossy(data);
    let (headers, message) = match text.find("\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    let mut committer = None;
    let mut gpgsig: Option<String> = None;
    let mut in_sig = false;
    for line in headers.split('\n') {
        if let Some(cont) = line.strip_prefix(' ') {
            if in_sig && let Some(s) = gpgsig.as_mut() {
                s.push('\n');
                s.push_str(cont);
            }
            continue;
        }
        in_sig = false;
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "tree" => {
                tree = Some(Oid::from_hex(v).map_err(|_| ParseError::new("commit", "tree"))?);
            }
            "parent" => {
                parents.push(Oid::from_hex(v).map_err(|_| ParseError::new("commit", "parent"))?)
            }
            "author" => author = Some(parse_signature(v)?),
            "committer" => committer = Some(parse_signature(v)?),
            "gpgsig" if gpgsig.is_none() => {
                gpgsig = Some(v.to_owned());
                in_sig = true;
            }
            _ => {}
        }
    }
    Ok(Commit {
        oid,
        tree: tree.ok_or_else(|| ParseError::new("commit", "no tree"))?,
        parents,
        author: author.ok_or_else(|| ParseError::new("commit", "no author"))?,
        committer: committer.ok_or_else(|| ParseError::new("commit", "no committer"))?,
        message: message.to_owned(),
        signature: gpgsig,
    })
}

/// Parses an annotated tag object (`object`, `type`, `tag`, optional `tagger` headers, then the
/// message), the signature split from the message as git splits it.
pub(crate) fn parse_tag(oid: Oid, data: &[u8]) -> Result<TagObject> {
    let text = String::from_utf8_lossy(data);
    let (headers, message) = match text.find("\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text.trim_end_matches('\n'), ""),
    };
    let (mut target, mut kind, mut name, mut tagger) = (None, None, None, None);
    for line in headers.split('\n') {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        match k {
            "object" if target.is_none() => {
                target = Some(Oid::from_hex(v).map_err(|_| ParseError::new("tag", "object"))?);
            }
            "type" if kind.is_none() => {
                kind = Some(match v {
                    "blob" => ObjectKind::Blob,
                    "tree" => ObjectKind::Tree,
                    "commit" => ObjectKind::Commit,
                    "tag" => ObjectKind::Tag,
                    _ => return Err(ParseError::new("tag", format!("type {v:?}"))),
                });
            }
            "tag" if name.is_none() => name = Some(v.to_owned()),
            "tagger" if tagger.is_none() => tagger = Some(parse_signature(v)?),
            _ => {}
        }
    }
    let (message, signature) = gitapi_core::object::split_tag_signature(message);
    Ok(TagObject {
        oid,
        name: name.ok_or_else(|| ParseError::new("tag", "no tag name"))?,
        target: target.ok_or_else(|| ParseError::new("tag", "no object"))?,
        target_kind: kind.ok_or_else(|| ParseError::new("tag", "no type"))?,
        tagger,
        message: message.to_owned(),
        signature: signature.map(str::to_owned),
    })
}

/// One line of `for-each-ref --format=%(refname)%00%(objectname)%00%(*objectname)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefLine {
    /// The full name.
    pub(crate) name: String,
    /// What it points at.
    pub(crate) target: Oid,
    /// The fully peeled object, for annotated tags.
    pub(crate) peeled: Option<Oid>,
}

/// Parses the `for-each-ref` format above, one ref per line.
pub(crate) fn parse_for_each_ref(out: &[u8]) -> Result<Vec<RefLine>> {
    let text = String::from_utf8_lossy(out);
    let mut v = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut f = line.split('\0');
        let (Some(name), Some(target), peeled) = (f.next(), f.next(), f.next()) else {
            return Err(ParseError::new("for-each-ref", line.to_owned()));
        };
        // A symbolic ref to a missing target prints an empty object name: skip it, as
        // libgit2 skips refs it cannot resolve.
        let Ok(target) = Oid::from_hex(target) else {
            continue;
        };
        v.push(RefLine {
            name: name.to_owned(),
            target,
            peeled: peeled.and_then(|p| Oid::from_hex(p).ok()),
        });
    }
    Ok(v)
}

fn status_letter(c: u8) -> Result<FileStatus> {
    Ok(match c {
        b'.' => FileStatus::Unmodified,
        b'M' => FileStatus::Modified,
        b'A' => FileStatus::Added,
        b'D' => FileStatus::Deleted,
        b'T' => FileStatus::TypeChanged,
        b'U' => FileStatus::Conflicted,
        b'R' | b'C' => FileStatus::Modified,
        other => {
            return Err(ParseError::new(
                "status",
                format!("letter {:?}", char::from(other)),
            ));
        }
    })
}

/// Parses `git status --porcelain=v2 -z --no-renames` into entries sorted by path.
pub(crate) fn parse_status_v2_z(out: &[u8]) -> Result<Vec<StatusEntry>> {
    let mut v = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        if let Some(path) = text.strip_prefix("? ") {
            v.push(StatusEntry {
                path: path.to_owned(),
                staged: FileStatus::Unmodified,
                unstaged: FileStatus::Unmodified,
                untracked: true,
            });
            continue;
        }
        let (kind, rest) = text
            .split_once(' ')
            .ok_or_else(|| ParseError::new("status", text.to_string()))?;
        let fields = match kind {
            "1" => 8,
            "u" => 10,
            "#" | "!" => continue,
            other => return Err(ParseError::new("status", format!("line kind {other:?}"))),
        };
        let parts: Vec<&str> = rest.splitn(fields, ' ').collect();
        if parts.len() != fields || parts[0].len() != 2 {
            return Err(ParseError::new("status", text.to_string()));
        }
        let xy = parts[0].as_bytes();
        let (staged, unstaged) = if kind == "u" {
            (FileStatus::Conflicted, FileStatus::Conflicted)
        } else {
            (status_letter(xy[0])?, status_letter(xy[1])?)
        };
        v.push(StatusEntry {
            path: parts[fields - 1].to_owned(),
            staged,
            unstaged,
            untracked: false,
        });
    }
    v.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(v)
}

/// One entry of `--raw -z` diff output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawDiff {
    pub(crate) old_mode: u32,
    pub(crate) new_mode: u32,
    pub(crate) old_oid: Oid,
    pub(crate) new_oid: Oid,
    pub(crate) status: DiffStatus,
    pub(crate) score: Option<u8>,
    pub(crate) old_path: String,
    pub(crate) new_path: String,
}

/// Splits `--raw -z -p` output into the raw entries and the patch text after them.
pub(crate) fn split_raw_and_patch(out: &[u8]) -> Result<(Vec<RawDiff>, &[u8])> {
    let mut raws = Vec::new();
    let mut rest = out;
    let next_field = |rest: &mut &[u8]| -> Result<Vec<u8>> {
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| ParseError::new("raw diff", "field without NUL"))?;
        let f = rest[..nul].to_vec();
        *rest = &rest[nul + 1..];
        Ok(f)
    };
    while rest.first() == Some(&b':') {
        let meta = next_field(&mut rest)?;
        let meta = String::from_utf8_lossy(&meta[1..]).into_owned();
        let f: Vec<&str> = meta.split(' ').collect();
        if f.len() != 5 {
            return Err(ParseError::new("raw diff", meta.clone()));
        }
        let mode = |s: &str| {
            u32::from_str_radix(s, 8).map_err(|_| ParseError::new("raw diff", s.to_owned()))
        };
        let id = |s: &str| Oid::from_hex(s).map_err(|_| ParseError::new("raw diff", s.to_owned()));
        let (letter, score) = f[4].split_at(1);
        let status = match letter {
            "A" => DiffStatus::Added,
            "D" => DiffStatus::Deleted,
            "M" => DiffStatus::Modified,
            "R" => DiffStatus::Renamed,
            "C" => DiffStatus::Copied,
            "T" => DiffStatus::TypeChanged,
            other => return Err(ParseError::new("raw diff", format!("status {other:?}"))),
        };
        let old_path = String::from_utf8_lossy(&next_field(&mut rest)?).into_owned();
        let new_path = if matches!(status, DiffStatus::Renamed | DiffStatus::Copied) {
            String::from_utf8_lossy(&next_field(&mut rest)?).into_owned()
        } else {
            old_path.clone()
        };
        raws.push(RawDiff {
            old_mode: mode(f[0])?,
            new_mode: mode(f[1])?,
            old_oid: id(f[2])?,
            new_oid: id(f[3])?,
            status,
            score: score.parse().ok(),
            old_path,
            new_path,
        });
    }
    // The raw part ends with an empty field before the patch.
    if rest.first() == Some(&0) {
        rest = &rest[1..];
    }
    Ok((raws, rest))
}

/// The patch of one file: binary or hunks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FilePatch {
    pub(crate) binary: bool,
    pub(crate) hunks: Vec<Hunk>,
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    match s.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

/// Parses patch text (`diff --git` sections, in order) into one [`FilePatch`] per section.
/// Hunk lengths come from the `@@` headers, so a content line that looks like a header is
/// never taken for one.
pub(crate) fn parse_patch(text: &[u8]) -> Result<Vec<FilePatch>> {
    let mut files: Vec<FilePatch> = Vec::new();
    let mut lines = text.split(|b| *b == b'\n').peekable();
    while let Some(raw) = lines.next() {
        if raw.starts_with(b"diff --git ") {
            files.push(FilePatch::default());
            continue;
        }
        let Some(cur) = files.last_mut() else {
            continue;
        };
        if raw.starts_with(b"Binary files ") || raw == b"GIT binary patch" {
            cur.binary = true;
            continue;
        }
        let Some(header) = raw.strip_prefix(b"@@ -") else {
            continue;
        };
        let header = String::from_utf8_lossy(header).into_owned();
        let (ranges, heading) = header
            .split_once(" @@")
            .ok_or_else(|| ParseError::new("patch", header.clone()))?;
        let (old, new) = ranges
            .split_once(" +")
            .ok_or_else(|| ParseError::new("patch", header.clone()))?;
        let (old_start, old_lines) =
            parse_range(old).ok_or_else(|| ParseError::new("patch", header.clone()))?;
        let (new_start, new_lines) =
            parse_range(new).ok_or_else(|| ParseError::new("patch", header.clone()))?;
        let heading = heading.strip_prefix(' ').unwrap_or(heading).to_owned();
        let (mut o, mut n) = (old_start, new_start);
        let (mut left_old, mut left_new) = (old_lines, new_lines);
        let mut hunk_lines: Vec<DiffLine> = Vec::new();
        while left_old > 0 || left_new > 0 || lines.peek().is_some_and(|l| l.starts_with(b"\\")) {
            let Some(l) = lines.next() else { break };
            let (origin, content) = match l.first() {
                Some(b' ') => (LineOrigin::Context, &l[1..]),
                Some(b'+') => (LineOrigin::Addition, &l[1..]),
                Some(b'-') => (LineOrigin::Deletion, &l[1..]),
                Some(b'\\') => {
                    if let Some(last) = hunk_lines.last_mut() {
                        last.no_newline = true;
                    }
                    continue;
                }
                // An empty context line of a patch some tool stripped: git never prints it.
                None => (LineOrigin::Context, &l[..0]),
                Some(_) => return Err(ParseError::new("patch", String::from_utf8_lossy(l))),
            };
            let (old_lineno, new_lineno) = match origin {
                LineOrigin::Context => {
                    left_old = left_old.saturating_sub(1);
                    left_new = left_new.saturating_sub(1);
                    o += 1;
                    n += 1;
                    (Some(o - 1), Some(n - 1))
                }
                LineOrigin::Deletion => {
                    left_old = left_old.saturating_sub(1);
                    o += 1;
                    (Some(o - 1), None)
                }
                LineOrigin::Addition => {
                    left_new = left_new.saturating_sub(1);
                    n += 1;
                    (None, Some(n - 1))
                }
            };
            hunk_lines.push(DiffLine {
                origin,
                content: String::from_utf8_lossy(content).into_owned(),
                old_lineno,
                new_lineno,
                no_newline: false,
            });
        }
        cur.hunks.push(Hunk {
            old_start,
            old_lines,
            new_start,
            new_lines,
            heading,
            lines: hunk_lines,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(b: u8) -> Oid {
        Oid::from_bytes([b; 20])
    }

    #[test]
    fn tree_round_trip_bytes() {
        let mut data = Vec::new();
        data.extend_from_slice(b"100644 a b.txt\0");
        data.extend_from_slice(&[1u8; 20]);
        data.extend_from_slice(b"40000 dir\0");
        data.extend_from_slice(&[2u8; 20]);
        let t = parse_tree(&data).expect("tree");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].name, b"a b.txt");
        assert_eq!(t[0].file_mode(), Some(FileMode::Regular));
        assert_eq!(t[1].file_mode(), Some(FileMode::Tree));
        assert_eq!(t[1].oid, oid(2));
        assert!(parse_tree(b"100644 x\0abc").is_err());
        assert!(parse_tree(&[]).expect("empty").is_empty());
    }

    #[test]
    fn commit_with_signature_and_merge() {
        let text = format!(
            "tree {}\nparent {}\nparent {}\nauthor A U <a@x> 1700000000 +0130\n\
             committer C <c@x> 1700000060 -0700\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n \
             -----END SSH SIGNATURE-----\n\nsubject\n\nbody\n",
            oid(1),
            oid(2),
            oid(3)
        );
        let c = parse_commit(oid(9), text.as_bytes()).expect("commit");
        assert_eq!(c.tree, oid(1));
        assert_eq!(c.parents, vec![oid(2), oid(3)]);
        assert_eq!(c.author.name, "A U");
        assert_eq!(c.author.offset_minutes, 90);
        assert_eq!(c.committer.offset_minutes, -420);
        assert_eq!(c.message, "subject\n\nbody\n");
        assert_eq!(
            c.signature.as_deref(),
            Some("-----BEGIN SSH SIGNATURE-----\nabc\n-----END SSH SIGNATURE-----")
        );
        assert!(parse_commit(oid(9), b"nonsense").is_err());
    }

    #[test]
    fn for_each_ref_lines() {
        let out = format!(
            "refs/heads/main\0{}\0\nrefs/tags/v2\0{}\0{}\nrefs/remotes/x/HEAD\0\0\n",
            oid(1),
            oid(2),
            oid(1)
        );
        let v = parse_for_each_ref(out.as_bytes()).expect("refs");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].peeled, None);
        assert_eq!(v[1].peeled, Some(oid(1)));
    }

    #[test]
    fn status_records() {
        let z = oid(0).to_string();
        let out = format!(
            "1 .M N... 100644 100644 100644 {z} {z} a b.txt\0? new.txt\0\
             1 A. N... 000000 100644 100644 {z} {z} added.txt\0\
             u UU N... 100644 100644 100644 100644 {z} {z} {z} c.txt\0"
        );
        let v = parse_status_v2_z(out.as_bytes()).expect("status");
        let paths: Vec<&str> = v.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["a b.txt", "added.txt", "c.txt", "new.txt"]);
        assert_eq!(v[0].unstaged, FileStatus::Modified);
        assert_eq!(v[1].staged, FileStatus::Added);
        assert_eq!(v[2].staged, FileStatus::Conflicted);
        assert!(v[3].untracked);
    }

    #[test]
    fn raw_and_patch() {
        let z = "0".repeat(40);
        let one = oid(1).to_string();
        let two = oid(2).to_string();
        let mut out = Vec::new();
        out.extend_from_slice(
            format!(":100644 100644 {one} {two} R090\0a.txt\0b.txt\0").as_bytes(),
        );
        out.extend_from_slice(format!(":000000 100644 {z} {two} A\0bin\0").as_bytes());
        out.push(0);
        out.extend_from_slice(
            b"diff --git a/a.txt b/b.txt\nsimilarity index 90%\nrename from a.txt\nrename to b.txt\n\
              --- a/a.txt\n+++ b/b.txt\n@@ -1,2 +1,2 @@ fn x\n keep\n-old\n+new\n\\ No newline at end of file\n\
              diff --git a/bin b/bin\nnew file mode 100644\nBinary files /dev/null and b/bin differ\n",
        );
        let (raws, patch) = split_raw_and_patch(&out).expect("raw");
        assert_eq!(raws.len(), 2);
        assert_eq!(raws[0].status, DiffStatus::Renamed);
        assert_eq!(raws[0].score, Some(90));
        assert_eq!(raws[0].new_path, "b.txt");
        assert_eq!(raws[1].status, DiffStatus::Added);
        let files = parse_patch(patch).expect("patch");
        assert_eq!(files.len(), 2);
        let h = &files[0].hunks[0];
        assert_eq!(h.heading, "fn x");
        assert_eq!(h.lines.len(), 3);
        assert_eq!(h.lines[1].old_lineno, Some(2));
        assert_eq!(h.lines[2].new_lineno, Some(2));
        assert!(h.lines[2].no_newline);
        assert!(files[1].binary);
    }
}
