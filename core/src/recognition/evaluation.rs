//! The engine: which rule of the region's agreements in force decides, by the documented
//! precedence, and the answer it gives.

use chrono::{DateTime, NaiveDate, Utc};

use crate::agreement::{AgreementInForce, Outcome, Rule};
use crate::federation::Federation;
use crate::issuers::IssuerRegistry;

use super::answer::{Consideration, Presented, Recognition, Subject};
use super::rules::{
    conferral_date, credential_type_name, describe_match, fill, rule_matches, specificity,
};

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
    let credential = subject.credential();
    let conferred = conferral_date(&credential);
    let signed = credential.signed();
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
    if !subject.verified() {
        answer.reason = "the credential is not valid, so it is recognised nowhere".into();
        return answer;
    }
    if subject.member() == region {
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
            credential_type_name(&credential),
            subject.member()
        );
        return answer;
    };
    let agreement = &in_force.agreement;
    let subject_fields = credential.subject();
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

/// Answers for the `presented` credential in the region whose verified issuer history is
/// `registry`, with member classes from `federation`: the one entry point of nodes, bundles
/// and the CLI.
pub fn recognise_in(
    registry: &IssuerRegistry,
    presented: Presented<'_>,
    federation: Option<&Federation>,
    now: DateTime<Utc>,
) -> Recognition {
    recognise(
        &Subject::new(presented, federation),
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
