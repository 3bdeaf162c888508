//! Pack files (gitformat-pack): an incremental reader that resolves `OFS_DELTA` and `REF_DELTA`
//! chains, a delta decoder, and a writer of packs of whole objects for push.
//!
//! This is hand-written rather than built on `gix-pack`: gix-pack resolves deltas through an
//! index it writes first, while gitwire wants to resolve objects while the response is still
//! arriving so it can stop reading once the wanted objects are in, and keep no pack on disk.
//! Every length read from the network is checked before it is trusted, and the `pack` and
//! `delta` fuzz targets exercise both parsers.

use std::collections::HashMap;
use std::io::Write;

use flate2::{Decompress, FlushDecompress, Status};
use sha1::{Digest, Sha1};

use crate::object::{Kind, Object};
use crate::oid::Oid;

/// Malformed or unusable pack data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream does not start with `PACK`, version 2 or 3.
    #[error("not a pack: bad signature or version")]
    BadHeader,
    /// An entry header is malformed.
    #[error("malformed pack entry at offset {0}: {1}")]
    BadEntry(u64, &'static str),
    /// Zlib data is corrupt.
    #[error("corrupt zlib stream at offset {0}")]
    Zlib(u64),
    /// Inflated data does not have the size the header declared.
    #[error("object at offset {offset} inflates to a size other than the declared {declared}")]
    SizeMismatch {
        /// Entry offset.
        offset: u64,
        /// Size from the entry header.
        declared: u64,
    },
    /// An object is larger than the configured bound.
    #[error("object of {0} bytes exceeds the limit of {1} bytes")]
    ObjectTooLarge(u64, u64),
    /// A delta is malformed.
    #[error("bad delta: {0}")]
    BadDelta(&'static str),
    /// A delta's base is neither in the pack nor available elsewhere.
    #[error("delta base {0} not found")]
    MissingBase(String),
    /// The stream ended before the pack did.
    #[error("pack is truncated")]
    Truncated,
    /// The trailing checksum does not match the content.
    #[error("pack checksum mismatch")]
    Checksum,
}

/// What a delta is expressed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Base {
    Offset(u64),
    Oid(Oid),
}

#[derive(Debug)]
struct PendingDelta {
    offset: u64,
    delta: Vec<u8>,
}

/// Reads a pack incrementally: feed bytes with [`PackReader::push`] as they arrive, then call
/// [`PackReader::finish`].
#[derive(Debug)]
pub struct PackReader {
    buf: Vec<u8>,
    /// Pack offset of `buf[0]`: consumed entries are dropped from `buf`.
    offset: u64,
    hasher: Sha1,
    total: Option<u32>,
    parsed: u32,
    /// Do not retry an incomplete entry until `buf` is this long, so a big object arriving in
    /// small chunks is not inflated from its start again for every chunk (quadratic work).
    retry_at: usize,
    trailer_checked: bool,
    max_object_size: u64,
    /// Kind and id of every resolved entry by offset, for `OFS_DELTA` bases.
    by_offset: HashMap<u64, Oid>,
    objects: HashMap<Oid, Object>,
    pending: HashMap<Base, Vec<PendingDelta>>,
    pending_count: usize,
}

/// Outcome of parsing one entry.
enum Step {
    NeedMore,
    Parsed,
    Done,
}

impl PackReader {
    /// A reader that refuses objects (or delta results) over `max_object_size` bytes.
    pub fn new(max_object_size: u64) -> Self {
        PackReader {
            buf: Vec::new(),
            offset: 0,
            hasher: Sha1::new(),
            total: None,
            parsed: 0,
            retry_at: 0,
            trailer_checked: false,
            max_object_size,
            by_offset: HashMap::new(),
            objects: HashMap::new(),
            pending: HashMap::new(),
            pending_count: 0,
        }
    }

    /// Appends bytes and resolves every entry they complete.
    pub fn push(&mut self, data: &[u8]) -> Result<(), Error> {
        self.buf.extend_from_slice(data);
        if self.buf.len() < self.retry_at {
            return Ok(());
        }
        self.parse_available()
    }

    /// Whether every object has been read and the checksum verified.
    pub fn is_complete(&self) -> bool {
        self.trailer_checked
    }

    /// The objects resolved so far.
    pub fn objects(&self) -> &HashMap<Oid, Object> {
        &self.objects
    }

