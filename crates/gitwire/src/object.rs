//! Git objects: kinds, commits, trees and their byte formats (gitformat-*).

use std::fmt;

use bytes::Bytes;
use serde::Serialize;

use crate::oid::Oid;

/// The four object kinds git stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A commit.
    Commit,
    /// A tree (directory listing).
    Tree,
    /// A blob (file content).
    Blob,
    /// An annotated tag.
    Tag,
}

impl Kind {
    /// The name git uses in object headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
            Kind::Tag => "tag",
        }
    }

    /// The kind's number in pack entry headers.
    pub fn pack_type(self) -> u8 {
        match self {
            Kind::Commit => 1,
            Kind::Tree => 2,
            Kind::Blob => 3,
            Kind::Tag => 4,
        }
    }

    /// The kind for a pack entry type number, if it is a whole object.
    pub fn from_pack_type(t: u8) -> Option<Kind> {
        match t {
            1 => Some(Kind::Commit),
            2 => Some(Kind::Tree),
            3 => Some(Kind::Blob),
            4 => Some(Kind::Tag),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An object: kind, id and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its id (hash of kind, size and content).
    pub oid: Oid,
    /// Its kind.
    pub kind: Kind,
    /// Its content, shared cheaply between caches and callers.
    pub data: Bytes,
}

impl Object {
    /// Builds an object and computes its id.
    pub fn new(kind: Kind, data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Object {
            oid: Oid::hash_object(kind, &data),
            kind,
            data,
        }
    }
}

/// Malformed object content.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A commit lacks a header git always writes.
    #[error("commit {0} has no {1:?} header")]
    MissingHeader(Oid, &'static str),
    /// A header or tree entry could not be read.
    #[error("malformed {kind} {oid}: {reason}")]
    Malformed {
        /// Which kind was being read.
        kind: Kind,
        /// The object.
        oid: Oid,
        /// What was wrong.
        reason: String,
    },
}

/// The mode of a tree entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mode(pub u32);

impl Mode {
    /// A directory.
    pub const TREE: Mode = Mode(0o040000);
    /// A regular file.
    pub const FILE: Mode = Mode(0o100644);
    /// An executable file.
    pub const EXECUTABLE: Mode = Mode(0o100755);
    /// A symbolic link (the blob holds the target).
    pub const SYMLINK: Mode = Mode(0o120000);
    /// A submodule (the id is a commit of another repository).
    pub const SUBMODULE: Mode = Mode(0o160000);

    /// Whether the entry is a tree.
    pub fn is_tree(self) -> bool {
        self.0 & 0o170000 == 0o040000
    }
    /// Whether the entry is a blob (file or symlink).
    pub fn is_blob(self) -> bool {
        matches!(self.0 & 0o170000, 0o100000 | 0o120000)
    }
    /// Whether the entry is a symlink.
    pub fn is_symlink(self) -> bool {
        self.0 & 0o170000 == 0o120000
    }
    /// Whether the entry is a submodule commit.
    pub fn is_submodule(self) -> bool {
        self.0 & 0o170000 == 0o160000
    }
    /// Whether the entry is an executable file.
    pub fn is_executable(self) -> bool {
        self.0 == 0o100755
    }
    /// What kind of object the entry points at.
    pub fn kind(self) -> Kind {
        if self.is_tree() {
            Kind::Tree
        } else if self.is_submodule() {
            Kind::Commit
        } else {
            Kind::Blob
        }
    }
    /// The short name used in listings: `blob`, `tree` or `commit`.
    pub fn type_name(self) -> &'static str {
        self.kind().as_str()
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06o}", self.0)
    }
}

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TreeEntry {
    /// The entry's mode.
    pub mode: Mode,
    /// Its name (one path component; git allows any bytes but `/` and NUL).
    pub name: String,
    /// The object it points at.
    pub oid: Oid,
}

/// A parsed tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tree {
    /// The tree's id.
    pub oid: Oid,
    /// Entries in git's order.
    pub entries: Vec<TreeEntry>,
}

