//! Accepting what a delegated issuer signed itself (`credentials:submit`): the proof, the
//! signer's token, freshness, schema, a unique id and a reserved status-list slot.

use chrono::Utc;
use serde_json::Value;
use talent_core::credential::{CredentialError, CredentialType, CredentialView, check_namespace};
use talent_core::identifiers::CredentialId;
use talent_core::log_entry;
use talent_core::schema::SchemaKind;
use talent_core::status_list::StatusSlot;
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofError};

use super::checks::{check_agreement, check_fresh};
use super::claims::Claim;
use super::error::AccessError;
use super::writer::Signed;
use super::{IssuanceService, IssueError, IssuedCredential};
use crate::store::SlotHolder;
use crate::tokens::{Operator, Role};

impl IssuanceService {
    /// Accepts a credential or statement its issuer signed: proof, issuer binding,
    /// freshness, schema, no duplicate id, and admission by the log's issuer registry.
    ///
    /// # Errors
    /// Every [`IssueError`] but `Batch`/`BatchSize`.
    pub async fn submit(
        &self,
        operator: &Operator,
        object: &Value,
    ) -> Result<IssuedCredential, IssueError> {
        let started = std::time::Instant::now();
        let submitted = self.submit_checked(operator, object).await;
        self.count_issued(
            crate::metrics::Signer::Submitted,
            started,
            submitted.as_ref().map(|_| 1),
        );
        submitted
    }

    /// [`Self::submit`], uncounted.
    async fn submit_checked(
        &self,
        operator: &Operator,
        object: &Value,
    ) -> Result<IssuedCredential, IssueError> {
        let operator = &self.current_operator(operator)?;
        let verified = proof::verify(object, ASSERTION_METHOD).map_err(IssueError::Proof)?;
        let issuer = object["issuer"].as_str().unwrap_or_default();
        if issuer != verified.controller.to_string() {
            return Err(IssueError::IssuerNotSigner {
                issuer: issuer.to_owned(),
                signer: verified.controller.to_string(),
            });
        }
        let signer = verified.controller;
        match operator.role {
            Role::Admin => {}
            Role::Auditor => {
                return Err(IssueError::Access(AccessError::Role {
                    role: operator.role,
                    action: "submit entries",
                }));
            }
            Role::Issuer => {
                let registry = self.issuers.own();
                let bound = operator.issuer.clone();
                if !bound.is_some_and(|bound| registry.same_issuer(&bound, &signer)) {
                    return Err(IssueError::Access(AccessError::IssuerMismatch {
                        token_issuer: operator
                            .issuer
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        issuer: signer.to_string(),
                    }));
                }
            }
        }
        let now = Utc::now();
        let created = talent_core::issuers::signing_time(object)
            .ok_or(IssueError::Proof(ProofError::MissingProof))?;
        check_fresh(created, now)?;
        let credential_type = CredentialType::from_type_array(&object["type"]);
        let is_credential = match credential_type {
            Some(credential_type) => {
                self.schemas
                    .validate(SchemaKind::Credential(credential_type), object)
                    .map_err(IssueError::Schema)?;
                // Verifiers refuse a credential under another base; so does its issuing node.
                let registry = self.issuers.own();
                check_namespace(
                    &CredentialView::of(object),
                    registry.member(),
                    registry.namespaces(),
                )
                .map_err(IssueError::ForeignNamespace)?;
                check_agreement(object)?;
                true
            }
            None if talent_core::statement::Statement::kind_of(object).is_some() => {
                talent_core::statement::Statement::from_json(object)
                    .map_err(IssueError::Statement)?;
                false
            }
            None => {
                return Err(IssueError::NotSubmittable(
                    "the object is neither a registry credential nor a statement (CredentialStatusChange, IssuerKeyRotation)".into(),
                ));
            }
        };
        let id: CredentialId = object["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .ok_or(IssueError::Credential(CredentialError::Malformed("id")))?;
        let entry = log_entry::encode(object).map_err(IssueError::Entry)?;
        let _claim = if is_credential {
            Some(self.claim_id(id)?)
        } else {
            None
        };
        let (status_slot, _slot_claim) = if is_credential {
            let (slot, claim) = self.claim_slot(object, &signer)?;
            (Some(slot), Some(claim))
        } else {
            (None, None)
        };
        let talent = credential_type.is_some_and(CredentialType::is_talent);
        let gate = self.enter(!talent).await;
        self.current_operator(operator)?;
        let signed = Signed {
            id,
            object: object.clone(),
            entry,
            signer,
            credential_type,
            resident_id: None,
            status_slot,
        };
        let reserved_for = match status_slot {
            Some(slot) => self.store.status_slot_holder(slot)?,
            None => None,
        };
        let issued = self.append_one(&gate, signed).await?;
        if let Some(SlotHolder::Reserved(issuer)) = reserved_for {
            self.reservations.used(&issuer);
        }
        Ok(issued)
    }

    /// Reserves a submitted credential's id until it is appended (or refused). An id that
    /// the own log or a verified mirror of another member's log already holds is refused:
    /// a second credential under one id would make "the credential with this id" ambiguous
    /// for every verifier that looks it up. (A peer's entry this node has not mirrored yet
    /// cannot be seen here; sync keeps evidence of such a collision, and verifiers pick the
    /// entry by its bytes, see `api::verify`.)
    pub(super) fn claim_id(&self, id: CredentialId) -> Result<Claim<'_, CredentialId>, IssueError> {
        let taken = || {
            if self.store.credential_index(id)?.is_some() {
                return Err(IssueError::Duplicate(id));
            }
            let verified = |member: &str| {
                self.store
                    .mirror_state(member)
                    .ok()
                    .flatten()
                    .map_or(0, |state| state.size)
            };
            match self.store.mirror_holders(id, verified)?.into_iter().next() {
                Some((member, index)) => Err(IssueError::HeldByMember { id, member, index }),
                None => Ok(()),
            }
        };
        self.in_flight
            .claim(id, taken, || IssueError::Duplicate(id))
    }

    /// Checks and reserves the status-list slot a submitted credential names until it is
    /// appended: reserved for its issuer (or a key it rotated to) and used by no other.
    pub(super) fn claim_slot(
        &self,
        object: &Value,
        signer: &DidKey,
    ) -> Result<(StatusSlot, Claim<'_, StatusSlot>), IssueError> {
        let slot = self
            .status_lists
            .slot_of(object)
            .map_err(IssueError::StatusEntry)?
            .ok_or(IssueError::StatusEntryMissing)?;
        let unavailable = |reason| IssueError::StatusSlotUnavailable {
            list: slot.list,
            index: slot.index,
            reason,
        };
        let registry = self.issuers.own();
        match self.store.status_slot_holder(slot)? {
            Some(SlotHolder::Reserved(issuer))
                if issuer
                    .parse::<DidKey>()
                    .is_ok_and(|issuer| registry.same_issuer(&issuer, signer)) => {}
            Some(SlotHolder::Reserved(_)) => {
                return Err(unavailable("is reserved for another issuer"));
            }
            Some(SlotHolder::Used(_)) => return Err(unavailable("is used by another credential")),
            None => {
                return Err(unavailable(
                    "was not reserved (POST /api/v1/status-lists:allocate)",
                ));
            }
        }
        let claim = self.slots_in_flight.claim(
            slot,
            || Ok(()),
            || unavailable("is used by another credential"),
        )?;
        Ok((slot, claim))
    }
}
