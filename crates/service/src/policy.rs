//! Policy checks the operations share: protection rules, signatures, sizes. They run inside an
//! operation's funnel, so under its lock, on its engine lease and within its deadline.

use futures::TryStreamExt;

use gitapi_core::*;

use crate::config::Limits;
use crate::funnel::Op;
use crate::protect::Effective;
use crate::service::RepoService;

/// The most commits a signing check walks; a longer new history is refused rather than
/// walked without bound.
const MAX_SIGNED_CHECK: usize = 1000;

pub(crate) fn denied(name: &RefName, why: &str) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!("ref {:?} is protected: {why}", name.as_str()),
    )
}

pub(crate) fn too_large(what: &str, len: usize, max: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("{what} of {len} bytes is over the limit of {max} bytes"),
    )
}

/// Refuses a batch longer than a page: one call may not do unbounded work.
pub(crate) fn check_batch(what: &str, len: usize) -> Result<()> {
    if len > PageRequest::MAX_LIMIT {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "{len} {what} in one call is over the limit of {}",
                PageRequest::MAX_LIMIT
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check_actions(actions: &[FileAction], limits: &Limits) -> Result<()> {
    if actions.len() > limits.max_actions {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "{} file actions in one commit are over the limit of {}",
                actions.len(),
                limits.max_actions
            ),
        ));
    }
    for a in actions {
        if let FileAction::Put {
            path,
            content,
            mode,
        } = a
        {
            if content.len() > limits.max_blob_bytes {
                return Err(too_large(
                    "file content",
                    content.len(),
                    limits.max_blob_bytes,
                ));
            }
            if path.is_gitmodules() {
                check_gitmodules(path, content, *mode)?;
            }
        }
    }
    Ok(())
}

/// The checks `git fsck` (and so `receive.fsckObjects` on every clone of the repository)
/// applies to a `.gitmodules` file, so the service never writes one git would refuse:
/// not a symlink (`gitmodulesSymlink`); no submodule name with a `..` component, which git
/// would use as a path under `.git/modules/` (`gitmodulesName`); no `path` or `url` that
/// starts with `-` and so reads as an option to the git that clones it (`gitmodulesPath`,
/// `gitmodulesUrl`).
pub(crate) fn check_gitmodules(
    path: &RepoPath,
    content: &[u8],
    mode: Option<FileMode>,
) -> Result<()> {
    let refuse = |why: String| {
        Err(Error::invalid(format!(
            "{:?} is refused, as git fsck refuses it: {why}",
            path.as_str()
        )))
    };
    if mode == Some(FileMode::Symlink) {
        return refuse(".gitmodules may not be a symlink".to_owned());
    }
    let text = String::from_utf8_lossy(content);
    for line in text.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']');
            let Some((section, name)) = header.split_once(char::is_whitespace) else {
                continue;
            };
            if !section.eq_ignore_ascii_case("submodule") {
                continue;
            }
            let name = unquote(name.trim());
            if name.is_empty() || name.split(['/', '\\']).any(|c| c == "..") {
                return refuse(format!("submodule name {name:?} leaves .git/modules"));
            }
        } else if let Some((key, value)) = line.split_once('=') {
            let key = key.trim();
            let value = unquote(value.trim());
            if (key.eq_ignore_ascii_case("path") || key.eq_ignore_ascii_case("url"))
                && value.starts_with('-')
            {
                return refuse(format!("submodule {key} {value:?} starts with '-'"));
            }
            // git's `check_submodule_url`: a URL that decodes to a control character (a
            // newline in `%0a`) would inject lines into the credential helper's protocol.
            if key.eq_ignore_ascii_case("url")
                && percent_decoded(&value).iter().any(|b| b.is_ascii_control())
            {
                return refuse(format!("submodule url {value:?} holds a control character"));
            }
        }
    }
    Ok(())
}

