//! Protocol v2 messages (gitprotocol-v2) and the v0/v1 receive-pack exchange push uses
//! (gitprotocol-pack): request bytes are built by pure functions, responses are read from any
//! [`ByteSource`], so tests replay recorded server answers and compare the exact bytes sent.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::oid::Oid;
use crate::pack::PackReader;
use crate::pktline::{self, PktLine};
use crate::transport::ByteSource;

/// A protocol v2 capability advertisement.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// `key` or `key=value` lines, in order.
    pub entries: BTreeMap<String, Option<String>>,
}

impl Capabilities {
    /// Parses the body of `GET info/refs?service=git-upload-pack` sent with
    /// `Git-Protocol: version=2`; `url` names the server in errors.
    pub fn parse(body: &[u8], url: &str) -> Result<Capabilities> {
        let mut lines = pktline::decode_all(body)?.into_iter().peekable();
        // Smart HTTP servers may prefix "# service=…" and a flush.
        if let Some(first) = lines.peek().and_then(|l| l.text())
            && first.starts_with(b"# service=")
        {
            lines.next();
            if lines.peek() == Some(&PktLine::Flush) {
                lines.next();
            }
        }
        match lines.next().and_then(|l| l.text()) {
            Some(b"version 2") => {}
            Some(_) | None => return Err(Error::ProtocolV2Unsupported(url.to_owned())),
        }
        let mut entries = BTreeMap::new();
        for line in lines {
            let Some(text) = line.text() else { break };
            let text = String::from_utf8_lossy(text);
            match text.split_once('=') {
                Some((k, v)) => entries.insert(k.to_owned(), Some(v.to_owned())),
                None => entries.insert(text.into_owned(), None),
            };
        }
        Ok(Capabilities { entries })
    }

    /// Whether the server offers `command` (e.g. `fetch`).
    pub fn has(&self, command: &str) -> bool {
        self.entries.contains_key(command)
    }

    /// Whether `command` lists `feature` among its value's words (e.g. `fetch=… filter`).
    pub fn has_feature(&self, command: &str, feature: &str) -> bool {
        self.entries
            .get(command)
            .and_then(|v| v.as_deref())
            .is_some_and(|v| v.split(' ').any(|f| f == feature))
    }

    fn preamble(&self, out: &mut Vec<u8>, command: &str, agent: &str) {
        pktline::encode_text(out, &format!("command={command}"));
        if self.has("agent") {
            pktline::encode_text(out, &format!("agent={agent}"));
        }
        if self.has("object-format") {
            pktline::encode_text(out, "object-format=sha1");
        }
        pktline::encode_delim(out);
    }
}

/// One ref as `ls-refs` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ref {
    /// Full name, e.g. `refs/heads/main` or `HEAD`.
    pub name: String,
    /// What it points at; `None` for an unborn `HEAD`.
    pub oid: Option<Oid>,
    /// For annotated tags, the object the tag peels to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peeled: Option<Oid>,
    /// For symbolic refs such as `HEAD`, the ref they point at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symref_target: Option<String>,
}

/// The `ls-refs` request.
pub fn ls_refs_request(caps: &Capabilities, agent: &str, prefixes: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    caps.preamble(&mut out, "ls-refs", agent);
    pktline::encode_text(&mut out, "peel");
    pktline::encode_text(&mut out, "symrefs");
    if caps.has_feature("ls-refs", "unborn") {
        pktline::encode_text(&mut out, "unborn");
    }
    for p in prefixes {
        pktline::encode_text(&mut out, &format!("ref-prefix {p}"));
    }
    pktline::encode_flush(&mut out);
    out
}

/// Parses an `ls-refs` response.
pub fn parse_ls_refs(body: &[u8]) -> Result<Vec<Ref>> {
    let mut refs = Vec::new();
    for line in pktline::decode_all(body)? {
        let Some(text) = line.text() else { break };
        let text = std::str::from_utf8(text)
            .map_err(|_| Error::Protocol("ls-refs line is not UTF-8".into()))?;
        if let Some(msg) = text.strip_prefix("ERR ") {
            return Err(Error::Protocol(format!("server error: {msg}")));
        }
        let mut parts = text.split(' ');
        let first = parts.next().unwrap_or_default();
        let name = parts
            .next()
            .ok_or_else(|| Error::Protocol(format!("malformed ls-refs line {text:?}")))?
            .to_owned();
        let oid = if first == "unborn" {
            None
        } else {
            Some(
                first
                    .parse()
                    .map_err(|_| Error::Protocol(format!("malformed ls-refs line {text:?}")))?,
            )
        };
        let mut r = Ref {
            name,
            oid,
            peeled: None,
            symref_target: None,
        };
        for attr in parts {
            if let Some(t) = attr.strip_prefix("symref-target:") {
                r.symref_target = Some(t.to_owned());
            } else if let Some(p) = attr.strip_prefix("peeled:") {
                r.peeled =
                    Some(p.parse().map_err(|_| {
                        Error::Protocol(format!("malformed peeled id in {text:?}"))
                    })?);
            }
        }
        refs.push(r);
    }
    Ok(refs)
}

