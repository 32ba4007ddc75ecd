//! The shared state handed to every handler: built once in `main`, cloned per request.

use std::sync::Arc;

use talent_core::schema::SchemaSet;

use crate::federation::FederationNode;
use crate::issuance::IssuanceService;
use crate::issuers::Issuers;
use crate::log::Log;
use crate::member::MemberIdentity;
use crate::services::HeldLogs;
use crate::services::bundles::BundleSources;
use crate::services::verification::{Batcher, Sources};
use crate::statistics::CredentialStatistics;
use crate::store::Store;
use crate::tokens::Tokens;

/// Cloneable handles to everything a handler may need.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The VC-API's open issuer, when the operator enabled it (`serve --open-issuer`).
    pub open_issuer: Option<Arc<crate::open_issuer::OpenIssuer>>,
    /// The RocksDB store.
    pub store: Arc<Store>,
    /// Compiled JSON Schemas.
    pub schemas: Arc<SchemaSet>,
    /// Who this node is.
    pub member: Arc<MemberIdentity>,
    /// Issues credentials as this member's authority.
    pub issuance: Arc<IssuanceService>,
    /// This member's transparency log.
    pub log: Arc<Log>,
    /// Federation runtime (mirrors, witness, cosignatures); `None` for the development member.
    pub federation: Option<Arc<FederationNode>>,
    /// Issuer registries of the own log and every mirror.
    pub issuers: Arc<Issuers>,
    /// Operator tokens.
    pub tokens: Arc<Tokens>,
    /// The URL this node is reached at (`--public-url`): what QR codes and status lists
    /// point to.
    pub public_url: Arc<str>,
    /// What the VC-API verifier reads from memory, never fetched: JSON-LD contexts (the W3C
    /// ones and the registry's under the legacy URL and every member's node) and the related
    /// resources whose digests it checks.
    pub known_documents: talent_core::w3c::verify::KnownDocuments,
    /// Verifies concurrent requests together, for the API and the console alike.
    pub verifier: Arc<Batcher>,
    /// Credential counts of the own log and every mirror, kept incrementally.
    pub statistics: Arc<CredentialStatistics>,
    /// Searches by full ID number per operator (the console's rate limit).
    pub id_searches: Arc<crate::rate_limit::RateLimiter>,
    /// The audit log of searches by full ID number.
    pub id_search_audit: Arc<crate::audit::IdSearchAudit>,
    /// Open credential offers and presentation requests (OpenID4VCI, OpenID4VP).
    pub wallets: Arc<crate::wallets::Holders>,
    /// Online backups (`POST /api/v1/admin/backup`).
    pub backups: Arc<crate::backup::BackupService>,
    /// The node's Prometheus metrics (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// What `GET /healthz` checks and how often.
    pub health: Arc<crate::health::Health>,
    /// The node's main runtime, for work that outlives the request that starts it (the
    /// console's import jobs): not the server thread's loop, whose connections it would
    /// hold up (see the `server` module).
    pub background: tokio::runtime::Handle,
}

impl AppState {
    /// The logs this node holds, as the read services take them.
    pub fn held_logs(&self) -> HeldLogs {
        HeldLogs {
            store: Arc::clone(&self.store),
            log: Arc::clone(&self.log),
            member: Arc::clone(&self.member),
            federation: self.federation.clone(),
        }
    }

    /// What the bundle service builds bundles from.
    pub fn bundle_sources(&self) -> BundleSources {
        BundleSources {
            logs: self.held_logs(),
            issuers: Arc::clone(&self.issuers),
            issuance: Arc::clone(&self.issuance),
        }
    }

    /// What the verification service verifies against.
    pub fn verification_sources(&self) -> Sources {
        Sources {
            logs: self.held_logs(),
            schemas: Arc::clone(&self.schemas),
            issuers: Arc::clone(&self.issuers),
        }
    }
}
