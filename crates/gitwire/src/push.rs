//! Push: ref updates as compare-and-swap over receive-pack (protocol v0/v1, which is what
//! receive-pack speaks even on v2 servers).

use bytes::Bytes;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::protocol::{self, ReceiveAdvertisement, RefUpdate};
use crate::transport::PushBody;

/// The pack sent with a push.
#[derive(Debug, Clone)]
pub enum PackData {
    /// No new objects (an empty pack is still sent unless every update is a delete).
    Empty,
    /// A pack in memory.
    Memory(Bytes),
    /// A pack in a file.
    File(std::path::PathBuf),
}

impl Client {
    /// The refs and capabilities `git-receive-pack` advertises.
    pub async fn receive_advertisement(&self) -> Result<ReceiveAdvertisement> {
        let body = self.transport.info_refs("git-receive-pack", false).await?;
        protocol::parse_receive_advertisement(&body)
    }

    /// Creates, moves or deletes refs, each only if it is at its expected old value (`None`:
    /// must not exist). With `atomic`, all change or none do. The new values must already
    /// exist on the server.
    pub async fn update_refs(&self, updates: &[RefUpdate], atomic: bool) -> Result<()> {
        self.push(updates, PackData::Empty, atomic).await
    }

    /// Sends `pack` and the ref updates.
    pub async fn push(&self, updates: &[RefUpdate], pack: PackData, atomic: bool) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        for u in updates {
            if !u.name.starts_with("refs/") {
                return Err(Error::InvalidArgument(format!(
                    "ref name {:?} must start with refs/",
                    u.name
                )));
            }
        }
        let adv = self.receive_advertisement().await?;
        check_expected(updates, &adv)?;
        let caps = &adv.capabilities;
        if !caps.contains("report-status") {
            return Err(Error::Protocol(
                "receive-pack does not offer report-status".into(),
            ));
        }
        let mut send = vec!["report-status"];
        let sideband = caps.contains("side-band-64k");
        if sideband {
            send.push("side-band-64k");
        }
        if atomic {
            if !caps.contains("atomic") {
                return Err(Error::InvalidArgument(
                    "the server does not support atomic pushes".into(),
                ));
            }
            send.push("atomic");
        }
        let deletes_only = updates.iter().all(|u| u.new.is_none());
        if updates.iter().any(|u| u.new.is_none()) && !caps.contains("delete-refs") {
            return Err(Error::InvalidArgument(
                "the server does not allow deleting refs".into(),
            ));
        }
        let agent = format!("agent={}", self.agent());
        if caps.iter().any(|c| c.starts_with("agent=")) {
            send.push(&agent);
        }
        let mut head = protocol::receive_pack_commands(updates, &send);
        let body = match pack {
            // git sends no pack when every command is a delete.
            _ if deletes_only => PushBody::Memory(head.into()),
            PackData::Empty => {
                let empty = crate::pack::PackWriter::new(Vec::new(), 0)?.finish()?;
                head.extend_from_slice(&empty);
                PushBody::Memory(head.into())
            }
            PackData::Memory(p) => {
                head.extend_from_slice(&p);
                PushBody::Memory(head.into())
            }
            PackData::File(path) => PushBody::File {
                head: head.into(),
                pack: path,
            },
        };
        let resp = self.transport.receive_pack(body).await?;
        let report = protocol::read_push_response(resp, sideband).await?;
        if let Some(reason) = report.unpack_error {
            let mut messages = vec![format!("unpack failed: {reason}")];
            messages.extend(report.messages);
            return Err(Error::RemoteRejected { messages });
        }
        let rejected: Vec<(String, String)> = report
            .refs
            .iter()
            .filter_map(|(name, r)| r.as_ref().map(|r| (name.clone(), r.clone())))
            .collect();
        if rejected.is_empty() {
            return Ok(());
        }
        // A ref that moved between our check and the server's lock is a lost compare-and-swap:
        // read the refs again to report what is there now.
        if let Ok(now) = self.receive_advertisement().await {
            check_expected(updates, &now)?;
        }
        let mut messages: Vec<String> = rejected
            .into_iter()
            .map(|(n, r)| format!("{n}: {r}"))
            .collect();
        messages.extend(report.messages);
        Err(Error::RemoteRejected { messages })
    }
}

fn check_expected(updates: &[RefUpdate], adv: &ReceiveAdvertisement) -> Result<()> {
    for u in updates {
        let actual = adv.refs.get(&u.name).copied();
        if actual != u.old {
            return Err(Error::RefConflict {
                refname: u.name.clone(),
                expected: u.old,
                actual,
            });
        }
    }
    Ok(())
}