/// What to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchRequest {
    /// Objects wanted (any reachable object: v2 does not restrict wants to ref tips).
    pub wants: Vec<Oid>,
    /// A partial-clone filter such as `blob:none` or `tree:0`; sent only if the server
    /// advertises `filter`.
    pub filter: Option<String>,
    /// `deepen N`: history depth from each want.
    pub deepen: Option<u32>,
}

/// The `fetch` request: no haves (gitwire keeps no repository), `done` at once, `ofs-delta`,
/// no progress.
pub fn fetch_request(caps: &Capabilities, agent: &str, req: &FetchRequest) -> Vec<u8> {
    let mut out = Vec::new();
    caps.preamble(&mut out, "fetch", agent);
    pktline::encode_text(&mut out, "ofs-delta");
    pktline::encode_text(&mut out, "no-progress");
    if let Some(f) = &req.filter
        && caps.has_feature("fetch", "filter")
    {
        pktline::encode_text(&mut out, &format!("filter {f}"));
    }
    for w in &req.wants {
        pktline::encode_text(&mut out, &format!("want {w}"));
    }
    if let Some(d) = req.deepen {
        pktline::encode_text(&mut out, &format!("deepen {d}"));
    }
    pktline::encode_text(&mut out, "done");
    pktline::encode_flush(&mut out);
    out
}

/// Reads pkt-lines from a [`ByteSource`], owning each line's data.
#[derive(Debug)]
pub struct PktStream<S> {
    src: S,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

/// An owned pkt-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkt {
    /// `0000`.
    Flush,
    /// `0001`.
    Delim,
    /// `0002`.
    ResponseEnd,
    /// Data.
    Data(Vec<u8>),
}

impl<S: ByteSource> PktStream<S> {
    /// Wraps a source.
    pub fn new(src: S) -> Self {
        PktStream {
            src,
            buf: Vec::new(),
            pos: 0,
            eof: false,
        }
    }

    /// The next line, or `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<Pkt>> {
        loop {
            if let Some((line, used)) = pktline::decode(&self.buf[self.pos..])? {
                let pkt = match line {
                    PktLine::Flush => Pkt::Flush,
                    PktLine::Delim => Pkt::Delim,
                    PktLine::ResponseEnd => Pkt::ResponseEnd,
                    PktLine::Data(d) => Pkt::Data(d.to_vec()),
                };
                self.pos += used;
                return Ok(Some(pkt));
            }
            if self.eof {
                if self.pos < self.buf.len() {
                    return Err(Error::Protocol("response ends inside a pkt-line".into()));
                }
                return Ok(None);
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            match self.src.next_chunk().await? {
                Some(chunk) => self.buf.extend_from_slice(&chunk),
                None => self.eof = true,
            }
        }
    }
}

fn server_error(text: &[u8]) -> Error {
    let msg = String::from_utf8_lossy(text).trim().to_owned();
    // upload-pack: "not our ref <oid>" is git's answer for a want it does not have.
    if let Some(idx) = msg.find("not our ref ") {
        return Error::NotFound(format!("object {}", &msg[idx + "not our ref ".len()..]));
    }
    Error::Protocol(format!("server error: {msg}"))
}

/// Reads a `fetch` response into `pack`. With `stop_when` given, stops reading as soon as
/// every listed object is resolved (the rest of the response is dropped unread).
/// Returns whether the pack was read to its end.
pub async fn read_fetch_response<S: ByteSource>(
    src: S,
    pack: &mut PackReader,
    stop_when: Option<&HashSet<Oid>>,
) -> Result<bool> {
    let mut stream = PktStream::new(src);
    let mut in_pack = false;
    let mut section_start = true;
    while let Some(pkt) = stream.next().await? {
        match pkt {
            Pkt::Flush | Pkt::ResponseEnd => return Ok(true),
            Pkt::Delim => section_start = true,
            Pkt::Data(d) if in_pack => match d.first() {
                Some(1) => {
                    pack.push(&d[1..])?;
                    if let Some(wanted) = stop_when
                        && wanted.iter().all(|o| pack.objects().contains_key(o))
                    {
                        return Ok(false);
                    }
                }
                Some(2) => {}
                Some(3) => return Err(server_error(&d[1..])),
                _ => {
                    return Err(Error::Protocol(
                        "bad side-band channel in packfile section".into(),
                    ));
                }
            },
            Pkt::Data(d) => {
                let text = d.strip_suffix(b"\n").unwrap_or(&d);
                if let Some(msg) = text.strip_prefix(b"ERR ") {
                    return Err(server_error(msg));
                }
                if section_start {
                    section_start = false;
                    in_pack = text == b"packfile";
                }
            }
        }
    }
    Ok(true)
}

/// The v0 ref advertisement of `git-receive-pack`.
#[derive(Debug, Clone, Default)]
pub struct ReceiveAdvertisement {
    /// Ref name → id.
    pub refs: HashMap<String, Oid>,
    /// Capabilities of the first line.
    pub capabilities: HashSet<String>,
}

