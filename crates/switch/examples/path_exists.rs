//! Does a per-tree Bloom filter for "does this path exist" pay? (issue 13)
//!
//! A filter could only help a lookup of a path that is **not** in the tree: a "no" from the
//! filter answers 404 without the engine, while a "maybe" still needs the engine's lookup
//! (and the filter's check is added to it). So the benchmark measures, on both engines and on
//! the benchmark repository (5,000 files) and the large one (50,000 files):
//!
//! - the engine's answer for an existing path, a missing file in an existing directory and a
//!   path under a missing directory (`blob_header` by path: what a 404 costs today);
//! - what the filter would cost: building it for one root tree (listing every path, which is
//!   paid for each new root tree, so for each commit that is asked about), its size at a 1 %
//!   false-positive rate, and one membership check.
//!
//! The filter here is the textbook one (double hashing over two SipHash keys, `k` = 7 for
//! 1 %): a measurement device, not a candidate implementation.
//!
//! ```text
//! cargo run --release -p gitapi-switch --example path_exists -- [CALLS]
//! ```

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitapi_core::{BlobRef, GitBackend, ListTree, RepoName, RepoPath, Rev};
use gitapi_testkit::bigrepo::{self, Shape};

/// A Bloom filter of `bits` bits probed `k` times per item.
struct Bloom {
    words: Vec<u64>,
    bits: u64,
    k: u32,
}

impl Bloom {
    /// Sized for `n` items at a false-positive rate of 1 %: m = -n ln p / (ln 2)^2, k = 7.
    fn for_items(n: usize) -> Self {
        let bits = ((n.max(1) as f64) * 9.585).ceil() as u64;
        Self {
            words: vec![0; bits.div_ceil(64) as usize],
            bits,
            k: 7,
        }
    }

    fn hashes(item: &str) -> (u64, u64) {
        let mut a = DefaultHasher::new();
        item.hash(&mut a);
        let mut b = DefaultHasher::new();
        (item, 0x9e37_79b9_7f4a_7c15_u64).hash(&mut b);
        (a.finish(), b.finish() | 1)
    }

    fn insert(&mut self, item: &str) {
        let (h1, h2) = Self::hashes(item);
        for i in 0..self.k as u64 {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % self.bits;
            self.words[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    fn may_contain(&self, item: &str) -> bool {
        let (h1, h2) = Self::hashes(item);
        (0..self.k as u64).all(|i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % self.bits;
            self.words[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

fn quantiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.50), at(0.99), at(0.999))
}

fn row(repo: &str, engine: &str, what: &str, calls: usize, samples: Vec<Duration>) {
    let (p50, p99, p999) = quantiles(samples);
    println!("| {repo} | {engine} | {what} | {calls} | {p50:.1?} | {p99:.1?} | {p999:.1?} |");
}

/// Times `n` calls of `f`, each expected to give `ok` (found) or not.
async fn time<F, Fut, T>(n: usize, found: bool, mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = gitapi_core::Result<T>>,
{
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let got = f(i).await;
        out.push(start.elapsed());
        match (&got, found) {
            (Ok(_), true) => {}
            (Err(e), false) if e.kind() == gitapi_core::ErrorKind::NotFound => {}
            (Ok(_), false) => panic!("call {i}: found a path that should be missing"),
            (Err(e), _) => panic!("call {i}: {e}"),
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let calls: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2_000);
    let data = tempfile::tempdir()?;
    let layout = gitapi_core::Layout::new(data.path());
    let shapes = [
        ("5k files", Shape::BENCH),
        (
            "50k files",
            Shape {
                files: 50_000,
                dirs: 2_000,
                commits: 100,
            },
        ),
    ];
    let engines: [Arc<dyn GitBackend>; 2] = [
        Arc::new(gitapi_git2::Git2Backend::new(gitapi_git2::Config::new(
            data.path(),
        ))),
        Arc::new(gitapi_shell::ShellBackend::new(gitapi_shell::Config::new(
            data.path(),
        ))),
    ];
    let main = Rev::new("refs/heads/main")?;
    println!("| repository | engine | lookup | calls | p50 | p99 | p99.9 |");
    println!("|---|---|---|---|---|---|---|");
    let mut filters = Vec::new();
    for (label, shape) in shapes {
        let repo = RepoName::new(format!("p{}", shape.files))?;
        bigrepo::build(&layout.repo_dir(&repo), shape);
        let path = |f: usize| RepoPath::new(shape.path(f)).expect("a valid path");
        let missing_file = |f: usize| {
            RepoPath::new(format!("dir{}/nofile{f}.txt", f % shape.dirs)).expect("a valid path")
        };
        let missing_dir =
            |f: usize| RepoPath::new(format!("nodir{f}/file0.txt")).expect("a valid path");
        for e in &engines {
            let lookup = |p: RepoPath| {
                e.blob_header(
                    &repo,
                    BlobRef::ByPath {
                        rev: main.clone(),
                        path: p,
                    },
                )
            };
            // One pass first, so every row is measured warm.
            time(100, true, |i| lookup(path(i * 7919 % shape.files))).await;
            let existing = time(calls, true, |i| lookup(path(i * 7919 % shape.files))).await;
            row(label, e.name(), "existing path", calls, existing);
            let missing = time(calls, false, |i| lookup(missing_file(i))).await;
            row(label, e.name(), "missing file", calls, missing);
            let missing = time(calls, false, |i| lookup(missing_dir(i))).await;
            row(label, e.name(), "missing directory", calls, missing);
        }

        // The filter of the root tree at `main`: every file and directory path.
        let engine = &engines[0];
        let build = Instant::now();
        let entries = engine
            .list_tree(
                &repo,
                ListTree {
                    rev: main.clone(),
                    path: None,
                    recursive: true,
                },
            )
            .await?;
        let listed = build.elapsed();
        let mut bloom = Bloom::for_items(entries.len());
        for entry in &entries {
            bloom.insert(entry.path.as_str());
        }
        let built = build.elapsed();
        let probe = |name: String| {
            let start = Instant::now();
            let maybe = bloom.may_contain(&name);
            (start.elapsed(), maybe)
        };
        let mut hit_times = Vec::with_capacity(calls);
        let mut miss_times = Vec::with_capacity(calls);
        let mut false_positives = 0;
        for i in 0..calls {
            let (t, maybe) = probe(shape.path(i * 7919 % shape.files));
            assert!(maybe, "a Bloom filter has no false negatives");
            hit_times.push(t);
            let (t, maybe) = probe(missing_file(i).as_str().to_owned());
            false_positives += usize::from(maybe);
            miss_times.push(t);
        }
        row(label, "filter", "check, existing path", calls, hit_times);
        row(label, "filter", "check, missing path", calls, miss_times);
        filters.push((
            label,
            entries.len(),
            listed,
            built,
            bloom.bytes(),
            false_positives,
        ));
    }
    println!();
    println!(
        "| repository | paths | list the tree (libgit2) | list + build the filter | filter size | false positives |"
    );
    println!("|---|---|---|---|---|---|");
    for (label, paths, listed, built, bytes, fp) in filters {
        println!(
            "| {label} | {paths} | {listed:.1?} | {built:.1?} | {:.1} KiB | {fp} of {calls} |",
            bytes as f64 / 1024.0
        );
    }
    Ok(())
}
