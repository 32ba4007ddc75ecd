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
//! **In force.** An agreement applies from its `validFrom`; it ends at its `validUntil`, at
//! a logged withdrawal (a status change to 03, 04, 06 or 07), or when a later agreement of
//! the same region that `supersedes` it starts, whichever is first. Ending is not
//! retroactive: after the end, the agreement still covers credentials conferred *and signed*
//! before it (the signing time keeps an issuer from backdating `conferredOn`). Likewise a
//! superseding agreement covers only credentials conferred from its own start: what was
//! conferred before stays under the agreement it replaced.
//!
//! **Precedence** when several rules match: the highest `precedence` (default 0) wins; on a
//! tie, the more specific rule (more match fields set); then the agreement that started
//! later; then the agreement id and rule id, so every verifier picks the same rule.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

use crate::accreditation::level_field;
use crate::credential::{CredentialType, parse_datetime};
use crate::federation::MemberClass;
use crate::identifiers::CredentialId;

/// Why a `RecognitionAgreementCredential` cannot be read as an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AgreementError {
    /// Not a `RecognitionAgreementCredential`.
    #[error("not a RecognitionAgreementCredential")]
    WrongType,
    /// A field is missing or malformed.
    #[error("agreement is malformed: {0}")]
    Malformed(String),
}

/// What a matching rule concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Recognised as the equivalent, with the grants and conditions listed.
    Recognised,
    /// Recognised only once a local office confirms it.
    ConfirmationRequired,
    /// Explicitly not recognised.
    NotRecognised,
}

impl Outcome {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recognised => "recognised",
            Outcome::ConfirmationRequired => "confirmation-required",
            Outcome::NotRecognised => "not-recognised",
        }
    }

    /// Label in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            Outcome::Recognised => "互认",
            Outcome::ConfirmationRequired => "需本地确认",
            Outcome::NotRecognised => "不予互认",
        }
    }
}

/// What a rule matches. Absent lists do not restrict; present lists must contain the
/// credential's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleMatch {
    /// Credential types (required, at least one).
    pub types: Vec<CredentialType>,
    /// Issuing members (the credential's region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// Classes of the issuing member (e.g. `provincial-hr-authority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_classes: Option<Vec<MemberClass>>,
    /// Levels: title/skill/qualification `level`, service card `cardClass`, 金凤凰 `tier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// 金凤凰 categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Title series (工程, 卫生, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Vec<String>>,
    /// Professional qualifications (一级注册建造师, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifications: Option<Vec<String>>,
    /// Conferred on or after this date (the subject's `conferredOn`, else `validFrom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conferred_from: Option<NaiveDate>,
    /// Conferred before this date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conferred_before: Option<NaiveDate>,
}

/// The equivalent in the applying region. `{field}` in the labels is replaced by that field
/// of the credential's subject (e.g. `{titleName}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Equivalent {
    /// In Chinese, e.g. `{titleName}（{level}）`.
    pub label_zh: String,
    /// In English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
}

/// One rule of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// Unique within the agreement.
    pub id: String,
    /// What the rule is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What it matches.
    #[serde(rename = "match")]
    pub matches: RuleMatch,
    /// What follows (default `recognised`).
    #[serde(default = "recognised")]
    pub outcome: Outcome,
    /// The equivalent in the applying region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<Equivalent>,
    /// What recognition grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<String>,
    /// Conditions that remain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// Higher wins among matching rules (default 0).
    #[serde(default)]
    pub precedence: i32,
}

fn recognised() -> Outcome {
    Outcome::Recognised
}

/// The document an agreement rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Basis {
    /// Title or number of the document.
    pub document: String,
    /// Its date.
    pub date: NaiveDate,
    /// Where to read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A recognition agreement as logged by a region's authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The agreement credential's id.
    pub id: CredentialId,
    /// Its name (e.g. 川渝职称互认（高级）).
    pub name: String,
    /// The region that applies it.
    pub region: String,
    /// Start.
    pub valid_from: DateTime<Utc>,
    /// End, if any.
    pub valid_until: Option<DateTime<Utc>>,
    /// Agreements of the same region it replaces from its start.
    pub supersedes: Vec<CredentialId>,
    /// Example data, not a confirmed policy: the real mapping was not confirmed from a
    /// published source, so it is shown as such and kept replaceable.
    pub illustrative: bool,
    /// The document it rests on.
    pub basis: Basis,
    /// Its rules.
    pub rules: Vec<Rule>,
}

