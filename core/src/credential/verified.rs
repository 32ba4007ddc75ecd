//! A credential that verification accepted, and the member whose log it relied on.

use serde_json::Value;

use super::view::CredentialView;

/// A credential every check of its verdict passed for, inclusion in a member's log
/// included. Only verification makes one ([`crate::verify`]): holding one is the proof
/// that the credential was verified, so recognition and the other consumers of verified
/// credentials take it instead of a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCredential {
    document: Value,
    member: String,
    signed_bytes: Vec<u8>,
}

impl VerifiedCredential {
    /// Made by the verification pipeline only, for a verdict that passed with `member`'s
    /// log evidence; `signed_bytes` is the document's canonical text, the log entry.
    pub(crate) fn new(document: Value, member: String, signed_bytes: Vec<u8>) -> Self {
        VerifiedCredential {
            document,
            member,
            signed_bytes,
        }
    }

    /// The credential, read.
    pub fn view(&self) -> CredentialView<'_> {
        CredentialView::of(&self.document)
    }

    /// The document, as signed.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The member that issued it: the member whose log holds it, as the log evidence the
    /// verdict relied on says, never the region the credential claims.
    pub fn member(&self) -> &str {
        &self.member
    }

    /// Its canonical text, which is its entry in the member's log.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.signed_bytes
    }
}
