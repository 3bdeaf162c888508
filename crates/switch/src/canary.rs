//! The shadow canary: a [`GitBackend`] that answers from the serving engine and, for reads,
//! asks the other engine too, off the caller's path, and counts mismatches.
//!
//! Its `GitBackend` impl is generated from the one list of operations in core
//! ([`gitapi_core::with_backend_ops`]), so every read is compared (values, log pages, diffs,
//! blame, and blob content by digest as it streams past) and no operation can be forgotten.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use gitapi_core::*;
use sha2::{Digest, Sha256};

use crate::CanaryStats;

/// Answers from `primary`; each read is also run on `shadow` in a background task and the two
/// answers are compared (equal values, or errors of the same kind). Writes and workspace
/// operations run on `primary` only: running a write twice would apply it twice.
#[derive(Debug)]
pub struct Canary {
    primary: Arc<dyn GitBackend>,
    shadow: Arc<dyn GitBackend>,
    stats: Arc<CanaryStats>,
    strict: bool,
}

fn same<T: PartialEq>(a: &Result<T>, b: &Result<T>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x.kind() == y.kind(),
        _ => false,
    }
}

fn summary<T: std::fmt::Debug>(r: &Result<T>) -> String {
    let mut s = match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error {}: {}", e.kind(), e.message()),
    };
    s.truncate(512);
    s
}

/// Where two answers first differ, with some context: what a strict canary reports.
fn first_difference<T: std::fmt::Debug>(
    a: &Result<T>,
    a_name: &str,
    b: &Result<T>,
    b_name: &str,
) -> String {
    let render = |r: &Result<T>| match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error {}: {}", e.kind(), e.message()),
    };
    let (x, y) = (render(a), render(b));
    let at = x
        .char_indices()
        .zip(y.chars())
        .find(|((_, c1), c2)| c1 != c2)
        .map(|((i, _), _)| i)
        .unwrap_or(x.len().min(y.len()));
    let window = |s: &str| -> String {
        let start = s.floor_char_boundary(at.saturating_sub(120));
        let end = s.ceil_char_boundary((at + 200).min(s.len()));
        s[start..end].to_owned()
    };
    format!(
        "first difference at byte {at}: {a_name} answered …{}…, {b_name} answered …{}…",
        window(&x),
        window(&y)
    )
}

impl Canary {
    pub(crate) fn new(
        primary: Arc<dyn GitBackend>,
        shadow: Arc<dyn GitBackend>,
        stats: Arc<CanaryStats>,
    ) -> Self {
        Self {
            primary,
            shadow,
            stats,
            strict: false,
        }
    }

    /// A canary for tests: each comparison runs before the answer is returned, and a mismatch
    /// panics with both answers, so a test suite run through it fails on any disagreement
    /// between the engines.
    pub fn strict(primary: Arc<dyn GitBackend>, shadow: Arc<dyn GitBackend>) -> Self {
        Self {
            primary,
            shadow,
            stats: Arc::new(CanaryStats::default()),
            strict: true,
        }
    }

    /// Compares `first` with the shadow engine's answer in a background task (inline when
    /// strict). On a mismatch the primary is asked again: if its own answer changed, a write
    /// raced the comparison and the sample is dropped as inconclusive.
    async fn shadow<T, F, Fut>(&self, op: &'static str, inputs: String, first: &Result<T>, call: F)
    where
        T: PartialEq + Clone + std::fmt::Debug + Send + Sync + 'static,
        F: Fn(Arc<dyn GitBackend>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let (primary, shadow, stats, strict) = (
            Arc::clone(&self.primary),
            Arc::clone(&self.shadow),
            Arc::clone(&self.stats),
            self.strict,
        );
        let first = first.clone();
        let compare = async move {
            let other = call(Arc::clone(&shadow)).await;
            if same(&first, &other) {
                stats.count(op, false);
                return;
            }
            let again = call(Arc::clone(&primary)).await;
            if !same(&first, &again) {
                stats.inconclusive.fetch_add(1, Ordering::Relaxed);
                return;
            }
            stats.count(op, true);
            tracing::warn!(
                op,
                inputs = %inputs,
                serving = primary.name(),
                serving_answer = %summary(&first),
                other = shadow.name(),
                other_answer = %summary(&other),
                "canary mismatch"
            );
            assert!(
                !strict,
                "canary mismatch in {op} {inputs}: {}",
                first_difference(&first, primary.name(), &other, shadow.name())
            );
        };
        if strict {
            compare.await;
        } else if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(compare);
        }
    }

    /// Runs a blob stream on the shadow engine to its end and returns its header and the
    /// digest of its content.
    async fn blob_digest(
        e: Arc<dyn GitBackend>,
        repo: RepoName,
        blob: BlobRef,
    ) -> Result<BlobSeen> {
        let b = e.stream_blob(&repo, blob).await?;
        let header = BlobHeader {
            oid: b.oid,
            size: b.size,
            mode: b.mode,
        };
        let digest = b
            .chunks
            .try_fold(Sha256::new(), |mut h, c| async move {
                h.update(&c);
                Ok(h)
            })
            .await?;
        Ok(BlobSeen {
            header,
            digest: digest.finalize().into(),
        })
    }
}

/// What the canary compares of a streamed blob: its header and the SHA-256 of its bytes, so
/// content is compared without holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BlobSeen {
    header: BlobHeader,
    digest: [u8; 32],
}

