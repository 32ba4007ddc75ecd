//! The read-side services of the node: what the API and the console both answer from.
//! Each takes the parts of the node it reads ([`HeldLogs`], the issuer registries, the
//! schemas, …), never the HTTP state, and returns its own error; `api` and `console` parse
//! a request, call a service and map its answer (or error) to their response.
//!
//! - [`accreditations`]: the own delegated issuers' accreditations and their standing.
//! - [`verification`]: the verdict on a presented credential (evidence lookup, the batch
//!   scheduler, the checkpoint memo) and, when asked, its recognition in a region.
//! - [`bundles`]: the offline proof bundle of an own credential.
//! - [`issuer_history`]: a member's issuer history with inclusion proofs.
//! - [`search`]: reading own credentials for an operator: one by id, the console's search.
//! - [`read_access`]: which credentials an operator's token may read.
//! - [`statistics`]: the current credential counts and recognition flows.

pub mod accreditations;
pub mod bundles;
pub mod held_logs;
pub mod issuer_history;
pub mod query_log;
pub mod read_access;
pub mod search;
pub mod statistics;
pub mod vc_api;
pub mod verification;

pub use held_logs::HeldLogs;
