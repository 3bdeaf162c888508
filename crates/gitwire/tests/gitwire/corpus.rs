//! Every file of the fuzz corpora, fed to the same parser functions the fuzz targets call:
//! any input may be rejected, none may panic.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect()
}

#[test]
fn pktline_corpus() {
    for data in corpus("pktline") {
        let _ = gitwire::pktline::decode_all(&data);
    }
}

#[test]
fn pack_corpus() {
    let mut parsed = 0;
    for data in corpus("pack") {
        if gitwire::pack::parse_pack(&data, 1 << 24).is_ok() {
            parsed += 1;
        }
    }
    assert!(parsed > 0, "the corpus holds at least one valid pack");
}

#[test]
fn ref_and_ofs_delta_packs_resolve_every_object() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/pack");
    for name in ["deltas-ref.pack", "deltas-ofs.pack"] {
        let data = std::fs::read(dir.join(name)).expect("read");
        // `git verify-pack`: 29 objects, 8 of them deltas (one chain of length 2).
        let objects = gitwire::pack::parse_pack(&data, 1 << 24).expect(name);
        assert_eq!(objects.len(), 29, "{name}");
    }
}

#[test]
fn delta_corpus() {
    for data in corpus("delta") {
        // First byte splits base and delta, as in the fuzz target.
        let split =
            usize::from(data.first().copied().unwrap_or(0)).min(data.len().saturating_sub(1));
        let (base, delta) = data.split_at(split);
        let _ = gitwire::pack::apply_delta(base, delta, 1 << 24);
    }
}
