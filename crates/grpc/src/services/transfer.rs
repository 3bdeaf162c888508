//! `gitapi.v1.TransferService`: the service's Smart HTTP transfers over gRPC, bytes streamed
//! both ways as the HTTP door streams them.

use bytes::Bytes;
use futures::StreamExt as _;
use tonic::{Request, Streaming};

use gitapi_core::{Error, Oid, Result};
use gitapi_service::{GitProtocol, PushCommand, PushRequest, UploadPack};

use crate::convert::{oid, repo};
use crate::pb;
use crate::pb::transfer_service_server::TransferService;

use super::{Answer, Handlers, Stream, reply, stream};

/// The bytes a client stream carries: `head` (the first message's), then each later message's.
fn body<M: Send + 'static>(
    head: Bytes,
    msgs: Streaming<M>,
    data: impl Fn(M) -> Bytes + Send + 'static,
) -> futures::stream::BoxStream<'static, Result<Bytes>> {
    let later = msgs.map(move |m| {
        m.map(&data)
            .map_err(|s| Error::invalid(format!("reading the request stream: {}", s.message())))
    });
    futures::stream::once(async move { Ok(head) })
        .chain(later)
        .boxed()
}

async fn first<M>(msgs: &mut Streaming<M>) -> Result<M> {
    match msgs.next().await {
        Some(Ok(m)) => Ok(m),
        Some(Err(s)) => Err(Error::invalid(format!(
            "reading the request stream: {}",
            s.message()
        ))),
        None => Err(Error::invalid("the request stream is empty")),
    }
}

#[tonic::async_trait]
impl TransferService for Handlers {
    type UploadPackStream = Stream<pb::UploadPackResponse>;

    async fn advertise_refs(
        &self,
        req: Request<pb::AdvertiseRefsRequest>,
    ) -> Answer<pb::AdvertiseRefsResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let ad = self
                    .svc
                    .advertise_refs(&cx, &repo(&req.get_ref().repository)?)
                    .await?;
                Ok(pb::AdvertiseRefsResponse {
                    head: ad.head.map(|h| h.as_str().to_owned()).unwrap_or_default(),
                    refs: ad.refs.iter().map(pb::Ref::from).collect(),
                })
            }
            .await,
        )
    }

    async fn upload_pack(
        &self,
        req: Request<Streaming<pb::UploadPackRequest>>,
    ) -> Answer<Self::UploadPackStream> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let mut msgs = req.into_inner();
                let head = first(&mut msgs).await?;
                let name = repo(&head.repository)?;
                let up = UploadPack {
                    protocol: if head.protocol_v2 {
                        GitProtocol::V2
                    } else {
                        GitProtocol::V0
                    },
                    advertise: head.advertise,
                };
                let body = if head.advertise {
                    futures::stream::empty().boxed()
                } else {
                    body(head.data, msgs, |m| m.data)
                };
                let out = self.svc.upload_pack(&cx, &name, up, body).await?;
                Ok(stream(out, |data| pb::UploadPackResponse { data }))
            }
            .await,
        )
    }

    async fn receive_pack(
        &self,
        req: Request<Streaming<pb::ReceivePackRequest>>,
    ) -> Answer<pb::ReceivePackResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let mut msgs = req.into_inner();
                let head = first(&mut msgs).await?;
                let name = repo(&head.repository)?;
                let parse = |s: &str| if s.is_empty() { Ok(Oid::ZERO) } else { oid(s) };
                let commands = head
                    .commands
                    .iter()
                    .map(|c| {
                        Ok(PushCommand {
                            name: c.r#ref.clone(),
                            old: parse(&c.old)?,
                            new: parse(&c.new)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let deletes_only = commands.iter().all(|c| c.new == Oid::ZERO);
                let push = PushRequest {
                    commands,
                    atomic: head.atomic,
                    options: head.push_options,
                };
                let pack = (!deletes_only).then(|| body(head.pack, msgs, |m| m.pack));
                let report = self.svc.receive_pack(&cx, &name, push, pack).await?;
                Ok(pb::ReceivePackResponse {
                    unpacked: report.unpack.is_ok(),
                    unpack_error: report.unpack.err().unwrap_or_default(),
                    refs: report
                        .refs
                        .into_iter()
                        .map(|(r, outcome)| pb::RefStatus {
                            r#ref: r,
                            ok: outcome.is_ok(),
                            reason: outcome.err().unwrap_or_default(),
                        })
                        .collect(),
                })
            }
            .await,
        )
    }
}
