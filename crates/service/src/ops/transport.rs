//! Git's own transfers, for the Smart HTTP door: the ref advertisement, `upload-pack` (clone
//! and fetch) and receiving a push.
//!
//! Fetches run `git upload-pack --stateless-rpc` with the request body streamed into it and its
//! output streamed out: the pack is never held whole. They take no repository lock (git reads
//! a consistent set of refs and objects are never removed under it, except by `gc`'s prune of
//! old unreachable objects), only a transfer slot.
//!
//! A push is received in two phases, so the service, not a hook, decides:
//!
//! 1. the door parses the commands; `git index-pack --stdin --fix-thin --strict` writes the
//!    pack into a [`Quarantine`] inside the repository's `objects/`, with the repository as its
//!    alternate, and `git rev-list --objects` checks every new tip is complete;
//! 2. under the repository's exclusive lock each command is checked against the ref's current
//!    value (a compare-and-swap) and the protection rules, reading the pushed history in the
//!    quarantine; then the quarantine's objects move in (durably, the index last) and the refs
//!    move through the engine's own compare-and-swap update, as every other door's writes do,
//!    with one event per moved ref.
//!
//! A refused push never moves its objects in: the quarantine is deleted with them.

use std::path::PathBuf;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use gitapi_core::*;
use gitapi_gitcmd::{Git, Sub, Watchdog};
use gitapi_storage::Quarantine;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::funnel::Op;
use crate::policy::History;
use crate::service::RepoService;

/// The chunk size of a pack streamed out of `upload-pack` (and of an archive).
pub(crate) const PACK_CHUNK: usize = 64 * 1024;

/// The Git wire protocol version a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitProtocol {
    /// The original protocol (and v1): refs advertised first, then negotiation.
    V0,
    /// Protocol v2: capabilities first, then one command per request.
    V2,
}

/// What a fetch asks `upload-pack` for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPack {
    /// The protocol version.
    pub protocol: GitProtocol,
    /// Only the advertisement (`info/refs` of protocol v0), no request body.
    pub advertise: bool,
}

/// The refs of a repository as a transfer advertises them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefAdvertisement {
    /// The branch `HEAD` points at, whether or not it exists yet.
    pub head: Option<RefName>,
    /// Every ref, sorted by name, annotated tags peeled.
    pub refs: Vec<Ref>,
}

impl RefAdvertisement {
    /// Where `HEAD` points, when its branch exists.
    pub fn head_target(&self) -> Option<Oid> {
        let head = self.head.as_ref()?;
        self.refs.iter().find(|r| &r.name == head).map(|r| r.target)
    }
}

/// One command of a push: move `name` from `old` to `new` ([`Oid::ZERO`] for a ref that does
/// not exist before, or is deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCommand {
    /// The ref name as the client sent it (checked by the service).
    pub name: String,
    /// The value the client saw.
    pub old: Oid,
    /// The value it asks for.
    pub new: Oid,
}

/// A push's commands and options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushRequest {
    /// The commands, in the client's order.
    pub commands: Vec<PushCommand>,
    /// All or nothing (`git push --atomic`).
    pub atomic: bool,
    /// Push options (`git push -o`), when the server accepts them.
    pub options: Vec<String>,
}

/// The outcome of a push, as git's report-status carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// `Ok` when the pack was received whole, else why not.
    pub unpack: std::result::Result<(), String>,
    /// Each command's ref name and outcome (`Err`: git's reason, shown to the user).
    pub refs: Vec<(String, std::result::Result<(), String>)>,
}

impl RepoService {
    /// The refs and `HEAD` of a repository, for a ref advertisement or `ls-refs`.
    pub async fn advertise_refs(
        &self,
        cx: &CallContext,
        repo: &RepoName,
    ) -> Result<RefAdvertisement> {
        let op = self.read(cx, "advertise_refs", repo).await?;
        let compute = async {
            let info = op.run(op.e.repo_info(repo)).await?;
            let refs = op.all_refs(repo).await?;
            Ok(RefAdvertisement {
                head: info.default_branch,
                refs,
            })
        };
        let out = self.cached_at_version(&op, repo, &(), compute).await;
        op.finish(out)
    }