impl Agreement {
    /// Reads a `RecognitionAgreementCredential` (schema-valid).
    ///
    /// # Errors
    /// [`AgreementError`].
    pub fn from_credential(document: &Value) -> Result<Agreement, AgreementError> {
        if CredentialType::from_type_array(&document["type"])
            != Some(CredentialType::RecognitionAgreementCredential)
        {
            return Err(AgreementError::WrongType);
        }
        let malformed = |what: &str| AgreementError::Malformed(what.to_owned());
        let subject = &document["credentialSubject"];
        let time = |value: &Value, what: &str| {
            value
                .as_str()
                .and_then(parse_datetime)
                .ok_or_else(|| malformed(what))
        };
        let rules: Vec<Rule> = serde_json::from_value(subject["rules"].clone())
            .map_err(|error| AgreementError::Malformed(format!("rules: {error}")))?;
        if rules.is_empty() {
            return Err(malformed("rules (none)"));
        }
        for (position, rule) in rules.iter().enumerate() {
            if rule.matches.types.is_empty() {
                return Err(AgreementError::Malformed(format!(
                    "rule {}: match.types is empty",
                    rule.id
                )));
            }
            if rules[..position].iter().any(|other| other.id == rule.id) {
                return Err(AgreementError::Malformed(format!(
                    "rule id {} twice",
                    rule.id
                )));
            }
        }
        let supersedes = match subject.get("supersedes") {
            None => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|id| id.as_str().and_then(|id| id.parse().ok()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed("credentialSubject.supersedes"))?,
            Some(_) => return Err(malformed("credentialSubject.supersedes")),
        };
        Ok(Agreement {
            id: document["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| malformed("id"))?,
            name: subject["name"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| malformed("credentialSubject.name"))?,
            region: subject["region"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| malformed("credentialSubject.region"))?,
            valid_from: time(&document["validFrom"], "validFrom")?,
            valid_until: match document.get("validUntil") {
                None => None,
                Some(value) => Some(time(value, "validUntil")?),
            },
            supersedes,
            illustrative: subject["illustrative"].as_bool().unwrap_or(false),
            basis: serde_json::from_value(subject["basis"].clone())
                .map_err(|error| AgreementError::Malformed(format!("basis: {error}")))?,
            rules,
        })
    }
}

/// An agreement with the end the log gives it (expiry, withdrawal or supersession).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementInForce {
    /// The agreement.
    pub agreement: Agreement,
    /// When it stopped applying to new credentials, and why.
    pub ended: Option<(DateTime<Utc>, String)>,
}

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

