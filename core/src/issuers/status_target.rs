//! The credential a status change is about, as the log holding it knows it.

use crate::status::CredentialStatus;
use talent_integrity::did::DidKey;

/// The credential a status change is about, as the log holding it knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTarget {
    /// Its issuer (the key that signed it).
    pub issuer: DidKey,
    /// Its current status.
    pub status: CredentialStatus,
    /// The key that signed the change setting that status; `None` as issued.
    pub set_by: Option<DidKey>,
}
