//! Who may write what to one member's log: the member's authority and its key history, the
//! delegated issuers it accredited, their scopes, withdrawals and key rotations.
//!
//! An [`IssuerRegistry`] is built by [`IssuerRegistry::apply`]ing, in log order, the entries
//! that change it (accreditations, status changes of accreditations, key rotations). It then
//! answers whether an object was authorised **at a point of the log**: a [`When`] gives the
//! object's log position (events logged after it are not seen) and its signing time
//! (`proof.created`). Changes take effect at `max(effective, signed)` of the statement that
//! makes them, never earlier, so withdrawing an accreditation or rotating a key is not
//! retroactive: what was logged before it, signed inside a valid window, stays valid.
//!
//! The signer's claim alone does not decide what is logged after such a change. An entry is
//! judged at its signing time and at the log's time when it was logged, which a replay knows
//! only by log order: no earlier than the signing time of every history entry logged before
//! it ([`IssuerRegistry::log_clock`]). The node admitting it also judges it at its own clock
//! ([`When::admitted`]), on top of every time a replay judges it at, so a replay never
//! refuses what its node admitted. A withdrawal, suspension, key retirement or expiry in
//! effect at any of these times refuses it, whatever its `proof.created` says: an issuer
//! cannot back-date past a withdrawal logged before its entry.
//!
//! The issuing node, every mirror applying a peer's log, and every verifier (node or CLI)
//! ask the same questions of the same data, so they reach the same answer.

mod accreditation_window;
mod admit;
mod authorisation;
mod authorise;
mod facts;
mod key_history;
mod registry;
mod status_target;
mod status_targets;

pub use admit::{Admissible, AdmitError, Admitted};
pub use authorisation::{AccreditationProblem, Authorisation, AuthorisationError};
pub use facts::{When, signing_time, valid_until};
pub use registry::IssuerRegistry;
pub use status_target::StatusTarget;
pub use status_targets::StatusTargets;

#[cfg(test)]
mod tests;
