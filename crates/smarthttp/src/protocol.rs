//! The door's side of Git's wire protocol: advertisements, `ls-refs`, a push's command list
//! and its report-status (gitprotocol-http(5), gitprotocol-v2(5), gitprotocol-pack(5)).

use bytes::Bytes;

use gitapi_core::{Error, Oid, Result};
use gitapi_service::{PushCommand, PushReport, PushRequest, RefAdvertisement};

use crate::pktline::{self, FLUSH, Packet, Reader};

/// The agent string gitapi announces.
pub(crate) const AGENT: &str = concat!("agent=gitapi/", env!("CARGO_PKG_VERSION"));

/// The `# service=…` preamble of a v0 smart `info/refs` answer.
pub(crate) fn service_preamble(service: &str) -> Vec<u8> {
    let mut out = Vec::new();
    pktline::put_line(&mut out, &format!("# service={service}"));
    out.extend_from_slice(FLUSH);
    out
}

/// Protocol v2's capability advertisement. `fetch` and `object-info` are served by `git
/// upload-pack` itself (run with the config that makes it accept them); `ls-refs` by the door.
pub(crate) fn v2_capabilities() -> Vec<u8> {
    let mut out = Vec::new();
    for line in [
        "version 2",
        AGENT,
        "ls-refs=unborn",
        "fetch=shallow wait-for-done filter",
        "server-option",
        "object-format=sha1",
        "object-info",
    ] {
        pktline::put_line(&mut out, line);
    }
    out.extend_from_slice(FLUSH);
    out
}

/// What receive-pack announces; push options only when the server accepts them.
fn receive_capabilities(push_options: bool) -> String {
    let mut caps =
        "report-status delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1"
            .to_owned();
    if push_options {
        caps.push_str(" push-options");
    }
    caps.push(' ');
    caps.push_str(AGENT);
    caps
}

/// The ref advertisement of `git-receive-pack` (v0; receive-pack has no v2), with the preamble.
pub(crate) fn receive_advertisement(ad: &RefAdvertisement, push_options: bool) -> Vec<u8> {
    let mut out = service_preamble("git-receive-pack");
    let caps = receive_capabilities(push_options);
    let mut first = true;
    for r in &ad.refs {
        let line = if first {
            format!("{} {}\0{caps}", r.target, r.name)
        } else {
            format!("{} {}", r.target, r.name)
        };
        pktline::put_line(&mut out, &line);
        first = false;
    }
    if first {
        pktline::put_line(
            &mut out,
            &format!("{} capabilities^{{}}\0{caps}", Oid::ZERO),
        );
    }
    out.extend_from_slice(FLUSH);
    out
}

/// The arguments of an `ls-refs` command.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct LsRefs {
    symrefs: bool,
    peel: bool,
    unborn: bool,
    prefixes: Vec<String>,
}

