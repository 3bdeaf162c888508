//! The engine conformance suite: one set of tests that every [`GitBackend`] must pass, with the
//! real git CLI as the oracle.
//!
//! An engine crate runs the whole suite with one line in `tests/conformance.rs`:
//!
//! ```ignore
//! gitapi_testkit::conformance_suite!(|dir: &std::path::Path| {
//!     std::sync::Arc::new(my_engine::Engine::new(dir)) as std::sync::Arc<dyn gitapi_core::GitBackend>
//! });
//! ```
//!
//! or, so that the tests can hand the engine a signing key and a clone policy, with a closure
//! that takes [`EngineOptions`]:
//!
//! ```ignore
//! gitapi_testkit::conformance_suite!(|o: gitapi_testkit::conformance::EngineOptions| {
//!     std::sync::Arc::new(my_engine::Engine::new(o)) as std::sync::Arc<dyn gitapi_core::GitBackend>
//! });
//! ```
//!
//! The macro expands to a module `conformance` with one `#[tokio::test]` per entry of
//! [`test_names`], each calling the function of the same name in this module with a
//! [`Factory`]. Each test builds its own [`Harness`] (its own temporary data directory), makes
//! fixtures with the git CLI, calls the engine, and compares the answer with what git says
//! about the same repository; after every write `git fsck --strict` must be clean.
//!
//! Choices the suite makes where the trait leaves room (every engine must make the same):
//! - a missing repository, ref, object, path or workspace is `NotFound`; a path or revision
//!   that names something of the wrong kind (a directory where a file is wanted, a tree where a
//!   commit is wanted) is `InvalidArgument`;
//! - a lost compare-and-swap is `Conflict` with [`gitapi_core::ErrorDetails::RefMismatch`]
//!   whose `expected` is `None` when "must not exist" ([`Oid::ZERO`]) was expected;
//! - a ref update to an object that does not exist is `NotFound`;
//! - `sync_mirror` of a repository that is not a mirror is `FailedPrecondition`;
//! - a stash index out of range is `NotFound`; a patch that does not apply is `Conflict`,
//!   patch text that is not a patch is `InvalidArgument`;
//! - a rebase plan that does not name each commit exactly once, or starts with squash or
//!   fixup, is `InvalidArgument`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitapi_core::{
    ClonePolicy, Commit, Error, ErrorDetails, ErrorKind, FileStatus, GitBackend, Layout, Oid,
    RefName, RepoName, Rev, Signature, SshSigner, StatusEntry, WorkspaceName,
};

use crate::git::{Git, RepoBuilder};

mod blame;
mod blob;
mod commits;
mod concurrency;
mod deadline;
mod diff;
mod hostile;
mod index;
mod log;
mod merge;
mod reflog;
mod refs;
mod repo;
mod stash;
mod trees;
mod workspace;

pub use blame::*;
pub use blob::*;
pub use commits::*;
pub use concurrency::*;
pub use deadline::*;
pub use diff::*;
pub use hostile::*;
pub use index::*;
pub use log::*;
pub use merge::*;
pub use reflog::*;
pub use refs::*;
pub use repo::*;
pub use stash::*;
pub use trees::*;
pub use workspace::*;

/// Everything an engine is built from in a test.
#[derive(Debug)]
pub struct EngineOptions {
    /// The data directory ([`Layout`] root), a fresh temporary directory per test.
    pub data_dir: PathBuf,
    /// The operator's signing key, for the tests of [`gitapi_core::Signing::Operator`].
    pub signer: Option<SshSigner>,
    /// Where clones may come from; the suite allows local sources (`file://` fixtures).
    pub clone_policy: ClonePolicy,
}

type MakeEngine = dyn Fn(EngineOptions) -> Arc<dyn GitBackend> + Send + Sync;

/// Builds the engine under test; made from a closure by [`Factory::from_fn`].
#[derive(Clone)]
pub struct Factory {
    make: Arc<MakeEngine>,
    takes_options: bool,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory")
            .field("takes_options", &self.takes_options)
            .finish_non_exhaustive()
    }
}

/// Marker of factories that take only the data directory (`Fn(&Path) -> Arc<dyn GitBackend>`).
#[derive(Debug)]
pub enum ByDataDir {}

/// Marker of factories that take [`EngineOptions`].
#[derive(Debug)]
pub enum ByOptions {}

