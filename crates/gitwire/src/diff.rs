//! Comparing two commits: added, modified, deleted, type- and mode-changed, renamed files.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::client::{Client, FlatEntry};
use crate::error::Result;
use crate::object::Mode;
use crate::oid::Oid;

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// New path.
    Added,
    /// Content changed (the mode may have changed too).
    Modified,
    /// Path removed.
    Deleted,
    /// Kind changed: file, symlink and submodule are different kinds.
    TypeChanged,
    /// Only the mode changed (executable bit).
    ModeChanged,
    /// Moved, with the same or similar content.
    Renamed,
}

/// One change between two commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What happened.
    pub status: ChangeStatus,
    /// The path (the new path for renames).
    pub path: String,
    /// For renames, the old path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// Old mode, if the path existed before.
    pub old_mode: Option<Mode>,
    /// New mode, if the path exists after.
    pub new_mode: Option<Mode>,
    /// Old id.
    pub old_oid: Option<Oid>,
    /// New id.
    pub new_oid: Option<Oid>,
    /// For renames, similarity in percent (100 for exact).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<u8>,
}

impl Change {
    /// The `git diff --name-status` letter (`R` followed by the score for renames).
    pub fn status_letter(&self) -> String {
        match self.status {
            ChangeStatus::Added => "A".into(),
            ChangeStatus::Modified | ChangeStatus::ModeChanged => "M".into(),
            ChangeStatus::Deleted => "D".into(),
            ChangeStatus::TypeChanged => "T".into(),
            ChangeStatus::Renamed => format!("R{:03}", self.similarity.unwrap_or(100)),
        }
    }
}

/// Options of [`Client::compare`].
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Detect renames at all.
    pub renames: bool,
    /// Minimum similarity (percent) of a non-exact rename; git's default is 50.
    pub rename_threshold: u8,
    /// Skip similarity detection when more than this many files were added or deleted
    /// (git's `diff.renameLimit` idea): it needs every candidate blob.
    pub rename_limit: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            renames: true,
            rename_threshold: 50,
            rename_limit: 1000,
        }
    }
}

fn kind_class(m: Mode) -> u8 {
    if m.is_symlink() {
        1
    } else if m.is_submodule() {
        2
    } else {
        0
    }
}

impl Client {
    /// Compares the trees of two commits.
    pub async fn compare(&self, from: Oid, to: Oid, opt: &CompareOptions) -> Result<Vec<Change>> {
        let a = self.get_commit(from).await?;
        let b = self.get_commit(to).await?;
        let old = self.list_tree(a.tree, true).await?;
        let new = self.list_tree(b.tree, true).await?;
        let mut changes = diff_flat(&old, &new);
        if opt.renames {
            self.detect_renames(&mut changes, opt).await?;
        }
        changes.sort_by(|x, y| x.path.cmp(&y.path));
        Ok(changes)
    }

    async fn detect_renames(&self, changes: &mut Vec<Change>, opt: &CompareOptions) -> Result<()> {
        let is_file = |m: Option<Mode>| m.is_some_and(|m| m.is_blob());
        let mut deleted: Vec<usize> = (0..changes.len())
            .filter(|&i| changes[i].status == ChangeStatus::Deleted && is_file(changes[i].old_mode))
            .collect();
        let mut added: Vec<usize> = (0..changes.len())
            .filter(|&i| changes[i].status == ChangeStatus::Added && is_file(changes[i].new_mode))
            .collect();
        let mut pairs: Vec<(usize, usize, u8)> = Vec::new();
        // Exact renames first: same blob id and same kind.
        added.retain(|&ai| {
            let a = &changes[ai];
            if let Some(pos) = deleted.iter().position(|&di| {
                changes[di].old_oid == a.new_oid
                    && changes[di].old_mode.map(kind_class) == a.new_mode.map(kind_class)
            }) {
                pairs.push((deleted.remove(pos), ai, 100));
                false
            } else {
                true
            }
        });
        if !deleted.is_empty()
            && !added.is_empty()
            && deleted.len().max(added.len()) <= opt.rename_limit
        {
            let oids: Vec<Oid> = deleted
                .iter()
                .filter_map(|&i| changes[i].old_oid)
                .chain(added.iter().filter_map(|&i| changes[i].new_oid))
                .collect();
            let blobs = self.get_blobs(&oids).await?;
            let mut scored = Vec::new();
            let sigs: HashMap<Oid, (usize, HashMap<u64, usize>)> = blobs
                .iter()
                .map(|(o, d)| (*o, (d.len(), chunk_counts(d))))
                .collect();
            for &di in &deleted {
                for &ai in &added {
                    let (Some(so), Some(do_)) = (changes[di].old_oid, changes[ai].new_oid) else {
                        continue;
                    };
                    if changes[di].old_mode.map(kind_class) != changes[ai].new_mode.map(kind_class)
                    {
                        continue;
                    }
                    if let (Some(s), Some(d)) = (sigs.get(&so), sigs.get(&do_)) {
                        let score = similarity(s, d);
                        if score >= opt.rename_threshold {
                            scored.push((score, di, ai));
                        }
                    }
                }
            }
            // Best scores first; ties by destination then source order, like git.
            scored.sort_by(|x, y| y.0.cmp(&x.0).then(x.2.cmp(&y.2)).then(x.1.cmp(&y.1)));
            let mut used_d = std::collections::HashSet::new();
            let mut used_a = std::collections::HashSet::new();
            for (score, di, ai) in scored {
                if used_d.contains(&di) || used_a.contains(&ai) {
                    continue;
                }
                used_d.insert(di);
                used_a.insert(ai);
                pairs.push((di, ai, score));
            }
        }
        let mut remove = Vec::new();
        for (di, ai, score) in pairs {
            let d = changes[di].clone();
            let a = &mut changes[ai];
            a.status = ChangeStatus::Renamed;
            a.old_path = Some(d.path);
            a.old_mode = d.old_mode;
            a.old_oid = d.old_oid;
            a.similarity = Some(score);
            remove.push(di);
        }
        remove.sort_unstable();
        for i in remove.into_iter().rev() {
            changes.remove(i);
        }
        Ok(())
    }
}