/// Answers whether `subject` is recognised in `region` at `now` under `agreements` (that
/// region's agreements, as its log gives them).
pub fn recognise(
    subject: &Subject<'_>,
    region: &str,
    agreements: &[AgreementInForce],
    now: DateTime<Utc>,
) -> Recognition {
    let mut answer = Recognition {
        region: region.to_owned(),
        recognised: false,
        outcome: None,
        equivalent: None,
        equivalent_en: None,
        agreement: None,
        agreement_name: None,
        rule: None,
        basis: None,
        illustrative: false,
        grants: Vec::new(),
        conditions: Vec::new(),
        reason: String::new(),
        considered: Vec::new(),
    };
    let credential = subject.credential;
    let conferred = conferral_date(credential);
    let signed = crate::issuers::signing_time(credential);
    let mut matched: Vec<(&AgreementInForce, &Rule)> = Vec::new();
    for in_force in agreements.iter().filter(|a| a.agreement.region == region) {
        let agreement = &in_force.agreement;
        let applies = applies_at(in_force, conferred, signed, now);
        for rule in &agreement.rules {
            let verdict = match &applies {
                Err(why) => Err(why.clone()),
                Ok(()) => rule_matches(&rule.matches, subject, conferred),
            };
            answer.considered.push(Consideration {
                agreement: agreement.id.to_string(),
                agreement_name: agreement.name.clone(),
                rule: rule.id.clone(),
                matched: verdict.is_ok(),
                reason: match &verdict {
                    Ok(()) => format!("matches ({})", describe_match(&rule.matches)),
                    Err(why) => why.clone(),
                },
            });
            if verdict.is_ok() {
                matched.push((in_force, rule));
            }
        }
    }
    if !subject.valid {
        answer.reason = "the credential is not valid, so it is recognised nowhere".into();
        return answer;
    }
    if subject.member == region {
        answer.recognised = true;
        answer.reason = format!("issued in {region} itself");
        return answer;
    }
    matched.sort_by(|(a, ra), (b, rb)| {
        rb.precedence
            .cmp(&ra.precedence)
            .then(specificity(&rb.matches).cmp(&specificity(&ra.matches)))
            .then(b.agreement.valid_from.cmp(&a.agreement.valid_from))
            .then(a.agreement.id.to_string().cmp(&b.agreement.id.to_string()))
            .then(ra.id.cmp(&rb.id))
    });
    let Some((in_force, rule)) = matched.first() else {
        answer.reason = format!(
            "no agreement of {region} in force covers this {} from {}",
            credential_type_name(credential),
            subject.member
        );
        return answer;
    };
    let agreement = &in_force.agreement;
    let subject_fields = &credential["credentialSubject"];
    answer.outcome = Some(rule.outcome);
    answer.recognised = rule.outcome == Outcome::Recognised;
    answer.equivalent = rule
        .equivalent
        .as_ref()
        .map(|e| fill(&e.label_zh, subject_fields));
    answer.equivalent_en = rule
        .equivalent
        .as_ref()
        .and_then(|e| e.label_en.as_ref())
        .map(|label| fill(label, subject_fields));
    answer.agreement = Some(agreement.id.to_string());
    answer.agreement_name = Some(agreement.name.clone());
    answer.rule = Some(rule.id.clone());
    answer.basis = Some(agreement.basis.clone());
    answer.illustrative = agreement.illustrative;
    answer.grants = rule.grants.clone();
    answer.conditions = rule.conditions.clone();
    answer.reason = match rule.outcome {
        Outcome::Recognised => format!(
            "recognised in {region}{} under {} (rule {})",
            answer
                .equivalent
                .as_ref()
                .map(|e| format!(" as {e}"))
                .unwrap_or_default(),
            agreement.name,
            rule.id
        ),
        Outcome::ConfirmationRequired => format!(
            "not recognised without local confirmation: {} (rule {} of {})",
            rule.conditions
                .first()
                .cloned()
                .unwrap_or_else(|| "a local office must confirm it".into()),
            rule.id,
            agreement.name
        ),
        Outcome::NotRecognised => format!(
            "not recognised in {region}: rule {} of {}{}",
            rule.id,
            agreement.name,
            rule.description
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
    };
    answer
}

/// Answers for `credential` (issued by member `issuing`, `valid` per its verdict) in the
/// region whose verified issuer history is `registry`, with member classes from
/// `federation`: the one entry point of nodes, bundles and the CLI.
pub fn recognise_in(
    registry: &crate::issuers::IssuerRegistry,
    credential: &Value,
    valid: bool,
    issuing: &str,
    federation: Option<&crate::federation::Federation>,
    now: DateTime<Utc>,
) -> Recognition {
    recognise(
        &Subject {
            credential,
            valid,
            member: issuing,
            member_class: federation
                .and_then(|federation| federation.member(issuing))
                .map(|member| member.class),
        },
        registry.member(),
        &registry.agreements(None),
        now,
    )
}

/// Whether the agreement applies to a credential conferred on `conferred`, asked at `now`.
fn applies_at(
    in_force: &AgreementInForce,
    conferred: Option<NaiveDate>,
    signed: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let agreement = &in_force.agreement;
    if now < agreement.valid_from {
        return Err(format!(
            "the agreement starts {}",
            agreement.valid_from.date_naive()
        ));
    }
    if !agreement.supersedes.is_empty()
        && conferred.is_none_or(|date| date < agreement.valid_from.date_naive())
    {
        return Err(format!(
            "the agreement replaces earlier ones from {} and the credential was conferred before",
            agreement.valid_from.date_naive()
        ));
    }
    let end = [
        agreement.valid_until.map(|t| (t, "expired".to_owned())),
        in_force.ended.clone(),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(time, _)| *time);
    match end {
        Some((end, why)) if now >= end => {
            // Not retroactive: what was conferred and signed before the end stays covered.
            let conferred_before = conferred.is_some_and(|date| date < end.date_naive());
            if conferred_before && signed.is_none_or(|time| time < end) {
                Ok(())
            } else {
                Err(format!(
                    "the agreement {why} on {} and the credential was conferred or signed after",
                    end.date_naive()
                ))
            }
        }
        _ => Ok(()),
    }
}

/// A subject field a rule may restrict: (name, allowed values, the credential's value).
type FieldCheck<'a> = (&'static str, &'a Option<Vec<String>>, Option<&'a str>);