/// A closure that can build an engine: `Fn(&Path)` or `Fn(EngineOptions)`, returning
/// `Arc<dyn GitBackend>`. `M` is a marker that tells the two apart.
pub trait IntoFactory<M> {
    /// The factory.
    fn into_factory(self) -> Factory;
}

impl<F> IntoFactory<ByDataDir> for F
where
    F: Fn(&Path) -> Arc<dyn GitBackend> + Send + Sync + 'static,
{
    fn into_factory(self) -> Factory {
        Factory {
            make: Arc::new(move |o: EngineOptions| self(&o.data_dir)),
            takes_options: false,
        }
    }
}

impl<F> IntoFactory<ByOptions> for F
where
    F: Fn(EngineOptions) -> Arc<dyn GitBackend> + Send + Sync + 'static,
{
    fn into_factory(self) -> Factory {
        Factory {
            make: Arc::new(self),
            takes_options: true,
        }
    }
}

impl Factory {
    /// From a closure taking the data directory or [`EngineOptions`].
    pub fn from_fn<M>(f: impl IntoFactory<M>) -> Self {
        f.into_factory()
    }

    /// Whether the closure takes [`EngineOptions`] (and so can be given a signer).
    pub fn takes_options(&self) -> bool {
        self.takes_options
    }

    /// Builds an engine.
    pub fn build(&self, opts: EngineOptions) -> Arc<dyn GitBackend> {
        (self.make)(opts)
    }
}

/// Every test of the suite, in the order the macro emits them.
pub fn test_names() -> &'static [&'static str] {
    crate::__conformance_list!(__conformance_names,)
}

/// One test's world: a temporary data directory with its [`Layout`], the engine built on it, a
/// hermetic git runner and scratch space.
#[derive(Debug)]
pub struct Harness {
    /// The engine under test.
    pub engine: Arc<dyn GitBackend>,
    /// Where the engine keeps repositories and workspaces.
    pub layout: Layout,
    /// The hermetic git CLI (its clock also dates [`Harness::sig`]).
    pub git: Git,
    data: tempfile::TempDir,
    scratch: tempfile::TempDir,
}

impl Harness {
    /// A harness with an engine without signer.
    pub fn new(factory: &Factory) -> Self {
        Self::build(factory, None)
    }

    /// A harness whose engine signs with `signer` ([`gitapi_core::Signing::Operator`]).
    /// Panics when the factory cannot be given a signer.
    pub fn with_signer(factory: &Factory, signer: SshSigner) -> Self {
        assert!(
            factory.takes_options(),
            "this test needs an engine with an operator signing key: pass conformance_suite! a \
             closure taking gitapi_testkit::conformance::EngineOptions instead of only the data \
             directory"
        );
        Self::build(factory, Some(signer))
    }