/// `%XX` escapes decoded; anything else kept as it is.
fn percent_decoded(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Whether applying `patch` would write a `.gitmodules` (in any spelling git folds): a file
/// header, rename or copy target names one. Such a patch is refused, since what it produces
/// cannot be checked before it reaches the index; `.gitmodules` is written whole instead.
pub(crate) fn patch_writes_gitmodules(patch: &str) -> bool {
    patch.lines().any(|line| {
        let target = if let Some(rest) = line.strip_prefix("diff --git ") {
            rest
        } else if let Some(rest) = line
            .strip_prefix("+++ ")
            .or_else(|| line.strip_prefix("rename to "))
            .or_else(|| line.strip_prefix("copy to "))
        {
            rest
        } else {
            return false;
        };
        header_paths(target)
            .iter()
            .flat_map(|p| p.split('/'))
            .any(gitapi_core::names::is_gitmodules_name)
    })
}

/// The paths of a patch header line, split at spaces; a path git quoted (`"a/\\342x y"`) is one
/// token, unquoted by [`gitapi_gitcmd::blame::unquote_c`].
fn header_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let end = if rest.starts_with('"') {
            // Up to the closing quote; `\x` escapes are skipped whole.
            let b = rest.as_bytes();
            let mut i = 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            (i + 1).min(b.len())
        } else {
            rest.find(' ').unwrap_or(rest.len())
        };
        out.push(gitapi_gitcmd::blame::unquote_c(&rest[..end]));
        rest = rest[end..].trim_start();
    }
    out
}

/// A git config value or subsection name without its quotes and backslash escapes.
fn unquote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {}
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether every file header of `patch` names `path` (or `/dev/null`).
pub(crate) fn patch_touches_only(patch: &str, path: &str) -> bool {
    let a = format!("a/{path}");
    let b = format!("b/{path}");
    let mut files = 0;
    for line in patch.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            files += 1;
            if rest != format!("{a} {b}") {
                return false;
            }
        } else if let Some(name) = line.strip_prefix("--- ")
            && name != a
            && name != "/dev/null"
        {
            return false;
        } else if let Some(name) = line.strip_prefix("+++ ")
            && name != b
            && name != "/dev/null"
        {
            return false;
        }
    }
    files <= 1
}

