//! # talent-tlog
//!
//! A registry member's transparency log as bytes and proofs: a C2SP tiled Merkle log
//! (RFC 6962 hashing) whose entries are opaque byte strings (the registry puts the JCS bytes
//! of signed objects there; what an entry means is `talent_core::log_entry`'s business).
//!
//! - [`merkle`]: hashes, inclusion and consistency proofs (RFC 6962 §2.1, via `tlog_tiles`);
//! - [`tile`]: C2SP `tlog-tiles` paths (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`);
//! - [`served_tiles`]: consistency and inclusion proofs from a log's served hash tiles,
//!   authenticated against a checkpoint's root (what an outside auditor can prove);
//! - [`bundle`]: the entry bundle codec (uint16-length-prefixed entries);
//! - [`checkpoint`]: C2SP `tlog-checkpoint` checkpoints as `signed-note`s;
//! - [`sm2_note`]: an optional second checkpoint signature by an SM2 key (a local
//!   signed-note extension that C2SP verifiers ignore);
//! - [`cosignature`]: C2SP `tlog-cosignature` `cosignature/v1` (Ed25519) witness cosignatures;
//! - [`witness`]: the C2SP `tlog-witness` `add-checkpoint` request and the cosigning decision.
//!
//! All of it is pure: storage and HTTP live in the node, which feeds bytes in.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod merkle;
pub mod served_tiles;
pub mod sm2_note;
pub mod tile;
pub mod witness;

pub use tlog_tiles::Hash;
