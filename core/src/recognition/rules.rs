//! How a rule matches a credential (type, issuing member or class, level, category, series,
//! qualification, conferral date), how specific it is, and the words that explain it.

use chrono::NaiveDate;
use serde_json::Value;

use crate::accreditation::level_field;
use crate::agreement::RuleMatch;
use crate::credential::CredentialView;
use crate::federation::MemberClass;

use super::answer::Subject;

/// A subject field a rule may restrict: (name, allowed values, the credential's value).
type FieldCheck<'a> = (&'static str, &'a Option<Vec<String>>, Option<&'a str>);

pub(super) fn rule_matches(
    rule: &RuleMatch,
    subject: &Subject<'_>,
    conferred: Option<NaiveDate>,
) -> Result<(), String> {
    let credential = subject.credential();
    let fields = credential.subject();
    let credential_type = credential.credential_type();
    if !credential_type.is_some_and(|t| rule.types.contains(&t)) {
        return Err(format!(
            "type {} is not in {}",
            credential_type_name(&credential),
            list(rule.types.iter().map(|t| t.as_str()))
        ));
    }
    if let Some(members) = &rule.members
        && !members.iter().any(|m| m == subject.member())
    {
        return Err(format!(
            "issued by {}, not by {}",
            subject.member(),
            list(members.iter().map(String::as_str))
        ));
    }
    if let Some(classes) = &rule.member_classes
        && !subject.member_class().is_some_and(|c| classes.contains(&c))
    {
        return Err(format!(
            "the issuing member is {}, not {}",
            subject
                .member_class()
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
pub(super) fn specificity(rule: &RuleMatch) -> usize {
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

pub(super) fn describe_match(rule: &RuleMatch) -> String {
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

pub(super) fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

pub(super) fn show_date(date: Option<NaiveDate>) -> String {
    date.map_or_else(|| "(no date)".into(), |d| d.to_string())
}

pub(super) fn credential_type_name(credential: &CredentialView<'_>) -> &'static str {
    credential
        .credential_type()
        .map_or("credential", |t| t.as_str())
}

/// The conferral date: the subject's `conferredOn`, else the date of `validFrom`.
pub(super) fn conferral_date(credential: &CredentialView<'_>) -> Option<NaiveDate> {
    credential
        .subject_text("conferredOn")
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .or_else(|| credential.valid_from().map(|time| time.date_naive()))
}

/// Replaces `{field}` with the subject's string field (left as is when absent).
pub(super) fn fill(template: &str, subject: &Value) -> String {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