fn rule_matches(
    rule: &RuleMatch,
    subject: &Subject<'_>,
    conferred: Option<NaiveDate>,
) -> Result<(), String> {
    let credential = subject.credential;
    let fields = &credential["credentialSubject"];
    let credential_type = CredentialType::from_type_array(&credential["type"]);
    if !credential_type.is_some_and(|t| rule.types.contains(&t)) {
        return Err(format!(
            "type {} is not in {}",
            credential_type_name(credential),
            list(rule.types.iter().map(|t| t.as_str()))
        ));
    }
    if let Some(members) = &rule.members
        && !members.iter().any(|m| m == subject.member)
    {
        return Err(format!(
            "issued by {}, not by {}",
            subject.member,
            list(members.iter().map(String::as_str))
        ));
    }
    if let Some(classes) = &rule.member_classes
        && !subject.member_class.is_some_and(|c| classes.contains(&c))
    {
        return Err(format!(
            "the issuing member is {}, not {}",
            subject
                .member_class
                .map_or("of no known class", MemberClass::as_str),
            list(classes.iter().map(|c| c.as_str()))
        ));
    }
    let level = credential_type
        .and_then(level_field)
        .and_then(|field| fields[field].as_str());
    let checks: [FieldCheck<'_>; 4] = [
        ("level", &rule.levels, level),
        ("category", &rule.categories, fields["category"].as_str()),
        ("series", &rule.series, fields["series"].as_str()),
        (
            "qualification",
            &rule.qualifications,
            fields["qualification"].as_str(),
        ),
    ];
    for (name, allowed, value) in checks {
        if let Some(allowed) = allowed
            && !value.is_some_and(|v| allowed.iter().any(|a| a == v))
        {
            return Err(format!(
                "{name} {} is not in {}",
                value.unwrap_or("(none)"),
                list(allowed.iter().map(String::as_str))
            ));
        }
    }
    if let Some(from) = rule.conferred_from
        && conferred.is_none_or(|date| date < from)
    {
        return Err(format!("conferred {}, before {from}", show_date(conferred)));
    }
    if let Some(before) = rule.conferred_before
        && conferred.is_none_or(|date| date >= before)
    {
        return Err(format!(
            "conferred {}, not before {before}",
            show_date(conferred)
        ));
    }
    Ok(())
}

/// How many fields a rule constrains beside the type: more is more specific.
fn specificity(rule: &RuleMatch) -> usize {
    [
        rule.members.is_some(),
        rule.member_classes.is_some(),
        rule.levels.is_some(),
        rule.categories.is_some(),
        rule.series.is_some(),
        rule.qualifications.is_some(),
        rule.conferred_from.is_some(),
        rule.conferred_before.is_some(),
    ]
    .into_iter()
    .filter(|set| *set)
    .count()
}

fn describe_match(rule: &RuleMatch) -> String {
    let mut parts = vec![list(rule.types.iter().map(|t| t.as_str()))];
    let mut add = |name: &str, values: &Option<Vec<String>>| {
        if let Some(values) = values {
            parts.push(format!(
                "{name} {}",
                list(values.iter().map(String::as_str))
            ));
        }
    };
    add("members", &rule.members);
    add(
        "member classes",
        &rule
            .member_classes
            .as_ref()
            .map(|c| c.iter().map(|c| c.as_str().to_owned()).collect()),
    );
    add("levels", &rule.levels);
    add("categories", &rule.categories);
    add("series", &rule.series);
    add("qualifications", &rule.qualifications);
    parts.join("; ")
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

fn show_date(date: Option<NaiveDate>) -> String {
    date.map_or_else(|| "(no date)".into(), |d| d.to_string())
}

fn credential_type_name(credential: &Value) -> &'static str {
    CredentialType::from_type_array(&credential["type"]).map_or("credential", |t| t.as_str())
}

/// The conferral date: the subject's `conferredOn`, else the date of `validFrom`.
fn conferral_date(credential: &Value) -> Option<NaiveDate> {
    credential["credentialSubject"]["conferredOn"]
        .as_str()
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .or_else(|| {
            credential["validFrom"]
                .as_str()
                .and_then(parse_datetime)
                .map(|time| time.date_naive())
        })
}

