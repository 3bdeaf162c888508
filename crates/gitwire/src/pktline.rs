//! pkt-line framing (gitprotocol-common): four hex digits of length, then data.
//!
//! Decoding works on a byte slice and reports "need more bytes" instead of failing, so the same
//! function serves the streaming response reader and the fuzz target.

/// Largest pkt-line git sends or accepts, length prefix included.
pub const MAX_PKT_LEN: usize = 65520;

/// Bytes of data one pkt-line can carry.
pub const MAX_DATA_LEN: usize = MAX_PKT_LEN - 4;

/// One decoded pkt-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PktLine<'a> {
    /// `0000`: end of a message.
    Flush,
    /// `0001`: end of a section (protocol v2).
    Delim,
    /// `0002`: end of a response (protocol v2, stateless connections).
    ResponseEnd,
    /// A data line (its payload, trailing newline kept).
    Data(&'a [u8]),
}

impl<'a> PktLine<'a> {
    /// The payload with one trailing newline removed, for text lines.
    pub fn text(&self) -> Option<&'a [u8]> {
        match self {
            PktLine::Data(d) => Some(d.strip_suffix(b"\n").unwrap_or(d)),
            _ => None,
        }
    }
}

/// Malformed pkt-line framing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The length prefix is not four hexadecimal digits.
    #[error("invalid pkt-line length prefix {0:?}")]
    BadLength(String),
    /// Length 3 is reserved and lengths over 65520 are not allowed.
    #[error("pkt-line length {0} is out of range")]
    OutOfRange(usize),
}

/// Decodes the pkt-line at the start of `buf`.
///
/// Returns `Ok(None)` when `buf` holds only part of a line, else the line and the number of
/// bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(PktLine<'_>, usize)>, Error> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let mut len = 0usize;
    for &c in prefix {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => {
                return Err(Error::BadLength(
                    String::from_utf8_lossy(prefix).into_owned(),
                ));
            }
        };
        len = (len << 4) | usize::from(v);
    }
    let line = match len {
        0 => PktLine::Flush,
        1 => PktLine::Delim,
        2 => PktLine::ResponseEnd,
        3 => return Err(Error::OutOfRange(len)),
        n if n > MAX_PKT_LEN => return Err(Error::OutOfRange(len)),
        n => match buf.get(4..n) {
            Some(data) => return Ok(Some((PktLine::Data(data), n))),
            None => return Ok(None),
        },
    };
    Ok(Some((line, 4)))
}

/// Decodes every complete pkt-line of `buf`; the fuzz target and corpus tests call this.
pub fn decode_all(mut buf: &[u8]) -> Result<Vec<PktLine<'_>>, Error> {
    let mut out = Vec::new();
    while let Some((line, used)) = decode(buf)? {
        out.push(line);
        buf = &buf[used..];
    }
    Ok(out)
}

/// Appends a data line; callers split payloads longer than [`MAX_DATA_LEN`].
pub fn encode_data(out: &mut Vec<u8>, data: &[u8]) {
    debug_assert!(data.len() <= MAX_DATA_LEN, "pkt-line payload too long");
    out.extend_from_slice(format!("{:04x}", data.len() + 4).as_bytes());
    out.extend_from_slice(data);
}

/// Appends a text line, adding the newline git expects after text.
pub fn encode_text(out: &mut Vec<u8>, text: &str) {
    let mut line = Vec::with_capacity(text.len() + 1);
    line.extend_from_slice(text.as_bytes());
    line.push(b'\n');
    encode_data(out, &line);
}

/// Appends a flush packet.
pub fn encode_flush(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0000");
}

/// Appends a delimiter packet.
pub fn encode_delim(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0001");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_special_and_data_lines() {
        let buf = b"0000000100020009hello0006a";
        let lines = decode_all(buf).expect("valid framing");
        assert_eq!(
            lines,
            vec![
                PktLine::Flush,
                PktLine::Delim,
                PktLine::ResponseEnd,
                PktLine::Data(b"hello")
            ]
        );
        // "0006a" is a partial line: needs one more byte.
        assert_eq!(decode(b"0006a"), Ok(None));
    }

    #[test]
    fn rejects_bad_prefixes() {
        assert!(decode(b"00zz").is_err());
        assert!(decode(b"0003").is_err());
        assert!(decode(b"fff1").is_err());
    }

    #[test]
    fn encodes_like_git() {
        let mut out = Vec::new();
        encode_text(&mut out, "command=ls-refs");
        encode_delim(&mut out);
        encode_flush(&mut out);
        assert_eq!(out, b"0014command=ls-refs\n00010000");
    }
}
