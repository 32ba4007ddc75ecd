//! # talent-core
//!
//! The domain of the Chengdu–Chongqing talent credential registry: the credential types
//! (W3C Verifiable Credentials 2.0) and their JSON Schemas, identifiers, the issuer registry
//! of each log (authorities, accreditations, rotations), status and status lists, mutual
//! recognition (互认), the federation's configuration and trust, what a log entry is, offline
//! proof bundles, and the verification pipeline that the node, the web console and the
//! `talent-verify` CLI share.
//!
//! It stands on two smaller crates: `talent-integrity` (JCS, multibase, `did:key`, the
//! `eddsa-jcs-2022` Data Integrity proofs) and `talent-tlog` (the C2SP transparency log:
//! tiles, checkpoints, cosignatures, the witness).
//!
//! Nothing here performs I/O, spawns tasks or reads the clock: time and randomness are passed
//! in by the caller, so every function is deterministic and testable against vectors.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod accreditation;
pub mod agreement;
pub mod credential;
pub mod federation;
pub mod history;
pub mod identifiers;
pub mod issuers;
pub mod log_audit;
pub mod log_entry;
pub mod proof_bundle;
pub mod public_audit;
pub mod recognition;
pub mod request_auth;
pub mod schema;
pub mod statement;
pub mod statistics;
pub mod status;
pub mod status_list;
pub mod trust;
pub mod verify;
pub mod w3c;
