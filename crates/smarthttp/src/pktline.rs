//! pkt-lines, the framing of every Git protocol message: four hex digits of length (the
//! length counts itself), then the payload; `0000` flush, `0001` delimiter, `0002` response end
//! (gitprotocol-common(5)).

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;

use gitapi_core::{Error, Result};

/// The largest pkt-line, length header included (git's `LARGE_PACKET_MAX`).
pub(crate) const MAX_LEN: usize = 65520;

/// A flush packet.
pub(crate) const FLUSH: &[u8] = b"0000";

/// One framed packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Packet {
    /// `0000`.
    Flush,
    /// `0001` (protocol v2: between a command's capabilities and its arguments).
    Delim,
    /// `0002` (protocol v2: end of a stateless response).
    End,
    /// A payload.
    Data(Bytes),
}

impl Packet {
    /// The payload without its trailing newline, for text lines.
    pub(crate) fn text(&self) -> Option<&[u8]> {
        match self {
            Self::Data(d) => Some(d.strip_suffix(b"\n").unwrap_or(d)),
            _ => None,
        }
    }
}

/// Appends `payload` as one pkt-line (split by the caller when it could be too long).
pub(crate) fn put(out: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() + 4 <= MAX_LEN, "pkt-line too long");
    out.extend_from_slice(format!("{:04x}", payload.len() + 4).as_bytes());
    out.extend_from_slice(payload);
}

/// Appends a text line (with its newline) as one pkt-line.
pub(crate) fn put_line(out: &mut Vec<u8>, line: &str) {
    let mut payload = Vec::with_capacity(line.len() + 1);
    payload.extend_from_slice(line.as_bytes());
    payload.push(b'\n');
    put(out, &payload);
}

/// Reads pkt-lines from a request body, then hands over what is left (a pack) as a stream.
pub(crate) struct Reader {
    buf: BytesMut,
    body: BoxStream<'static, Result<Bytes>>,
    ended: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

fn malformed(why: &str) -> Error {
    Error::invalid(format!("malformed pkt-line: {why}"))
}

impl Reader {
    pub(crate) fn new(body: BoxStream<'static, Result<Bytes>>) -> Self {
        Self {
            buf: BytesMut::new(),
            body,
            ended: false,
        }
    }

    /// Reads until `n` bytes are buffered; false at the end of the body.
    async fn fill(&mut self, n: usize) -> Result<bool> {
        while self.buf.len() < n {
            if self.ended {
                return Ok(false);
            }
            match self.body.next().await {
                Some(chunk) => self.buf.extend_from_slice(&chunk?),
                None => self.ended = true,
            }
        }
        Ok(true)
    }

    /// The next packet; `None` at a clean end of the body.
    pub(crate) async fn next(&mut self) -> Result<Option<Packet>> {
        if !self.fill(4).await? {
            return if self.buf.is_empty() {
                Ok(None)
            } else {
                Err(malformed("the body ends inside a length"))
            };
        }
        let len = std::str::from_utf8(&self.buf[..4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| malformed("the length is not four hex digits"))?;
        let packet = match len {
            0 => Packet::Flush,
            1 => Packet::Delim,
            2 => Packet::End,
            3 => return Err(malformed("length 3")),
            n if n > MAX_LEN => return Err(malformed("longer than 65520 bytes")),
            n => {
                if !self.fill(n).await? {
                    return Err(malformed("the body ends inside a packet"));
                }
                let mut data = self.buf.split_to(n);
                data.advance(4);
                return Ok(Some(Packet::Data(data.freeze())));
            }
        };
        self.buf.advance(4);
        Ok(Some(packet))
    }

    /// Whether the body has nothing after what was read.
    pub(crate) async fn at_end(&mut self) -> Result<bool> {
        Ok(!self.fill(1).await?)
    }

    /// Everything not read yet, as a stream (what was buffered first).
    pub(crate) fn rest(self) -> BoxStream<'static, Result<Bytes>> {
        let head = self.buf.freeze();
        let first = futures::stream::iter((!head.is_empty()).then_some(Ok(head)));
        first.chain(self.body).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunked(bytes: Vec<u8>, cut: usize) -> BoxStream<'static, Result<Bytes>> {
        let chunks: Vec<Result<Bytes>> = bytes
            .chunks(cut.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::iter(chunks).boxed()
    }

    proptest! {
        // Whatever the chunking of the body, the packets and the rest come out as written.
        #[test]
        fn packets_and_rest_survive_any_chunking(
            lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..8),
            rest in proptest::collection::vec(any::<u8>(), 0..500),
            cut in 1usize..64,
        ) {
            let mut body = Vec::new();
            for l in &lines {
                put(&mut body, l);
            }
            body.extend_from_slice(FLUSH);
            body.extend_from_slice(&rest);
            let rt = tokio::runtime::Builder::new_current_thread().build().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (got, tail) = rt.block_on(async {
                let mut r = Reader::new(chunked(body, cut));
                let mut got = Vec::new();
                while let Some(Packet::Data(d)) = r.next().await? {
                    got.push(d.to_vec());
                }
                let tail: Vec<Bytes> = r.rest().collect::<Vec<_>>().await.into_iter().collect::<Result<_>>()?;
                Ok::<_, Error>((got, tail.concat()))
            }).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(got, lines);
            prop_assert_eq!(tail, rest);
        }
    }

    #[tokio::test]
    async fn bad_lengths_are_invalid_argument() {
        for body in [&b"00x1"[..], b"0003", b"ffff", b"0009abc"] {
            let mut r = Reader::new(chunked(body.to_vec(), 2));
            let err = r.next().await.err().map(|e| e.kind());
            assert_eq!(
                err,
                Some(gitapi_core::ErrorKind::InvalidArgument),
                "{body:?}"
            );
        }
    }
}
