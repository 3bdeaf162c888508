//! Blob headers and blob streams against git: `blob_header` reads no content and agrees with
//! `git cat-file -s` and `git ls-tree`; `stream_blob` gives `git cat-file blob`'s bytes in
//! chunks of at most 64 KiB, for a loose and for a packed object, and keeps memory bounded.

use std::io::Write;

use futures::{StreamExt, TryStreamExt};
use gitapi_core::{BlobRef, FileMode};

use super::*;

/// The largest chunk a blob stream may hand out.
pub const MAX_CHUNK: usize = 64 * 1024;

/// Pseudo-random bytes (xorshift), `len` of them, fed to `sink` in pieces of 1 MiB so no
/// caller needs them whole.
fn random_bytes(len: usize, seed: u32, mut sink: impl FnMut(&[u8])) {
    let mut state = seed.max(1);
    let mut buf = Vec::with_capacity(1 << 20);
    let mut left = len;
    while left > 0 {
        buf.clear();
        for _ in 0..left.min(1 << 20) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            buf.push((state >> 24) as u8);
        }
        left -= buf.len();
        sink(&buf);
    }
}

/// The mode and size git gives a file at `main:<p>`.
fn git_mode_and_size(h: &Harness, r: &RepoName, p: &str) -> (String, u64) {
    let ls = h.git_repo(r, &["ls-tree", "main", "--", p]);
    let mode = ls.split(' ').next().expect("ls-tree mode").to_owned();
    let size = h
        .git_repo(r, &["cat-file", "-s", &format!("main:{p}")])
        .trim()
        .parse()
        .expect("cat-file -s");
    (mode, size)
}

fn mode_octal(m: Option<FileMode>) -> Option<String> {
    m.map(|m| format!("{:06o}", m.bits()))
}

async fn assert_stream_matches_git(h: &Harness, r: &RepoName, blob: BlobRef, want: &[u8]) {
    let s = h.engine.stream_blob(r, blob).await.expect("stream_blob");
    assert_eq!(s.size, want.len() as u64);
    let chunks: Vec<bytes::Bytes> = s.chunks.try_collect().await.expect("every chunk");
    assert!(chunks.len() > 1, "a multi-MB blob comes in several chunks");
    assert!(
        chunks.iter().all(|c| c.len() <= MAX_CHUNK),
        "no chunk exceeds 64 KiB"
    );
    let joined: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    assert!(joined == want, "streamed bytes equal git cat-file blob");
}

/// `blob_header` and `stream_blob` agree with git for a multi-MB blob, loose and then packed
/// (`git repack -adf`), by path and by id; a stream dropped early ends cleanly.
pub async fn blob_header_and_stream_loose_and_packed(factory: Factory) {
    let h = Harness::new(&factory);
    let mut big = Vec::new();
    random_bytes(5 * 1024 * 1024 + 3, 0xbeef, |b| big.extend_from_slice(b));
    let f = h.fixture("blobs", |w| {
        w.write("big.bin", &big);
        w.write("small.txt", "small\n");
        w.write("tool.sh", "#!/bin/sh\n");
        w.set_executable("tool.sh", true);
        w.commit_all("blobs");
    });
    let r = &f.repo;
    for packed in [false, true] {
        if packed {
            h.git_repo(r, &["repack", "-adf", "-q"]);
            let loose = h.git_repo(r, &["count-objects"]);
            assert!(loose.starts_with("0 objects"), "all packed: {loose}");
        } else {
            let oid = h.rev(r, "main:big.bin").to_string();
            let p = h
                .repo_dir(r)
                .join("objects")
                .join(&oid[..2])
                .join(&oid[2..]);
            assert!(p.is_file(), "the big blob starts loose");
        }
        for p in ["big.bin", "small.txt", "tool.sh"] {
            let (mode, size) = git_mode_and_size(&h, r, p);
            let id = h.rev(r, &format!("main:{p}"));
            let by_path = BlobRef::ByPath {
                rev: rev("main"),
                path: path(p),
            };
            let hd = h
                .engine
                .blob_header(r, by_path.clone())
                .await
                .expect("blob_header by path");
            assert_eq!((hd.oid, hd.size), (id, size), "{p} (packed: {packed})");
            assert_eq!(mode_octal(hd.mode).as_deref(), Some(mode.as_str()), "{p}");
            let hd = h
                .engine
                .blob_header(r, BlobRef::ByOid(id))
                .await
                .expect("blob_header by id");
            assert_eq!((hd.oid, hd.size, hd.mode), (id, size, None), "{p}");
        }
        let want = h.cat_blob(r, "main:big.bin");
        assert!(want == big);
        let id = h.rev(r, "main:big.bin");
        assert_stream_matches_git(
            &h,
            r,
            BlobRef::ByPath {
                rev: rev("main"),
                path: path("big.bin"),
            },
            &want,
        )
        .await;
        assert_stream_matches_git(&h, r, BlobRef::ByOid(id), &want).await;
        // A stream dropped after one chunk ends its reader; the next read works.
        let mut s = h
            .engine
            .stream_blob(r, BlobRef::ByOid(id))
            .await
            .expect("stream_blob");
        assert!(matches!(s.chunks.next().await, Some(Ok(_))));
        drop(s);
        assert_stream_matches_git(&h, r, BlobRef::ByOid(id), &want).await;
    }
    // Errors as read_blob gives them.
    let missing = Oid::from_hex("0123456789012345678901234567890123456789").expect("hex");
    expect_kind(
        h.engine.blob_header(r, BlobRef::ByOid(missing)).await,
        ErrorKind::NotFound,
    );
    let tree = h.rev(r, "main^{tree}");
    expect_kind(
        h.engine.blob_header(r, BlobRef::ByOid(tree)).await,
        ErrorKind::InvalidArgument,
    );
}