    fn build(factory: &Factory, signer: Option<SshSigner>) -> Self {
        let data = tempfile::Builder::new()
            .prefix("gitapi-data-")
            .tempdir()
            .expect("a temporary data directory");
        let scratch = tempfile::Builder::new()
            .prefix("gitapi-scratch-")
            .tempdir()
            .expect("a temporary scratch directory");
        let layout = Layout::new(data.path());
        let engine = factory.build(EngineOptions {
            data_dir: data.path().to_owned(),
            signer,
            clone_policy: ClonePolicy { allow_local: true },
        });
        Self {
            engine,
            layout,
            git: Git::new(),
            data,
            scratch,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// A fresh directory under the scratch space (outside the data directory).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.scratch.path().join(name);
        assert!(!p.exists(), "scratch directory {name} is used twice");
        std::fs::create_dir_all(&p).expect("create a scratch directory");
        p
    }

    /// A signature dated by the shared clock (one minute after the previous date).
    pub fn sig(&self) -> Signature {
        Signature::new("Api User", "api@example.com", self.git.tick(), 120).expect("valid")
    }

    /// A second person, dated by the shared clock.
    pub fn sig_of(&self, name: &str, email: &str, offset_minutes: i32) -> Signature {
        Signature::new(name, email, self.git.tick(), offset_minutes).expect("valid")
    }

    /// The bare repository directory of `repo`.
    pub fn repo_dir(&self, repo: &RepoName) -> PathBuf {
        self.layout.repo_dir(repo)
    }

    /// The `file://` URL of `repo`'s directory.
    pub fn repo_url(&self, repo: &RepoName) -> String {
        format!("file://{}", self.repo_dir(repo).display())
    }

    /// The work tree of a workspace.
    pub fn ws_dir(&self, repo: &RepoName, ws: &WorkspaceName) -> PathBuf {
        self.layout.workspace_dir(repo, ws)
    }

    /// Creates an empty repository through the engine (default branch `main`).
    pub async fn init(&self, name: &str) -> RepoName {
        let repo = repo_name(name);
        self.engine
            .init_repo(&repo, gitapi_core::InitOptions::default())
            .await
            .expect("init_repo");
        repo
    }

    /// Builds a fixture with the git CLI: `build` runs in a fresh work tree on `main`, then
    /// every branch and tag is pushed into a new bare repository at `layout.repo_dir(name)`
    /// (`HEAD` on `refs/heads/main`). Returns the repository and the work tree, which stays
    /// usable to push more later ([`Fixture::push`]).
    pub fn fixture(&self, name: &str, build: impl FnOnce(&RepoBuilder)) -> Fixture {
        let repo = repo_name(name);
        let work = RepoBuilder::init(&self.git, self.scratch(&format!("work-{name}")), "main");
        build(&work);
        let dir = self.repo_dir(&repo);
        std::fs::create_dir_all(dir.parent().expect("repos dir")).expect("create the repos dir");
        let target = dir.to_str().expect("UTF-8 temp paths");
        self.git.run(
            self.data_dir(),
            &["init", "-q", "--bare", "-b", "main", target],
        );
        // A server repository keeps reflogs, as the engine's own repositories do.
        self.git_repo(&repo, &["config", "core.logAllRefUpdates", "true"]);
        work.push_all(target);
        Fixture { repo, work }
    }

    /// Runs git with `--git-dir` set to `repo`'s directory; returns stdout, panics on failure.
    pub fn git_repo<S: AsRef<OsStr>>(&self, repo: &RepoName, args: &[S]) -> String {
        self.git.run_in_git_dir(&self.repo_dir(repo), args)
    }

    /// Whether `git --git-dir=<repo> <args>` succeeds.
    pub fn git_repo_ok<S: AsRef<OsStr>>(&self, repo: &RepoName, args: &[S]) -> bool {
        self.git
            .output_in_git_dir(&self.repo_dir(repo), args)
            .status
            .success()
    }

    /// Runs git inside a workspace's work tree with optional locks off (so the oracle never
    /// rewrites the engine's index); returns stdout, panics on failure.
    pub fn git_ws<S: AsRef<OsStr>>(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
        args: &[S],
    ) -> String {
        let dir = self.ws_dir(repo, ws);
        self.git
            .run_with(&dir, args, &[("GIT_OPTIONAL_LOCKS", OsStr::new("0"))], None)
    }

    /// `git rev-parse --verify <rev>^{object}` in `repo`, `None` when it does not resolve.
    pub fn rev_parse(&self, repo: &RepoName, rev: &str) -> Option<Oid> {
        // `<rev>:<path>` takes everything after the colon as the path, so only a plain
        // revision gets `^{object}` (which makes git check that the object exists).
        let spec = if rev.contains(':') {
            rev.to_owned()
        } else {
            format!("{rev}^{{object}}")
        };
        let out = self.git.output_in_git_dir(
            &self.repo_dir(repo),
            &["rev-parse", "--verify", "-q", &spec],
        );
        if !out.status.success() {
            return None;
        }
        Some(oid(String::from_utf8_lossy(&out.stdout).trim()))
    }

    /// Like [`Harness::rev_parse`], panicking when it does not resolve.
    pub fn rev(&self, repo: &RepoName, rev: &str) -> Oid {
        self.rev_parse(repo, rev)
            .unwrap_or_else(|| panic!("{rev} does not resolve in {repo}"))
    }

    /// Every ref with its value and the symbolic `HEAD`, one per line, as
    /// `git for-each-ref` prints them: a snapshot to prove "nothing changed".
    pub fn refs_snapshot(&self, repo: &RepoName) -> String {
        let refs = self.git_repo(repo, &["for-each-ref", "--format=%(refname) %(objectname)"]);
        let head = self
            .git
            .output_in_git_dir(&self.repo_dir(repo), &["symbolic-ref", "HEAD"]);
        format!("{refs}HEAD -> {}", String::from_utf8_lossy(&head.stdout))
    }

    /// `git fsck --strict` of the repository must be clean: exit 0, no error, no warning (only
    /// `notice:` lines are allowed).
    pub fn fsck(&self, repo: &RepoName) {
        let out = self.git.output_in_git_dir(
            &self.repo_dir(repo),
            &["fsck", "--strict", "--no-progress", "--no-dangling"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        // `notice:` lines are facts, not faults (an empty repository's unborn `HEAD`).
        let faults = stderr
            .lines()
            .chain(stdout.lines())
            .filter(|l| !l.trim().is_empty() && !l.starts_with("notice:"))
            .count();
        assert!(
            out.status.success() && faults == 0,
            "git fsck --strict of {repo} is not clean ({}):\n{stderr}{stdout}",
            out.status
        );
    }

    /// The commit as git reads it (`git cat-file commit`).
    pub fn cat_commit(&self, repo: &RepoName, oid: Oid) -> GitCommit {
        let raw = self.git_repo(repo, &["cat-file", "commit", &oid.to_string()]);
        GitCommit::parse(oid, &raw)
    }

    /// Asserts that every field of `commit` equals what `git cat-file commit` says.
    pub fn assert_commit_matches_git(&self, repo: &RepoName, commit: &Commit) {
        let g = self.cat_commit(repo, commit.oid);
        g.assert_eq_commit(commit);
    }

    /// `git ls-tree -r --full-tree <rev>` lines: `(mode, type, oid, path)`.
    pub fn ls_tree_r(&self, repo: &RepoName, rev: &str) -> Vec<(String, String, String, String)> {
        parse_ls_tree(&self.git_repo(repo, &["ls-tree", "-r", "--full-tree", rev]))
    }

    /// Bytes of `git cat-file blob <spec>`.
    pub fn cat_blob(&self, repo: &RepoName, spec: &str) -> Vec<u8> {
        self.git.run_bytes(
            self.data_dir(),
            &[
                OsStr::new("--git-dir"),
                self.repo_dir(repo).as_os_str(),
                OsStr::new("cat-file"),
                OsStr::new("blob"),
                OsStr::new(spec),
            ],
        )
    }

    /// `git status --porcelain=v2` in a workspace, parsed into status entries (renames off,
    /// untracked files listed one by one, as the engine lists them).
    pub fn git_status(&self, repo: &RepoName, ws: &WorkspaceName) -> Vec<StatusEntry> {
        parse_porcelain_v2(&self.git_ws(
            repo,
            ws,
            &[
                "status",
                "--porcelain=v2",
                "--no-renames",
                "--untracked-files=all",
            ],
        ))
    }

    /// Asserts the engine's status of a workspace equals `git status --porcelain=v2` there, and
    /// returns it.
    pub async fn assert_status_matches_git(
        &self,
        repo: &RepoName,
        ws: &WorkspaceName,
    ) -> Vec<StatusEntry> {
        let ours = self.engine.status(repo, ws).await.expect("status");
        let theirs = self.git_status(repo, ws);
        assert_eq!(
            ours, theirs,
            "status of workspace {ws} differs from git status"
        );
        ours
    }

    /// Every file under the data directory with its content hash: a snapshot to prove that
    /// nothing on disk changed.
    pub fn disk_snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(self.data_dir(), self.data_dir(), &mut out);
        out
    }

    /// A workspace's state: its work tree files (without `.git`), its index as
    /// `git ls-files -s` prints it, and the repository's refs. Stat caches are left out, so an
    /// engine may refresh its index without counting as a change.
    pub fn ws_snapshot(&self, repo: &RepoName, ws: &WorkspaceName) -> String {
        let dir = self.ws_dir(repo, ws);
        let mut files = BTreeMap::new();
        walk(&dir, &dir, &mut files);
        files.remove(Path::new(".git"));
        let mut out = String::new();
        for (p, content) in files {
            out.push_str(&format!(
                "{} {}\n",
                p.display(),
                String::from_utf8_lossy(&content)
            ));
        }
        out.push_str(&self.git_ws(repo, ws, &["ls-files", "-s"]));
        out.push_str(&self.refs_snapshot(repo));
        out
    }

    /// A clone of `repo` with a work tree, in a fresh scratch directory.
    pub fn scratch_clone(&self, repo: &RepoName, name: &str) -> RepoBuilder {
        let dir = self.scratch(name).join("w");
        RepoBuilder::clone_from(&self.git, &self.repo_url(repo), dir)
    }

    /// The `Rev` of a branch `refs/heads/<short>`.
    pub fn branch_rev(&self, short: &str) -> Rev {
        Rev::from(&branch(short))
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).expect("under root").to_owned();
        let meta = std::fs::symlink_metadata(&p).expect("metadata");
        if meta.is_dir() {
            out.insert(rel, b"<dir>".to_vec());
            walk(root, &p, out);
        } else if meta.is_symlink() {
            let target = std::fs::read_link(&p).expect("read link");
            out.insert(rel, format!("-> {}", target.display()).into_bytes());
        } else {
            out.insert(rel, std::fs::read(&p).unwrap_or_default());
        }
    }
}

/// A fixture: a bare repository in the data directory and the work tree it was pushed from.
#[derive(Debug)]
pub struct Fixture {
    /// The repository.
    pub repo: RepoName,
    /// The work tree that made it; push again with [`Fixture::push`].
    pub work: RepoBuilder,
}

impl Fixture {
    /// Pushes every branch and tag of the work tree into the repository again (forced).
    pub fn push(&self, h: &Harness) {
        let dir = h.repo_dir(&self.repo);
        self.work.push_all(dir.to_str().expect("UTF-8 temp paths"));
    }
}

/// A commit as `git cat-file commit` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommit {
    /// The id.
    pub oid: Oid,
    /// The tree.
    pub tree: Oid,
    /// The parents.
    pub parents: Vec<Oid>,
    /// The author.
    pub author: Signature,
    /// The committer.
    pub committer: Signature,
    /// The `gpgsig` header, continuation lines unfolded.
    pub gpgsig: Option<String>,
    /// The message, as stored.
    pub message: String,
}