/// Compares two flat listings (no renames).
pub fn diff_flat(old: &[FlatEntry], new: &[FlatEntry]) -> Vec<Change> {
    let mut paths: BTreeMap<&str, (Option<&FlatEntry>, Option<&FlatEntry>)> = BTreeMap::new();
    for e in old {
        paths.entry(&e.path).or_default().0 = Some(e);
    }
    for e in new {
        paths.entry(&e.path).or_default().1 = Some(e);
    }
    let mut out = Vec::new();
    for (path, (o, n)) in paths {
        let status = match (o, n) {
            (Some(o), Some(n)) if o.oid == n.oid && o.mode == n.mode => continue,
            (Some(o), Some(n)) if kind_class(o.mode) != kind_class(n.mode) => {
                ChangeStatus::TypeChanged
            }
            (Some(o), Some(n)) if o.oid == n.oid => ChangeStatus::ModeChanged,
            (Some(_), Some(_)) => ChangeStatus::Modified,
            (Some(_), None) => ChangeStatus::Deleted,
            (None, Some(_)) => ChangeStatus::Added,
            (None, None) => continue,
        };
        out.push(Change {
            status,
            path: path.to_owned(),
            old_path: None,
            old_mode: o.map(|e| e.mode),
            new_mode: n.map(|e| e.mode),
            old_oid: o.map(|e| e.oid),
            new_oid: n.map(|e| e.oid),
            similarity: None,
        });
    }
    out
}

/// Counts bytes per content chunk the way git's diffcore-delta does: a chunk ends at a
/// newline or after 64 bytes; `\r` before `\n` is ignored in text.
fn chunk_counts(data: &[u8]) -> HashMap<u64, usize> {
    let is_text = !data.contains(&0);
    let mut counts = HashMap::new();
    let mut hash: u64 = 0x811c9dc5;
    let mut n = 0usize;
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        i += 1;
        if is_text && c == b'\r' && data.get(i) == Some(&b'\n') {
            continue;
        }
        hash = (hash ^ u64::from(c)).wrapping_mul(0x100000001b3);
        n += 1;
        if n < 64 && c != b'\n' {
            continue;
        }
        *counts.entry(hash).or_insert(0) += n;
        hash = 0x811c9dc5;
        n = 0;
    }
    if n > 0 {
        *counts.entry(hash).or_insert(0) += n;
    }
    counts
}

/// Similarity in percent: bytes of the source found in the destination over the larger size.
fn similarity(src: &(usize, HashMap<u64, usize>), dst: &(usize, HashMap<u64, usize>)) -> u8 {
    let (ssize, scount) = src;
    let (dsize, dcount) = dst;
    let max = (*ssize).max(*dsize);
    let min = (*ssize).min(*dsize);
    if max == 0 {
        return 100;
    }
    // Sizes too different cannot reach 50 % (git checks this before reading content).
    if (max - min) * 2 > max {
        return 0;
    }
    let copied: usize = scount
        .iter()
        .map(|(h, n)| (*n).min(dcount.get(h).copied().unwrap_or(0)))
        .sum();
    u8::try_from(copied * 100 / max).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, mode: Mode, fill: u8) -> FlatEntry {
        FlatEntry {
            path: path.into(),
            mode,
            oid: Oid::from_bytes([fill; 20]),
        }
    }

    #[test]
    fn classifies_changes() {
        let old = vec![
            e("a", Mode::FILE, 1),
            e("b", Mode::FILE, 2),
            e("c", Mode::FILE, 3),
            e("d", Mode::FILE, 4),
        ];
        let new = vec![
            e("a", Mode::FILE, 9),
            e("b", Mode::EXECUTABLE, 2),
            e("c", Mode::SYMLINK, 3),
            e("z", Mode::FILE, 5),
        ];
        let got: Vec<_> = diff_flat(&old, &new)
            .into_iter()
            .map(|c| (c.path, c.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), ChangeStatus::Modified),
                ("b".into(), ChangeStatus::ModeChanged),
                ("c".into(), ChangeStatus::TypeChanged),
                ("d".into(), ChangeStatus::Deleted),
                ("z".into(), ChangeStatus::Added),
            ]
        );
    }

    #[test]
    fn similarity_of_lightly_edited_text_is_high() {
        let a: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let b = a.replace("line 50\n", "changed\n");
        let s = similarity(
            &(a.len(), chunk_counts(a.as_bytes())),
            &(b.len(), chunk_counts(b.as_bytes())),
        );
        assert!(s >= 90, "{s}");
        let c = "completely different\n".repeat(40);
        assert!(
            similarity(
                &(a.len(), chunk_counts(a.as_bytes())),
                &(c.len(), chunk_counts(c.as_bytes()))
            ) < 50
        );
    }
}
