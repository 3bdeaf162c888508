//! Git's rename and copy similarity score (`similarity index N%`), computed the way git does
//! (`diffcore-delta.c`, `diffcore-rename.c`), so every engine reports git's number.
//!
//! Git cuts each file into chunks that end at a newline or after 64 bytes, hashes each chunk,
//! and counts bytes per hash. The bytes of the destination whose chunks also occur in the
//! source (up to the source's count per hash) are "copied"; the score is copied bytes over the
//! larger file's size, on a scale of 60,000, shown as a percentage rounded down. libgit2 uses
//! another estimate, which gave 95 where git gives 90 (found by the strict canary).
//!
//! ```
//! use gitapi_core::similarity::similarity_index;
//! assert_eq!(similarity_index(b"a\nb\nc\nd\n", b"a\nb\nc\nd\n"), 100);
//! assert_eq!(similarity_index(b"a\nb\nc\nd\n", b"a\nb\nc\nX\n"), 75);
//! ```

use std::collections::HashMap;

/// Git's `MAX_SCORE`.
const MAX_SCORE: u64 = 60_000;
/// Git's `HASHBASE`: chunk hashes are taken modulo this prime.
const HASHBASE: u32 = 107_927;

/// Bytes per chunk hash, as git's `hash_chars` counts them.
fn chunk_counts(buf: &[u8], is_text: bool) -> HashMap<u32, u64> {
    let mut counts = HashMap::new();
    let (mut accum1, mut accum2, mut n) = (0u32, 0u32, 0u64);
    let mut i = 0;
    while i < buf.len() {
        let c = buf[i];
        i += 1;
        // A CR of a CRLF pair is ignored in text.
        if is_text && c == b'\r' && buf.get(i) == Some(&b'\n') {
            continue;
        }
        let old_1 = accum1;
        accum1 = (accum1 << 7) ^ (accum2 >> 25);
        accum2 = (accum2 << 7) ^ (old_1 >> 25);
        accum1 = accum1.wrapping_add(u32::from(c));
        n += 1;
        if n < 64 && c != b'\n' {
            continue;
        }
        let hash = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *counts.entry(hash).or_insert(0) += n;
        n = 0;
        accum1 = 0;
        accum2 = 0;
    }
    if n > 0 {
        let hash = accum1.wrapping_add(accum2.wrapping_mul(0x61)) % HASHBASE;
        *counts.entry(hash).or_insert(0) += n;
    }
    counts
}

use crate::diff::buffer_is_binary as is_binary;

/// Git's score of `dst` as a rename or copy of `src`, on git's scale of 0 to 60,000.
pub fn score(src: &[u8], dst: &[u8]) -> u64 {
    let max_size = src.len().max(dst.len()) as u64;
    if dst.is_empty() || max_size == 0 {
        return 0;
    }
    let s = chunk_counts(src, !is_binary(src));
    let d = chunk_counts(dst, !is_binary(dst));
    let copied: u64 = d
        .iter()
        .map(|(h, &dc)| s.get(h).map_or(0, |&sc| sc.min(dc)))
        .sum();
    copied * MAX_SCORE / max_size
}

/// The percentage git prints as `similarity index N%` for `dst` renamed or copied from `src`.
pub fn similarity_index(src: &[u8], dst: &[u8]) -> u8 {
    if src == dst {
        return 100;
    }
    let pct = score(src, dst) * 100 / MAX_SCORE;
    u8::try_from(pct.min(100)).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_is_100_and_disjoint_is_0() {
        assert_eq!(similarity_index(b"same\n", b"same\n"), 100);
        assert_eq!(similarity_index(b"aaaa\n", b"bbbb\n"), 0);
    }

    #[test]
    fn crlf_counts_as_lf_in_text() {
        assert_eq!(
            score(b"a\r\nb\r\n", b"a\nb\n"),
            score(b"a\nb\n", b"a\nb\n") * 4 / 6
        );
    }
}