impl Tree {
    /// Parses tree content: `<octal mode> <name>\0<20 raw bytes>` repeated.
    pub fn parse(oid: Oid, mut data: &[u8]) -> Result<Tree, Error> {
        let bad = |reason: &str| Error::Malformed {
            kind: Kind::Tree,
            oid,
            reason: reason.to_owned(),
        };
        let mut entries = Vec::new();
        while !data.is_empty() {
            let sp = data
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(|| bad("no space after mode"))?;
            let mode_text = &data[..sp];
            if mode_text.is_empty() || mode_text.len() > 7 {
                return Err(bad("mode length"));
            }
            let mut mode = 0u32;
            for &c in mode_text {
                if !(b'0'..=b'7').contains(&c) {
                    return Err(bad("mode is not octal"));
                }
                mode = mode * 8 + u32::from(c - b'0');
            }
            let rest = &data[sp + 1..];
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("no NUL after name"))?;
            let name = std::str::from_utf8(&rest[..nul]).map_err(|_| bad("name is not UTF-8"))?;
            if name.is_empty() || name.contains('/') {
                return Err(bad("invalid entry name"));
            }
            let oid_bytes = rest
                .get(nul + 1..nul + 21)
                .ok_or_else(|| bad("truncated id"))?;
            let entry_oid = Oid::from_slice(oid_bytes).ok_or_else(|| bad("truncated id"))?;
            entries.push(TreeEntry {
                mode: Mode(mode),
                name: name.to_owned(),
                oid: entry_oid,
            });
            data = &rest[nul + 21..];
        }
        Ok(Tree { oid, entries })
    }

    /// Serialises entries in git's canonical order (trees sort as if their name ended in `/`).
    pub fn encode(entries: &mut [TreeEntry]) -> Vec<u8> {
        entries.sort_by_key(tree_sort_key);
        let mut out = Vec::with_capacity(entries.len() * 40);
        for e in entries.iter() {
            out.extend_from_slice(format!("{:o}", e.mode.0).as_bytes());
            out.push(b' ');
            out.extend_from_slice(e.name.as_bytes());
            out.push(0);
            out.extend_from_slice(e.oid.as_bytes());
        }
        out
    }
}

fn tree_sort_key(e: &TreeEntry) -> Vec<u8> {
    let mut k = e.name.as_bytes().to_vec();
    if e.mode.is_tree() {
        k.push(b'/');
    }
    k
}

/// An author or committer line: name, email, time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Time-zone offset as git writes it, e.g. `+0200`.
    pub tz: String,
}

impl Signature {
    /// Parses `Name <email> 1700000000 +0100`.
    pub fn parse(line: &str) -> Option<Signature> {
        let lt = line.find('<')?;
        let gt = line[lt..].find('>')? + lt;
        let name = line[..lt].trim_end().to_owned();
        let email = line[lt + 1..gt].to_owned();
        let mut rest = line[gt + 1..].split_whitespace();
        let time = rest.next()?.parse().ok()?;
        let tz = rest.next().unwrap_or("+0000").to_owned();
        Some(Signature {
            name,
            email,
            time,
            tz,
        })
    }

    /// Parses `Name <email>` (the CLI's `--author`) with the given time.
    pub fn from_name_email(text: &str, time: i64) -> Option<Signature> {
        let lt = text.find('<')?;
        let gt = text.rfind('>')?;
        if gt < lt {
            return None;
        }
        Some(Signature {
            name: text[..lt].trim().to_owned(),
            email: text[lt + 1..gt].trim().to_owned(),
            time,
            tz: "+0000".to_owned(),
        })
    }

    fn encode(&self) -> String {
        format!("{} <{}> {} {}", self.name, self.email, self.time, self.tz)
    }
}

/// A parsed commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// The commit's id.
    pub oid: Oid,
    /// Its root tree.
    pub tree: Oid,
    /// Every parent in order (merge commits keep all of them).
    pub parents: Vec<Oid>,
    /// Who wrote the change.
    pub author: Signature,
    /// Who made the commit.
    pub committer: Signature,
    /// The message, verbatim.
    pub message: String,
    /// Other headers (`gpgsig`, `mergetag`, `encoding`…), continuation lines joined by `\n`.
    #[serde(skip)]
    pub extra_headers: Vec<(String, String)>,
}