    /// Runs `git upload-pack --stateless-rpc` for one request of a clone or fetch: `body` is
    /// streamed into it and its output (the pack) streamed back. Needs read scope; holds a
    /// transfer slot, not the repository's lock, until the stream ends or is dropped.
    pub async fn upload_pack(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: UploadPack,
        body: BoxStream<'static, Result<Bytes>>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let op = self.transfer(cx, "upload_pack", Scope::Read, repo).await?;
        // The v0 advertisement is a function of the refs alone: it is kept at the ref version,
        // so a repeated `info/refs` starts no git process.
        let advert_key = match req.advertise && req.protocol == GitProtocol::V0 {
            true => self.version_key(&op, repo, &"v0-advertisement").await,
            false => None,
        };
        if let Some(key) = &advert_key
            && let Some(bytes) = self.answers().cache().get_memory(key)
        {
            gitapi_telemetry::note_cache("hit");
            return Ok(op.hold(futures::stream::once(async move { Ok(bytes) }).boxed()));
        }
        let dir = self.existing_repo_dir(repo).await?;
        let permit = self.slots().acquire(repo, op.deadline()).await?;
        let mut git = Git::in_repo(&dir, Sub::UploadPack)
            // Partial clone and `object-info`, as the capabilities the door advertises say.
            .config("uploadpack.allowFilter=true")
            .config("transfer.advertiseObjectInfo=true")
            .flag("--stateless-rpc")
            .within(op.deadline())
            .limit(self.limits().transfer_deadline);
        if req.advertise {
            git = git.flag("--advertise-refs");
        }
        if req.protocol == GitProtocol::V2 {
            git = git.protocol_v2();
        }
        let out = git
            .arg(dir.as_os_str())
            .pipe(self.watchdog(), PACK_CHUNK, body);
        let out = op.run(async { out }).await?;
        if let Some(key) = advert_key {
            gitapi_telemetry::note_cache("miss");
            // An advertisement is small (a line per ref): read whole, kept, then sent.
            let chunks: Vec<Bytes> = op.run(out.try_collect()).await?;
            drop(permit);
            let bytes = Bytes::from(chunks.concat());
            self.answers().cache().put_memory(&key, bytes.clone());
            return Ok(op.hold(futures::stream::once(async move { Ok(bytes) }).boxed()));
        }
        // The slot is held as long as the stream lives.
        let out = out
            .map(move |chunk| {
                let _slot = &permit;
                chunk
            })
            .boxed();
        Ok(op.hold(out))
    }

    /// Receives a push: `pack` (absent when every command deletes) goes into a quarantine, the
    /// commands are checked under the repository's lock, and only an accepted push moves its
    /// objects and refs in (see the module doc). Needs write scope.
    ///
    /// `Err` is for the request as a whole (no scope, no repository, a mirror, a pack over the
    /// size limit, no transfer slot); what happened to each ref is in the [`PushReport`].
    pub async fn receive_pack(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        req: PushRequest,
        pack: Option<BoxStream<'static, Result<Bytes>>>,
    ) -> Result<PushReport> {
        let mut op = self
            .transfer(cx, "receive_pack", Scope::Write, repo)
            .await?;
        let out = self.receive_in(&mut op, repo, req, pack).await;
        op.finish(out)
    }

