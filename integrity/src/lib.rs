//! # talent-integrity
//!
//! W3C Data Integrity as the talent registry uses it, with nothing of the registry's domain:
//!
//! - [`jcs`]: RFC 8785 JSON canonicalisation, the bytes every proof and log entry is over;
//! - [`multibase`]: base58btc multibase and the Ed25519 and SM2 multikey encodings;
//! - [`did`]: `did:key` identifiers of Ed25519 and SM2 keys and a cache of parsed keys;
//! - [`keys`]: the private keys proofs are signed with ([`keys::IssuerKey`]: Ed25519 or
//!   SM2) and the SM2 distinguishing ID;
//! - [`proof`]: `DataIntegrityProof`s with the `eddsa-jcs-2022` cryptosuite (Ed25519,
//!   SHA-256) or this project's `sm2-jcs-2025` (SM2, SM3; `docs/sm2-jcs-2025.md`), one at a
//!   time or, for Ed25519, verified in batches; and, for documents of other issuers, the
//!   W3C `eddsa-rdfc-2022` (Ed25519 over canonical N-Quads);
//! - [`rdfc`]: JSON-LD documents as RDFC-1.0 canonical N-Quads, with contexts from a local
//!   cache embedded in the crate, refusing what JSON-LD would drop;
//! - [`resource`]: the digests a document gives of the resources it names (`digestSRI`,
//!   `digestMultibase`), checked against bytes held here, never fetched.
//!
//! Nothing here performs I/O or reads the clock.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod did;
pub mod jcs;
pub mod keys;
pub mod multibase;
pub mod proof;
pub mod rdfc;
pub mod resource;