/// Builds the canary's `GitBackend` impl from the list of operations: a tt-muncher, so the
/// whole impl is formed before `async_trait` sees it.
macro_rules! canary_impl {
    (@acc [$($acc:tt)*]) => {
        #[async_trait]
        impl GitBackend for Canary {
            fn name(&self) -> &'static str {
                self.primary.name()
            }
            $($acc)*
        }
    };
    (@acc [$($acc:tt)*] write $name:ident([$($r:ident: $rty:ty),*] [$($v:ident: $vty:ty),*])
        -> $ret:ty; $($rest:tt)*) => {
        canary_impl!(@acc [$($acc)*
            async fn $name(&self, $($r: &$rty,)* $($v: $vty,)*) -> Result<$ret> {
                self.primary.$name($($r,)* $($v,)*).await
            }
        ] $($rest)*);
    };
    (@acc [$($acc:tt)*] read $name:ident([$($r:ident: $rty:ty),*] [$($v:ident: $vty:ty),*])
        -> $ret:ty; $($rest:tt)*) => {
        canary_impl!(@acc [$($acc)*
            async fn $name(&self, $($r: &$rty,)* $($v: $vty,)*) -> Result<$ret> {
                let inputs = format!("{:?}", ($($r,)* $(&$v,)*));
                let owned = ($($r.to_owned(),)* $($v.clone(),)*);
                let out = self.primary.$name($($r,)* $($v,)*).await;
                self.shadow(stringify!($name), inputs, &out, move |e| {
                    #[allow(unused_parens)]
                    let ($($r,)* $($v,)*) = owned.clone();
                    async move { e.$name($(&$r,)* $($v,)*).await }
                })
                .await;
                out
            }
        ] $($rest)*);
    };
    // A log is compared page against page: the primary's page is collected (a log query is
    // bounded by its limit), compared, and handed on as a stream.
    (@acc [$($acc:tt)*] stream $name:ident([$($r:ident: $rty:ty),*] [$($v:ident: $vty:ty),*])
        -> $item:ty; $($rest:tt)*) => {
        canary_impl!(@acc [$($acc)*
            async fn $name(&self, $($r: &$rty,)* $($v: $vty,)*)
                -> Result<BoxStream<'static, Result<$item>>> {
                let inputs = format!("{:?}", ($($r,)* $(&$v,)*));
                let owned = ($($r.to_owned(),)* $($v.clone(),)*);
                let out: Result<Vec<$item>> = match self.primary.$name($($r,)* $($v,)*).await {
                    Ok(s) => s.try_collect().await,
                    Err(e) => Err(e),
                };
                self.shadow(stringify!($name), inputs, &out, move |e| {
                    let ($($r,)* $($v,)*) = owned.clone();
                    async move { e.$name($(&$r,)* $($v,)*).await?.try_collect().await }
                })
                .await;
                out.map(|items| futures::stream::iter(items.into_iter().map(Ok)).boxed())
            }
        ] $($rest)*);
    };
    // A blob is compared by header and digest: the primary's chunks are hashed as they pass to
    // the caller, and the shadow's blob is read and hashed once the caller has read the last
    // chunk (a stream dropped early is not compared). Memory stays bounded by a chunk.
    (@acc [$($acc:tt)*] blob $name:ident([$($r:ident: $rty:ty),*] [$($v:ident: $vty:ty),*])
        -> $ret:ty; $($rest:tt)*) => {
        canary_impl!(@acc [$($acc)*
            async fn $name(&self, $($r: &$rty,)* $($v: $vty,)*) -> Result<$ret> {
                let inputs = format!("{:?}", ($($r,)* $(&$v,)*));
                let owned = ($($r.to_owned(),)* $($v.clone(),)*);
                let b = self.primary.$name($($r,)* $($v,)*).await?;
                let header = BlobHeader { oid: b.oid, size: b.size, mode: b.mode };
                let me = Canary {
                    primary: Arc::clone(&self.primary),
                    shadow: Arc::clone(&self.shadow),
                    stats: Arc::clone(&self.stats),
                    strict: self.strict,
                };
                let hasher = Arc::new(parking_lot::Mutex::new(Some(Sha256::new())));
                let seen = Arc::clone(&hasher);
                let chunks = b.chunks.inspect(move |c| {
                    let mut h = seen.lock();
                    match c {
                        Ok(c) => { if let Some(h) = h.as_mut() { h.update(c); } }
                        // An error mid-stream: nothing to compare.
                        Err(_) => *h = None,
                    }
                });
                let done = futures::stream::once(async move {
                    let digest = hasher.lock().take();
                    if let Some(digest) = digest {
                        let first = Ok(BlobSeen { header, digest: digest.finalize().into() });
                        me.shadow(stringify!($name), inputs, &first, move |e| {
                            let ($($r,)* $($v,)*) = owned.clone();
                            Canary::blob_digest(e, $($r,)* $($v,)*)
                        })
                        .await;
                    }
                })
                .filter_map(|()| async { None });
                Ok(BlobStream {
                    oid: b.oid,
                    size: b.size,
                    mode: b.mode,
                    chunks: chunks.chain(done).boxed(),
                })
            }
        ] $($rest)*);
    };
    ($($ops:tt)*) => {
        canary_impl!(@acc [] $($ops)*);
    };
}

gitapi_core::with_backend_ops!(canary_impl);
