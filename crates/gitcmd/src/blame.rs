//! Blame through `git blame --porcelain`, for both engines: the CLI engine's blame, and the
//! libgit2 engine's, because `git_blame_file` has no callback and so cannot be stopped at the
//! caller's deadline, while a `git blame` process is killed with its process group when the
//! deadline passes (the blocking thread waiting for it returns at once with `Timeout`).
//!
//! The engine checks what it is asked first (the commit, that the path is a file, the line
//! range with [`gitapi_core::porcelain::blame::line_range`]); [`run`] then blames and finishes
//! the answer.

use std::path::Path;

use gitapi_core::{BlameHunk, Error, Oid, RepoPath, Result};

use crate::{Git, Sub, Value, Watchdog};

/// Blames `path` as of `commit` in the bare repository `git_dir`, lines `lines` (already
/// checked and clamped) or all, under the caller's deadline: `Timeout` when it passes, with the
/// `git blame` process group killed.
pub fn run(
    dog: &Watchdog,
    git_dir: &Path,
    commit: Oid,
    path: &RepoPath,
    lines: Option<(u32, u32)>,
) -> Result<Vec<BlameHunk>> {
    let mut g = Git::in_repo(git_dir, Sub::Blame)
        .flag("--porcelain")
        .flag("--no-progress");
    if let Some((start, end)) = lines {
        g = g.opt("-L", Value::Range(start, end));
    }
    let out = g.oid(commit).path(path.as_str()).ok(dog)?;
    Ok(gitapi_core::porcelain::blame::finish(parse_porcelain(
        &out,
    )?))
}

fn parse_error(line: &str) -> Error {
    Error::internal(format!("unexpected blame output: {line:?}"))
}

/// Parses `git blame --porcelain` into hunks, one per group git prints (not yet finished:
/// [`gitapi_core::porcelain::blame::finish`] orders and joins them).
pub fn parse_porcelain(out: &[u8]) -> Result<Vec<BlameHunk>> {
    let text = String::from_utf8_lossy(out);
    let mut names: std::collections::HashMap<Oid, String> = std::collections::HashMap::new();
    let mut hunks: Vec<BlameHunk> = Vec::new();
    // The group being read: its hunk index, waiting for a `filename` line.
    let mut open: Option<usize> = None;
    for line in text.split('\n') {
        if line.starts_with('\t') {
            open = None;
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let is_header = fields.len() >= 3
            && fields[0].len() == 40
            && fields[0].bytes().all(|b| b.is_ascii_hexdigit());
        if is_header {
            let commit = Oid::from_hex(fields[0]).map_err(|_| parse_error(line))?;
            let num =
                |i: usize| -> Result<u32> { fields[i].parse().map_err(|_| parse_error(line)) };
            let (orig, fin) = (num(1)?, num(2)?);
            if fields.len() >= 4 {
                hunks.push(BlameHunk {
                    commit,
                    orig_path: names.get(&commit).cloned().unwrap_or_default(),
                    orig_start: orig,
                    final_start: fin,
                    lines: num(3)?,
                });
                open = Some(hunks.len() - 1);
            } else {
                open = None;
            }
        } else if let Some(name) = line.strip_prefix("filename ")
            && let Some(i) = open
        {
            let name = unquote_c(name);
            names.insert(hunks[i].commit, name.clone());
            hunks[i].orig_path = name;
        }
    }
    for h in &mut hunks {
        if h.orig_path.is_empty()
            && let Some(n) = names.get(&h.commit)
        {
            h.orig_path = n.clone();
        }
    }
    Ok(hunks)
}

/// Undoes git's C-style quoting of a path (`"caf\303\251"`); unquoted text is returned as is.
pub fn unquote_c(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return s.to_owned();
    };
    let b = inner.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let c = b[i + 1];
            let simple = match c {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'a' => Some(0x07),
                b'b' => Some(0x08),
                b'v' => Some(0x0b),
                b'f' => Some(0x0c),
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                _ => None,
            };
            if let Some(x) = simple {
                out.push(x);
                i += 2;
                continue;
            }
            if i + 3 < b.len() && b[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(b: u8) -> Oid {
        Oid::from_bytes([b; 20])
    }

    #[test]
    fn blame_groups() {
        let a = oid(0xaa).to_string();
        let b = oid(0xbb).to_string();
        let out = format!(
            "{a} 1 1 2\nauthor X\nfilename f.txt\n\tone\n{a} 2 2\n\ttwo\n\
             {b} 5 3 1\nauthor Y\nfilename \"old name\"\n\tthree\n{a} 3 4 1\nfilename f.txt\n\tfour\n"
        );
        let v = parse_porcelain(out.as_bytes()).expect("blame");
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].final_start, v[0].lines), (1, 2));
        assert_eq!(v[1].orig_path, "old name");
        assert_eq!(v[2].orig_start, 3);
        let joined = gitapi_core::porcelain::blame::finish(vec![v[0].clone(), v[2].clone()]);
        assert_eq!(joined.len(), 2, "not consecutive: lines 1-2 then 4");
    }

    #[test]
    fn c_quoting() {
        assert_eq!(unquote_c("plain"), "plain");
        assert_eq!(unquote_c("\"caf\\303\\251\""), "caf\u{e9}");
        assert_eq!(unquote_c("\"a\\\"b\""), "a\"b");
    }
}
