//! Writing to the member's log: issuing credentials as the authority, accepting credentials
//! and statements that delegated issuers signed themselves (`credentials:submit`), and
//! status changes. Every entry is admitted by the log's issuer registry (scope,
//! accreditation window, key history) before it is appended, and answered only once durable.
//! The HTTP handlers and later the bulk importer call this.

//!
//! One concept per module: [`error`] what is refused and why, `access` who may have the node
//! sign, `gate` the registry gate, `authority` signing as the authority, `submit` what
//! delegated issuers signed themselves, `status` status changes and slot reservations,
//! `claims` ids and slots on their way to the log, `checks` document checks that need no
//! store, and `writer` the admission and the durable append.

mod access;
mod authority;
mod checks;
mod claims;
pub mod error;
mod gate;
mod status;
mod submit;
#[cfg(test)]
mod tests;
mod writer;

use std::sync::{Arc, PoisonError};

use chrono::Utc;
use serde_json::Value;
use talent_core::identifiers::{CredentialId, RegionId};
use talent_core::schema::SchemaSet;
use talent_core::status_list::StatusSlot;
use talent_integrity::did::DidKey;
use talent_integrity::keys::IssuerKey;

use self::authority::Authority;
use self::claims::InFlight;
pub use self::error::{AccessError, IssueError};
use crate::issuers::Issuers;
use crate::log::Log;
use crate::log::sequencer::{Appended, Sequencer};
use crate::metrics::IssuanceMetrics;
use crate::reservations::Reservations;
use crate::status_lists::StatusLists;
use crate::store::Store;
use crate::tokens::{Operator, Tokens};

/// Most credentials one batch request may carry.
pub const MAX_BATCH_CREDENTIALS: usize = 1000;
/// Credentials per durable batch of a CSV import (`registry-node import` unless told
/// otherwise, and the console's imports).
pub const IMPORT_BATCH: usize = 250;
/// How far a submitted object's `proof.created` may be from the node's clock, in seconds:
/// the log's order and the signing times must agree for withdrawals and rotations to be
/// judged the same way everywhere.
pub const SUBMIT_CLOCK_SKEW_SECONDS: i64 = 300;

/// An object that is signed and durably logged.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    /// Its id.
    pub id: CredentialId,
    /// The signed object (a VC or a statement).
    pub credential: Value,
    /// Its bytes as logged (JCS): the object to answer with, serialised once.
    pub entry: Vec<u8>,
    /// Where it is in the log, with the checkpoint and inclusion proof.
    pub log: Appended,
    /// Why the log admitted it, in words.
    pub authorisation: String,
}

/// Writes this member's log.
#[derive(Debug)]
pub struct IssuanceService {
    schemas: Arc<SchemaSet>,
    sequencer: Sequencer,
    store: Arc<Store>,
    log: Arc<Log>,
    issuers: Arc<Issuers>,
    /// The authority's current key; replaced by a rotation (under the exclusive gate).
    authority: std::sync::RwLock<Arc<Authority>>,
    member: RegionId,
    /// Where `keys/` is, for authority key rotation.
    data_dir: std::path::PathBuf,
    /// Ids of submitted credentials between their duplicate check and their append.
    in_flight: InFlight<CredentialId>,
    /// Slots of submitted credentials between their check and their append.
    slots_in_flight: InFlight<StatusSlot>,
    /// The member's status lists.
    status_lists: Arc<StatusLists>,
    /// The operator tokens, re-checked at every write.
    tokens: Arc<Tokens>,
    /// Unused reserved status-list slots per issuer, bounded.
    reservations: Reservations,
    /// Counts what is issued and how long it takes.
    metrics: IssuanceMetrics,
}

/// The parts of the node the service writes through.
#[derive(Debug, Clone)]
pub struct LogWriter {
    /// Appends durably.
    pub sequencer: Sequencer,
    /// Reads credentials and statuses.
    pub store: Arc<Store>,
    /// The log (its head).
    pub log: Arc<Log>,
    /// Issuer registries.
    pub issuers: Arc<Issuers>,
    /// The node's data directory (its `keys/`).
    pub data_dir: std::path::PathBuf,
    /// The member's status lists.
    pub status_lists: Arc<StatusLists>,
    /// The operator tokens (re-read at every write).
    pub tokens: Arc<Tokens>,
    /// Most unused reserved status-list slots one issuer may hold.
    pub max_reserved_slots: u64,
    /// Where issuance is counted.
    pub metrics: IssuanceMetrics,
}

impl IssuanceService {
    /// A service signing with `authority_key` for `member`, logging through `writer`.
    pub fn new(
        schemas: Arc<SchemaSet>,
        writer: LogWriter,
        authority_key: IssuerKey,
        member: RegionId,
    ) -> IssuanceService {
        IssuanceService {
            schemas,
            sequencer: writer.sequencer,
            store: writer.store,
            log: writer.log,
            issuers: writer.issuers,
            authority: std::sync::RwLock::new(Arc::new(Authority::new(authority_key))),
            member,
            data_dir: writer.data_dir,
            in_flight: InFlight::new(),
            slots_in_flight: InFlight::new(),
            status_lists: writer.status_lists,
            tokens: writer.tokens,
            reservations: Reservations::new(writer.max_reserved_slots),
            metrics: writer.metrics,
        }
    }

    /// The operator as its token stands now: revoked tokens write nothing more, and a role
    /// changed in the token file applies from the next write.
    ///
    /// # Errors
    /// [`IssueError::Token`].
    pub fn current_operator(&self, operator: &Operator) -> Result<Operator, IssueError> {
        self.tokens.recheck(operator).map_err(IssueError::Token)
    }

    /// Whether `operator` may have the node sign credentials (as the console's import
    /// needs): admins, and issuer tokens bound to the authority.
    ///
    /// # Errors
    /// [`IssueError::Token`], [`IssueError::Access`].
    pub fn check_may_issue(&self, operator: &Operator) -> Result<(), IssueError> {
        self.may_issue(&self.current_operator(operator)?, None)
    }

    /// Whether the log still takes entries (the sequencer runs).
    pub fn sequencer_running(&self) -> bool {
        self.sequencer.is_running()
    }

    /// The member's status lists.
    pub fn status_lists(&self) -> &StatusLists {
        &self.status_lists
    }

    /// The signed status list credential `list` of `purpose`, signed by the authority's
    /// current key; `None` for a list not in use.
    ///
    /// # Errors
    /// [`IssueError::Internal`] when the store or signing fails.
    pub fn status_list_credential(
        &self,
        purpose: talent_core::status_list::StatusPurpose,
        list: u32,
    ) -> Result<Option<Arc<Value>>, IssueError> {
        let authority = self.current_authority();
        self.status_lists
            .credential(purpose, list, &authority.did.to_string(), |unsigned| {
                let now = Utc::now();
                self.sign_as_authority(unsigned, now)
            })
    }

    fn current_authority(&self) -> Arc<Authority> {
        self.authority
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The authority's current key (after any rotation).
    pub fn authority_did(&self) -> DidKey {
        self.current_authority().did.clone()
    }
}
