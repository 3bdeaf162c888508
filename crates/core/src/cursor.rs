//! The one cursor codec of every listing, and pagination of sorted items.
//!
//! A cursor is opaque to clients: base64url (no padding) of a tag and a value. Two kinds:
//!
//! - **key** (`k`): the sort key of the last item of the page (a ref name, a path, a
//!   repository name). The next page starts after it, so an item added or removed elsewhere
//!   never makes a page repeat or skip one that stayed.
//! - **offset** (`o`): a position, for listings with no stable key (a log walk, the stash).
//!
//! A cursor of the wrong kind for a listing, or one that does not decode, is
//! `InvalidArgument`.
//!
//! ```
//! use gitapi_core::cursor;
//! let c = cursor::encode_key("refs/heads/main");
//! assert_eq!(cursor::decode_key(&c)?, "refs/heads/main");
//! assert!(cursor::decode_offset(&c).is_err());
//! # Ok::<(), gitapi_core::Error>(())
//! ```

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::model::{Page, PageRequest};

/// The longest cursor accepted (a key cursor carries at most a 4 KiB key).
const MAX_CURSOR: usize = 6 * 1024;

fn encode(tag: char, value: &str) -> String {
    let mut raw = String::with_capacity(value.len() + 1);
    raw.push(tag);
    raw.push_str(value);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_bytes())
}

fn decode(c: &str, tag: char) -> Result<String> {
    let bad = || Error::invalid(format!("cursor {:?} is not valid", truncate(c)));
    if c.len() > MAX_CURSOR {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix(tag).map(str::to_owned).ok_or_else(bad)
}

fn truncate(c: &str) -> &str {
    match c.char_indices().nth(64) {
        Some((i, _)) => &c[..i],
        None => c,
    }
}

/// A cursor that starts the next page after the item whose sort key is `key`.
pub fn encode_key(key: &str) -> String {
    encode('k', key)
}

/// The key a cursor made by [`encode_key`] names.
pub fn decode_key(c: &str) -> Result<String> {
    decode(c, 'k')
}

/// A cursor that starts the next page at position `n`.
pub fn encode_offset(n: usize) -> String {
    encode('o', &n.to_string())
}

/// The position a cursor made by [`encode_offset`] names.
pub fn decode_offset(c: &str) -> Result<usize> {
    decode(c, 'o')?
        .parse()
        .map_err(|_| Error::invalid(format!("cursor {:?} is not valid", truncate(c))))
}

/// One page of `items`, which are sorted by `key` ascending: those after the request's key
/// cursor, at most its effective limit.
pub fn page_by_key<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> &str,
    page: &PageRequest,
) -> Result<Page<T>> {
    let after = page.cursor.as_deref().map(decode_key).transpose()?;
    let limit = page.effective_limit();
    let mut out = Vec::new();
    let mut more = false;
    for item in items {
        if after.as_deref().is_some_and(|a| key(&item) <= a) {
            continue;
        }
        if out.len() == limit {
            more = true;
            break;
        }
        out.push(item);
    }
    let next_cursor = match (more, out.last()) {
        (true, Some(last)) => Some(encode_key(key(last))),
        _ => None,
    };
    Ok(Page {
        items: out,
        next_cursor,
    })
}

/// One page of `items` by position: those from the request's offset cursor on, at most its
/// effective limit.
pub fn page_by_offset<T>(
    items: impl IntoIterator<Item = T>,
    page: &PageRequest,
) -> Result<Page<T>> {
    let start = page.cursor.as_deref().map(decode_offset).transpose()?;
    let start = start.unwrap_or(0);
    let limit = page.effective_limit();
    let mut iter = items.into_iter().skip(start);
    let out: Vec<T> = iter.by_ref().take(limit).collect();
    let more = iter.next().is_some();
    let next_cursor = more.then(|| encode_offset(start.saturating_add(out.len())));
    Ok(Page {
        items: out,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(limit: usize, cursor: Option<String>) -> PageRequest {
        PageRequest { limit, cursor }
    }

    #[test]
    fn key_pages_walk_every_item_once() -> Result<()> {
        let names: Vec<String> = (0..25).map(|i| format!("n{i:02}")).collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = page_by_key(names.clone(), |s| s.as_str(), &req(10, cursor))?;
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, names);
        Ok(())
    }

    #[test]
    fn offset_pages_walk_every_item_once() -> Result<()> {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let p = page_by_offset(0..21, &req(5, cursor))?;
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, (0..21).collect::<Vec<_>>());
        Ok(())
    }

    #[test]
    fn a_cursor_of_the_other_kind_or_garbage_is_invalid() {
        let key = encode_key("x");
        let off = encode_offset(3);
        assert!(decode_offset(&key).is_err());
        assert!(decode_key(&off).is_err());
        for bad in ["!!", "", &"A".repeat(10_000)] {
            assert!(decode_key(bad).is_err());
        }
        assert!(decode_offset(&encode('o', "-1")).is_err());
    }
}