impl GitCommit {
    /// Parses `git cat-file commit` output.
    pub fn parse(oid: Oid, raw: &str) -> Self {
        let (headers, message) = raw.split_once("\n\n").unwrap_or((raw, ""));
        let mut tree = None;
        let mut parents = Vec::new();
        let mut author = None;
        let mut committer = None;
        let mut gpgsig: Option<String> = None;
        let mut in_sig = false;
        for line in headers.lines() {
            if let Some(cont) = line.strip_prefix(' ') {
                if in_sig {
                    let s = gpgsig.as_mut().expect("signature started");
                    s.push('\n');
                    s.push_str(cont);
                }
                continue;
            }
            in_sig = false;
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            match k {
                "tree" => tree = Some(self::oid(v)),
                "parent" => parents.push(self::oid(v)),
                "author" => author = Some(parse_signature(v)),
                "committer" => committer = Some(parse_signature(v)),
                "gpgsig" => {
                    gpgsig = Some(v.to_owned());
                    in_sig = true;
                }
                _ => {}
            }
        }
        Self {
            oid,
            tree: tree.expect("a commit has a tree"),
            parents,
            author: author.expect("a commit has an author"),
            committer: committer.expect("a commit has a committer"),
            gpgsig,
            message: message.to_owned(),
        }
    }

