//! The member's transparency log: a C2SP tiled Merkle log (RFC 6962 hashing) whose entries
//! are the JCS bytes of signed objects.
//!
//! - [`merkle`]: hashes, inclusion and consistency proofs (RFC 6962 §2.1, via `tlog_tiles`);
//! - [`tile`]: C2SP `tlog-tiles` paths (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`);
//! - [`bundle`]: the entry bundle codec (uint16-length-prefixed entries);
//! - [`checkpoint`]: C2SP `tlog-checkpoint` checkpoints as `signed-note`s;
//! - [`cosignature`]: C2SP `tlog-cosignature` `cosignature/v1` (Ed25519) witness cosignatures;
//! - [`witness`]: the C2SP `tlog-witness` `add-checkpoint` request and the cosigning decision;
//! - [`entry`]: what an entry is (a signed credential today; status changes, accreditations
//!   and agreements are the same kind of signed object).
//!
//! All of it is pure: storage and HTTP live in the node, which feeds bytes in.

pub mod audit;
pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod merkle;
pub mod tile;
pub mod witness;

pub use tlog_tiles::Hash;
