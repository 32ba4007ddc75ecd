//! What the engine is asked about ([`Subject`]) and what it answers ([`Recognition`], with
//! every rule it considered).

use serde::Serialize;
use serde_json::Value;

use crate::agreement::{Basis, Outcome};
use crate::federation::MemberClass;

/// What the engine needs to know about the credential asked about.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The signed credential.
    pub credential: &'a Value,
    /// Whether it verified (proof, issuer, validity, authority, status, inclusion).
    pub valid: bool,
    /// The member (region) that issued it.
    pub member: &'a str,
    /// That member's class, from the federation configuration.
    pub member_class: Option<MemberClass>,
}

/// How one rule fared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consideration {
    /// The agreement.
    pub agreement: String,
    /// Its name.
    pub agreement_name: String,
    /// The rule.
    pub rule: String,
    /// Whether it matched.
    pub matched: bool,
    /// Why (the first field that failed, or what matched).
    pub reason: String,
}

/// The answer to "is it recognised in `region`?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recognition {
    /// The region asked about.
    pub region: String,
    /// Recognised (outcome `recognised`, or the credential is the region's own); `recognized`
    /// in JSON, the field name of the API's recognition answer (`docs/api.yaml`).
    #[serde(rename = "recognized")]
    pub recognised: bool,
    /// The outcome, when a rule decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The equivalent in the region, in Chinese (and English).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<String>,
    /// In English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equivalent_en: Option<String>,
    /// The deciding agreement's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement_name: Option<String>,
    /// The deciding rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The document the agreement rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
    /// Example data only.
    pub illustrative: bool,
    /// What recognition grants.
    pub grants: Vec<String>,
    /// Conditions that remain.
    pub conditions: Vec<String>,
    /// In words, including why not.
    pub reason: String,
    /// Every rule considered (for `explain`).
    pub considered: Vec<Consideration>,
}