impl Op {
    /// Where a ref points, `None` when it does not exist.
    pub(crate) async fn current(&self, repo: &RepoName, name: &RefName) -> Result<Option<Oid>> {
        match self.run(self.e.get_ref(repo, name)).await {
            Ok(r) => Ok(Some(r.target)),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Refuses to create `name` where a ref already is a directory of it or under it
    /// (`refs/heads/main/x` beside `refs/heads/main`, and the reverse): refs are files, so git
    /// cannot have both, and each engine used to fail on it its own way. `AlreadyExists`, as
    /// git says ("'refs/heads/main' exists; cannot create 'refs/heads/main/x'"). A rename of
    /// `main` to `main/x` is refused too: git manages it, neither engine does.
    pub(crate) async fn check_no_df_conflict(&self, repo: &RepoName, name: &RefName) -> Result<()> {
        let full = name.as_str();
        let mut at = 0;
        while let Some(i) = full[at..].find('/') {
            let prefix = &full[..at + i];
            at += i + 1;
            let Ok(parent) = RefName::new(prefix) else {
                continue;
            };
            if self.current(repo, &parent).await?.is_some() {
                return Err(Error::already_exists(format!(
                    "{prefix:?} exists, so {full:?} cannot be created"
                )));
            }
        }
        let under = ListRefs {
            prefix: Some(format!("{full}/")),
            kind: RefKind::All,
            page: PageRequest {
                limit: 1,
                cursor: None,
            },
        };
        let page = self.run(self.e.list_refs(repo, under)).await?;
        if let Some(child) = page.items.first() {
            return Err(Error::already_exists(format!(
                "{:?} exists, so {full:?} cannot be created",
                child.name.as_str()
            )));
        }
        Ok(())
    }

    /// Every ref of a repository, all pages.
    pub(crate) async fn all_refs(&self, repo: &RepoName) -> Result<Vec<Ref>> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let query = ListRefs {
                prefix: None,
                kind: RefKind::All,
                page: PageRequest {
                    limit: PageRequest::MAX_LIMIT,
                    cursor,
                },
            };
            let page = self.run(self.e.list_refs(repo, query)).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Publishes the events that turn `before` into `after`.
    pub(crate) fn moved_all(&self, before: &[Ref], after: &[Ref]) {
        for b in before {
            let new = after.iter().find(|a| a.name == b.name).map(|a| a.target);
            self.moved(&b.name, Some(b.target), new);
        }
        for a in after {
            if !before.iter().any(|b| b.name == a.name) {
                self.moved(&a.name, None, Some(a.target));
            }
        }
    }
}

impl RepoService {
    pub(crate) async fn rules(&self, repo: &RepoName, name: &RefName) -> Result<Effective> {
        Ok(self.protection_store().get(repo).await?.for_ref(name))
    }

    /// Checks that commits new in `from..to` (all of `to`'s history when `from` is `None`,
    /// then only `to` itself) carry signatures.
    pub(crate) async fn check_signed(
        &self,
        op: &Op,
        repo: &RepoName,
        name: &RefName,
        from: Option<Oid>,
        to: Oid,
    ) -> Result<()> {
        check_signed_in(&History::Engine(op, repo), name, from, to).await
    }

    /// Checks one ref move from `current` to `new` (`None`: deletion) against the rules.
    pub(crate) async fn check_move(
        &self,
        op: &Op,
        repo: &RepoName,
        name: &RefName,
        current: Option<Oid>,
        new: Option<Oid>,
    ) -> Result<()> {
        self.check_move_in(&History::Engine(op, repo), repo, name, current, new)
            .await
    }

    /// [`RepoService::check_move`] reading history from `history` (a push checks its
    /// quarantine, where the pushed commits are).
    pub(crate) async fn check_move_in(
        &self,
        history: &History<'_>,
        repo: &RepoName,
        name: &RefName,
        current: Option<Oid>,
        new: Option<Oid>,
    ) -> Result<()> {
        check_writable(name, new.is_some())?;
        let rules = self.rules(repo, name).await?;
        if !rules.any() || current == new {
            return Ok(());
        }
        match (current, new) {
            (Some(_), None) if rules.no_deletion => Err(denied(name, "deletion is not allowed")),
            (Some(cur), Some(new)) if rules.no_force_push => {
                let forward = history.is_ancestor(cur, new).await.unwrap_or(false);
                if !forward {
                    return Err(denied(
                        name,
                        &format!("{new} does not descend from {cur} (force update)"),
                    ));
                }
                if rules.require_signed_commits {
                    check_signed_in(history, name, Some(cur), new).await?;
                }
                Ok(())
            }
            (cur, Some(new)) if rules.require_signed_commits => {
                check_signed_in(history, name, cur, new).await
            }
            _ => Ok(()),
        }
    }

    /// Refuses an operation that would move or delete refs protected against it wholesale;
    /// returns the refs as they are.
    pub(crate) async fn refuse_if_protected(
        &self,
        op: &Op,
        repo: &RepoName,
        what: &str,
    ) -> Result<Vec<Ref>> {
        let refs = op.all_refs(repo).await?;
        let rules = self.protection_store().get(repo).await?;
        if let Some(r) = refs.iter().find(|r| {
            let eff = rules.for_ref(&r.name);
            eff.no_deletion || eff.no_force_push
        }) {
            return Err(denied(
                &r.name,
                &format!("{what} could delete or rewrite it; remove the protection first"),
            ));
        }
        Ok(refs)
    }
}

/// Where a protection check reads history: the repository through the operation's engine, or
/// a push's quarantine, where the pushed commits wait before they may enter the repository.
pub(crate) enum History<'a> {
    /// The repository, through the engine the operation leased.
    Engine(&'a Op, &'a RepoName),
    /// A push's quarantine, read by git with the repository as its alternate.
    Pushed(&'a Op, &'a crate::ops::transport::Pushed),
}

impl History<'_> {
    async fn is_ancestor(&self, ancestor: Oid, of: Oid) -> Result<bool> {
        match self {
            Self::Engine(op, repo) => {
                op.run(op.e.is_ancestor(repo, &Rev::from(ancestor), &Rev::from(of)))
                    .await
            }
            Self::Pushed(op, p) => op.run(p.is_ancestor(ancestor, of)).await,
        }
    }

    /// The commits new in `from..to` (only `to` when `from` is `None`), at most `limit`, each
    /// with whether it carries a signature.
    async fn signed(&self, from: Option<Oid>, to: Oid, limit: usize) -> Result<Vec<(Oid, bool)>> {
        match self {
            Self::Engine(op, repo) => {
                let commits: Vec<Commit> = match from {
                    Some(from) => {
                        let query = LogQuery {
                            limit,
                            range: RevRange::TwoDot(Rev::from(from), Rev::from(to)),
                            ..LogQuery::of(Rev::from(to))
                        };
                        op.run(async { op.e.log(repo, query).await?.try_collect().await })
                            .await?
                    }
                    None => vec![op.run(op.e.get_commit(repo, &Rev::from(to))).await?],
                };
                Ok(commits
                    .into_iter()
                    .map(|c| (c.oid, c.signature.is_some()))
                    .collect())
            }
            Self::Pushed(op, p) => op.run(p.signed(from, to, limit)).await,
        }
    }
}