    /// Asserts every field equals the engine's commit.
    pub fn assert_eq_commit(&self, c: &Commit) {
        assert_eq!(c.oid, self.oid, "oid");
        assert_eq!(c.tree, self.tree, "tree of {}", self.oid);
        assert_eq!(c.parents, self.parents, "parents of {}", self.oid);
        assert_eq!(c.author, self.author, "author of {}", self.oid);
        assert_eq!(c.committer, self.committer, "committer of {}", self.oid);
        assert_eq!(c.message, self.message, "message of {}", self.oid);
        assert_eq!(
            c.signature.as_deref().map(|s| s.trim_end_matches('\n')),
            self.gpgsig.as_deref().map(|s| s.trim_end_matches('\n')),
            "signature of {}",
            self.oid
        );
    }
}

/// Parses `Name <email> 1700000000 +0100`.
pub fn parse_signature(s: &str) -> Signature {
    let (rest, tz) = s.rsplit_once(' ').expect("signature has a zone");
    let (who, time) = rest.rsplit_once(' ').expect("signature has a time");
    let (name, email) = who.split_once(" <").expect("signature has an email");
    let email = email.strip_suffix('>').expect("email ends with >");
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let digits = &tz[1..];
    let hours: i32 = digits[..2].parse().expect("zone hours");
    let minutes: i32 = digits[2..].parse().expect("zone minutes");
    Signature {
        name: name.to_owned(),
        email: email.to_owned(),
        time: time.parse().expect("signature time"),
        offset_minutes: sign * (hours * 60 + minutes),
    }
}

