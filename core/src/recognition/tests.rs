//! The engine against the seed agreements of the federation configuration: every rule, its
//! precedence, when agreements apply and end, and what is refused.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::credential::{CredentialType, VerifiedCredential, parse_datetime};
use crate::federation::{Federation, MemberClass};
use crate::identifiers::CredentialId;

const SEEDS: &[(&str, &str)] = &[
    (
        "cq-sc",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cq-sc/01-senior-titles.json"
        ),
    ),
    (
        "cq-sc",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cq-sc/02-intermediate-titles.json"
        ),
    ),
    (
        "cq-sc",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cq-sc/03-chongqing-titles.json"
        ),
    ),
    (
        "cq-sc",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cq-sc/04-qualification-to-title.json"
        ),
    ),
    (
        "cq-sc",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cq-sc/05-talent-enclaves.json"
        ),
    ),
    (
        "cq-sc",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cq-sc/06-innovation-community.json"
        ),
    ),
    (
        "cd-hz",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cd-hz/01-senior-titles.json"
        ),
    ),
    (
        "cd-hz",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cd-hz/02-intermediate-titles.json"
        ),
    ),
    (
        "cd-hz",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cd-hz/03-golden-phoenix-to-chengdu.json"
        ),
    ),
    (
        "cd-hz",
        include_str!(
            "../../../federation-config/chengdu-chongqing/recognition/cd-hz/04-sichuan-titles.json"
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
        "../../../federation-config/chengdu-chongqing/federation.toml"
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
    // Verification is not what these tests are about: the credential stands verified as
    // if its member's log held it.
    let verified = VerifiedCredential::new(credential.clone(), member.to_owned(), Vec::new());
    let subject = Subject::new(Presented::Verified(&verified), Some(&federation));
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
    let subject = Subject::with_class(
        Presented::NotVerified {
            credential: &credential,
            issuing: "sc-hrss",
        },
        Some(MemberClass::ProvincialHrAuthority),
    );
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