/// A figure from `/proc/self/status` in KiB (`VmRSS`, `RssAnon`, ...).
pub fn proc_status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What a bounded-memory stream of a 64 MiB blob measured.
#[derive(Debug, Clone, Copy)]
pub struct StreamMemory {
    /// Whether the blob was packed.
    pub packed: bool,
    /// The rise of `VmRSS` over the baseline once the stream was consumed and dropped, in KiB.
    pub vm_rss_rise_kib: u64,
    /// The largest rise of `VmRSS` while streaming, in KiB: it includes file pages the engine
    /// maps (libgit2 maps a loose object's compressed file while it inflates it), which are
    /// page cache, not a copy of the blob.
    pub vm_rss_peak_rise_kib: u64,
    /// The largest rise of `RssAnon` (heap and other private memory) over the baseline, in KiB.
    pub rss_anon_rise_kib: u64,
}

/// Streams a 64 MiB blob (loose, then packed) through `stream_blob` and measures this
/// process's memory while it does: every chunk is at most 64 KiB, the bytes are git's (by a
/// checksum computed while the blob was written), the private memory (`RssAnon`: heap, buffers)
/// never rises by 16 MiB at any point while streaming, and `VmRSS` after the stream is consumed
/// is less than 16 MiB above the baseline. Not part of the listed suite: it measures the whole test process, so the engine
/// crates run it alone in its own binary. Returns the figures.
pub async fn stream_blob_memory_is_bounded(engine: Factory) -> Vec<StreamMemory> {
    const SIZE: usize = 64 * 1024 * 1024;
    const LIMIT_KIB: u64 = 16 * 1024;
    let h = Harness::new(&engine);
    let r = h.init("huge").await;
    // Written by git from a file, never held whole here.
    let file = h.scratch("huge").join("huge.bin");
    let mut sum = 0u64;
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        random_bytes(SIZE, 0x5eed, |b| {
            sum = checksum(sum, b);
            out.write_all(b).expect("write");
        });
        out.flush().expect("flush");
    }
    let oid = h.git_repo(
        &r,
        &["hash-object", "-w", file.to_str().expect("UTF-8 temp path")],
    );
    let id = crate::conformance::oid(&oid);
    // A tag keeps the blob reachable, so repack packs it.
    h.git_repo(&r, &["tag", "huge", &id.to_string()]);
    std::fs::remove_file(&file).expect("remove the source file");
    let mut figures = Vec::new();
    for packed in [false, true] {
        if packed {
            h.git_repo(&r, &["repack", "-adf", "-q"]);
        }
        // Warm up everything that is not the stream (handles, processes, caches).
        h.engine
            .blob_header(&r, BlobRef::ByOid(id))
            .await
            .expect("blob_header");
        let rss0 = proc_status_kib("VmRSS");
        let anon0 = proc_status_kib("RssAnon");
        let mut s = h
            .engine
            .stream_blob(&r, BlobRef::ByOid(id))
            .await
            .expect("stream_blob");
        assert_eq!(s.size, SIZE as u64);
        let (mut rss_peak, mut anon_peak, mut got, mut streamed) = (rss0, anon0, 0usize, 0u64);
        let mut n = 0usize;
        while let Some(chunk) = s.chunks.next().await {
            let chunk = chunk.expect("chunk");
            assert!(chunk.len() <= MAX_CHUNK, "a chunk of {} bytes", chunk.len());
            got += chunk.len();
            streamed = checksum(streamed, &chunk);
            n += 1;
            if n.is_multiple_of(16) {
                rss_peak = rss_peak.max(proc_status_kib("VmRSS"));
                anon_peak = anon_peak.max(proc_status_kib("RssAnon"));
            }
        }
        rss_peak = rss_peak.max(proc_status_kib("VmRSS"));
        anon_peak = anon_peak.max(proc_status_kib("RssAnon"));
        drop(s);
        assert_eq!(got, SIZE);
        assert_eq!(streamed, sum, "the streamed bytes are the blob's");
        let m = StreamMemory {
            packed,
            vm_rss_rise_kib: proc_status_kib("VmRSS").saturating_sub(rss0),
            vm_rss_peak_rise_kib: rss_peak.saturating_sub(rss0),
            rss_anon_rise_kib: anon_peak.saturating_sub(anon0),
        };
        eprintln!("stream of a 64 MiB blob: {m:?}");
        assert!(
            m.rss_anon_rise_kib < LIMIT_KIB,
            "private memory rose by {} KiB while streaming a 64 MiB blob: {m:?}",
            m.rss_anon_rise_kib
        );
        assert!(
            m.vm_rss_rise_kib < LIMIT_KIB,
            "VmRSS rose by {} KiB after streaming a 64 MiB blob: {m:?}",
            m.vm_rss_rise_kib
        );
        figures.push(m);
    }
    figures
}

/// An order-dependent checksum (FNV-1a over 64 bits), fed in pieces.
fn checksum(mut h: u64, bytes: &[u8]) -> u64 {
    if h == 0 {
        h = 0xcbf2_9ce4_8422_2325;
    }
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