    /// Ends the input: parses what is left, resolves `REF_DELTA`s against `external` bases
    /// (objects the caller already holds) and returns every object.
    pub fn finish(
        mut self,
        external: impl Fn(&Oid) -> Option<Object>,
    ) -> Result<HashMap<Oid, Object>, Error> {
        self.retry_at = 0;
        self.parse_available()?;
        if !self.trailer_checked {
            return Err(Error::Truncated);
        }
        self.resolve_external(external)?;
        Ok(self.objects)
    }

    /// Ends the input early, once the caller has what it wanted; unresolved deltas are dropped.
    pub fn finish_early(
        mut self,
        external: impl Fn(&Oid) -> Option<Object>,
    ) -> Result<HashMap<Oid, Object>, Error> {
        self.retry_at = 0;
        self.parse_available()?;
        self.resolve_external(external)?;
        Ok(self.objects)
    }

    fn resolve_external(&mut self, external: impl Fn(&Oid) -> Option<Object>) -> Result<(), Error> {
        let oids: Vec<Oid> = self
            .pending
            .keys()
            .filter_map(|b| match b {
                Base::Oid(o) => Some(*o),
                Base::Offset(_) => None,
            })
            .collect();
        for oid in oids {
            if let Some(obj) = external(&oid) {
                self.resolve_children(Base::Oid(oid), &obj)?;
            }
        }
        if self.trailer_checked && self.pending_count > 0 {
            let missing = self
                .pending
                .keys()
                .next()
                .map(|b| format!("{b:?}"))
                .unwrap_or_default();
            return Err(Error::MissingBase(missing));
        }
        Ok(())
    }

    fn parse_available(&mut self) -> Result<(), Error> {
        let mut consumed = 0usize;
        let result = loop {
            match self.step(consumed) {
                Ok((Step::Parsed, used)) => consumed += used,
                Ok((Step::Done, used)) => {
                    consumed += used;
                    break Ok(());
                }
                Ok((Step::NeedMore, _)) => {
                    let left = self.buf.len() - consumed;
                    self.retry_at = (left * 2).max(left + 8192);
                    break Ok(());
                }
                Err(e) => break Err(e),
            }
        };
        // retry_at was computed on the unconsumed bytes, which drop_consumed moves to the front.
        self.drop_consumed(consumed);
        result
    }

    fn drop_consumed(&mut self, consumed: usize) {
        if consumed == 0 {
            return;
        }
        if !self.trailer_checked {
            self.hasher.update(&self.buf[..consumed]);
        }
        self.buf.drain(..consumed);
        self.offset += consumed as u64;
    }

    /// Parses the next unit at `buf[start..]`; returns what happened and the bytes it used.
    fn step(&mut self, start: usize) -> Result<(Step, usize), Error> {
        let data = &self.buf[start..];
        let Some(total) = self.total else {
            let Some(header) = data.get(..12) else {
                return Ok((Step::NeedMore, 0));
            };
            let version = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
            if &header[..4] != b"PACK" || !(version == 2 || version == 3) {
                return Err(Error::BadHeader);
            }
            self.total = Some(u32::from_be_bytes([
                header[8], header[9], header[10], header[11],
            ]));
            return Ok((Step::Parsed, 12));
        };
        if self.trailer_checked {
            return Ok((Step::Done, 0));
        }
        if self.parsed == total {
            let Some(trailer) = data.get(..20) else {
                return Ok((Step::NeedMore, 0));
            };
            // Everything before the trailer is either already hashed or in buf[..start].
            let mut hasher = self.hasher.clone();
            hasher.update(&self.buf[..start]);
            let digest: [u8; 20] = hasher.finalize().into();
            if digest != trailer {
                return Err(Error::Checksum);
            }
            self.trailer_checked = true;
            return Ok((Step::Done, 20));
        }
        let entry_offset = self.offset + start as u64;
        let Some(header) = parse_entry_header(data, entry_offset)? else {
            return Ok((Step::NeedMore, 0));
        };
        let limit = self.max_object_size;
        if header.size > limit {
            return Err(Error::ObjectTooLarge(header.size, limit));
        }
        let size =
            usize::try_from(header.size).map_err(|_| Error::ObjectTooLarge(header.size, limit))?;
        let Some((content, used)) = inflate(&data[header.len..], size, entry_offset)? else {
            return Ok((Step::NeedMore, 0));
        };
        let total_used = header.len + used;
        self.parsed += 1;
        match header.kind {
            EntryKind::Whole(kind) => {
                let obj = Object::new(kind, content);
                self.add_resolved(entry_offset, obj)?;
            }
            EntryKind::OfsDelta(distance) => {
                let base_offset = entry_offset
                    .checked_sub(distance)
                    .filter(|_| distance > 0)
                    .ok_or(Error::BadEntry(
                        entry_offset,
                        "delta base offset out of range",
                    ))?;
                self.add_delta(entry_offset, Base::Offset(base_offset), content)?;
            }
            EntryKind::RefDelta(base) => {
                self.add_delta(entry_offset, Base::Oid(base), content)?;
            }
        }
        Ok((Step::Parsed, total_used))
    }

