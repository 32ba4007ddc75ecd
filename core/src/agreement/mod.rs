//! Recognition agreements as their region's log holds them: the `RecognitionAgreementCredential`
//! a region's authority signs ([`Agreement`], its rules and the document it rests on), and the
//! end the log gives each one ([`in_force`]).
//!
//! Both the issuer history of a log (which records the agreements logged in it) and the
//! recognition engine (which applies them) stand on this module; it depends on neither.

mod document;
mod in_force;

pub use document::{Agreement, AgreementError, Basis, Equivalent, Outcome, Rule, RuleMatch};
pub use in_force::{AgreementInForce, in_force};