    async fn receive_in(
        &self,
        op: &mut Op,
        repo: &RepoName,
        req: PushRequest,
        pack: Option<BoxStream<'static, Result<Bytes>>>,
    ) -> Result<PushReport> {
        // The engine's answer says whether the repository exists (and is a mirror): no
        // second look at the disk.
        let info = op.run(op.e.repo_info(repo)).await?;
        let dir = self.layout().repo_dir(repo);
        if info.mirror {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "repository {:?} is a mirror: it follows its remote and takes no pushes",
                    repo.as_str()
                ),
            ));
        }
        if !req.options.is_empty() && !self.limits().push_options {
            return Err(Error::invalid(
                "push options are not accepted by this server",
            ));
        }
        let mut results: Vec<Option<std::result::Result<(), String>>> =
            vec![None; req.commands.len()];
        let mut valid: Vec<(usize, RefName)> = Vec::new();
        for (i, c) in req.commands.iter().enumerate() {
            match RefName::new(&c.name) {
                Ok(n) if n.as_str().starts_with("refs/") && c.old != c.new => {
                    if valid.iter().any(|(_, v)| v == &n) {
                        results[i] = Some(Err("duplicate ref in one push".to_owned()));
                    } else {
                        valid.push((i, n));
                    }
                }
                Ok(_) if c.old == c.new => results[i] = Some(Err("nothing to do".to_owned())),
                _ => results[i] = Some(Err("funny refname".to_owned())),
            }
        }
        let _slot = self.slots().acquire(repo, op.deadline()).await?;
        let quarantine = Quarantine::create(self.layout(), repo)?;
        let pushed = Pushed {
            quarantine,
            git_dir: dir,
            dog: self.watchdog().clone(),
        };
        let report = |results: Vec<Option<std::result::Result<(), String>>>, unpack| PushReport {
            unpack,
            refs: req
                .commands
                .iter()
                .zip(results)
                .map(|(c, r)| (c.name.clone(), r.unwrap_or(Ok(()))))
                .collect(),
        };

        // Phase 1: the pack into quarantine, checked complete. No lock yet: a slow client
        // sending a big pack holds up nobody.
        if let Some(pack) = pack {
            let limited = limit_stream(pack, self.limits().max_push_bytes, "the pushed pack");
            if let Err(e) = op.run(pushed.index_pack(limited)).await {
                if matches!(e.kind(), ErrorKind::TooLarge | ErrorKind::Timeout) {
                    return Err(e);
                }
                let why = format!("index-pack failed: {}", e.message());
                for (i, _) in &valid {
                    results[*i] = Some(Err("unpacker error".to_owned()));
                }
                return Ok(report(results, Err(why)));
            }
        }
        let tips: Vec<Oid> = valid
            .iter()
            .map(|(i, _)| req.commands[*i].new)
            .filter(|o| *o != Oid::ZERO)
            .collect();
        if !tips.is_empty() && !op.run(pushed.connected(&tips)).await? {
            for (i, _) in &valid {
                if req.commands[*i].new != Oid::ZERO {
                    results[*i] = Some(Err("missing necessary objects".to_owned()));
                }
            }
            valid.retain(|(i, _)| results[*i].is_none());
        }

        // Phase 2: under the lock, each command against the ref as it is and the rules.
        op.exclusive().await?;
        let mut accepted: Vec<(usize, RefName, Option<Oid>)> = Vec::new();
        for (i, name) in &valid {
            let c = &req.commands[*i];
            let current = op.current(repo, name).await?;
            if current.unwrap_or(Oid::ZERO) != c.old {
                results[*i] = Some(Err(format!(
                    "stale info: the ref is at {}, not {}",
                    current.unwrap_or(Oid::ZERO),
                    c.old
                )));
                continue;
            }
            let new = (c.new != Oid::ZERO).then_some(c.new);
            match self
                .check_move_in(&History::Pushed(op, &pushed), repo, name, current, new)
                .await
            {
                Ok(()) => accepted.push((*i, name.clone(), current)),
                Err(e) => results[*i] = Some(Err(e.message().to_owned())),
            }
        }
        let refused = results.iter().any(|r| matches!(r, Some(Err(_))));
        if req.atomic && refused {
            for (i, _, _) in &accepted {
                results[*i] = Some(Err("atomic push failed".to_owned()));
            }
            return Ok(report(results, Ok(())));
        }
        if accepted.is_empty() {
            return Ok(report(results, Ok(())));
        }

        // The objects in first (durably), then the refs, as every write orders them.
        let Pushed { quarantine, .. } = pushed;
        op.run(async {
            tokio::task::spawn_blocking(move || quarantine.migrate())
                .await
                .map_err(|e| Error::internal(format!("moving a pushed pack in: {e}")))?
        })
        .await?;
        let update = |i: usize, name: &RefName| {
            let c = &req.commands[i];
            RefUpdate {
                name: name.clone(),
                new: c.new,
                expected_old: Some(c.old),
            }
        };
        if req.atomic {
            let updates = accepted.iter().map(|(i, n, _)| update(*i, n)).collect();
            let out = op.commit(op.e.update_refs(repo, updates)).await;
            for (i, name, old) in &accepted {
                results[*i] = Some(match &out {
                    Ok(()) => {
                        op.moved(name, *old, new_of(&req.commands[*i]));
                        Ok(())
                    }
                    Err(e) => Err(e.message().to_owned()),
                });
            }
        } else {
            for (i, name, old) in &accepted {
                let out = op
                    .commit(op.e.update_refs(repo, vec![update(*i, name)]))
                    .await;
                if out.is_ok() {
                    op.moved(name, *old, new_of(&req.commands[*i]));
                }
                results[*i] = Some(out.map_err(|e| e.message().to_owned()));
            }
        }
        if !req.options.is_empty() {
            tracing::info!(options = ?req.options, "push options received");
        }
        Ok(report(results, Ok(())))
    }

    /// The repository's directory, `NotFound` when there is none: checked before a transfer
    /// starts, since once a stream has begun an error can no longer change its status.
    pub(crate) async fn existing_repo_dir(&self, repo: &RepoName) -> Result<PathBuf> {
        let dir = self.layout().repo_dir(repo);
        match tokio::fs::metadata(&dir).await {
            Ok(m) if m.is_dir() => Ok(dir),
            _ => Err(Error::not_found(format!(
                "repository {:?} not found",
                repo.as_str()
            ))),
        }
    }
}

