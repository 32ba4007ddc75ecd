//! Cross-region recognition (互认) as data: `RecognitionAgreementCredential`s that a region's
//! authority signs and logs, and the engine that answers "is this credential recognised in
//! region R, as what, and on which basis?". A recognition grants what its agreement says
//! (eligibility, e.g. to apply for the next level) and never more.
//!
//! An agreement is applied by the region that signs it (`credentialSubject.region`, the
//! log's member). Each rule matches credentials by type, issuing member or member class,
//! level, category, series, qualification and conferral date, and says what follows:
//! `recognised` (with the equivalent in the applying region), `confirmation-required` (a
//! local office must still confirm) or `not-recognised`. It lists what recognition grants
//! and the conditions that remain (appointment stays the employer's decision).
//!
//! The agreements themselves, and when the log ends them, are [`crate::agreement`]'s.
//!
//! **Precedence** when several rules match: the highest `precedence` (default 0) wins; on a
//! tie, the more specific rule (more match fields set); then the agreement that started
//! later; then the agreement id and rule id, so every verifier picks the same rule.

mod answer;
mod evaluation;
mod rules;

pub use answer::{Consideration, Presented, Recognition, Subject};
pub use evaluation::{recognise, recognise_in};
// The agreements the engine applies, where callers have always found them.
pub use crate::agreement::{
    Agreement, AgreementError, AgreementInForce, Basis, Equivalent, Outcome, Rule, RuleMatch,
    in_force,
};

#[cfg(test)]
mod tests;
