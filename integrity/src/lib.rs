//! # talent-integrity
//!
//! W3C Data Integrity as the talent registry uses it, with nothing of the registry's domain:
//!
//! - [`jcs`]: RFC 8785 JSON canonicalisation, the bytes every proof and log entry is over;
//! - [`multibase`]: base58btc multibase and the Ed25519 multikey encodings;
//! - [`did`]: `did:key` identifiers of Ed25519 keys and a cache of parsed keys;
//! - [`proof`]: `DataIntegrityProof`s with the `eddsa-jcs-2022` cryptosuite, one at a time
//!   or verified in batches. [`proof::Cryptosuite`] names the suite, so a second one
//!   (SM2/SM3) plugs in beside it without changing the proof format.
//!
//! Nothing here performs I/O or reads the clock.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod did;
pub mod keys;
pub mod jcs;
pub mod multibase;
pub mod proof;