/// Parses `git ls-tree` lines (`mode type oid<TAB>path`, or with `-l`: `mode type oid size<TAB>path`)
/// into `(mode, type, oid, path)`.
pub fn parse_ls_tree(out: &str) -> Vec<(String, String, String, String)> {
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (meta, path) = l.split_once('\t').expect("ls-tree line has a tab");
            let mut f = meta.split_whitespace();
            let mode = f.next().expect("mode").to_owned();
            let kind = f.next().expect("type").to_owned();
            let oid = f.next().expect("oid").to_owned();
            (mode, kind, oid, path.to_owned())
        })
        .collect()
}

fn status_letter(c: char) -> FileStatus {
    match c {
        '.' => FileStatus::Unmodified,
        'M' => FileStatus::Modified,
        'A' => FileStatus::Added,
        'D' => FileStatus::Deleted,
        'T' => FileStatus::TypeChanged,
        'U' => FileStatus::Conflicted,
        other => panic!("unexpected porcelain v2 status letter {other:?}"),
    }
}

/// Parses `git status --porcelain=v2` (no renames) into entries sorted by path.
pub fn parse_porcelain_v2(out: &str) -> Vec<StatusEntry> {
    let mut v = Vec::new();
    for line in out.lines() {
        if let Some(path) = line.strip_prefix("? ") {
            v.push(StatusEntry {
                path: path.to_owned(),
                staged: FileStatus::Unmodified,
                unstaged: FileStatus::Unmodified,
                untracked: true,
            });
            continue;
        }
        let (kind, rest) = line.split_once(' ').expect("porcelain v2 line");
        let fields = match kind {
            "1" => 8,
            "u" => 10,
            "#" | "!" => continue,
            other => panic!("unexpected porcelain v2 line kind {other:?}: {line}"),
        };
        let parts: Vec<&str> = rest.splitn(fields, ' ').collect();
        let xy: Vec<char> = parts[0].chars().collect();
        let (staged, unstaged) = if kind == "u" {
            (FileStatus::Conflicted, FileStatus::Conflicted)
        } else {
            (status_letter(xy[0]), status_letter(xy[1]))
        };
        v.push(StatusEntry {
            path: parts[fields - 1].to_owned(),
            staged,
            unstaged,
            untracked: false,
        });
    }
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

/// Parses 40 hex digits.
pub fn oid(s: &str) -> Oid {
    Oid::from_hex(s.trim()).unwrap_or_else(|_| panic!("{s:?} is not an object id"))
}

/// A repository name (panics on invalid input: test data).
pub fn repo_name(s: &str) -> RepoName {
    RepoName::new(s).expect("valid repository name")
}

/// `refs/heads/<short>`.
pub fn branch(short: &str) -> RefName {
    RefName::branch(short).expect("valid branch name")
}

/// `refs/tags/<short>`.
pub fn tag(short: &str) -> RefName {
    RefName::tag(short).expect("valid tag name")
}

/// A revision (panics on invalid input: test data).
pub fn rev(s: &str) -> Rev {
    Rev::new(s).expect("valid revision")
}

/// A repository path (panics on invalid input: test data).
pub fn path(s: &str) -> gitapi_core::RepoPath {
    gitapi_core::RepoPath::new(s).expect("valid path")
}

/// A workspace name (panics on invalid input: test data).
pub fn ws(s: &str) -> WorkspaceName {
    WorkspaceName::new(s).expect("valid workspace name")
}

/// Asserts `res` failed with `kind` and returns the error.
#[track_caller]
pub fn expect_kind<T: std::fmt::Debug>(res: Result<T, Error>, kind: ErrorKind) -> Error {
    match res {
        Ok(v) => panic!("expected an error of kind {kind}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "wrong error kind: {e:?}");
            e
        }
    }
}

/// Asserts `res` failed with one of `kinds` and returns the error.
#[track_caller]
pub fn expect_kinds<T: std::fmt::Debug>(res: Result<T, Error>, kinds: &[ErrorKind]) -> Error {
    match res {
        Ok(v) => panic!("expected an error of kind {kinds:?}, got Ok({v:?})"),
        Err(e) => {
            assert!(
                kinds.contains(&e.kind()),
                "wrong error kind {:?}: {e:?}",
                e.kind()
            );
            e
        }
    }
}

/// Asserts a lost compare-and-swap: `Conflict` with `RefMismatch` on `refname`, returning
/// `(expected, actual)`.
#[track_caller]
pub fn expect_ref_mismatch<T: std::fmt::Debug>(
    res: Result<T, Error>,
    refname: &str,
) -> (Option<Oid>, Option<Oid>) {
    let e = expect_kind(res, ErrorKind::Conflict);
    match e.details() {
        Some(ErrorDetails::RefMismatch {
            refname: r,
            expected,
            actual,
        }) => {
            assert_eq!(r, refname, "RefMismatch names the ref");
            (*expected, *actual)
        }
        other => panic!("expected RefMismatch details, got {other:?} ({e:?})"),
    }
}

/// Asserts a merge conflict on exactly `paths` and returns them.
#[track_caller]
pub fn expect_merge_conflict<T: std::fmt::Debug>(res: Result<T, Error>, paths: &[&str]) {
    let e = expect_kind(res, ErrorKind::Conflict);
    match e.details() {
        Some(ErrorDetails::MergeConflict { paths: got }) => {
            let want: BTreeSet<String> = paths.iter().map(|p| (*p).to_owned()).collect();
            let got_set: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(got_set, want, "conflicting paths");
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "paths are sorted: {got:?}"
            );
        }
        other => panic!("expected MergeConflict details, got {other:?} ({e:?})"),
    }
}