fn new_of(c: &PushCommand) -> Option<Oid> {
    (c.new != Oid::ZERO).then_some(c.new)
}

/// Fails the stream with `TooLarge` once more than `max` bytes went through.
fn limit_stream(
    s: BoxStream<'static, Result<Bytes>>,
    max: u64,
    what: &'static str,
) -> BoxStream<'static, Result<Bytes>> {
    let mut seen = 0u64;
    s.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > max {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{what} is over the limit of {max} bytes"),
            ));
        }
        Ok(chunk)
    })
    .boxed()
}

/// A push's quarantine and the git commands that read it.
pub(crate) struct Pushed {
    quarantine: Quarantine,
    git_dir: PathBuf,
    dog: Watchdog,
}

impl Pushed {
    fn git(&self, sub: Sub) -> Git {
        Git::in_repo(&self.git_dir, sub)
            .quarantine(self.quarantine.dir(), self.quarantine.repo_objects())
    }

    /// Writes the pushed pack into the quarantine (`index-pack` checks every object, as git
    /// does with `receive.fsckObjects`, and completes thin packs from the repository).
    async fn index_pack(&self, pack: BoxStream<'static, Result<Bytes>>) -> Result<()> {
        let mut out = self
            .git(Sub::IndexPack)
            .flag("--stdin")
            .flag("--fix-thin")
            .flag("--strict")
            .pipe(&self.dog, 4096, pack)?;
        while let Some(chunk) = out.next().await {
            chunk?;
        }
        Ok(())
    }

