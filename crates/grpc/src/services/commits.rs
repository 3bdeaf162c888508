//! `gitapi.v1.CommitService`, with the client-streaming `UploadCommitFiles`.

use bytes::BytesMut;
use futures::TryStreamExt as _;
use tonic::{Request, Streaming};

use gitapi_core::{Error, ErrorKind, FileAction, Result};

use crate::convert::{RepoRequest as _, oid, repo, rev};
use crate::pb;
use crate::pb::commit_service_server::CommitService;

use super::{Answer, Handlers, reply};

#[tonic::async_trait]
impl CommitService for Handlers {
    async fn get_commit(
        &self,
        req: Request<pb::GetCommitRequest>,
    ) -> Answer<pb::GetCommitResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let c = self
                    .svc
                    .get_commit(&cx, &repo(&r.repository)?, &rev(&r.revision)?)
                    .await?;
                Ok(pb::GetCommitResponse {
                    commit: Some((&c).into()),
                })
            }
            .await,
        )
    }

    async fn get_commits(
        &self,
        req: Request<pb::GetCommitsRequest>,
    ) -> Answer<pb::GetCommitsResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let oids = r.oids.iter().map(|o| oid(o)).collect::<Result<Vec<_>>>()?;
                let found = self
                    .svc
                    .get_commits(&cx, &repo(&r.repository)?, &oids)
                    .await?;
                Ok(pb::GetCommitsResponse {
                    commits: found
                        .iter()
                        .map(|c| pb::get_commits_response::MaybeCommit {
                            commit: c.as_ref().map(Into::into),
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn get_commit_payload(
        &self,
        req: Request<pb::CommitFilesRequest>,
    ) -> Answer<pb::GetCommitPayloadResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, c) = req.into_inner().parse()?;
                let payload = self.svc.commit_payload(&cx, &name, c).await?;
                Ok(pb::GetCommitPayloadResponse { payload })
            }
            .await,
        )
    }

    async fn commit_files(
        &self,
        req: Request<pb::CommitFilesRequest>,
    ) -> Answer<pb::CommitFilesResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, c) = req.into_inner().parse()?;
                let made = self.svc.commit_files(&cx, &name, c).await?;
                Ok(pb::CommitFilesResponse {
                    commit: Some((&made).into()),
                })
            }
            .await,
        )
    }

    async fn upload_commit_files(
        &self,
        req: Request<Streaming<pb::UploadCommitFilesRequest>>,
    ) -> Answer<pb::CommitFilesResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let limits = self.svc.limits();
                let (name, c) = assemble(
                    req.into_inner(),
                    limits.max_blob_bytes,
                    limits.max_body_bytes,
                )
                .await?;
                let made = self.svc.commit_files(&cx, &name, c).await?;
                Ok(pb::CommitFilesResponse {
                    commit: Some((&made).into()),
                })
            }
            .await,
        )
    }

    async fn commit_index(
        &self,
        req: Request<pb::CommitIndexRequest>,
    ) -> Answer<pb::CommitIndexResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, c) = req.into_inner().parse()?;
                let made = self.svc.commit_index(&cx, &name, c).await?;
                Ok(pb::CommitIndexResponse {
                    commit: Some((&made).into()),
                })
            }
            .await,
        )
    }

    async fn amend(&self, req: Request<pb::AmendRequest>) -> Answer<pb::AmendResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, a) = req.into_inner().parse()?;
                let made = self.svc.amend(&cx, &name, a).await?;
                Ok(pb::AmendResponse {
                    commit: Some((&made).into()),
                })
            }
            .await,
        )
    }

    async fn reset(&self, req: Request<pb::ResetRequest>) -> Answer<pb::ResetResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, r) = req.into_inner().parse()?;
                let to = self.svc.reset(&cx, &name, r).await?;
                Ok(pb::ResetResponse {
                    oid: to.to_string(),
                })
            }
            .await,
        )
    }
}

/// Reads an upload into one commit request: the header first, then actions, each `put`
/// followed by chunks of its content. A file's content is bounded by `max_file` while it
/// arrives, the whole upload by `max_total`, so a client cannot make the server buffer more
/// than a REST request could.
async fn assemble(
    mut parts: Streaming<pb::UploadCommitFilesRequest>,
    max_file: usize,
    max_total: usize,
) -> Result<(gitapi_core::RepoName, gitapi_core::CommitFiles)> {
    use pb::upload_commit_files_request::Part;
    let broken = |e: tonic::Status| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("reading the upload failed: {}", e.message()),
        )
    };
    let Some(Part::Header(header)) = parts.try_next().await.map_err(broken)?.and_then(|m| m.part)
    else {
        return Err(Error::invalid(
            "an upload starts with its header (a CommitFilesRequest)",
        ));
    };
    let (name, mut commit) = header.parse()?;
    let mut total: usize = commit
        .actions
        .iter()
        .map(|a| match a {
            FileAction::Put { content, .. } => content.len(),
            _ => 0,
        })
        .sum();
    // The content of the last `put`, growing as chunks arrive.
    let mut open: Option<BytesMut> = None;
    let close = |commit: &mut gitapi_core::CommitFiles, open: &mut Option<BytesMut>| {
        if let (Some(buf), Some(FileAction::Put { content, .. })) =
            (open.take(), commit.actions.last_mut())
        {
            *content = buf.freeze();
        }
    };
    while let Some(msg) = parts.try_next().await.map_err(broken)? {
        match msg.part {
            Some(Part::Action(a)) => {
                close(&mut commit, &mut open);
                let action = FileAction::try_from(a)?;
                if let FileAction::Put { content, .. } = &action {
                    total = total.saturating_add(content.len());
                    open = Some(BytesMut::from(&content[..]));
                }
                commit.actions.push(action);
            }
            Some(Part::Content(chunk)) => {
                let buf = open.as_mut().ok_or_else(|| {
                    Error::invalid("content arrived before a put action to hold it")
                })?;
                total = total.saturating_add(chunk.len());
                if buf.len() + chunk.len() > max_file {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format!("file content is over the limit of {max_file} bytes"),
                    ));
                }
                buf.extend_from_slice(&chunk);
            }
            Some(Part::Header(_)) => return Err(Error::invalid("an upload has one header")),
            None => return Err(Error::invalid("an empty upload message")),
        }
        if total > max_total {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("the upload is over the limit of {max_total} bytes"),
            ));
        }
    }
    close(&mut commit, &mut open);
    Ok((name, commit))
}
