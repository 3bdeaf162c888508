//! `gitapi.v1.WorkspaceService`: workspaces, work-tree files, staging and the stash.

use tonic::Request;

use crate::convert::{RepoRequest as _, mode_from, opt, page, path, refname, repo, workspace};
use crate::pb;
use crate::pb::workspace_service_server::WorkspaceService;

use super::{Answer, Handlers, reply};

fn index(i: u32) -> usize {
    usize::try_from(i).unwrap_or(usize::MAX)
}

#[tonic::async_trait]
impl WorkspaceService for Handlers {
    async fn create_workspace(
        &self,
        req: Request<pb::CreateWorkspaceRequest>,
    ) -> Answer<pb::CreateWorkspaceResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let w = self
                    .svc
                    .create_workspace(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        opt(&r.branch, refname)?,
                    )
                    .await?;
                Ok(pb::CreateWorkspaceResponse {
                    workspace: Some((&w).into()),
                })
            }
            .await,
        )
    }

    async fn list_workspaces(
        &self,
        req: Request<pb::ListWorkspacesRequest>,
    ) -> Answer<pb::ListWorkspacesResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let p = self
                    .svc
                    .list_workspaces(
                        &cx,
                        &repo(&r.repository)?,
                        &page(r.page_size, &r.page_token),
                    )
                    .await?;
                Ok(pb::ListWorkspacesResponse {
                    workspaces: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn get_workspace(
        &self,
        req: Request<pb::GetWorkspaceRequest>,
    ) -> Answer<pb::GetWorkspaceResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let w = self
                    .svc
                    .workspace(&cx, &repo(&r.repository)?, &workspace(&r.workspace)?)
                    .await?;
                Ok(pb::GetWorkspaceResponse {
                    workspace: Some((&w).into()),
                })
            }
            .await,
        )
    }

    async fn remove_workspace(
        &self,
        req: Request<pb::RemoveWorkspaceRequest>,
    ) -> Answer<pb::RemoveWorkspaceResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .remove_workspace(&cx, &repo(&r.repository)?, &workspace(&r.workspace)?)
                    .await?;
                Ok(pb::RemoveWorkspaceResponse {})
            }
            .await,
        )
    }

    async fn get_status(
        &self,
        req: Request<pb::GetStatusRequest>,
    ) -> Answer<pb::GetStatusResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let p = self
                    .svc
                    .status(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &page(r.page_size, &r.page_token),
                    )
                    .await?;
                Ok(pb::GetStatusResponse {
                    entries: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn put_file(&self, req: Request<pb::PutFileRequest>) -> Answer<pb::PutFileResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                self.svc
                    .put_file(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &path(&r.path)?,
                        r.content,
                        mode_from(r.mode)?,
                    )
                    .await?;
                Ok(pb::PutFileResponse {})
            }
            .await,
        )
    }

    async fn delete_file(
        &self,
        req: Request<pb::DeleteFileRequest>,
    ) -> Answer<pb::DeleteFileResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .delete_file(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &path(&r.path)?,
                    )
                    .await?;
                Ok(pb::DeleteFileResponse {})
            }
            .await,
        )
    }

    async fn move_file(&self, req: Request<pb::MoveFileRequest>) -> Answer<pb::MoveFileResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .move_file(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &path(&r.from)?,
                        &path(&r.to)?,
                    )
                    .await?;
                Ok(pb::MoveFileResponse {})
            }
            .await,
        )
    }

    async fn stage(&self, req: Request<pb::StageRequest>) -> Answer<pb::StageResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .stage(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &path(&r.path)?,
                    )
                    .await?;
                Ok(pb::StageResponse {})
            }
            .await,
        )
    }

    async fn unstage(&self, req: Request<pb::UnstageRequest>) -> Answer<pb::UnstageResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .unstage(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &path(&r.path)?,
                    )
                    .await?;
                Ok(pb::UnstageResponse {})
            }
            .await,
        )
    }

    async fn stage_patch(
        &self,
        req: Request<pb::StagePatchRequest>,
    ) -> Answer<pb::StagePatchResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let only = opt(&r.path, path)?;
                self.svc
                    .stage_patch(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        only.as_ref(),
                        &r.patch,
                    )
                    .await?;
                Ok(pb::StagePatchResponse {})
            }
            .await,
        )
    }

    async fn discard(&self, req: Request<pb::DiscardRequest>) -> Answer<pb::DiscardResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .discard(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &path(&r.path)?,
                    )
                    .await?;
                Ok(pb::DiscardResponse {})
            }
            .await,
        )
    }

    async fn list_stash(
        &self,
        req: Request<pb::ListStashRequest>,
    ) -> Answer<pb::ListStashResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let p = self
                    .svc
                    .stash_list(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        &page(r.page_size, &r.page_token),
                    )
                    .await?;
                Ok(pb::ListStashResponse {
                    entries: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn stash_save(
        &self,
        req: Request<pb::StashSaveRequest>,
    ) -> Answer<pb::StashSaveResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, s) = req.into_inner().parse()?;
                let entry = self.svc.stash_save(&cx, &name, s).await?;
                Ok(pb::StashSaveResponse {
                    entry: Some((&entry).into()),
                })
            }
            .await,
        )
    }

    async fn stash_apply(
        &self,
        req: Request<pb::StashApplyRequest>,
    ) -> Answer<pb::StashApplyResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .stash_apply(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        index(r.index),
                    )
                    .await?;
                Ok(pb::StashApplyResponse {})
            }
            .await,
        )
    }

    async fn stash_drop(
        &self,
        req: Request<pb::StashDropRequest>,
    ) -> Answer<pb::StashDropResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .stash_drop(
                        &cx,
                        &repo(&r.repository)?,
                        &workspace(&r.workspace)?,
                        index(r.index),
                    )
                    .await?;
                Ok(pb::StashDropResponse {})
            }
            .await,
        )
    }
}
