//! What the pipeline is told besides the document: the time, the schemas, and what the
//! verifier knows of the credential's log, issuer history and status.

use chrono::{DateTime, Utc};

use crate::federation::Member;
use crate::issuers::IssuerRegistry;
use crate::schema::SchemaSet;
use crate::status::CredentialStatus;
use talent_tlog::cosignature::CosignerKey;
use talent_tlog::merkle::InclusionProof;

/// What the pipeline needs besides the document.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// The time to judge validity at.
    pub now: DateTime<Utc>,
    /// Compiled schemas.
    pub schemas: &'a SchemaSet,
    /// Whether and how to check log inclusion.
    pub log: LogContext<'a>,
    /// Whether and how to check the issuer's authority (accreditation, key history).
    pub issuers: IssuerContext<'a>,
    /// The credential's status as its log records it, when the verifier holds the log.
    pub status: Option<StatusFact>,
}

/// A credential's status from its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFact {
    /// The status.
    pub status: CredentialStatus,
    /// The leaf index of the change that set it (`None`: no change logged, as issued).
    pub changed_at: Option<u64>,
    /// The log size this is true as of.
    pub as_of_size: u64,
    /// When that log size was the log's newest, if known (a mirror's or a bundle's).
    pub as_of: Option<DateTime<Utc>>,
    /// A status older than this many seconds fails the check.
    pub max_age_seconds: Option<i64>,
    /// Why the status could not be established (evidence that does not verify).
    pub problem: Option<String>,
}

/// What the verifier knows about who may issue into the credential's region.
#[derive(Debug, Clone)]
pub enum IssuerContext<'a> {
    /// Not asked for (a file verified offline without trust data).
    NotRequested,
    /// Asked for, but the region's issuer history is unknown; the reason is reported.
    Missing(String),
    /// The issuer history of the credential's region.
    Registry {
        /// The region's registry.
        registry: &'a IssuerRegistry,
        /// The credential's leaf index in that region's log, when known.
        position: Option<u64>,
    },
}

/// What the verifier knows about the credential's place in its issuer's log.
#[derive(Debug, Clone)]
pub enum LogContext<'a> {
    /// No log check was asked for (a credential file verified offline on its own).
    NotRequested,
    /// A log check was asked for but there is no evidence; the reason is reported.
    Missing(String),
    /// Evidence to check.
    Evidence(LogEvidence<'a>),
}

/// A member's log as a verifier names it: whose log it is, its origin and the signed-note key
/// its checkpoints must carry.
#[derive(Debug, Clone, Copy)]
pub struct LogIdentity<'a> {
    /// The member whose log this is.
    pub member: &'a str,
    /// The log's origin.
    pub origin: &'a str,
    /// The log's signed-note verifier key.
    pub vkey: &'a str,
    /// The log's SM2 verifier key when its checkpoints must carry that second signature
    /// line too (`log_sm2_vkey` in federation.toml).
    pub sm2_vkey: Option<&'a str>,
}

impl<'a> From<&'a Member> for LogIdentity<'a> {
    fn from(member: &'a Member) -> LogIdentity<'a> {
        LogIdentity {
            member: member.id.as_str(),
            origin: &member.log_origin,
            vkey: &member.log_vkey,
            sm2_vkey: member.log_sm2_vkey.as_deref(),
        }
    }
}

/// A checkpoint and inclusion proof for the credential, and the log key to trust. Built with
/// [`LogEvidence::new`]: no witness counts and the checkpoint is not known to be the newest
/// unless [`LogEvidence::witnessed`] and [`LogEvidence::confirmed_at`] say so.
#[derive(Debug, Clone, Copy)]
pub struct LogEvidence<'a> {
    pub(super) log: LogIdentity<'a>,
    pub(super) checkpoint: &'a [u8],
    pub(super) proof: &'a InclusionProof,
    /// Trusted witnesses (`cosignature/v1` keys) whose cosignatures count.
    pub(super) cosigners: &'a [CosignerKey],
    /// How many of them must have cosigned the checkpoint (0: report only).
    pub(super) quorum: usize,
    /// When the checkpoint was last confirmed as the log's newest (a mirror's copy).
    pub(super) confirmed_at: Option<DateTime<Utc>>,
}

impl<'a> LogEvidence<'a> {
    /// The inclusion `proof` of the credential under `checkpoint` (a signed note) of `log`.
    pub fn new(
        log: LogIdentity<'a>,
        checkpoint: &'a [u8],
        proof: &'a InclusionProof,
    ) -> LogEvidence<'a> {
        LogEvidence {
            log,
            checkpoint,
            proof,
            cosigners: &[],
            quorum: 0,
            confirmed_at: None,
        }
    }

    /// Counts the cosignatures of `cosigners` on the checkpoint, and requires `quorum` of
    /// them (0: they are reported, not required).
    pub fn witnessed(self, cosigners: &'a [CosignerKey], quorum: usize) -> LogEvidence<'a> {
        LogEvidence {
            cosigners,
            quorum,
            ..self
        }
    }

    /// Says when the checkpoint was last confirmed as the log's newest (a mirror's copy).
    pub fn confirmed_at(self, at: Option<DateTime<Utc>>) -> LogEvidence<'a> {
        LogEvidence {
            confirmed_at: at,
            ..self
        }
    }

    /// The member whose log this is: the member that issued the credential when the
    /// evidence holds (see [`crate::credential::VerifiedCredential::member`]).
    pub fn member(&self) -> &'a str {
        self.log.member
    }
}
