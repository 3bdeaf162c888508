//! `StreamTree` over a listing larger than a page: every entry arrives once, in `ListTree`'s
//! order, in page-sized messages cut from one engine call.

use futures::TryStreamExt as _;

use gitapi_grpc::pb;

use crate::common::{TestServer, seed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_of_several_pages_streams_every_entry_once_in_order() {
    let server = TestServer::start().await;
    let ch = server.channel().await;
    let names: Vec<String> = (0..2_500)
        .map(|i| format!("d{}/f{i:04}.txt", i % 3))
        .collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x\n"[..])).collect();
    seed(&ch, "big", &files).await;
    let mut trees = pb::tree_blob_service_client::TreeBlobServiceClient::new(ch.clone());
    let messages: Vec<pb::StreamTreeResponse> = trees
        .stream_tree(pb::StreamTreeRequest {
            repository: "big".into(),
            revision: "main".into(),
            path: String::new(),
            recursive: true,
        })
        .await
        .expect("a stream")
        .into_inner()
        .try_collect()
        .await
        .expect("the whole stream");
    let sizes: Vec<usize> = messages.iter().map(|m| m.entries.len()).collect();
    // 2,500 files (a recursive listing names blobs only), 1,000 entries a message.
    assert_eq!(sizes, vec![1000, 1000, 500], "message sizes");
    let streamed: Vec<String> = messages
        .into_iter()
        .flat_map(|m| m.entries)
        .map(|e| e.path)
        .collect();
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = trees
            .list_tree(pb::ListTreeRequest {
                repository: "big".into(),
                revision: "main".into(),
                recursive: true,
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .expect("a page")
            .into_inner();
        paged.extend(page.entries.into_iter().map(|e| e.path));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(streamed, paged, "the stream is the pages, in order");
    server.stop().await;
}
