//! # talent-core
//!
//! The pure heart of the Chengdu–Chongqing talent credential registry: the credential model
//! (W3C Verifiable Credentials 2.0), the `eddsa-jcs-2022` Data Integrity cryptosuite over
//! RFC 8785 JSON canonicalisation, `did:key` Ed25519 multikeys, JSON Schema validation and the
//! verification pipeline that the node, the web console and the `talent-verify` CLI share.
//!
//! Nothing here performs I/O, spawns tasks or reads the clock: time and randomness are passed
//! in by the caller, so every function is deterministic and testable against vectors.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod accreditation;
pub mod agreement;
pub mod bulk;
pub mod credential;
pub mod did;
pub mod federation;
pub mod form;
pub mod history;
pub mod identifiers;
pub mod issuers;
pub mod jcs;
pub mod multibase;
pub mod proof;
pub mod proof_bundle;
pub mod recognition;
pub mod request_auth;
pub mod schema;
pub mod statement;
pub mod statistics;
pub mod status;
pub mod status_list;
pub mod tlog;
pub mod trust;
pub mod verify;