impl LsRefs {
    /// Reads the rest of an `ls-refs` request: capabilities up to the delimiter, then arguments
    /// up to the flush.
    pub(crate) async fn read(r: &mut Reader) -> Result<Self> {
        let mut args = Self::default();
        let mut in_args = false;
        loop {
            let p = r
                .next()
                .await?
                .ok_or_else(|| Error::invalid("ls-refs request ends before its flush"))?;
            match p {
                Packet::Flush => return Ok(args),
                Packet::Delim => in_args = true,
                Packet::End => return Err(Error::invalid("ls-refs request has a response end")),
                Packet::Data(_) if !in_args => {}
                Packet::Data(_) => {
                    let line = p.text().unwrap_or_default();
                    match line {
                        b"symrefs" => args.symrefs = true,
                        b"peel" => args.peel = true,
                        b"unborn" => args.unborn = true,
                        _ => match line.strip_prefix(b"ref-prefix ") {
                            Some(p) => args.prefixes.push(String::from_utf8_lossy(p).into_owned()),
                            None => {
                                return Err(Error::invalid(format!(
                                    "unknown ls-refs argument {:?}",
                                    String::from_utf8_lossy(line)
                                )));
                            }
                        },
                    }
                }
            }
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }

    /// The answer, as `git upload-pack` gives it: `HEAD` first, then every ref by name.
    pub(crate) fn answer(&self, ad: &RefAdvertisement) -> Vec<u8> {
        let mut out = Vec::new();
        if self.wants("HEAD") {
            let symref = |line: &mut String| {
                if let Some(h) = &ad.head
                    && self.symrefs
                {
                    line.push_str(&format!(" symref-target:{h}"));
                }
            };
            match ad.head_target() {
                Some(oid) => {
                    let mut line = format!("{oid} HEAD");
                    symref(&mut line);
                    if self.peel
                        && let Some(p) = ad
                            .refs
                            .iter()
                            .find(|r| Some(&r.name) == ad.head.as_ref())
                            .and_then(|r| r.peeled)
                    {
                        line.push_str(&format!(" peeled:{p}"));
                    }
                    pktline::put_line(&mut out, &line);
                }
                None if self.unborn && ad.head.is_some() => {
                    let mut line = "unborn HEAD".to_owned();
                    symref(&mut line);
                    pktline::put_line(&mut out, &line);
                }
                None => {}
            }
        }
        for r in ad.refs.iter().filter(|r| self.wants(r.name.as_str())) {
            let mut line = format!("{} {}", r.target, r.name);
            if self.peel
                && let Some(p) = r.peeled
            {
                line.push_str(&format!(" peeled:{p}"));
            }
            pktline::put_line(&mut out, &line);
        }
        out.extend_from_slice(FLUSH);
        out
    }
}

/// A push's command list and the capabilities the client chose.
#[derive(Debug)]
pub(crate) struct Commands {
    pub(crate) request: PushRequest,
    pub(crate) side_band: bool,
}

impl Commands {
    /// Reads the commands (and push options, when the client sends them) of a push.
    pub(crate) async fn read(r: &mut Reader) -> Result<Self> {
        let mut request = PushRequest::default();
        let mut caps: Vec<String> = Vec::new();
        loop {
            let p = r
                .next()
                .await?
                .ok_or_else(|| Error::invalid("the push ends before its command list"))?;
            let line = match &p {
                Packet::Flush => break,
                Packet::Data(_) => p.text().unwrap_or_default(),
                _ => return Err(Error::invalid("a push's command list has a delimiter")),
            };
            if line.starts_with(b"shallow ") {
                return Err(Error::invalid(
                    "pushing from a shallow clone is not supported; fetch the full history first",
                ));
            }
            let (cmd, cap_text) = match line.iter().position(|b| *b == 0) {
                Some(nul) => (&line[..nul], Some(&line[nul + 1..])),
                None => (line, None),
            };
            if let Some(c) = cap_text {
                caps = String::from_utf8_lossy(c)
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            request.commands.push(parse_command(cmd)?);
        }
        let has = |c: &str| caps.iter().any(|x| x == c);
        request.atomic = has("atomic");
        if has("push-options") {
            loop {
                match r.next().await? {
                    Some(Packet::Flush) => break,
                    Some(p @ Packet::Data(_)) => request
                        .options
                        .push(String::from_utf8_lossy(p.text().unwrap_or_default()).into_owned()),
                    _ => return Err(Error::invalid("push options end without a flush")),
                }
            }
        }
        Ok(Self {
            request,
            side_band: has("side-band-64k"),
        })
    }
}

fn parse_command(line: &[u8]) -> Result<PushCommand> {
    let text =
        std::str::from_utf8(line).map_err(|_| Error::invalid("a push command is not UTF-8"))?;
    let mut parts = text.splitn(3, ' ');
    let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::invalid(format!("malformed push command {text:?}")));
    };
    Ok(PushCommand {
        name: name.to_owned(),
        old: Oid::from_hex(old)?,
        new: Oid::from_hex(new)?,
    })
}

/// The report-status of a push, in side-band channel 1 when the client asked for it.
pub(crate) fn report_status(report: &PushReport, side_band: bool) -> Bytes {
    let mut status = Vec::new();
    match &report.unpack {
        Ok(()) => pktline::put_line(&mut status, "unpack ok"),
        Err(why) => pktline::put_line(&mut status, &format!("unpack {}", one_line(why))),
    }
    for (name, r) in &report.refs {
        match r {
            Ok(()) => pktline::put_line(&mut status, &format!("ok {name}")),
            Err(why) => pktline::put_line(&mut status, &format!("ng {name} {}", one_line(why))),
        }
    }
    status.extend_from_slice(FLUSH);
    if !side_band {
        return Bytes::from(status);
    }
    let mut out = Vec::new();
    // Band 1 carries the report's own pkt-lines; 5 bytes of each packet are header and band.
    for chunk in status.chunks(pktline::MAX_LEN - 5) {
        let mut payload = Vec::with_capacity(chunk.len() + 1);
        payload.push(1u8);
        payload.extend_from_slice(chunk);
        pktline::put(&mut out, &payload);
    }
    out.extend_from_slice(FLUSH);
    Bytes::from(out)
}

