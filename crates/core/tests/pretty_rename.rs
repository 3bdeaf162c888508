//! `pretty_rename` (the path of a rename in `format=stat`, i.e. `--numstat`) agrees with git on
//! a table of renames: each case is a real rename between two trees of a scratch repository,
//! and the expected string is what `git diff-tree --numstat -M` and `git diff --stat` print
//! for it, never a string written by hand.

use std::path::Path;
use std::process::{Command, Stdio};

use gitapi_core::diff::pretty_rename;

/// Renames that exercise each rule of git's `pprint_rename`: no common part, a common prefix
/// or suffix only, both, the prefix and suffix sharing a slash (moves into and out of a new
/// folder), partial names that share bytes but not a `/`, a path that becomes a folder, deep
/// paths, names with spaces, and names that need quoting.
const CASES: &[(&str, &str)] = &[
    ("a.txt", "b.txt"),
    ("dir/a.txt", "dir/b.txt"),
    ("a/x/f", "b/x/f"),
    ("d/a/f", "d/b/f"),
    ("f", "d/f"),
    ("d/f", "f"),
    ("crates/core/config.rs", "crates/core/flags/config.rs"),
    ("crates/core/flags/config.rs", "crates/core/config.rs"),
    ("a/b/c", "a/c"),
    ("a/c", "a/b/c"),
    ("a/b/c/d", "a/d"),
    ("a/d", "a/b/c/d"),
    ("x/y/z.txt", "x/y/w/z.txt"),
    ("abc/def", "abd/def"),
    ("abc/def", "abc/deg"),
    ("a/b", "a/b/c"),
    ("a/b/c", "a/b"),
    ("a/b/a/b", "a/b"),
    ("a", "a/a"),
    ("a/a", "a"),
    ("dir/file", "dir2/file"),
    ("dir2/file", "dir/file"),
    ("one/two/three", "one/three"),
    ("src/x/y/mod.rs", "src/z/y/mod.rs"),
    ("lib/a.rs", "lib/a/mod.rs"),
    ("lib/a/mod.rs", "lib/a.rs"),
    ("a/b/c/d/e", "a/x/c/d/e"),
    (".github/x.yml", "ci/x.yml"),
    ("top.txt", "deep/er/top.txt"),
    ("deep/er/top.txt", "top.txt"),
    ("a/b/c/x.txt", "a/b/c/d/e/x.txt"),
    ("a/b/c/d/e/x.txt", "a/b/c/x.txt"),
    ("p/q/r/s", "p/t/r/s"),
    ("same/name", "other/same/name"),
    ("x/same", "x/y/x/same"),
    ("ab/cd/ef", "ab/ef"),
    ("a/bc/d", "a/c/d"),
    ("a/b.c/d", "a/c/d"),
    ("foo/bar/baz", "foo/baz/bar"),
    ("v1/lib/x.rs", "v2/lib/y.rs"),
    ("my dir/a b", "my dir/c d"),
    ("caf\u{e9}/a", "caf\u{e9}/b"),
    ("plain/a", "caf\u{e9}/a"),
    ("tab\there/a", "tab\there/b"),
];

fn git(dir: &Path, index: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_DIR", dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    let mut child = cmd.spawn().expect("git runs");
    if let Some(input) = stdin {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("git finishes");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// A tree holding `blob` at `path` alone.
fn tree_with(dir: &Path, blob: &str, path: &str) -> String {
    let index = dir.join("case-index");
    let _ = std::fs::remove_file(&index);
    git(
        dir,
        Some(&index),
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("100644,{blob},{path}"),
        ],
        None,
    );
    git(dir, Some(&index), &["write-tree"], None)
        .trim()
        .to_owned()
}

#[test]
fn pretty_rename_matches_git_on_a_table_of_renames() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path();
    git(dir, None, &["init", "-q", "--bare", "."], None);
    let blob = git(
        dir,
        None,
        &["hash-object", "-w", "--stdin"],
        Some(b"one\ntwo\nthree\nfour\n"),
    );
    let blob = blob.trim();
    let mut mismatches = Vec::new();
    for (old, new) in CASES {
        let (t1, t2) = (tree_with(dir, blob, old), tree_with(dir, blob, new));
        let numstat = git(dir, None, &["diff-tree", "--numstat", "-M", &t1, &t2], None);
        let lines: Vec<&str> = numstat.lines().collect();
        assert_eq!(lines.len(), 1, "{old} -> {new} is one rename: {numstat}");
        let want = lines[0]
            .strip_prefix("0\t0\t")
            .unwrap_or_else(|| panic!("an exact rename: {numstat}"));
        // `--stat` prints the same name (given room enough not to shorten it).
        let stat = git(
            dir,
            None,
            &["diff", "--stat=1000,900", "-M", &t1, &t2],
            None,
        );
        let stat_name = stat
            .lines()
            .next()
            .and_then(|l| l.rsplit_once(" | "))
            .map(|(name, _)| name.trim())
            .expect("a stat line");
        assert_eq!(
            stat_name, want,
            "--stat and --numstat name {old} -> {new} alike"
        );
        let ours = pretty_rename(old, new);
        if ours != want {
            mismatches.push(format!("{old:?} -> {new:?}: ours {ours:?}, git {want:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "pretty_rename differs from git:\n{}",
        mismatches.join("\n")
    );
}