    /// Whether every object reachable from `tips` is in the repository or the quarantine.
    async fn connected(&self, tips: &[Oid]) -> Result<bool> {
        let stdin: String = tips.iter().map(|o| format!("{o}\n")).collect();
        let git = self
            .git(Sub::RevList)
            .flag("--objects")
            .flag("--stdin")
            .flag("--not")
            .flag("--all")
            .flag("--quiet")
            .stdin(stdin);
        let dog = self.dog.clone();
        let out = blocking(move || git.run(&dog)).await?;
        Ok(out.code == 0)
    }

    /// Whether `ancestor` is an ancestor of `of` (or the same commit).
    pub(crate) async fn is_ancestor(&self, ancestor: Oid, of: Oid) -> Result<bool> {
        let git = self
            .git(Sub::MergeBase)
            .flag("--is-ancestor")
            .oid(ancestor)
            .oid(of);
        let dog = self.dog.clone();
        let out = blocking(move || git.run(&dog)).await?;
        match out.code {
            0 => Ok(true),
            1 => Ok(false),
            _ => Err(out.error()),
        }
    }

    /// The commits new in `from..to` (only `to` when `from` is `None`), at most `limit`, each
    /// with whether it carries a `gpgsig` header (what a commit's `signature` is).
    pub(crate) async fn signed(
        &self,
        from: Option<Oid>,
        to: Oid,
        limit: usize,
    ) -> Result<Vec<(Oid, bool)>> {
        let count = if from.is_some() { limit } else { 1 };
        let mut list = self
            .git(Sub::RevList)
            .opt("--max-count=", gitapi_gitcmd::Value::Num(count as u64))
            .oid(to);
        if let Some(from) = from {
            list = list.flag("--not").oid(from);
        }
        let dog = self.dog.clone();
        let listed = blocking(move || list.ok(&dog)).await?;
        let oids: Vec<Oid> = String::from_utf8_lossy(&listed)
            .lines()
            .filter_map(|l| Oid::from_hex(l.trim()).ok())
            .collect();
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        let stdin: String = oids.iter().map(|o| format!("{o}\n")).collect();
        let cat = self.git(Sub::CatFile).flag("--batch").stdin(stdin);
        let dog = self.dog.clone();
        let raw = blocking(move || cat.ok(&dog)).await?;
        let signed = batch_signed(&raw)?;
        Ok(oids.into_iter().zip(signed).collect())
    }
}

/// For each object of `git cat-file --batch` output, whether its headers include `gpgsig`.
fn batch_signed(mut raw: &[u8]) -> Result<Vec<bool>> {
    let bad = || Error::internal("git cat-file --batch printed something unexpected");
    let mut out = Vec::new();
    while !raw.is_empty() {
        let nl = raw.iter().position(|b| *b == b'\n').ok_or_else(bad)?;
        let header = std::str::from_utf8(&raw[..nl]).map_err(|_| bad())?;
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let body = raw.get(nl + 1..nl + 1 + size).ok_or_else(bad)?;
        let headers_end = body
            .windows(2)
            .position(|w| w == b"\n\n")
            .map_or(body.len(), |p| p + 1);
        let signed = body[..headers_end]
            .split(|b| *b == b'\n')
            .any(|line| line.starts_with(b"gpgsig "));
        out.push(signed);
        raw = raw.get(nl + 1 + size + 1..).unwrap_or_default();
    }
    Ok(out)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("a git task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cat_file_batch_signatures_are_read_from_headers_only() -> Result<()> {
        let signed = b"tree 1\ngpgsig -----BEGIN-----\n x\n -----END-----\n\nmsg\n";
        let unsigned = b"tree 1\n\ngpgsig in the message\n";
        let mut raw = Vec::new();
        raw.extend_from_slice(format!("a commit {}\n", signed.len()).as_bytes());
        raw.extend_from_slice(signed);
        raw.push(b'\n');
        raw.extend_from_slice(format!("b commit {}\n", unsigned.len()).as_bytes());
        raw.extend_from_slice(unsigned);
        raw.push(b'\n');
        assert_eq!(batch_signed(&raw)?, vec![true, false]);
        Ok(())
    }
}