/// The macro that runs the whole suite against an engine.
///
/// `factory` is a closure `|dir: &std::path::Path| -> Arc<dyn GitBackend>` or
/// `|opts: gitapi_testkit::conformance::EngineOptions| -> Arc<dyn GitBackend>`. The expansion
/// is a module `conformance` with one `#[tokio::test(flavor = "multi_thread",
/// worker_threads = 2)]` per test of [`test_names`], so the calling crate needs `tokio` (with
/// the `macros` and `rt-multi-thread` features) among its dev-dependencies.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr $(,)?) => {
        $crate::__conformance_list!(__conformance_emit, $factory);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_emit {
    (($factory:expr) [$($name:ident),* $(,)?]) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;

            fn __factory() -> $crate::conformance::Factory {
                $crate::conformance::Factory::from_fn($factory)
            }

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::conformance::$name(__factory()).await;
                }
            )*
        }
    };
}

/// Compiles a call to every listed test, so a name without a function fails to build.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_check {
    (() [$($name:ident),* $(,)?]) => {
        #[allow(dead_code)]
        fn all_listed_tests_exist(f: $crate::conformance::Factory) {
            $( drop($crate::conformance::$name(f.clone())); )*
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_names {
    (() [$($name:ident),* $(,)?]) => {
        &[$(stringify!($name)),*]
    };
}

/// The one list of tests; `$callback` gets `(args) [names]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_list {
    ($callback:ident, $($args:tt)*) => {
        $crate::$callback! { ($($args)*) [
            repo_init_default_branch,
            repo_init_already_exists,
            repo_info_of_fixture,
            repo_not_found,
            repo_delete,
            repo_clone_bare,
            repo_clone_already_exists,
            repo_mirror_sync_prune,
            repo_sync_mirror_not_a_mirror,
            repo_gc_packs_loose_objects,
            repo_gc_writes_bloom_filters,
            repo_config_get_set_list,
            refs_list_matches_for_each_ref,
            refs_list_pagination,
            refs_list_peeled_tags,
            refs_get,
            refs_create_branch,
            refs_create_tags,
            refs_read_tag,
            refs_delete,
            refs_rename_branch_with_reflog,
            refs_update_cas,
            refs_update_cas_conflict,
            refs_update_atomic_all_or_nothing,
            refs_update_missing_object,
            refs_resolve,
            commits_get_commit,
            commits_get_commits_batch,
            log_matches_git_log,
            log_ranges,
            log_path_filter,
            log_limit_offset,
            log_first_parent,
            log_follow_renames,
            log_errors,
            log_path_matches_git_before_and_after_gc,
            commit_files_put_modes,
            commit_files_delete_move_chmod,
            commit_files_cas_conflict,
            commit_files_new_branch,
            commit_files_empty_refused,
            commit_files_errors,
            commit_files_signed_operator,
            commit_files_signed_provided,
            cherry_pick_matches_git,
            cherry_pick_conflict,
            cherry_pick_and_revert_keep_message_bytes,
            rebase_keeps_picked_message_bytes,
            revert_matches_git,
            revert_conflict,
            revert_quotes_the_first_line,
            amend_branch_tip,
            reset_branch_cas,
            reset_workspace_modes,
            tree_list_matches_ls_tree,
            tree_list_errors,
            blob_read_by_path_and_oid,
            blob_read_errors,
            blob_stream_large,
            blob_header_and_stream_loose_and_packed,
            files_put_delete_move_in_workspace,
            workspace_default_on_first_use,
            workspace_create_list_remove,
            workspace_isolation,
            workspace_commit_index,
            workspace_branch_moved_underneath,
            index_status_matches_porcelain,
            index_stage_unstage,
            index_stage_patch,
            index_discard,
            stash_save_list,
            reflog_messages_of_branch_writes,
            reflog_messages_of_merge_and_rebase,
            reflog_messages_of_workspace_writes,
            stash_include_untracked,
            stash_apply_drop,
            stash_identical_changes_in_two_workspaces,
            stash_errors,
            diff_commits_patch_applies,
            diff_numstat_matches_git,
            diff_context_lines,
            diff_renames_and_copies,
            diff_default_from,
            diff_workspace_specs,
            diff_by_id_round_trip,
            diff_stat_names_renames_into_new_folders,
            diff_binary_exact_rename_is_binary,
            diff_typechange_matches_git,
            blame_matches_porcelain,
            blame_line_range,
            blame_follows_renames,
            blame_errors,
            merge_fast_forward,
            merge_no_ff,
            merge_ff_only_refused,
            merge_up_to_date,
            merge_clean_matches_merge_tree,
            merge_conflict_changes_nothing,
            merge_cas_conflict,
            rebase_plain_matches_git,
            rebase_interactive_plan,
            rebase_conflict_changes_nothing,
            rebase_invalid_plan,
            merge_base_ancestry_ahead_behind,
            hostile_revs,
            hostile_symlink_escape,
            concurrency_commit_files_cas,
            concurrency_create_branch_once,
            deadline_log_expired_is_timeout,
            deadline_write_lands_or_changes_nothing,
        ] }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_names_are_unique() {
        let names = test_names();
        let set: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(set.len(), names.len(), "duplicate test names");
    }

    /// Every `pub async fn <name>(factory: Factory)` of the area files is listed, and nothing
    /// else is (each listed name is also checked to exist by `all_listed_tests_exist`).
    #[test]
    fn test_names_match_source() {
        let sources = [
            include_str!("blame.rs"),
            include_str!("blob.rs"),
            include_str!("commits.rs"),
            include_str!("concurrency.rs"),
            include_str!("deadline.rs"),
            include_str!("diff.rs"),
            include_str!("hostile.rs"),
            include_str!("index.rs"),
            include_str!("log.rs"),
            include_str!("merge.rs"),
            include_str!("reflog.rs"),
            include_str!("refs.rs"),
            include_str!("repo.rs"),
            include_str!("stash.rs"),
            include_str!("trees.rs"),
            include_str!("workspace.rs"),
        ];
        let mut found = BTreeSet::new();
        for src in sources {
            for line in src.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ")
                    && let Some((name, args)) = rest.split_once('(')
                    && args.starts_with("factory: Factory)")
                {
                    found.insert(name.to_owned());
                }
            }
        }
        let listed: BTreeSet<String> = test_names().iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(found, listed, "test_names() and the test functions differ");
    }

    crate::__conformance_list!(__conformance_check,);

    #[test]
    fn factory_takes_either_closure() {
        let by_dir = Factory::from_fn(|dir: &Path| -> Arc<dyn GitBackend> {
            panic!(
                "the factory is only inspected, never called ({})",
                dir.display()
            )
        });
        assert!(!by_dir.takes_options());
        let by_opts = Factory::from_fn(|o: EngineOptions| -> Arc<dyn GitBackend> {
            panic!(
                "the factory is only inspected, never called ({})",
                o.data_dir.display()
            )
        });
        assert!(by_opts.takes_options());
    }
}
