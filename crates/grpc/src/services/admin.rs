//! `gitapi.v1.AdminService`: maintenance, config, protection rules and the engine switch.

use tonic::Request;

use gitapi_core::{ConfigKey, Error};
use gitapi_service::{CanaryConfig, ProtectionRule, Protections, RefPattern};

use crate::convert::{engine_from, page, repo};
use crate::pb;
use crate::pb::admin_service_server::AdminService;

use super::{Answer, Handlers, reply};

fn rules(p: &Protections) -> Vec<pb::ProtectionRule> {
    p.rules.iter().map(Into::into).collect()
}

#[tonic::async_trait]
impl AdminService for Handlers {
    async fn garbage_collect(
        &self,
        req: Request<pb::GarbageCollectRequest>,
    ) -> Answer<pb::GarbageCollectResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let out = self.svc.gc(&cx, &repo(&req.get_ref().repository)?).await?;
                Ok((&out).into())
            }
            .await,
        )
    }

    async fn get_config(
        &self,
        req: Request<pb::GetConfigRequest>,
    ) -> Answer<pb::GetConfigResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let value = self
                    .svc
                    .config_get(&cx, &repo(&r.repository)?, &ConfigKey::new(&r.key)?)
                    .await?;
                Ok(pb::GetConfigResponse { value })
            }
            .await,
        )
    }

    async fn set_config(
        &self,
        req: Request<pb::SetConfigRequest>,
    ) -> Answer<pb::SetConfigResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                self.svc
                    .config_set(
                        &cx,
                        &repo(&r.repository)?,
                        &ConfigKey::new(&r.key)?,
                        &r.value,
                    )
                    .await?;
                Ok(pb::SetConfigResponse {})
            }
            .await,
        )
    }

    async fn list_config(
        &self,
        req: Request<pb::ListConfigRequest>,
    ) -> Answer<pb::ListConfigResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let p = self
                    .svc
                    .config_list(
                        &cx,
                        &repo(&r.repository)?,
                        &page(r.page_size, &r.page_token),
                    )
                    .await?;
                Ok(pb::ListConfigResponse {
                    entries: p.items.iter().map(Into::into).collect(),
                    next_page_token: p.next_cursor.unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn get_protections(
        &self,
        req: Request<pb::GetProtectionsRequest>,
    ) -> Answer<pb::GetProtectionsResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let p = self
                    .svc
                    .protections(&cx, &repo(&req.get_ref().repository)?)
                    .await?;
                Ok(pb::GetProtectionsResponse { rules: rules(&p) })
            }
            .await,
        )
    }

    async fn protect(&self, req: Request<pb::ProtectRequest>) -> Answer<pb::ProtectResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.into_inner();
                let rule = ProtectionRule::try_from(
                    r.rule
                        .ok_or_else(|| Error::invalid("a protection rule is required"))?,
                )?;
                let p = self.svc.protect(&cx, &repo(&r.repository)?, rule).await?;
                Ok(pb::ProtectResponse { rules: rules(&p) })
            }
            .await,
        )
    }

    async fn unprotect(&self, req: Request<pb::UnprotectRequest>) -> Answer<pb::UnprotectResponse> {
        reply(
            async {
                let cx = self.cx(&req)?;
                let r = req.get_ref();
                let p = self
                    .svc
                    .unprotect(&cx, &repo(&r.repository)?, &RefPattern::new(&r.pattern)?)
                    .await?;
                Ok(pb::UnprotectResponse { rules: rules(&p) })
            }
            .await,
        )
    }

    async fn get_backend(
        &self,
        req: Request<pb::GetBackendRequest>,
    ) -> Answer<pb::GetBackendResponse> {
        reply((|| {
            let cx = self.cx(&req)?;
            let s = self.svc.backend_status(&cx)?;
            Ok(pb::GetBackendResponse {
                status: Some((&s).into()),
            })
        })())
    }

    async fn set_backend(
        &self,
        req: Request<pb::SetBackendRequest>,
    ) -> Answer<pb::SetBackendResponse> {
        reply((|| {
            let cx = self.cx(&req)?;
            let r = req.get_ref();
            let backend = engine_from(r.backend)?;
            let canary = r.canary.map(CanaryConfig::try_from).transpose()?;
            let s = self.svc.set_backend(&cx, backend, canary)?;
            Ok(pb::SetBackendResponse {
                status: Some((&s).into()),
            })
        })())
    }
}
