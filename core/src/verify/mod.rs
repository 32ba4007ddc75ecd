//! The verification pipeline: one function that turns a presented credential into a
//! [`Verdict`] with every check named.
//!
//! The node API, the web console and the `talent-verify` CLI all call [`verify_credential`]
//! and render the same verdict. Checks run independently where they can, so a tampered
//! credential reports exactly which check failed rather than stopping at the first.

mod checks;
mod memo;
mod options;
mod pipeline;
mod report;

pub use memo::CheckpointMemo;
pub use options::{IssuerContext, LogContext, LogEvidence, LogIdentity, StatusFact, VerifyOptions};
pub use pipeline::{
    LeafText, PreparedCredential, Verification, check_signatures, prepare_credential, verify,
    verify_credential, verify_credentials,
};
pub use report::{Check, CheckName, CredentialSummary, LogStatus, Verdict};
