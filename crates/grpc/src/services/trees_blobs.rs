//! `gitapi.v1.TreeBlobService`: listings (a page, or the whole listing from one engine call,
//! streamed in page-sized messages) and blobs (whole, or streamed in chunks).

use futures::StreamExt as _;
use tonic::Request;

use gitapi_core::{ListTree, PageRequest, TreeEntry};
use gitapi_service::ArchiveFormat;

use crate::convert::{RepoRequest as _, blob_ref, opt, path, repo, rev};
use crate::pb;
use crate::pb::tree_blob_service_server::TreeBlobService;

use super::{Answer, Handlers, Stream, reply, stream};

#[tonic::async_trait]
impl TreeBlobService for Handlers {
    type StreamTreeStream = Stream<pb::StreamTreeResponse>;
    type StreamBlobStream = Stream<pb::StreamBlobResponse>;
    type GetArchiveStream = Stream<pb::GetArchiveResponse>;

    async fn get_archive(
        &self,
        req: Request<pb::GetArchiveRequest>,
    ) -> Answer<Self::GetArchiveStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let format = match pb::ArchiveFormat::try_from(r.format) {
                    Ok(pb::ArchiveFormat::Tar) => ArchiveFormat::Tar,
                    Ok(pb::ArchiveFormat::TarGz) => ArchiveFormat::TarGz,
                    Ok(pb::ArchiveFormat::Zip) => ArchiveFormat::Zip,
                    _ => {
                        return Err(gitapi_core::Error::invalid(
                            "archive format is not tar, tar.gz or zip",
                        ));
                    }
                };
                let prefix = opt(&r.prefix, path)?;
                let a = self
                    .svc
                    .archive(
                        &cx,
                        &repo(&r.repository)?,
                        &rev(&r.revision)?,
                        format,
                        prefix.as_ref(),
                    )
                    .await?;
                let first = pb::GetArchiveResponse {
                    commit: a.commit.to_string(),
                    chunk: bytes::Bytes::new(),
                };
                let chunks = stream(a.chunks, |chunk| pb::GetArchiveResponse {
                    commit: String::new(),
                    chunk,
                });
                Ok(futures::stream::once(async { Ok(first) })
                    .chain(chunks)
                    .boxed())
            }
            .await,
        )
    }

    async fn list_tree(&self, req: Request<pb::ListTreeRequest>) -> Answer<pb::ListTreeResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, (query, page)) = req.into_inner().parse()?;
                let p = self.svc.list_tree(&cx, &name, query, &page).await?;
                Ok(pb::ListTreeResponse {
                    entries: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn stream_tree(
        &self,
        req: Request<pb::StreamTreeRequest>,
    ) -> Answer<Self::StreamTreeStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let name = repo(&r.repository)?;
                let at = rev(&r.revision)?;
                let dir = opt(&r.path, path)?;
                let query = ListTree {
                    rev: at,
                    path: dir,
                    recursive: r.recursive,
                };
                // One engine call; the listing goes out in messages of a page's size.
                let mut all = self.svc.list_tree_all(&cx, &name, query).await?.into_iter();
                // Moved out page by page (no copy of the listing); an empty listing is still
                // one (empty) message, as a paged listing's first page was.
                let mut first = true;
                let pages = futures::stream::iter(std::iter::from_fn(move || {
                    let page: Vec<TreeEntry> = all.by_ref().take(PageRequest::MAX_LIMIT).collect();
                    let send = first || !page.is_empty();
                    first = false;
                    send.then_some(Ok::<_, gitapi_core::Error>(page))
                }));
                Ok(stream(pages, |items| pb::StreamTreeResponse {
                    entries: items.iter().map(Into::into).collect(),
                }))
            }
            .await,
        )
    }

    async fn get_blob_header(
        &self,
        req: Request<pb::GetBlobHeaderRequest>,
    ) -> Answer<pb::GetBlobHeaderResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let h = self
                    .svc
                    .blob_header(&cx, &repo(&r.repository)?, blob_ref(r.blob)?)
                    .await?;
                Ok(pb::GetBlobHeaderResponse {
                    header: Some((&h).into()),
                })
            }
            .await,
        )
    }

    async fn read_blob(&self, req: Request<pb::ReadBlobRequest>) -> Answer<pb::ReadBlobResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let (name, blob) = req.into_inner().parse()?;
                let b = self.svc.read_blob(&cx, &name, blob).await?;
                let header = gitapi_core::BlobHeader {
                    oid: b.oid,
                    size: b.size,
                    mode: b.mode,
                };
                Ok(pb::ReadBlobResponse {
                    header: Some((&header).into()),
                    content: b.content,
                })
            }
            .await,
        )
    }

    async fn stream_blob(
        &self,
        req: Request<pb::StreamBlobRequest>,
    ) -> Answer<Self::StreamBlobStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let b = self
                    .svc
                    .stream_blob(&cx, &repo(&r.repository)?, blob_ref(r.blob)?)
                    .await?;
                let header = gitapi_core::BlobHeader {
                    oid: b.oid,
                    size: b.size,
                    mode: b.mode,
                };
                let first = pb::StreamBlobResponse {
                    header: Some((&header).into()),
                    chunk: bytes::Bytes::new(),
                };
                let chunks = stream(b.chunks, |chunk| pb::StreamBlobResponse {
                    header: None,
                    chunk,
                });
                Ok(futures::stream::once(async { Ok(first) })
                    .chain(chunks)
                    .boxed())
            }
            .await,
        )
    }
}
