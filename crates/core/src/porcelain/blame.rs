//! The engine-independent rules of blame: which line ranges are valid, and how the hunks an
//! engine found become the answer.

use crate::error::{Error, Result};
use crate::model::BlameHunk;

/// The number of lines of `content` as `git blame` counts them: a final line without a newline
/// counts, an empty file has none.
pub fn line_count(content: &[u8]) -> u32 {
    let mut total = content.split(|b| *b == b'\n').count();
    if content.ends_with(b"\n") || content.is_empty() {
        total -= 1;
    }
    u32::try_from(total).unwrap_or(u32::MAX)
}

/// The range to blame for the caller's `lines` in a file of `total` lines, as `git blame -L`
/// takes it: a start of 0, past the end or after the end is `InvalidArgument`; an end past the
/// last line is clamped to it.
pub fn line_range(lines: Option<(u32, u32)>, total: u32) -> Result<Option<(u32, u32)>> {
    let Some((start, end)) = lines else {
        return Ok(None);
    };
    if start == 0 || end < start || start > total {
        return Err(Error::invalid(format!(
            "line range {start},{end} is outside the file's {total} lines"
        )));
    }
    Ok(Some((start, end.min(total))))
}

/// The answer from hunks in any order and split in any way: ordered by final line, runs that
/// continue each other (same commit and path, consecutive lines on both sides) joined, and
/// empty hunks dropped, so every engine reports the same hunks whatever its internal splits.
pub fn finish(mut hunks: Vec<BlameHunk>) -> Vec<BlameHunk> {
    hunks.retain(|h| h.lines > 0);
    hunks.sort_by_key(|h| h.final_start);
    let mut out: Vec<BlameHunk> = Vec::with_capacity(hunks.len());
    for h in hunks {
        if let Some(last) = out.last_mut()
            && last.commit == h.commit
            && last.orig_path == h.orig_path
            && last.final_start + last.lines == h.final_start
            && last.orig_start + last.lines == h.orig_start
        {
            last.lines += h.lines;
            continue;
        }
        out.push(h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid::Oid;

    fn hunk(commit: u8, orig: u32, fin: u32, lines: u32) -> BlameHunk {
        BlameHunk {
            commit: Oid::from_bytes([commit; 20]),
            orig_path: "f".to_owned(),
            orig_start: orig,
            final_start: fin,
            lines,
        }
    }

    #[test]
    fn counts_lines_as_git() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a"), 1);
        assert_eq!(line_count(b"a\n"), 1);
        assert_eq!(line_count(b"a\nb"), 2);
    }

    #[test]
    fn ranges_as_blame_l() {
        assert_eq!(line_range(None, 3).expect("ok"), None);
        assert_eq!(line_range(Some((2, 9)), 3).expect("ok"), Some((2, 3)));
        assert!(line_range(Some((0, 1)), 3).is_err());
        assert!(line_range(Some((4, 4)), 3).is_err());
        assert!(line_range(Some((3, 2)), 3).is_err());
    }

    #[test]
    fn finish_orders_and_joins() {
        let v = finish(vec![hunk(1, 3, 3, 1), hunk(1, 1, 1, 2), hunk(2, 1, 4, 1)]);
        assert_eq!(v, vec![hunk(1, 1, 1, 3), hunk(2, 1, 4, 1)]);
        // Not consecutive on the original side: kept apart.
        let v = finish(vec![hunk(1, 1, 1, 1), hunk(1, 5, 2, 1)]);
        assert_eq!(v.len(), 2);
    }
}