impl Commit {
    /// Parses commit content.
    pub fn parse(oid: Oid, data: &[u8]) -> Result<Commit, Error> {
        let bad = |reason: &str| Error::Malformed {
            kind: Kind::Commit,
            oid,
            reason: reason.to_owned(),
        };
        let text = String::from_utf8_lossy(data);
        let (head, message) = match text.find("\n\n") {
            Some(i) => (&text[..i], text[i + 2..].to_owned()),
            None => (text.as_ref(), String::new()),
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.split('\n') {
            if let Some(cont) = line.strip_prefix(' ') {
                let last = headers
                    .last_mut()
                    .ok_or_else(|| bad("continuation before header"))?;
                last.1.push('\n');
                last.1.push_str(cont);
            } else if let Some((k, v)) = line.split_once(' ') {
                headers.push((k.to_owned(), v.to_owned()));
            } else if !line.is_empty() {
                headers.push((line.to_owned(), String::new()));
            }
        }
        let mut tree = None;
        let mut parents = Vec::new();
        let mut author = None;
        let mut committer = None;
        let mut extra_headers = Vec::new();
        for (k, v) in headers {
            match k.as_str() {
                "tree" if tree.is_none() => tree = Some(v.parse().map_err(|_| bad("tree id"))?),
                "parent" => parents.push(v.parse().map_err(|_| bad("parent id"))?),
                "author" if author.is_none() => {
                    author = Some(Signature::parse(&v).ok_or_else(|| bad("author line"))?)
                }
                "committer" if committer.is_none() => {
                    committer = Some(Signature::parse(&v).ok_or_else(|| bad("committer line"))?)
                }
                _ => extra_headers.push((k, v)),
            }
        }
        Ok(Commit {
            oid,
            tree: tree.ok_or(Error::MissingHeader(oid, "tree"))?,
            parents,
            author: author.ok_or(Error::MissingHeader(oid, "author"))?,
            committer: committer.ok_or(Error::MissingHeader(oid, "committer"))?,
            message,
            extra_headers,
        })
    }

    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// Serialises a commit. `signature` becomes a `gpgsig` header (continuation lines indented).
pub fn encode_commit(
    tree: Oid,
    parents: &[Oid],
    author: &Signature,
    committer: &Signature,
    message: &str,
    signature: Option<&str>,
) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(&format!("tree {tree}\n"));
    for p in parents {
        out.push_str(&format!("parent {p}\n"));
    }
    out.push_str(&format!("author {}\n", author.encode()));
    out.push_str(&format!("committer {}\n", committer.encode()));
    if let Some(sig) = signature {
        out.push_str("gpgsig");
        for (i, line) in sig.trim_end_matches('\n').split('\n').enumerate() {
            out.push_str(if i == 0 { " " } else { "\n " });
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(message);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_round_trip_with_two_parents() {
        let sig = Signature::parse("A U Thor <a@example.com> 1700000000 +0100").expect("valid");
        let p1 = Oid::from_bytes([1; 20]);
        let p2 = Oid::from_bytes([2; 20]);
        let data = encode_commit(
            Oid::from_bytes([3; 20]),
            &[p1, p2],
            &sig,
            &sig,
            "msg\n",
            Some("-----BEGIN-----\nabc\n-----END-----\n"),
        );
        let c = Commit::parse(Oid::ZERO, &data).expect("parses");
        assert_eq!(c.parents, vec![p1, p2]);
        assert_eq!(c.author, sig);
        assert_eq!(c.message, "msg\n");
        assert_eq!(c.extra_headers[0].0, "gpgsig");
        assert_eq!(c.extra_headers[0].1, "-----BEGIN-----\nabc\n-----END-----");
    }

    #[test]
    fn tree_sorts_directories_with_slash() {
        let oid = Oid::from_bytes([7; 20]);
        let mut entries = vec![
            TreeEntry {
                mode: Mode::FILE,
                name: "a.txt".into(),
                oid,
            },
            TreeEntry {
                mode: Mode::TREE,
                name: "a".into(),
                oid,
            },
            TreeEntry {
                mode: Mode::FILE,
                name: "a-b".into(),
                oid,
            },
        ];
        let data = Tree::encode(&mut entries);
        let tree = Tree::parse(Oid::ZERO, &data).expect("parses");
        let names: Vec<_> = tree.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a-b", "a.txt", "a"]);
    }
}