/// Parses `GET info/refs?service=git-receive-pack`.
pub fn parse_receive_advertisement(body: &[u8]) -> Result<ReceiveAdvertisement> {
    let mut adv = ReceiveAdvertisement::default();
    let mut first = true;
    for line in pktline::decode_all(body)? {
        let Some(text) = line.text() else { continue };
        if text.starts_with(b"# service=") {
            continue;
        }
        if text == b"version 1" {
            continue;
        }
        let (refpart, caps) = match text.iter().position(|&b| b == 0) {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        if let Some(caps) = caps
            && first
        {
            adv.capabilities = String::from_utf8_lossy(caps)
                .split(' ')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
        }
        first = false;
        let refpart = String::from_utf8_lossy(refpart);
        let Some((oid, name)) = refpart.split_once(' ') else {
            return Err(Error::Protocol(format!(
                "malformed receive-pack advertisement line {refpart:?}"
            )));
        };
        if name == "capabilities^{}" || name.starts_with(".have") {
            continue;
        }
        if oid == "shallow" {
            continue;
        }
        let oid: Oid = oid
            .parse()
            .map_err(|_| Error::Protocol(format!("bad id in advertisement line {refpart:?}")))?;
        adv.refs.insert(name.to_owned(), oid);
    }
    Ok(adv)
}

/// One ref update of a push: a compare-and-swap from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// Full ref name.
    pub name: String,
    /// Expected current value; `None`: the ref must not exist.
    pub old: Option<Oid>,
    /// New value; `None` deletes the ref.
    pub new: Option<Oid>,
}

/// The command part of a receive-pack request (the pack, if any, follows it).
pub fn receive_pack_commands(updates: &[RefUpdate], capabilities: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, u) in updates.iter().enumerate() {
        let old = u.old.unwrap_or(Oid::ZERO);
        let new = u.new.unwrap_or(Oid::ZERO);
        let mut line = format!("{old} {new} {}", u.name).into_bytes();
        if i == 0 {
            line.push(0);
            line.extend_from_slice(capabilities.join(" ").as_bytes());
        }
        line.push(b'\n');
        pktline::encode_data(&mut out, &line);
    }
    pktline::encode_flush(&mut out);
    out
}

/// A parsed `report-status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// `None` if unpacking succeeded, else git's reason.
    pub unpack_error: Option<String>,
    /// Ref → `None` on success or `Some(reason)`.
    pub refs: Vec<(String, Option<String>)>,
    /// Messages on side-band 2 (hooks, errors), one per line.
    pub messages: Vec<String>,
}

/// Reads a receive-pack response: `report-status` lines, inside side-band-64k if `sideband`.
pub async fn read_push_response<S: ByteSource>(src: S, sideband: bool) -> Result<PushReport> {
    let mut stream = PktStream::new(src);
    let mut status_bytes = Vec::new();
    let mut report = PushReport::default();
    let mut progress = Vec::new();
    while let Some(pkt) = stream.next().await? {
        match pkt {
            Pkt::Flush if !sideband => break,
            Pkt::Flush | Pkt::Delim | Pkt::ResponseEnd => {
                if sideband {
                    break;
                }
            }
            Pkt::Data(d) if sideband => match d.first() {
                Some(1) => status_bytes.extend_from_slice(&d[1..]),
                Some(2) => progress.extend_from_slice(&d[1..]),
                Some(3) => {
                    let msg = String::from_utf8_lossy(&d[1..]).trim().to_owned();
                    return Err(Error::RemoteRejected {
                        messages: vec![msg],
                    });
                }
                _ => {
                    return Err(Error::Protocol(
                        "bad side-band channel in push response".into(),
                    ));
                }
            },
            Pkt::Data(d) => {
                pktline::encode_data(&mut status_bytes, &d);
            }
        }
    }
    report.messages = String::from_utf8_lossy(&progress)
        .split(['\n', '\r'])
        .map(|l| l.trim().trim_start_matches("remote:").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let mut saw_unpack = false;
    for line in pktline::decode_all(&status_bytes)? {
        let Some(text) = line.text() else { continue };
        let text = String::from_utf8_lossy(text);
        if let Some(rest) = text.strip_prefix("unpack ") {
            saw_unpack = true;
            if rest != "ok" {
                report.unpack_error = Some(rest.to_owned());
            }
        } else if let Some(name) = text.strip_prefix("ok ") {
            report.refs.push((name.to_owned(), None));
        } else if let Some(rest) = text.strip_prefix("ng ") {
            let (name, reason) = rest.split_once(' ').unwrap_or((rest, "rejected"));
            report.refs.push((name.to_owned(), Some(reason.to_owned())));
        }
    }
    if !saw_unpack {
        return Err(Error::Protocol("push response has no report-status".into()));
    }
    Ok(report)
}

/// Drains a source into memory (used for small responses).
pub async fn read_all<S: ByteSource>(mut src: S) -> Result<Bytes> {
    let mut out = Vec::new();
    while let Some(c) = src.next_chunk().await? {
        out.extend_from_slice(&c);
    }
    Ok(out.into())
}
