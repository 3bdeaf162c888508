//! Blame, compared line by line with `git blame --porcelain`.

use gitapi_core::{BlameHunk, BlameQuery, ErrorKind};

use super::*;

/// What blame says about one final line: the commit, the line in that commit and the path
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BlameLine {
    final_line: u32,
    commit: Oid,
    orig_line: u32,
    orig_path: String,
}

fn git_blame(
    h: &Harness,
    repo: &RepoName,
    r: &str,
    p: &str,
    lines: Option<(u32, u32)>,
) -> Vec<BlameLine> {
    let mut args = vec!["blame".to_owned(), "--porcelain".to_owned()];
    if let Some((a, b)) = lines {
        args.push(format!("-L{a},{b}"));
    }
    args.extend([r.to_owned(), "--".to_owned(), p.to_owned()]);
    let out = h.git_repo(repo, &args);
    let mut names: BTreeMap<Oid, String> = BTreeMap::new();
    let mut out_lines: Vec<BlameLine> = Vec::new();
    let mut current: Option<usize> = None;
    for line in out.lines() {
        if line.starts_with('\t') {
            current = None;
            continue;
        }
        let fields: Vec<&str> = line.split(' ').collect();
        if fields[0].len() == 40
            && fields[0].bytes().all(|b| b.is_ascii_hexdigit())
            && fields.len() >= 3
        {
            let commit = oid(fields[0]);
            out_lines.push(BlameLine {
                final_line: fields[2].parse().expect("final line"),
                commit,
                orig_line: fields[1].parse().expect("orig line"),
                orig_path: names.get(&commit).cloned().unwrap_or_default(),
            });
            current = Some(out_lines.len() - 1);
        } else if let Some(name) = line.strip_prefix("filename ")
            && let Some(i) = current
        {
            names.insert(out_lines[i].commit, name.to_owned());
            out_lines[i].orig_path = name.to_owned();
        }
    }
    for l in &mut out_lines {
        if l.orig_path.is_empty() {
            l.orig_path = names.get(&l.commit).cloned().unwrap_or_default();
        }
    }
    out_lines
}

fn expand(hunks: &[BlameHunk]) -> Vec<BlameLine> {
    let mut v: Vec<BlameLine> = hunks
        .iter()
        .flat_map(|hk| {
            (0..hk.lines).map(move |i| BlameLine {
                final_line: hk.final_start + i,
                commit: hk.commit,
                orig_line: hk.orig_start + i,
                orig_path: hk.orig_path.clone(),
            })
        })
        .collect();
    v.sort_by_key(|l| l.final_line);
    v
}

/// Run lengths of consecutive lines from the same commit with consecutive original lines.
fn runs(lines: &[BlameLine]) -> Vec<(Oid, u32, u32, u32)> {
    let mut out: Vec<(Oid, u32, u32, u32)> = Vec::new();
    for l in lines {
        if let Some(last) = out.last_mut()
            && last.0 == l.commit
            && last.1 + last.3 == l.orig_line
            && last.2 + last.3 == l.final_line
        {
            last.3 += 1;
            continue;
        }
        out.push((l.commit, l.orig_line, l.final_line, 1));
    }
    out
}

fn blame_fixture(h: &Harness) -> Fixture {
    let text = |lines: &[&str]| -> String { lines.iter().map(|l| format!("{l}\n")).collect() };
    h.fixture("blame", |w| {
        w.commit(
            "c1",
            &[(
                "f.txt",
                &text(&["l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"]),
            )],
        );
        w.commit(
            "c2",
            &[(
                "f.txt",
                &text(&[
                    "l1", "l2", "L3", "l4", "l5", "new a", "new b", "l6", "l7", "l8",
                ]),
            )],
        );
        w.commit(
            "c3",
            &[(
                "f.txt",
                &text(&[
                    "l2", "L3", "l4", "l5", "new a", "new b", "l6", "l7", "L8", "tail",
                ]),
            )],
        );
        w.commit("c4", &[("other.txt", "unrelated\n")]);
        w.rename("f.txt", "moved/g.txt");
        w.commit_all("c5: rename");
        w.commit(
            "c6",
            &[(
                "moved/g.txt",
                &text(&[
                    "l2", "L3", "l4", "l5", "new a", "NEW B", "l6", "l7", "L8", "tail",
                ]),
            )],
        );
    })
}

