//! `gitapi.v1.RepositoryService`.

use tonic::Request;

use crate::convert::{RepoRequest as _, page, repo};
use crate::pb;
use crate::pb::repository_service_server::RepositoryService;

use super::{Answer, Handlers, reply};

#[tonic::async_trait]
impl RepositoryService for Handlers {
    async fn create_repository(
        &self,
        req: Request<pb::CreateRepositoryRequest>,
    ) -> Answer<pb::CreateRepositoryResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, source) = req.into_inner().parse()?;
                let info = self.svc.create_repo(&cx, &name, source).await?;
                Ok(pb::CreateRepositoryResponse {
                    repository: Some((&info).into()),
                })
            }
            .await,
        )
    }

    async fn list_repositories(
        &self,
        req: Request<pb::ListRepositoriesRequest>,
    ) -> Answer<pb::ListRepositoriesResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let p = self
                    .svc
                    .list_repos(&cx, page(r.page_size, &r.page_token))
                    .await?;
                Ok(pb::ListRepositoriesResponse {
                    repositories: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn get_repository(
        &self,
        req: Request<pb::GetRepositoryRequest>,
    ) -> Answer<pb::GetRepositoryResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let name = repo(&req.get_ref().repository)?;
                let info = self.svc.repo_info(&cx, &name).await?;
                Ok(pb::GetRepositoryResponse {
                    repository: Some((&info).into()),
                })
            }
            .await,
        )
    }

    async fn delete_repository(
        &self,
        req: Request<pb::DeleteRepositoryRequest>,
    ) -> Answer<pb::DeleteRepositoryResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let name = repo(&req.get_ref().repository)?;
                self.svc.delete_repo(&cx, &name).await?;
                Ok(pb::DeleteRepositoryResponse {})
            }
            .await,
        )
    }

    async fn sync_mirror(
        &self,
        req: Request<pb::SyncMirrorRequest>,
    ) -> Answer<pb::SyncMirrorResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let name = repo(&req.get_ref().repository)?;
                let info = self.svc.sync_mirror(&cx, &name).await?;
                Ok(pb::SyncMirrorResponse {
                    repository: Some((&info).into()),
                })
            }
            .await,
        )
    }
}