    fn base_object(&self, base: Base) -> Option<&Object> {
        match base {
            Base::Offset(o) => self.by_offset.get(&o).and_then(|oid| self.objects.get(oid)),
            Base::Oid(oid) => self.objects.get(&oid),
        }
    }

    fn add_delta(&mut self, offset: u64, base: Base, delta: Vec<u8>) -> Result<(), Error> {
        if let Some(base_obj) = self.base_object(base) {
            let kind = base_obj.kind;
            let data = apply_delta(&base_obj.data, &delta, self.max_object_size)?;
            self.add_resolved(offset, Object::new(kind, data))
        } else {
            self.pending
                .entry(base)
                .or_default()
                .push(PendingDelta { offset, delta });
            self.pending_count += 1;
            Ok(())
        }
    }

    fn add_resolved(&mut self, offset: u64, obj: Object) -> Result<(), Error> {
        self.by_offset.insert(offset, obj.oid);
        let by_oid = Base::Oid(obj.oid);
        let by_off = Base::Offset(offset);
        let has_children = self.pending.contains_key(&by_oid) || self.pending.contains_key(&by_off);
        self.objects.insert(obj.oid, obj.clone());
        if has_children {
            self.resolve_children(by_off, &obj)?;
            self.resolve_children(by_oid, &obj)?;
        }
        Ok(())
    }