/// Checks that commits new in `from..to` (only `to` when `from` is `None`) carry signatures.
async fn check_signed_in(
    history: &History<'_>,
    name: &RefName,
    from: Option<Oid>,
    to: Oid,
) -> Result<()> {
    let commits = history.signed(from, to, MAX_SIGNED_CHECK + 1).await?;
    if commits.len() > MAX_SIGNED_CHECK {
        return Err(denied(name, "too many new commits to check for signatures"));
    }
    if let Some((oid, _)) = commits.iter().find(|(_, signed)| !signed) {
        return Err(denied(
            name,
            &format!("signed commits are required and {oid} is not signed"),
        ));
    }
    Ok(())
}

/// Refs no ref write (the ref API, a push) may make or move: `refs/stash`, whose reflog is the
/// stash and which only the stash operations keep (deleting it drops every entry, pointing it
/// at a tree breaks `git stash`), and the branches `HEAD` and `@`, which git's porcelain
/// refuses because they read as the current branch. Deleting such a branch is allowed, so one
/// made before can be removed (`sets`: the write creates or moves `name`).
pub(crate) fn check_writable(name: &RefName, sets: bool) -> Result<()> {
    if name.as_str() == "refs/stash" {
        return Err(Error::invalid(
            "refs/stash is kept by the stash operations: use the stash routes to save, apply or \
             drop entries",
        ));
    }
    if sets && matches!(name.as_str(), "refs/heads/HEAD" | "refs/heads/@") {
        return Err(Error::invalid(format!(
            "{:?} is not a valid branch name (git refuses it: it reads as the current branch)",
            name.as_str()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitmodules_that_git_fsck_refuses_are_refused() {
        let path = RepoPath::new("a/.GITMODULES").expect("path");
        let check = |text: &str| check_gitmodules(&path, text.as_bytes(), None);
        for bad in [
            "[submodule \"../../hooks\"]\n\tpath = x\n\turl = https://example.com/x\n",
            "[submodule \"a/../../b\"]\n",
            "[submodule \"x\"]\n\tpath = -x\n",
            "[submodule \"x\"]\n\turl = --upload-pack=touch /tmp/pwned\n",
            "[submodule \"x\"]\n\turl = \"-u\"\n",
            "[submodule \"a\\\\..\\\\b\"]\n",
            "[submodule \"x\"]\n\turl = https://example.com%0a.evil/x\n",
        ] {
            assert!(check(bad).is_err(), "{bad:?} is accepted");
        }
        assert!(
            check("[submodule \"lib\"]\n\tpath = lib\n\turl = https://example.com/lib.git\n")
                .is_ok()
        );
        assert!(check_gitmodules(&path, b"", Some(FileMode::Symlink)).is_err());
    }

    #[test]
    fn patches_that_write_gitmodules_in_any_spelling_are_found() {
        let header = |a: &str, b: &str| {
            format!("diff --git a/{a} b/{b}\n--- a/{a}\n+++ b/{b}\n@@ -1 +1 @@\n-x\n+y\n")
        };
        for bad in [
            header(".gitmodules", ".gitmodules"),
            header("sub/.GITMODULES", "sub/.GITMODULES"),
            header("GITMOD~1", "GITMOD~1"),
            "diff --git a/x b/.gitmodules\nsimilarity index 100%\nrename from x\nrename to \
             .gitmodules\n"
                .to_owned(),
            "diff --git \"a/.gi\\342\\200\\214tmodules\" \"b/.gi\\342\\200\\214tmodules\"\n"
                .to_owned(),
        ] {
            assert!(patch_writes_gitmodules(&bad), "{bad:?} is not found");
        }
        assert!(!patch_writes_gitmodules(&header("README.md", "README.md")));
        assert!(!patch_writes_gitmodules(&header(
            "gitmodules.md",
            "gitmodules.md"
        )));
    }

    #[test]
    fn patch_paths_are_checked() {
        let ok = "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n";
        assert!(patch_touches_only(ok, "f"));
        assert!(!patch_touches_only(ok, "g"));
        let two = format!("{ok}diff --git a/g b/g\n--- a/g\n+++ b/g\n");
        assert!(!patch_touches_only(&two, "f"));
    }
}