/// Replaces `{field}` with the subject's string field (left as is when absent).
fn fill(template: &str, subject: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match subject[name].as_str() {
                    Some(value) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Gives each agreement its end from the log: `withdrawals` (agreement id → when its
/// status left 01) and supersession by later agreements of the same region.
pub fn in_force(
    agreements: Vec<Agreement>,
    withdrawals: &BTreeMap<CredentialId, DateTime<Utc>>,
) -> Vec<AgreementInForce> {
    let superseded: BTreeMap<CredentialId, (DateTime<Utc>, String)> = agreements
        .iter()
        .flat_map(|later| {
            later.supersedes.iter().filter_map(|id| {
                agreements
                    .iter()
                    .find(|a| a.id == *id && a.region == later.region)
                    .map(|_| {
                        (
                            *id,
                            (
                                later.valid_from,
                                format!("was superseded by {}", later.name),
                            ),
                        )
                    })
            })
        })
        .collect();
    agreements
        .into_iter()
        .map(|agreement| {
            let ended = [
                withdrawals
                    .get(&agreement.id)
                    .map(|t| (*t, "was withdrawn".to_owned())),
                superseded.get(&agreement.id).cloned(),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(time, _)| *time);
            AgreementInForce { agreement, ended }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::federation::Federation;

    const SEEDS: &[(&str, &str)] = &[
        (
            "cq-sc",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cq-sc/01-senior-titles.json"
            ),
        ),
        (
            "cq-sc",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cq-sc/02-intermediate-titles.json"
            ),
        ),
        (
            "cq-sc",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cq-sc/03-chongqing-titles.json"
            ),
        ),
        (
            "cq-sc",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cq-sc/04-qualification-to-title.json"
            ),
        ),
        (
            "cq-sc",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cq-sc/05-talent-enclaves.json"
            ),
        ),
        (
            "cq-sc",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cq-sc/06-innovation-community.json"
            ),
        ),
        (
            "cd-hz",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cd-hz/01-senior-titles.json"
            ),
        ),
        (
            "cd-hz",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cd-hz/02-intermediate-titles.json"
            ),
        ),
        (
            "cd-hz",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cd-hz/03-golden-phoenix-to-chengdu.json"
            ),
        ),
        (
            "cd-hz",
            include_str!(
                "../../federation-config/chengdu-chongqing/recognition/cd-hz/04-sichuan-titles.json"
            ),
        ),
    ];

    /// The seed request as the credential its region's node would issue (unsigned).
    fn agreement_credential(region: &str, request: &Value, id: u128) -> Value {
        let mut subject = request["credentialSubject"].clone();
        subject["region"] = json!(region);
        json!({
            "id": format!("urn:uuid:{}", uuid::Uuid::from_u128(id)),
            "type": ["VerifiableCredential", "RecognitionAgreementCredential"],
            "validFrom": request["validFrom"],
            "credentialSubject": subject,
        })
    }

    fn seeds() -> Vec<Agreement> {
        SEEDS
            .iter()
            .enumerate()
            .map(|(n, (region, text))| {
                let request: Value = serde_json::from_str(text).expect("seed JSON");
                let credential = agreement_credential(region, &request, n as u128 + 1);
                Agreement::from_credential(&credential).expect("seed agreement reads")
            })
            .collect()
    }

    fn federation() -> Federation {
        Federation::parse(include_str!(
            "../../federation-config/chengdu-chongqing/federation.toml"
        ))
        .expect("config")
    }

    fn credential(member: &str, credential_type: &str, subject: Value) -> Value {
        let mut subject = subject;
        subject["region"] = json!(member);
        json!({
            "type": ["VerifiableCredential", credential_type],
            "validFrom": "2025-06-01T00:00:00Z",
            "credentialSubject": subject,
        })
    }

    fn title(member: &str, level: &str, conferred: &str) -> Value {
        credential(
            member,
            "ProfessionalTitleCredential",
            json!({"series": "工程", "level": level, "titleName": format!("{level}工程师"), "conferredOn": conferred}),
        )
    }

    fn phoenix(member: &str, category: &str) -> Value {
        credential(
            member,
            "GoldenPhoenixTalentCredential",
            json!({"category": category, "tier": "塔身", "field": "人工智能", "route": "standard"}),
        )
    }

    fn qualification(member: &str, name: &str) -> Value {
        credential(
            member,
            "ProfessionalQualificationCredential",
            json!({"qualification": name, "level": "一级", "authority": "住房和城乡建设部门"}),
        )
    }

    fn ask(
        credential: &Value,
        region: &str,
        agreements: &[AgreementInForce],
        now: &str,
    ) -> Recognition {
        let federation = federation();
        let member = credential["credentialSubject"]["region"]
            .as_str()
            .expect("region");
        let subject = Subject {
            credential,
            valid: true,
            member,
            member_class: federation.member(member).map(|m| m.class),
        };
        recognise(
            &subject,
            region,
            agreements,
            parse_datetime(now).expect("time"),
        )
    }

    const NOW: &str = "2026-11-26T00:00:00Z";

    /// (credential, asked in, recognised, outcome, rule, words in the equivalent)
    type Case = (
        Value,
        &'static str,
        bool,
        Option<Outcome>,
        Option<&'static str>,
        &'static str,
    );

    #[test]
    fn every_seed_rule_answers_as_the_agreements_say() {
        let agreements = in_force(seeds(), &BTreeMap::new());
        let cases: Vec<Case> = vec![
            (
                title("sc-hrss", "正高级", "2024-12-30"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("senior-titles"),
                "正高级工程师（正高级，川渝互认）",
            ),
            (
                title("sc-hrss", "副高级", "2024-12-30"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("senior-titles"),
                "川渝互认",
            ),
            (
                title("sc-hrss", "中级", "2024-12-30"),
                "cq-sc",
                false,
                Some(Outcome::ConfirmationRequired),
                Some("intermediate-and-below"),
                "待确认",
            ),
            (
                title("sc-hrss", "助理级", "2024-12-30"),
                "cq-sc",
                false,
                Some(Outcome::ConfirmationRequired),
                Some("intermediate-and-below"),
                "待确认",
            ),
            (
                title("sc-hrss", "员级", "2024-12-30"),
                "cq-sc",
                false,
                Some(Outcome::ConfirmationRequired),
                Some("intermediate-and-below"),
                "待确认",
            ),
            (
                title("cq-hrss", "中级", "2024-12-30"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("municipal-titles"),
                "中级工程师",
            ),
            (
                title("cq-hrss", "正高级", "2024-12-30"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("municipal-titles"),
                "正高级工程师（正高级）",
            ),
            (
                title("cd-hz", "正高级", "2024-12-30"),
                "cq-sc",
                false,
                None,
                None,
                "",
            ),
            (
                qualification("sc-hrss", "一级注册建造师"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("constructor-to-engineer"),
                "工程师（中级",
            ),
            (
                qualification("cq-hrss", "注册会计师"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("accountant-to-accountant"),
                "会计师（中级",
            ),
            (
                qualification("sc-hrss", "二级注册建造师"),
                "cq-sc",
                false,
                None,
                None,
                "",
            ),
            (
                phoenix("bj-zgc", "青年人才"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("enclave-talent"),
                "人才飞地，青年人才",
            ),
            (
                phoenix("cq-hrss", "领军人才"),
                "cq-sc",
                true,
                Some(Outcome::Recognised),
                Some("golden-phoenix-standard"),
                "金凤凰领军人才（同等类别）",
            ),
            (phoenix("cq-sc", "顶尖人才"), "cq-sc", true, None, None, ""),
            (
                title("cq-hrss", "正高级", "2024-12-30"),
                "cd-hz",
                true,
                Some(Outcome::Recognised),
                Some("senior-titles"),
                "川渝互认",
            ),
            (
                title("cq-hrss", "中级", "2024-12-30"),
                "cd-hz",
                false,
                Some(Outcome::ConfirmationRequired),
                Some("intermediate-and-below"),
                "待确认",
            ),
            (
                title("sc-hrss", "中级", "2024-12-30"),
                "cd-hz",
                true,
                Some(Outcome::Recognised),
                Some("provincial-titles"),
                "中级工程师",
            ),
            (
                phoenix("cq-sc", "顶尖人才"),
                "cd-hz",
                true,
                Some(Outcome::Recognised),
                Some("top-to-golden-panda-a"),
                "金熊猫人才 A 类",
            ),
            (
                phoenix("cq-sc", "杰出人才"),
                "cd-hz",
                true,
                Some(Outcome::Recognised),
                Some("top-to-golden-panda-a"),
                "金熊猫人才 A 类",
            ),
            (
                phoenix("cq-sc", "领军人才"),
                "cd-hz",
                true,
                Some(Outcome::Recognised),
                Some("leading-to-golden-panda-b"),
                "金熊猫人才 B 类",
            ),
            (
                phoenix("cq-sc", "青年人才"),
                "cd-hz",
                true,
                Some(Outcome::Recognised),
                Some("young-to-green-card"),
                "成都人才绿卡",
            ),
            (
                phoenix("bj-zgc", "青年人才"),
                "cd-hz",
                false,
                None,
                None,
                "",
            ),
            (
                title("cq-sc", "正高级", "2024-12-30"),
                "cd-hz",
                false,
                None,
                None,
                "",
            ),
        ];
        for (credential, region, recognised, outcome, rule, equivalent) in cases {
            let answer = ask(&credential, region, &agreements, NOW);
            let label = format!("{credential} in {region}: {answer:?}");
            assert_eq!(answer.recognised, recognised, "{label}");
            assert_eq!(answer.outcome, outcome, "{label}");
            assert_eq!(answer.rule.as_deref(), rule, "{label}");
            assert!(
                answer
                    .equivalent
                    .as_deref()
                    .unwrap_or_default()
                    .contains(equivalent),
                "{label}"
            );
            if rule.is_some() {
                assert!(
                    answer.basis.is_some() && answer.agreement_name.is_some(),
                    "{label}"
                );
            }
            if !recognised {
                assert!(!answer.reason.is_empty(), "{label}");
            }
        }
    }

    #[test]
    fn illustrative_data_and_conditions_are_carried() {
        let agreements = in_force(seeds(), &BTreeMap::new());
        let answer = ask(&phoenix("cq-sc", "顶尖人才"), "cd-hz", &agreements, NOW);
        assert!(answer.illustrative);
        let answer = ask(
            &title("sc-hrss", "正高级", "2024-12-30"),
            "cq-sc",
            &agreements,
            NOW,
        );
        assert!(!answer.illustrative);
        assert!(answer.conditions.iter().any(|c| c.contains("用人单位")));
        assert!(answer.grants.iter().any(|g| g.contains("高一级")));
        let answer = ask(
            &title("sc-hrss", "中级", "2024-12-30"),
            "cq-sc",
            &agreements,
            NOW,
        );
        assert!(answer.reason.contains("确认"), "{}", answer.reason);
    }

    #[test]
    fn an_invalid_credential_is_never_recognised() {
        let agreements = in_force(seeds(), &BTreeMap::new());
        let credential = title("sc-hrss", "正高级", "2024-12-30");
        let subject = Subject {
            credential: &credential,
            valid: false,
            member: "sc-hrss",
            member_class: Some(MemberClass::ProvincialHrAuthority),
        };
        let answer = recognise(
            &subject,
            "cq-sc",
            &agreements,
            parse_datetime(NOW).expect("now"),
        );
        assert!(!answer.recognised);
        assert_eq!(answer.outcome, None);
        assert!(
            answer.considered.iter().any(|c| c.matched),
            "explain still lists rules"
        );
    }

    #[test]
    fn agreements_apply_from_their_start_and_endings_are_not_retroactive() {
        let seeds = seeds();
        let senior = seeds
            .iter()
            .find(|a| a.region == "cq-sc" && a.name.contains("高级职称"))
            .expect("senior agreement")
            .clone();
        let only = |withdrawals: &BTreeMap<CredentialId, DateTime<Utc>>| {
            in_force(vec![senior.clone()], withdrawals)
        };
        // Before the agreement started: nothing.
        let early = ask(
            &title("sc-hrss", "正高级", "2020-01-01"),
            "cq-sc",
            &only(&BTreeMap::new()),
            "2021-01-01T00:00:00Z",
        );
        assert!(!early.recognised);
        assert!(early.considered[0].reason.contains("starts"), "{early:?}");
        // A title conferred before the agreement is covered once it is in force.
        let before = ask(
            &title("sc-hrss", "正高级", "2019-05-01"),
            "cq-sc",
            &only(&BTreeMap::new()),
            NOW,
        );
        assert!(before.recognised);
        // Withdrawn on 2025-01-01: titles conferred before stay recognised, later ones not.
        let withdrawn = BTreeMap::from([(
            senior.id,
            parse_datetime("2025-01-01T00:00:00Z").expect("t"),
        )]);
        let old = ask(
            &title("sc-hrss", "正高级", "2024-12-30"),
            "cq-sc",
            &only(&withdrawn),
            NOW,
        );
        assert!(old.recognised, "{old:?}");
        let new = ask(
            &title("sc-hrss", "正高级", "2025-03-01"),
            "cq-sc",
            &only(&withdrawn),
            NOW,
        );
        assert!(!new.recognised);
        assert!(new.considered[0].reason.contains("withdrawn"), "{new:?}");
    }

    #[test]
    fn supersession_and_conflicts_follow_the_documented_precedence() {
        let seeds = seeds();
        let senior = seeds
            .iter()
            .find(|a| a.region == "cq-sc" && a.name.contains("高级职称"))
            .expect("senior agreement")
            .clone();
        // A later agreement that supersedes it and sends 副高级 to local confirmation.
        let mut stricter = senior.clone();
        stricter.id = "urn:uuid:00000000-0000-7000-8000-0000000000aa"
            .parse()
            .expect("id");
        stricter.name = "川渝职称互认（修订）".into();
        stricter.valid_from = parse_datetime("2026-01-01T00:00:00Z").expect("t");
        stricter.supersedes = vec![senior.id];
        stricter.rules[0].matches.levels = Some(vec!["正高级".into()]);
        let mut deputy = stricter.rules[0].clone();
        deputy.id = "deputy-senior".into();
        deputy.matches.levels = Some(vec!["副高级".into()]);
        deputy.outcome = Outcome::ConfirmationRequired;
        deputy.conditions = vec!["副高级职称需本地确认".into()];
        stricter.rules.push(deputy);
        let agreements = in_force(vec![senior.clone(), stricter.clone()], &BTreeMap::new());
        let superseded = agreements
            .iter()
            .find(|a| a.agreement.id == senior.id)
            .expect("senior");
        assert!(
            superseded
                .ended
                .as_ref()
                .is_some_and(|(_, why)| why.contains("superseded"))
        );
        // Conferred after the new agreement: the new rules decide.
        let after = ask(
            &title("sc-hrss", "副高级", "2026-06-01"),
            "cq-sc",
            &agreements,
            NOW,
        );
        assert_eq!(
            after.outcome,
            Some(Outcome::ConfirmationRequired),
            "{after:?}"
        );
        // Conferred before: the old agreement still covers it, the new one does not.
        let before = ask(
            &title("sc-hrss", "副高级", "2025-06-01"),
            "cq-sc",
            &agreements,
            NOW,
        );
        assert_eq!(before.rule.as_deref(), Some("senior-titles"), "{before:?}");
        assert!(before.recognised, "{before:?}");
        // Equal precedence and specificity: the later agreement wins.
        let mut later = senior.clone();
        later.id = "urn:uuid:00000000-0000-7000-8000-0000000000cc"
            .parse()
            .expect("id");
        later.valid_from = parse_datetime("2026-01-01T00:00:00Z").expect("t");
        later.rules[0].id = "senior-titles-2026".into();
        let both = in_force(vec![senior.clone(), later.clone()], &BTreeMap::new());
        let answer = ask(
            &title("sc-hrss", "副高级", "2025-06-01"),
            "cq-sc",
            &both,
            NOW,
        );
        assert_eq!(
            answer.rule.as_deref(),
            Some("senior-titles-2026"),
            "{answer:?}"
        );
        // A higher precedence wins over a later agreement.
        let mut favoured = senior.clone();
        favoured.rules[0].precedence = 50;
        let mut refusing = later.clone();
        refusing.rules[0].outcome = Outcome::NotRecognised;
        let agreements = in_force(vec![favoured, refusing], &BTreeMap::new());
        let answer = ask(
            &title("sc-hrss", "副高级", "2025-06-01"),
            "cq-sc",
            &agreements,
            NOW,
        );
        assert_eq!(answer.rule.as_deref(), Some("senior-titles"));
        assert!(answer.recognised);
        // On equal precedence, the more specific rule wins.
        let mut broad = stricter.clone();
        broad.id = "urn:uuid:00000000-0000-7000-8000-0000000000bb"
            .parse()
            .expect("id");
        broad.supersedes = vec![];
        broad.rules = vec![Rule {
            id: "any-title".into(),
            description: None,
            matches: RuleMatch {
                types: vec![CredentialType::ProfessionalTitleCredential],
                ..RuleMatch::default()
            },
            outcome: Outcome::NotRecognised,
            equivalent: None,
            grants: vec![],
            conditions: vec![],
            precedence: 10,
        }];
        let agreements = in_force(vec![senior.clone(), broad], &BTreeMap::new());
        let answer = ask(
            &title("sc-hrss", "正高级", "2025-06-01"),
            "cq-sc",
            &agreements,
            NOW,
        );
        assert_eq!(answer.rule.as_deref(), Some("senior-titles"), "{answer:?}");
    }

    #[test]
    fn malformed_agreements_are_refused() {
        let request: Value = serde_json::from_str(SEEDS[0].1).expect("JSON");
        let mut credential = agreement_credential("cq-sc", &request, 1);
        credential["credentialSubject"]["rules"][0]["match"]["colour"] = json!("red");
        assert!(matches!(
            Agreement::from_credential(&credential),
            Err(AgreementError::Malformed(_))
        ));
        let mut credential = agreement_credential("cq-sc", &request, 1);
        credential["credentialSubject"]["rules"][0]["match"]["types"] = json!([]);
        assert!(Agreement::from_credential(&credential).is_err());
        let credential = title("sc-hrss", "正高级", "2024-12-30");
        assert_eq!(
            Agreement::from_credential(&credential),
            Err(AgreementError::WrongType)
        );
    }

    #[test]
    fn templates_fill_subject_fields() {
        let subject = json!({"titleName": "高级工程师", "level": "副高级"});
        assert_eq!(
            fill("{titleName}（{level}）", &subject),
            "高级工程师（副高级）"
        );
        assert_eq!(fill("{missing} {", &subject), "{missing} {");
    }
}
