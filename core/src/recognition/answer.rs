//! What the engine is asked about ([`Subject`]) and what it answers ([`Recognition`], with
//! every rule it considered).

use serde::Serialize;
use serde_json::Value;

use crate::agreement::{Basis, Outcome};
use crate::credential::{CredentialView, VerifiedCredential};
use crate::federation::{Federation, MemberClass};

/// The credential asked about, as its verification left it.
#[derive(Debug, Clone, Copy)]
pub enum Presented<'a> {
    /// It verified, in the log of the member that issued it: recognition may follow.
    Verified(&'a VerifiedCredential),
    /// It did not verify: it is recognised nowhere, though every rule is still explained.
    NotVerified {
        /// The credential as presented.
        credential: &'a Value,
        /// The member it is explained as issued by: the log that holds it, or else the
        /// region it claims.
        issuing: &'a str,
    },
}

/// What the engine needs to know about the credential asked about.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    credential: CredentialView<'a>,
    verified: bool,
    member: &'a str,
    member_class: Option<MemberClass>,
}

impl<'a> Subject<'a> {
    /// The subject `presented` is, its issuing member of the class `federation` gives it.
    pub fn new(presented: Presented<'a>, federation: Option<&Federation>) -> Subject<'a> {
        let (credential, verified, member) = match presented {
            Presented::Verified(credential) => (credential.view(), true, credential.member()),
            Presented::NotVerified {
                credential,
                issuing,
            } => (CredentialView::of(credential), false, issuing),
        };
        Subject {
            credential,
            verified,
            member,
            member_class: federation
                .and_then(|federation| federation.member(member))
                .map(|member| member.class),
        }
    }

    /// The subject with the member's class given.
    pub fn with_class(presented: Presented<'a>, member_class: Option<MemberClass>) -> Subject<'a> {
        Subject {
            member_class,
            ..Subject::new(presented, None)
        }
    }

    /// The credential.
    pub fn credential(&self) -> CredentialView<'a> {
        self.credential
    }

    /// Whether it verified (proof, issuer, validity, authority, status, inclusion).
    pub fn verified(&self) -> bool {
        self.verified
    }

    /// The member (region) that issued it.
    pub fn member(&self) -> &'a str {
        self.member
    }

    /// That member's class, from the federation configuration.
    pub fn member_class(&self) -> Option<MemberClass> {
        self.member_class
    }
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
