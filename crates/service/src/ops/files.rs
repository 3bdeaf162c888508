//! Trees and files: directory listings, blobs (header, whole, streamed) and work-tree file
//! writes in a workspace.

use gitapi_core::*;

use crate::auth::Scope;
use crate::context::CallContext;
use crate::funnel::Op;
use crate::policy::too_large;
use crate::service::RepoService;

impl RepoService {
    /// Lists a directory of a tree-ish (recursively with `query.recursive`), a page at a
    /// time in git's order.
    pub async fn list_tree(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: ListTree,
        page: &PageRequest,
    ) -> Result<Page<TreeEntry>> {
        let op = self.read(cx, "list_tree", repo).await?;
        // Cached by page: a hit then decodes one page, not the whole listing (a 5,000-file
        // recursive listing took 4 ms to decode for every page served from the cache).
        let key = (&query, page.limit, page.cursor.as_deref());
        let listing = async {
            let all = op.run(self.tree_or_unborn(&op, repo, &query)).await?;
            cursor::page_by_offset(all, page)
        };
        let out = self.cached(&op, repo, &key, &[&query.rev], listing).await;
        op.finish(out)
    }

    /// A whole tree listing in one engine call, for a door that streams it in its own chunks
    /// (gRPC's `StreamTree`): paging [`RepoService::list_tree`] instead would list the tree
    /// again for every page.
    pub async fn list_tree_all(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        query: ListTree,
    ) -> Result<Vec<TreeEntry>> {
        let op = self.read(cx, "list_tree_all", repo).await?;
        let out = self
            .cached(
                &op,
                repo,
                &query,
                &[&query.rev],
                op.run(self.tree_or_unborn(&op, repo, &query)),
            )
            .await;
        op.finish(out)
    }

    /// A blob's id, size and mode, without reading its content (enough to answer `304`).
    pub async fn blob_header(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        blob: BlobRef,
    ) -> Result<BlobHeader> {
        let op = self.read(cx, "blob_header", repo).await?;
        let out = op.run(op.e.blob_header(repo, blob)).await;
        op.finish(out)
    }

    /// Reads a blob whole.
    pub async fn read_blob(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        blob: BlobRef,
    ) -> Result<Blob> {
        let op = self.read(cx, "read_blob", repo).await?;
        let out = op.run(op.e.read_blob(repo, blob)).await;
        op.finish(out)
    }

    /// Opens a blob as a stream of chunks. The stream holds the read lock and the engine lease
    /// until it ends or is dropped, so a switch or a delete waits for it.
    pub async fn stream_blob(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        blob: BlobRef,
    ) -> Result<BlobStream> {
        let op = self.read(cx, "stream_blob", repo).await?;
        let b = op.run(op.e.stream_blob(repo, blob)).await?;
        Ok(BlobStream {
            oid: b.oid,
            size: b.size,
            mode: b.mode,
            chunks: op.hold(b.chunks),
        })
    }

    /// Writes a file into a workspace's work tree.
    pub async fn put_file(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
        content: bytes::Bytes,
        mode: Option<FileMode>,
    ) -> Result<()> {
        let max = self.limits().max_blob_bytes;
        if content.len() > max {
            return Err(too_large("file content", content.len(), max));
        }
        // A work-tree file reaches a commit through the index, so `.gitmodules` is checked
        // here as a commit action's is.
        if path.is_gitmodules() {
            crate::policy::check_gitmodules(path, &content, mode)?;
        }
        let op = self.write(cx, "put_file", Scope::Write, repo).await?;
        let out = op
            .commit(op.e.put_file(repo, ws, path, content, mode))
            .await;
        op.finish(out)
    }

    /// Removes a file from a workspace's work tree.
    pub async fn delete_file(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        path: &RepoPath,
    ) -> Result<()> {
        let op = self.write(cx, "delete_file", Scope::Write, repo).await?;
        let out = op.commit(op.e.delete_file(repo, ws, path)).await;
        op.finish(out)
    }

    /// Moves a file in a workspace's work tree.
    pub async fn move_file(
        &self,
        cx: &CallContext,
        repo: &RepoName,
        ws: &WorkspaceName,
        from: &RepoPath,
        to: &RepoPath,
    ) -> Result<()> {
        if to.is_gitmodules() {
            // The moved content is not seen here, so it could not be checked as `.gitmodules`.
            return Err(Error::invalid(format!(
                "a file may not be moved onto {:?}: write .gitmodules whole, where its content \
                 is checked",
                to.as_str()
            )));
        }
        let op = self.write(cx, "move_file", Scope::Write, repo).await?;
        let out = op.commit(op.e.move_file(repo, ws, from, to)).await;
        op.finish(out)
    }

    /// The engine's listing, or for `HEAD` while it is unborn (an empty repository) what the
    /// empty tree lists: nothing at the root, `NotFound` for a path.
    async fn tree_or_unborn(
        &self,
        op: &Op,
        repo: &RepoName,
        query: &ListTree,
    ) -> Result<Vec<TreeEntry>> {
        match op.e.list_tree(repo, query.clone()).await {
            Err(e) if super::unborn_head(op, repo, &query.rev, &e).await? => match &query.path {
                None => Ok(Vec::new()),
                Some(p) => Err(Error::not_found(format!(
                    "path {:?} does not exist",
                    p.as_str()
                ))),
            },
            other => other,
        }
    }
}
