//! The query root: repositories, and the engines' status.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result};

use gitapi_core::{RepoName, cursor};

use crate::error::Gql as _;
use crate::mutation::CommitFilesInput;
use crate::objects::{BackendObj, Repository, call, page};

/// Every read.
#[derive(Debug, Default)]
pub struct Query;

#[Object]
impl Query {
    /// The repositories the caller may read, sorted by name.
    async fn repositories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Repository>> {
        let (svc, cx) = call(ctx)?;
        let had_cursor = after.is_some();
        let got = svc.list_repos(&cx, page(first, after)?).await.gql()?;
        let mut conn = Connection::new(had_cursor, got.next_cursor.is_some());
        conn.edges.extend(
            got.items
                .into_iter()
                .map(|info| Edge::new(cursor::encode_key(info.name.as_str()), Repository { info })),
        );
        Ok(conn)
    }

    /// One repository.
    async fn repository(&self, ctx: &Context<'_>, name: RepoName) -> Result<Repository> {
        let (svc, cx) = call(ctx)?;
        let info = svc.repo_info(&cx, &name).await.gql()?;
        Ok(Repository { info })
    }

    /// The exact bytes `commitFiles` would hash for the same input (without a signature),
    /// for the caller to sign and send back as `signature`.
    async fn commit_payload(
        &self,
        ctx: &Context<'_>,
        repo: RepoName,
        input: CommitFilesInput,
    ) -> Result<String> {
        let (svc, cx) = call(ctx)?;
        svc.commit_payload(&cx, &repo, input.into_request()?)
            .await
            .gql()
    }

    /// Which engine serves and what each has served (admin scope on every repository).
    async fn backend(&self, ctx: &Context<'_>) -> Result<BackendObj> {
        let (svc, cx) = call(ctx)?;
        Ok(svc.backend_status(&cx).gql()?.into())
    }
}
