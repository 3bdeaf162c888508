//! Load benchmark of the gRPC door beside the REST door: starts the server in process on
//! 127.0.0.1 (one port, both doors), seeds a repository, then drives get-ref, read-blob and
//! list-directory at concurrency 1 and 16 over gRPC (tonic, one HTTP/2 connection), over REST
//! (reqwest, HTTP/1.1 keep-alive, a connection per client) and over REST on HTTP/2 (reqwest,
//! prior knowledge, one connection: the same transport as gRPC, so the difference between it
//! and gRPC is the door's own cost), closed loop, and prints p50, p99, p99.9 and throughput
//! for each, in the same run.
//!
//! ```text
//! cargo run --release -p gitapi-grpc --example grpc_load -- [REQUESTS] [CONCURRENCY...]
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gitapi_grpc::pb;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Call = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send>> + Send + Sync>;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `requests` calls from `clients` concurrent loops; returns latencies and wall time.
async fn drive(
    call: Call,
    requests: usize,
    clients: usize,
) -> Result<(Vec<Duration>, Duration), Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (call, next) = (Arc::clone(&call), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                call().await?;
                lat.push(t.elapsed());
            }
            Ok::<_, Error>(lat)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all, started.elapsed()))
}

async fn seed(ch: &tonic::transport::Channel) -> Result<(), Error> {
    pb::repository_service_client::RepositoryServiceClient::new(ch.clone())
        .create_repository(pb::CreateRepositoryRequest {
            repository: "bench".into(),
            source: None,
        })
        .await?;
    // 200 files in 10 directories, as the REST load benchmark seeds.
    let actions = (0..200)
        .map(|i| pb::FileAction {
            action: Some(pb::file_action::Action::Put(pb::PutFileAction {
                path: format!("d{}/f{i}.txt", i % 10),
                content: format!("file {i}\n").repeat(20).into_bytes().into(),
                mode: 0,
            })),
        })
        .collect();
    pb::commit_service_client::CommitServiceClient::new(ch.clone())
        .commit_files(pb::CommitFilesRequest {
            repository: "bench".into(),
            branch: "refs/heads/main".into(),
            expected_tip: Some("0".repeat(40)),
            actions,
            message: "seed".into(),
            author: Some(pb::Signature {
                name: "B".into(),
                email: "b@example.com".into(),
                time: None,
                offset_minutes: 0,
            }),
            ..Default::default()
        })
        .await?;
    Ok(())
}

fn grpc_calls(ch: &tonic::transport::Channel) -> Vec<(&'static str, Call)> {
    let refs = pb::ref_service_client::RefServiceClient::new(ch.clone());
    let trees = pb::tree_blob_service_client::TreeBlobServiceClient::new(ch.clone());
    let get_ref: Call = {
        let refs = refs.clone();
        Arc::new(move || {
            let mut c = refs.clone();
            Box::pin(async move {
                c.get_ref(pb::GetRefRequest {
                    repository: "bench".into(),
                    name: "refs/heads/main".into(),
                })
                .await?;
                Ok(())
            })
        })
    };
    let read_blob: Call = {
        let trees = trees.clone();
        Arc::new(move || {
            let mut c = trees.clone();
            Box::pin(async move {
                c.read_blob(pb::ReadBlobRequest {
                    repository: "bench".into(),
                    blob: Some(pb::BlobSelector {
                        selector: Some(pb::blob_selector::Selector::Path(pb::PathInRevision {
                            revision: "main".into(),
                            path: "d3/f13.txt".into(),
                        })),
                    }),
                })
                .await?;
                Ok(())
            })
        })
    };
    let list_dir: Call = Arc::new(move || {
        let mut c = trees.clone();
        Box::pin(async move {
            c.list_tree(pb::ListTreeRequest {
                repository: "bench".into(),
                revision: "main".into(),
                path: "d3".into(),
                ..Default::default()
            })
            .await?;
            Ok(())
        })
    });
    vec![
        ("get-ref", get_ref),
        ("read-blob", read_blob),
        ("list-directory", list_dir),
    ]
}

fn rest_calls(http: &reqwest::Client, base: &str) -> Vec<(&'static str, Call)> {
    let get = |path: &str| -> Call {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        Arc::new(move || {
            let (http, url) = (http.clone(), url.clone());
            Box::pin(async move {
                let res = http.get(url).send().await?.error_for_status()?;
                let _ = res.bytes().await?;
                Ok(())
            })
        })
    };
    vec![
        ("get-ref", get("/v1/repos/bench/refs/heads/main")),
        (
            "read-blob",
            get("/v1/repos/bench/blob?rev=main&path=d3/f13.txt"),
        ),
        (
            "list-directory",
            get("/v1/repos/bench/files?rev=main&path=d3"),
        ),
    ]
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let mut levels: Vec<usize> = args[2.min(args.len())..]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    if levels.is_empty() {
        levels = vec![1, 16];
    }

    let data = tempfile::tempdir()?;
    let mut config = gitapi_server::Config::defaults();
    config.service = gitapi_service::ServiceConfig::new(data.path());
    config.canary.fraction = 0.0;
    let engine = config.engine;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let data_dir = gitapi_server::DataDir::open(&config)?;
    let server = tokio::spawn(gitapi_server::run_in(
        data_dir,
        config,
        listener,
        async {
            let _ = stop_rx.await;
        },
        None,
    ));

    let ch = tonic::transport::Channel::from_shared(base.clone())?
        .connect()
        .await?;
    seed(&ch).await?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().http1_only().build()?;
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build()?;

    println!(
        "engine {engine}, {requests} requests per row, closed loop; gRPC: tonic over one HTTP/2 \
         connection; rest: reqwest over HTTP/1.1 keep-alive; rest-h2: reqwest over one HTTP/2 connection"
    );
    println!(
        "{:<16} {:>4} {:>7} {:>9} {:>9} {:>9} {:>10}",
        "operation", "c", "door", "p50 ms", "p99 ms", "p99.9 ms", "req/s"
    );
    let grpc = grpc_calls(&ch);
    let rest = rest_calls(&http, &base);
    let rest_h2 = rest_calls(&h2, &base);
    for &clients in &levels {
        for (((name, g), (_, r)), (_, r2)) in grpc.iter().zip(rest.iter()).zip(rest_h2.iter()) {
            for (door, call) in [("grpc", g), ("rest", r), ("rest-h2", r2)] {
                // A short warm-up, so caches and connections are as hot for both doors.
                drive(Arc::clone(call), 200, clients).await?;
                let (mut lat, wall) = drive(Arc::clone(call), requests, clients).await?;
                lat.sort_unstable();
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                println!(
                    "{:<16} {:>4} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>10.0}",
                    name,
                    clients,
                    door,
                    ms(percentile(&lat, 50.0)),
                    ms(percentile(&lat, 99.0)),
                    ms(percentile(&lat, 99.9)),
                    lat.len() as f64 / wall.as_secs_f64()
                );
            }
        }
    }
    drop(ch);
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    Ok(())
}
