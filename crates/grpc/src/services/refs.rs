//! `gitapi.v1.RefService`.

use tonic::Request;

use gitapi_service::{Change, Event, RecvError};

use crate::convert::{RepoRequest as _, oid, refname, repo, rev};
use crate::pb;
use crate::pb::ref_service_server::RefService;

use super::{Answer, Handlers, Stream, reply};

#[tonic::async_trait]
impl RefService for Handlers {
    type WatchRefsStream = Stream<pb::WatchRefsResponse>;

    async fn watch_refs(
        &self,
        req: Request<pb::WatchRefsRequest>,
    ) -> Answer<Self::WatchRefsStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let after = (r.after_id != 0).then_some(r.after_id);
                let events = if r.repository.is_empty() {
                    self.svc.subscribe(&cx, after)
                } else {
                    self.svc.subscribe_repo(&cx, &repo(&r.repository)?, after)?
                };
                let draining = self.draining.clone();
                let changes = futures::stream::unfold(
                    (events, draining),
                    |(mut events, mut draining)| async move {
                        let mut missed = 0u64;
                        loop {
                            if *draining.borrow() {
                                return None;
                            }
                            let next = tokio::select! {
                                e = events.recv() => e,
                                // The door is gone or the server drains: end the stream.
                                changed = draining.changed() => match changed {
                                    Ok(()) => continue,
                                    Err(_) => return None,
                                },
                            };
                            match next {
                                // This door streams ref changes only; a repository's
                                // creation or deletion reaches it as its refs' events.
                                Ok(Event {
                                    id,
                                    change: Change::Ref(e),
                                }) => {
                                    let msg = pb::WatchRefsResponse {
                                        change: Some((&e).into()),
                                        missed,
                                        id,
                                    };
                                    return Some((Ok(msg), (events, draining)));
                                }
                                Ok(_) => {}
                                Err(RecvError::Lagged { missed: n, .. }) => {
                                    missed = missed.saturating_add(n)
                                }
                                Err(RecvError::Closed) => return None,
                            }
                        }
                    },
                );
                let out: Self::WatchRefsStream = Box::pin(changes);
                Ok(out)
            }
            .await,
        )
    }

    async fn list_refs(&self, req: Request<pb::ListRefsRequest>) -> Answer<pb::ListRefsResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, query) = req.into_inner().parse()?;
                let p = self.svc.list_refs(&cx, &name, query).await?;
                Ok(pb::ListRefsResponse {
                    refs: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn get_ref(&self, req: Request<pb::GetRefRequest>) -> Answer<pb::GetRefResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let found = self
                    .svc
                    .get_ref(&cx, &repo(&r.repository)?, &refname(&r.name)?)
                    .await?;
                Ok(pb::GetRefResponse {
                    r#ref: Some((&found).into()),
                })
            }
            .await,
        )
    }

    async fn get_tag(&self, req: Request<pb::GetTagRequest>) -> Answer<pb::GetTagResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let t = self
                    .svc
                    .get_tag(&cx, &repo(&r.repository)?, &refname(&r.name)?)
                    .await?;
                Ok(pb::GetTagResponse {
                    r#ref: Some(pb::Ref {
                        name: t.name.to_string(),
                        target: t.target.to_string(),
                        peeled: crate::convert::text(t.peeled),
                    }),
                    object: t.object.as_ref().map(Into::into),
                })
            }
            .await,
        )
    }

    async fn resolve_revision(
        &self,
        req: Request<pb::ResolveRevisionRequest>,
    ) -> Answer<pb::ResolveRevisionResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let o = self
                    .svc
                    .resolve(&cx, &repo(&r.repository)?, &rev(&r.revision)?)
                    .await?;
                Ok(pb::ResolveRevisionResponse { oid: o.to_string() })
            }
            .await,
        )
    }

    async fn create_branch(
        &self,
        req: Request<pb::CreateBranchRequest>,
    ) -> Answer<pb::CreateBranchResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let made = self
                    .svc
                    .create_branch(
                        &cx,
                        &repo(&r.repository)?,
                        &refname(&r.name)?,
                        &rev(&r.target)?,
                    )
                    .await?;
                Ok(pb::CreateBranchResponse {
                    r#ref: Some((&made).into()),
                })
            }
            .await,
        )
    }

    async fn create_tag(
        &self,
        req: Request<pb::CreateTagRequest>,
    ) -> Answer<pb::CreateTagResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, tag) = req.into_inner().parse()?;
                let made = self.svc.create_tag(&cx, &name, tag).await?;
                Ok(pb::CreateTagResponse {
                    r#ref: Some((&made).into()),
                })
            }
            .await,
        )
    }

    async fn delete_ref(
        &self,
        req: Request<pb::DeleteRefRequest>,
    ) -> Answer<pb::DeleteRefResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let expected = r.expected_old.as_deref().map(oid).transpose()?;
                self.svc
                    .delete_ref(&cx, &repo(&r.repository)?, &refname(&r.name)?, expected)
                    .await?;
                Ok(pb::DeleteRefResponse {})
            }
            .await,
        )
    }

    async fn rename_branch(
        &self,
        req: Request<pb::RenameBranchRequest>,
    ) -> Answer<pb::RenameBranchResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let renamed = self
                    .svc
                    .rename_branch(
                        &cx,
                        &repo(&r.repository)?,
                        &refname(&r.from)?,
                        &refname(&r.to)?,
                    )
                    .await?;
                Ok(pb::RenameBranchResponse {
                    r#ref: Some((&renamed).into()),
                })
            }
            .await,
        )
    }

    async fn update_refs(
        &self,
        req: Request<pb::UpdateRefsRequest>,
    ) -> Answer<pb::UpdateRefsResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, updates) = req.into_inner().parse()?;
                self.svc.update_refs(&cx, &name, updates).await?;
                Ok(pb::UpdateRefsResponse {})
            }
            .await,
        )
    }

    async fn point_ref(&self, req: Request<pb::PointRefRequest>) -> Answer<pb::PointRefResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let expected = r.expected_old.as_deref().map(oid).transpose()?;
                let moved = self
                    .svc
                    .point_ref(
                        &cx,
                        &repo(&r.repository)?,
                        &refname(&r.name)?,
                        &rev(&r.target)?,
                        expected,
                    )
                    .await?;
                Ok(pb::PointRefResponse {
                    r#ref: Some((&moved).into()),
                })
            }
            .await,
        )
    }
}