async fn blame(
    h: &Harness,
    r: &RepoName,
    at: &str,
    p: &str,
    lines: Option<(u32, u32)>,
) -> Vec<BlameHunk> {
    h.engine
        .blame(
            r,
            BlameQuery {
                path: path(p),
                rev: rev(at),
                lines,
            },
        )
        .await
        .expect("blame")
}

/// Whole-file blame at several commits equals `git blame --porcelain`: commit, original line
/// and final line of every line, and the runs.
pub async fn blame_matches_porcelain(factory: Factory) {
    let h = Harness::new(&factory);
    let f = blame_fixture(&h);
    let r = &f.repo;
    for at in ["main~3", "main~4", "main~5"] {
        let ours = expand(&blame(&h, r, at, "f.txt", None).await);
        let theirs = git_blame(&h, r, at, "f.txt", None);
        assert_eq!(ours, theirs, "blame f.txt at {at}");
        assert_eq!(runs(&ours), runs(&theirs));
        let hunks = blame(&h, r, at, "f.txt", None).await;
        assert!(
            hunks
                .windows(2)
                .all(|w| w[0].final_start < w[1].final_start),
            "hunks in order"
        );
        let covered: u32 = hunks.iter().map(|hk| hk.lines).sum();
        assert_eq!(covered as usize, theirs.len(), "every line is covered once");
    }
}

/// Blame of a line range equals `git blame -L`.
pub async fn blame_line_range(factory: Factory) {
    let h = Harness::new(&factory);
    let f = blame_fixture(&h);
    let r = &f.repo;
    // An end past the last line is cut at the last line, as `git blame -L` does.
    for range in [(1, 1), (2, 5), (5, 10), (10, 10), (7, 500)] {
        let ours = expand(&blame(&h, r, "main~3", "f.txt", Some(range)).await);
        let theirs = git_blame(&h, r, "main~3", "f.txt", Some(range));
        assert_eq!(ours, theirs, "blame -L {range:?}");
        assert!(
            ours.iter()
                .all(|l| l.final_line >= range.0 && l.final_line <= range.1)
        );
        assert!(!ours.is_empty());
    }
}

/// Blame follows a file across a rename, as git does by default.
pub async fn blame_follows_renames(factory: Factory) {
    let h = Harness::new(&factory);
    let f = blame_fixture(&h);
    let r = &f.repo;
    let ours = expand(&blame(&h, r, "main", "moved/g.txt", None).await);
    let theirs = git_blame(&h, r, "main", "moved/g.txt", None);
    assert!(
        theirs.iter().any(|l| l.orig_path == "f.txt"),
        "git follows the rename"
    );
    assert_eq!(ours, theirs);
    let ours = expand(&blame(&h, r, "main", "moved/g.txt", Some((3, 7))).await);
    assert_eq!(ours, git_blame(&h, r, "main", "moved/g.txt", Some((3, 7))));
}

/// Missing paths and revisions are `NotFound`; a directory or a range outside the file is
/// `InvalidArgument`.
pub async fn blame_errors(factory: Factory) {
    let h = Harness::new(&factory);
    let f = blame_fixture(&h);
    let r = &f.repo;
    let q = |at: &str, p: &str, lines| BlameQuery {
        path: path(p),
        rev: rev(at),
        lines,
    };
    expect_kind(
        h.engine.blame(r, q("main", "absent.txt", None)).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.blame(r, q("nope", "other.txt", None)).await,
        ErrorKind::NotFound,
    );
    expect_kind(
        h.engine.blame(r, q("main", "moved", None)).await,
        ErrorKind::InvalidArgument,
    );
    // Line 0 and a start past the end are refused by git too; a reversed range is refused
    // (git swaps it, the API does not guess).
    for range in [(0, 2), (11, 12), (4, 2)] {
        expect_kind(
            h.engine
                .blame(r, q("main", "moved/g.txt", Some(range)))
                .await,
            ErrorKind::InvalidArgument,
        );
    }
    assert!(!h.git_repo_ok(r, &["blame", "-L0,2", "main", "--", "moved/g.txt"]));
    assert!(!h.git_repo_ok(r, &["blame", "-L11,12", "main", "--", "moved/g.txt"]));
}
