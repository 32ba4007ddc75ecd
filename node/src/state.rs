//! The shared state handed to every handler: built once in `main`, cloned per request.

use std::sync::Arc;

use talent_core::schema::SchemaSet;

use crate::federation::FederationNode;
use crate::issuance::IssuanceService;
use crate::issuers::Issuers;
use crate::log::Log;
use crate::member::MemberIdentity;
use crate::statistics::CredentialStatistics;
use crate::store::Store;
use crate::tokens::Tokens;

/// Cloneable handles to everything a handler may need.
#[derive(Debug, Clone)]
pub struct AppState {
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
    /// Verifies concurrent requests together, for the API and the console alike.
    pub verifier: Arc<crate::api::verify::Batcher>,
    /// Credential counts of the own log and every mirror, kept incrementally.
    pub statistics: Arc<CredentialStatistics>,
    /// Searches by full ID number per operator (the console's rate limit).
    pub id_searches: Arc<crate::rate_limit::RateLimiter>,
    /// The audit log of searches by full ID number.
    pub id_search_audit: Arc<crate::audit::IdSearchAudit>,
    /// The node's main runtime, for work that outlives the request that starts it (the
    /// console's import jobs): not the server thread's loop, whose connections it would
    /// hold up (see [`crate::server`]).
    pub background: tokio::runtime::Handle,
}