    /// Resolves deltas waiting on `base`, and their own dependents, with an explicit stack so
    /// long chains cannot overflow the call stack.
    fn resolve_children(&mut self, base: Base, base_obj: &Object) -> Result<(), Error> {
        let mut stack: Vec<(Base, Object)> = vec![(base, base_obj.clone())];
        while let Some((b, obj)) = stack.pop() {
            let Some(children) = self.pending.remove(&b) else {
                continue;
            };
            for child in children {
                self.pending_count -= 1;
                let data = apply_delta(&obj.data, &child.delta, self.max_object_size)?;
                let resolved = Object::new(obj.kind, data);
                self.by_offset.insert(child.offset, resolved.oid);
                self.objects.insert(resolved.oid, resolved.clone());
                stack.push((Base::Offset(child.offset), resolved.clone()));
                stack.push((Base::Oid(resolved.oid), resolved));
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
enum EntryKind {
    Whole(Kind),
    OfsDelta(u64),
    RefDelta(Oid),
}

#[derive(Debug)]
struct EntryHeader {
    kind: EntryKind,
    size: u64,
    len: usize,
}

fn parse_entry_header(data: &[u8], offset: u64) -> Result<Option<EntryHeader>, Error> {
    let mut i = 0;
    let Some(&first) = data.first() else {
        return Ok(None);
    };
    i += 1;
    let type_id = (first >> 4) & 7;
    let mut size = u64::from(first & 0x0f);
    let mut shift = 4u32;
    let mut c = first;
    while c & 0x80 != 0 {
        let Some(&next) = data.get(i) else {
            return Ok(None);
        };
        i += 1;
        if shift > 57 {
            return Err(Error::BadEntry(offset, "size varint too long"));
        }
        size |= u64::from(next & 0x7f) << shift;
        shift += 7;
        c = next;
    }
    let kind = match type_id {
        6 => {
            let Some(&b) = data.get(i) else {
                return Ok(None);
            };
            i += 1;
            let mut c = b;
            let mut dist = u64::from(c & 0x7f);
            while c & 0x80 != 0 {
                let Some(&next) = data.get(i) else {
                    return Ok(None);
                };
                i += 1;
                dist = dist
                    .checked_add(1)
                    .and_then(|d| d.checked_mul(128))
                    .ok_or(Error::BadEntry(offset, "delta offset overflows"))?
                    | u64::from(next & 0x7f);
                c = next;
            }
            EntryKind::OfsDelta(dist)
        }
        7 => {
            let Some(raw) = data.get(i..i + 20) else {
                return Ok(None);
            };
            i += 20;
            EntryKind::RefDelta(Oid::from_slice(raw).ok_or(Error::BadEntry(offset, "base id"))?)
        }
        t => EntryKind::Whole(
            Kind::from_pack_type(t).ok_or(Error::BadEntry(offset, "unknown object type"))?,
        ),
    };
    Ok(Some(EntryHeader { kind, size, len: i }))
}

/// Inflates one zlib stream that must produce exactly `size` bytes. `Ok(None)`: need more input.
fn inflate(input: &[u8], size: usize, offset: u64) -> Result<Option<(Vec<u8>, usize)>, Error> {
    let mut z = Decompress::new(true);
    // Cap the first allocation: the declared size comes from the network.
    let mut out: Vec<u8> = Vec::with_capacity(size.min(1 << 20) + 1);
    loop {
        if out.len() == out.capacity() {
            out.reserve((size.saturating_sub(out.len())).clamp(1, 1 << 20));
        }
        let in_before = z.total_in();
        let out_before = z.total_out();
        let pos = usize::try_from(z.total_in()).map_err(|_| Error::Zlib(offset))?;
        let status = z
            .decompress_vec(&input[pos..], &mut out, FlushDecompress::None)
            .map_err(|_| Error::Zlib(offset))?;
        if out.len() > size {
            return Err(Error::SizeMismatch {
                offset,
                declared: size as u64,
            });
        }
        match status {
            Status::StreamEnd => {
                if out.len() != size {
                    return Err(Error::SizeMismatch {
                        offset,
                        declared: size as u64,
                    });
                }
                let used = usize::try_from(z.total_in()).map_err(|_| Error::Zlib(offset))?;
                return Ok(Some((out, used)));
            }
            Status::Ok | Status::BufError => {
                let progressed = z.total_in() != in_before || z.total_out() != out_before;
                let input_done = z.total_in() as usize >= input.len();
                if !progressed {
                    if input_done {
                        return Ok(None);
                    }
                    if out.len() < out.capacity() {
                        return Err(Error::Zlib(offset));
                    }
                }
            }
        }
    }
}

fn read_varint(delta: &[u8], pos: &mut usize) -> Result<u64, Error> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let &b = delta.get(*pos).ok_or(Error::BadDelta("truncated size"))?;
        *pos += 1;
        if shift > 57 {
            return Err(Error::BadDelta("size varint too long"));
        }
        value |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
}

/// Applies a git delta to `base`; refuses results over `max_size` bytes.
pub fn apply_delta(base: &[u8], delta: &[u8], max_size: u64) -> Result<Vec<u8>, Error> {
    let mut pos = 0;
    let src_size = read_varint(delta, &mut pos)?;
    if src_size != base.len() as u64 {
        return Err(Error::BadDelta("base size does not match"));
    }
    let dst_size = read_varint(delta, &mut pos)?;
    if dst_size > max_size {
        return Err(Error::ObjectTooLarge(dst_size, max_size));
    }
    let dst_size = usize::try_from(dst_size).map_err(|_| Error::BadDelta("result too large"))?;
    let mut out = Vec::with_capacity(dst_size.min(1 << 24));
    while pos < delta.len() {
        let op = delta[pos];
        pos += 1;
        if op & 0x80 != 0 {
            let mut off = 0usize;
            let mut len = 0usize;
            for i in 0..4 {
                if op & (1 << i) != 0 {
                    let &b = delta.get(pos).ok_or(Error::BadDelta("truncated copy"))?;
                    pos += 1;
                    off |= usize::from(b) << (8 * i);
                }
            }
            for i in 0..3 {
                if op & (0x10 << i) != 0 {
                    let &b = delta.get(pos).ok_or(Error::BadDelta("truncated copy"))?;
                    pos += 1;
                    len |= usize::from(b) << (8 * i);
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let end = off
                .checked_add(len)
                .ok_or(Error::BadDelta("copy overflows"))?;
            let chunk = base
                .get(off..end)
                .ok_or(Error::BadDelta("copy outside base"))?;
            if out.len() + chunk.len() > dst_size {
                return Err(Error::BadDelta("result longer than declared"));
            }
            out.extend_from_slice(chunk);
        } else if op != 0 {
            let len = usize::from(op);
            let chunk = delta
                .get(pos..pos + len)
                .ok_or(Error::BadDelta("truncated insert"))?;
            pos += len;
            if out.len() + chunk.len() > dst_size {
                return Err(Error::BadDelta("result longer than declared"));
            }
            out.extend_from_slice(chunk);
        } else {
            return Err(Error::BadDelta("reserved opcode 0"));
        }
    }
    if out.len() != dst_size {
        return Err(Error::BadDelta("result shorter than declared"));
    }
    Ok(out)
}

/// Parses a whole pack held in memory; the fuzz target and corpus tests call this.
pub fn parse_pack(data: &[u8], max_object_size: u64) -> Result<HashMap<Oid, Object>, Error> {
    let mut reader = PackReader::new(max_object_size);
    reader.push(data)?;
    reader.finish(|_| None)
}

/// Writes a pack of whole (undeltified) objects, as push sends: `PACK`, version 2, count,
/// entries, SHA-1 trailer.
#[derive(Debug)]
pub struct PackWriter<W: Write> {
    out: W,
    hasher: Sha1,
    remaining: u32,
}

impl<W: Write> PackWriter<W> {
    /// Starts a pack of exactly `count` objects.
    pub fn new(mut out: W, count: u32) -> std::io::Result<Self> {
        let mut hasher = Sha1::new();
        let mut header = Vec::with_capacity(12);
        header.extend_from_slice(b"PACK");
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        hasher.update(&header);
        out.write_all(&header)?;
        Ok(PackWriter {
            out,
            hasher,
            remaining: count,
        })
    }

    /// Appends one object.
    pub fn add(&mut self, kind: Kind, data: &[u8]) -> std::io::Result<()> {
        if self.remaining == 0 {
            return Err(std::io::Error::other(
                "more objects than the pack header declared",
            ));
        }
        self.remaining -= 1;
        let mut entry = Vec::with_capacity(16 + data.len() / 2);
        let mut size = data.len() as u64;
        let mut c = (kind.pack_type() << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            entry.push(c | 0x80);
            c = (size & 0x7f) as u8;
            size >>= 7;
        }
        entry.push(c);
        let mut enc = flate2::write::ZlibEncoder::new(entry, flate2::Compression::fast());
        enc.write_all(data)?;
        let entry = enc.finish()?;
        self.hasher.update(&entry);
        self.out.write_all(&entry)
    }

    /// Writes the trailer and returns the sink.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.remaining != 0 {
            return Err(std::io::Error::other(
                "fewer objects than the pack header declared",
            ));
        }
        let digest: [u8; 20] = self.hasher.finalize().into();
        self.out.write_all(&digest)?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_pack_reads_back() {
        let objs = [
            Object::new(Kind::Blob, b"hello\n".to_vec()),
            Object::new(Kind::Blob, vec![b'x'; 100_000]),
        ];
        let mut w = PackWriter::new(Vec::new(), 2).expect("vec");
        for o in &objs {
            w.add(o.kind, &o.data).expect("vec");
        }
        let pack = w.finish().expect("vec");
        let parsed = parse_pack(&pack, u64::MAX).expect("valid pack");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[&objs[1].oid].data.len(), 100_000);
        // Fed one byte at a time it gives the same answer.
        let mut r = PackReader::new(u64::MAX);
        for b in &pack {
            r.push(std::slice::from_ref(b)).expect("valid");
        }
        assert_eq!(r.finish(|_| None).expect("valid").len(), 2);
        // A flipped byte in the middle breaks it.
        let mut bad = pack.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0xff;
        assert!(parse_pack(&bad, u64::MAX).is_err());
    }

    #[test]
    fn delta_copy_and_insert() {
        let base = b"hello world";
        // src 11, dst 11, copy off 0 len 6, insert "there"
        let delta = [11, 11, 0x90, 6, 5, b't', b'h', b'e', b'r', b'e'];
        assert_eq!(
            apply_delta(base, &delta, 100).expect("valid"),
            b"hello there"
        );
        assert!(apply_delta(b"short", &delta, 100).is_err());
        assert!(apply_delta(base, &[11, 11, 0], 100).is_err());
    }
}