/// A reason on one line, as report-status needs it.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use gitapi_core::{Ref, RefName};

    fn reader(bytes: Vec<u8>) -> Reader {
        Reader::new(futures::stream::iter([Ok(Bytes::from(bytes))]).boxed())
    }

    fn oid(c: char) -> Oid {
        Oid::from_hex(&c.to_string().repeat(40)).expect("hex")
    }

    #[tokio::test]
    async fn commands_capabilities_and_the_pack_after_them() -> Result<()> {
        let mut body = Vec::new();
        pktline::put_line(
            &mut body,
            &format!(
                "{} {} refs/heads/main\0report-status side-band-64k atomic",
                oid('a'),
                oid('b')
            ),
        );
        pktline::put_line(
            &mut body,
            &format!("{} {} refs/heads/gone", oid('c'), Oid::ZERO),
        );
        body.extend_from_slice(FLUSH);
        body.extend_from_slice(b"PACK....");
        let mut r = reader(body);
        let c = Commands::read(&mut r).await?;
        assert!(c.side_band && c.request.atomic);
        assert_eq!(c.request.commands.len(), 2);
        assert_eq!(c.request.commands[1].new, Oid::ZERO);
        assert_eq!(c.request.commands[0].name, "refs/heads/main");
        let rest: Vec<Bytes> = r.rest().map(|b| b.expect("chunk")).collect().await;
        assert_eq!(rest.concat(), b"PACK....");
        Ok(())
    }

    #[test]
    fn report_status_in_band_one() {
        let report = PushReport {
            unpack: Ok(()),
            refs: vec![
                ("refs/heads/a".to_owned(), Ok(())),
                (
                    "refs/heads/b".to_owned(),
                    Err("protected\nbranch".to_owned()),
                ),
            ],
        };
        let plain = report_status(&report, false);
        assert_eq!(
            &plain[..],
            b"000eunpack ok\n0014ok refs/heads/a\n0025ng refs/heads/b protected branch\n0000"
        );
        let banded = report_status(&report, true);
        assert_eq!(&banded[4..5], &[1u8]);
        assert_eq!(&banded[5..banded.len() - 4], &plain[..]);
        assert!(banded.ends_with(b"0000"));
    }

    #[test]
    fn ls_refs_filters_by_prefix_and_peels() {
        let main = RefName::new("refs/heads/main").expect("ref");
        let ad = RefAdvertisement {
            head: Some(main.clone()),
            refs: vec![
                Ref {
                    name: main,
                    target: oid('a'),
                    peeled: None,
                },
                Ref {
                    name: RefName::new("refs/tags/v1").expect("ref"),
                    target: oid('b'),
                    peeled: Some(oid('a')),
                },
            ],
        };
        let args = LsRefs {
            symrefs: true,
            peel: true,
            unborn: true,
            prefixes: vec!["HEAD".into(), "refs/tags/".into()],
        };
        let text = String::from_utf8(args.answer(&ad)).expect("utf8");
        assert!(text.contains(&format!(
            "{} HEAD symref-target:refs/heads/main\n",
            oid('a')
        )));
        assert!(text.contains(&format!("{} refs/tags/v1 peeled:{}\n", oid('b'), oid('a'))));
        assert!(!text.contains(&format!("{} refs/heads/main\n", oid('a'))));
        let empty = RefAdvertisement {
            head: Some(RefName::new("refs/heads/main").expect("ref")),
            refs: vec![],
        };
        let text = String::from_utf8(args.answer(&empty)).expect("utf8");
        assert!(
            text.starts_with("002eunborn HEAD symref-target:refs/heads/main\n"),
            "{text}"
        );
    }
}
