//! The credential model: the seven credential types of the registry, how an issuance
//! request becomes an unsigned W3C Verifiable Credential 2.0 document, the one parsed view
//! every reader of a credential takes ([`CredentialView`]), and the credential verification
//! accepted ([`VerifiedCredential`]).
//!
//! Field-level rules live in the JSON Schemas (`schemas/`, read by the `schema` module); this module
//! adds what a schema cannot say: checksums, masking of the resident ID number, defaults the
//! issuing member supplies, and the order of the validity window.

mod issue;
mod namespace;
mod time;
mod types;
mod verified;
mod view;

pub use issue::{CredentialError, IssueRequest, PreparedCredential, prepare};
pub use namespace::{ForeignNamespace, LEGACY_BASE_URL, Namespace, check_namespace};
pub use time::{format_datetime, parse_datetime};
pub use types::{
    CONTEXT_V1_URL, CredentialType, SCHEMA_BASE_URL, UnknownCredentialType, VC_CONTEXT_V2,
    VERIFIABLE_CREDENTIAL,
};
pub use verified::VerifiedCredential;
pub use view::CredentialView;
