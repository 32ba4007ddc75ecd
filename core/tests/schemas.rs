//! The JSON Schemas of `schemas/` against realistic documents: for every credential type a
//! valid credential and a valid issue request, and rejections that name the exact failing
//! location (JSON pointer).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use talent_core::credential::{CredentialType, Namespace};
use talent_core::schema::{
    CONTEXT_V1, CONTEXT_V1_URL, SchemaError, SchemaKind, SchemaSet, Violation, documents,
};

/// 重庆市人力资源和社会保障局 (illustrative key).
const ISSUER: &str = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
/// A talent's wallet.
const HOLDER: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
/// An enterprise accredited to certify its own talent.
const ENTERPRISE: &str = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";

fn schemas() -> &'static SchemaSet {
    static SET: OnceLock<SchemaSet> = OnceLock::new();
    SET.get_or_init(SchemaSet::new)
}

/// The credential subject of a sample credential of `ty`.
fn subject(ty: CredentialType) -> Value {
    match ty {
        CredentialType::GoldenPhoenixTalentCredential => json!({
            "name": "张伟",
            "idNumberMasked": "5001**********123X",
            "holder": HOLDER,
            "employer": { "name": "重庆渝芯微电子有限公司", "creditCode": "91500000MA5UABCDEN" },
            "region": "cq-sc",
            "category": "领军人才",
            "tier": "塔身",
            "field": "集成电路",
            "route": "fast-track",
            "policy": "西部（重庆）科学城金凤凰人才政策"
        }),
        CredentialType::ProfessionalTitleCredential => json!({
            "name": "李娜",
            "idNumberMasked": "5101**********123X",
            "employer": { "name": "成都高新区某研究院", "creditCode": "91510100MA61RTE2NC" },
            "region": "cq-hrss",
            "series": "工程",
            "specialty": "电子信息",
            "level": "正高级",
            "titleName": "正高级工程师",
            "committee": "重庆市工程技术电子信息专业高级职称评审委员会",
            "approvalNumber": "渝人社职改〔2024〕35号",
            "conferredOn": "2024-12-20"
        }),
        CredentialType::SkillLevelCredential => json!({
            "name": "王强",
            "idNumberMasked": "5001**********1230",
            "employer": { "name": "重庆长江智能装备有限公司" },
            "region": "cq-sc",
            "occupationCode": "6-18-01-01",
            "occupation": "车工",
            "level": "二级/技师",
            "assessmentBody": "重庆市职业技能鉴定指导中心"
        }),
        CredentialType::ProfessionalQualificationCredential => json!({
            "name": "陈静",
            "idNumberMasked": "5101**********1235",
            "region": "sc-hrss",
            "qualification": "一级注册建造师",
            "level": "一级",
            "specialty": "建筑工程",
            "authority": "中华人民共和国住房和城乡建设部"
        }),
        CredentialType::TalentServiceCardCredential => json!({
            "name": "刘洋",
            "idNumberMasked": "5002**********123X",
            "holder": HOLDER,
            "employer": { "name": "重庆渝芯微电子有限公司", "creditCode": "91500000MA5UABCDEN" },
            "region": "cq-sc",
            "cardClass": "Ⅱ",
            "basis": "金凤凰人才 领军人才",
            "flexible": false,
            "benefits": ["子女入学", "医疗保健", "住房保障"]
        }),
        CredentialType::IssuerAccreditationCredential => json!({
            "id": ENTERPRISE,
            "name": "重庆渝芯微电子有限公司",
            "creditCode": "91500000MA5UABCDEN",
            "region": "cq-sc",
            "scope": {
                "types": ["GoldenPhoenixTalentCredential"],
                "categories": ["领军人才", "青年人才"],
                "districts": ["西部（重庆）科学城"]
            }
        }),
        CredentialType::RecognitionAgreementCredential => json!({
            "id": "urn:uuid:0193a1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d",
            "name": "川渝职称互认",
            "region": "cq-hrss",
            "rules": [{
                "id": "sc-senior-title",
                "description": "四川省人力资源和社会保障厅授予的副高级、正高级职称在重庆继续有效，无需重新评审或确认",
                "match": {
                    "types": ["ProfessionalTitleCredential"],
                    "members": ["sc-hrss"],
                    "levels": ["副高级", "正高级"]
                },
                "outcome": "recognised",
                "equivalent": { "labelZh": "{titleName}（{level}）" },
                "precedence": 10,
                "grants": ["职称有效", "可申报高一级职称"],
                "conditions": ["是否聘用由用人单位决定"]
            }],
            "basis": { "document": "川渝职称互认框架协议", "date": "2020-04-21" }
        }),
    }
}

/// A sample unsigned credential of `ty`.
fn credential(ty: CredentialType) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", CONTEXT_V1_URL],
        "id": "urn:uuid:0193a1c4-0000-7abc-8def-0123456789ab",
        "type": ["VerifiableCredential", ty.as_str()],
        "issuer": ISSUER,
        "validFrom": "2025-03-01T00:00:00Z",
        "validUntil": "2030-02-28T23:59:59+08:00",
        "credentialSchema": { "id": SchemaKind::Credential(ty).id(), "type": "JsonSchema" },
        "credentialSubject": subject(ty)
    })
}

/// `credential(ty)` as it leaves the node: a national number, a status entry and a proof.
fn signed_credential(ty: CredentialType) -> Value {
    let mut doc = credential(ty);
    doc["name"] = json!(format!("{}证书", ty.as_str()));
    doc["certificateNumber"] =
        json!("1.2.156.3005.2.11500000MB1J123452001.11500000MB1J123452.2024000135.001.6");
    doc["credentialStatus"] = json!({
        "id": "https://cq-sc.talent-registry.example/status/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://cq-sc.talent-registry.example/status/1"
    });
    doc["proof"] = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": "2025-03-01T00:00:05Z",
        "verificationMethod": format!("{ISSUER}#{}", &ISSUER["did:key:".len()..]),
        "proofPurpose": "assertionMethod",
        "proofValue": "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
    });
    doc
}

/// The full resident ID number behind each sample's masked one.
fn full_id_number(ty: CredentialType) -> Option<&'static str> {
    match ty {
        CredentialType::GoldenPhoenixTalentCredential => Some("50010319880512123X"),
        CredentialType::ProfessionalTitleCredential => Some("51010719920815123X"),
        CredentialType::SkillLevelCredential => Some("500108199003071230"),
        CredentialType::ProfessionalQualificationCredential => Some("510122198511201235"),
        CredentialType::TalentServiceCardCredential => Some("50022719930601123X"),
        CredentialType::IssuerAccreditationCredential
        | CredentialType::RecognitionAgreementCredential => None,
    }
}

/// A sample issue request for `ty`: the full ID number instead of the masked one, no region.
fn request(ty: CredentialType) -> Value {
    let mut subject = subject(ty);
    let fields = object(&mut subject);
    fields.remove("region");
    if let Some(full) = full_id_number(ty) {
        fields.remove("idNumberMasked");
        fields.insert("idNumber".into(), full.into());
    }
    json!({
        "type": ty.as_str(),
        "credentialSubject": subject,
        "validFrom": "2025-03-01T00:00:00+08:00"
    })
}

fn object(value: &mut Value) -> &mut Map<String, Value> {
    value.as_object_mut().expect("an object")
}

fn check(kind: SchemaKind, doc: &Value) -> Result<(), SchemaError> {
    schemas().validate(kind, doc)
}

fn violations(kind: SchemaKind, doc: &Value) -> Vec<Violation> {
    match check(kind, doc) {
        Ok(()) => panic!("{kind:?} accepted {doc:#}"),
        Err(error) => {
            assert!(!error.violations.is_empty());
            error.violations
        }
    }
}

/// The pointers of every violation, in order.
fn pointers(kind: SchemaKind, doc: &Value) -> Vec<String> {
    violations(kind, doc)
        .into_iter()
        .map(|violation| violation.pointer)
        .collect()
}

fn title() -> SchemaKind {
    SchemaKind::Credential(CredentialType::ProfessionalTitleCredential)
}

fn phoenix() -> SchemaKind {
    SchemaKind::Credential(CredentialType::GoldenPhoenixTalentCredential)
}

// ---- valid documents -------------------------------------------------------------------------

#[test]
fn sample_credentials_are_valid() {
    for ty in CredentialType::ALL {
        let kind = SchemaKind::Credential(ty);
        assert_eq!(check(kind, &credential(ty)), Ok(()), "{ty:?} unsigned");
        assert_eq!(check(kind, &signed_credential(ty)), Ok(()), "{ty:?} signed");
    }
}

#[test]
fn sample_issue_requests_are_valid() {
    for ty in CredentialType::ALL {
        assert_eq!(
            check(SchemaKind::IssueRequest, &request(ty)),
            Ok(()),
            "{ty:?}"
        );
    }
}

#[test]
fn issue_request_may_carry_masked_id_and_region() {
    for ty in CredentialType::ALL {
        let doc = json!({ "type": ty.as_str(), "credentialSubject": subject(ty) });
        assert_eq!(check(SchemaKind::IssueRequest, &doc), Ok(()), "{ty:?}");
    }
}

#[test]
fn minimal_documents_are_valid() {
    let mut doc = credential(CredentialType::ProfessionalQualificationCredential);
    let fields = object(&mut doc);
    fields.remove("validUntil");
    fields.remove("credentialSchema");
    let subject = object(&mut fields["credentialSubject"]);
    for optional in ["level", "specialty"] {
        subject.remove(optional);
    }
    let kind = SchemaKind::Credential(CredentialType::ProfessionalQualificationCredential);
    assert_eq!(check(kind, &doc), Ok(()));

    let request = json!({
        "type": "SkillLevelCredential",
        "credentialSubject": {
            "name": "赵敏",
            "idNumber": "50010319880512123X",
            "occupationCode": "4-07-05-01",
            "occupation": "养老护理员",
            "level": "四级/中级工",
            "assessmentBody": "重庆市养老服务职业技能等级认定中心"
        }
    });
    assert_eq!(check(SchemaKind::IssueRequest, &request), Ok(()));
}

#[test]
fn verify_request() {
    let ok = json!({
        "credential": signed_credential(CredentialType::ProfessionalTitleCredential),
        "asRegion": "cd-hz"
    });
    assert_eq!(check(SchemaKind::VerifyRequest, &ok), Ok(()));
    let bare = json!({ "credential": {} });
    assert_eq!(check(SchemaKind::VerifyRequest, &bare), Ok(()));

    let bad_region = json!({ "credential": {}, "asRegion": "Chengdu" });
    assert_eq!(
        pointers(SchemaKind::VerifyRequest, &bad_region),
        ["/asRegion"]
    );
    let missing = json!({ "asRegion": "cd-hz" });
    assert_eq!(pointers(SchemaKind::VerifyRequest, &missing), [""]);
    let extra = json!({ "credential": {}, "verbose": true });
    assert_eq!(pointers(SchemaKind::VerifyRequest, &extra), ["/verbose"]);
}

// ---- rejections: credentials ----------------------------------------------------------------

#[test]
fn missing_required_field() {
    let mut doc = credential(CredentialType::GoldenPhoenixTalentCredential);
    object(&mut doc["credentialSubject"]).remove("tier");
    let found = violations(phoenix(), &doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pointer, "/credentialSubject");
    assert!(
        found[0].message.contains("\"tier\""),
        "{}",
        found[0].message
    );

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    object(&mut doc).remove("validFrom");
    assert_eq!(pointers(title(), &doc), [""]);

    let mut doc = credential(CredentialType::SkillLevelCredential);
    object(&mut doc["credentialSubject"]).remove("region");
    let kind = SchemaKind::Credential(CredentialType::SkillLevelCredential);
    assert_eq!(pointers(kind, &doc), ["/credentialSubject"]);
}

#[test]
fn wrong_enum_value() {
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["level"] = json!("高级");
    assert_eq!(
        violations(title(), &doc),
        [Violation {
            pointer: "/credentialSubject/level".into(),
            message: r#"value is not one of "员级", "助理级", "中级", "副高级", "正高级""#.into(),
        }]
    );

    let mut doc = credential(CredentialType::GoldenPhoenixTalentCredential);
    doc["credentialSubject"]["category"] = json!("领军");
    doc["credentialSubject"]["route"] = json!("fast track");
    assert_eq!(
        pointers(phoenix(), &doc),
        ["/credentialSubject/category", "/credentialSubject/route"]
    );

    // Latin "II" is not the Roman numeral Ⅱ (U+2161).
    let mut doc = credential(CredentialType::TalentServiceCardCredential);
    doc["credentialSubject"]["cardClass"] = json!("II");
    let kind = SchemaKind::Credential(CredentialType::TalentServiceCardCredential);
    assert_eq!(pointers(kind, &doc), ["/credentialSubject/cardClass"]);

    let mut doc = credential(CredentialType::IssuerAccreditationCredential);
    doc["credentialSubject"]["scope"]["types"] = json!(["RecognitionAgreementCredential"]);
    let kind = SchemaKind::Credential(CredentialType::IssuerAccreditationCredential);
    assert_eq!(pointers(kind, &doc), ["/credentialSubject/scope/types/0"]);
}

#[test]
fn bad_masked_id_number() {
    for bad in [
        "5001********123X",
        "5001**********123x",
        "500103198805121234",
    ] {
        let mut doc = credential(CredentialType::GoldenPhoenixTalentCredential);
        doc["credentialSubject"]["idNumberMasked"] = json!(bad);
        let found = violations(phoenix(), &doc);
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert_eq!(
            found[0].pointer, "/credentialSubject/idNumberMasked",
            "{bad}"
        );
        assert!(!found[0].message.contains(bad), "message repeats the value");
    }
}

#[test]
fn unknown_extra_property() {
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["evidence"] = json!([]);
    assert_eq!(pointers(title(), &doc), ["/evidence"]);

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["gender"] = json!("女");
    let found = violations(title(), &doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pointer, "/credentialSubject/gender");
    assert!(found[0].message.contains("\"gender\""));

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["employer"]["address"] = json!("重庆市九龙坡区");
    assert_eq!(
        pointers(title(), &doc),
        ["/credentialSubject/employer/address"]
    );

    let mut doc = credential(CredentialType::RecognitionAgreementCredential);
    doc["credentialSubject"]["basis"]["signatories"] = json!(["重庆市", "四川省"]);
    let kind = SchemaKind::Credential(CredentialType::RecognitionAgreementCredential);
    assert_eq!(
        pointers(kind, &doc),
        ["/credentialSubject/basis/signatories"]
    );

    // A field of another type is just as unknown.
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["tier"] = json!("塔尖");
    assert_eq!(pointers(title(), &doc), ["/credentialSubject/tier"]);
}

#[test]
fn rules_are_exactly_what_the_recognition_engine_reads() {
    let mut doc = credential(CredentialType::RecognitionAgreementCredential);
    let kind = SchemaKind::Credential(CredentialType::RecognitionAgreementCredential);
    assert_eq!(check(kind, &doc), Ok(()));
    doc["credentialSubject"]["rules"][0]["priority"] = json!(10);
    assert_eq!(
        pointers(kind, &doc),
        ["/credentialSubject/rules/0/priority"]
    );
    doc["credentialSubject"]["rules"][0]
        .as_object_mut()
        .expect("rule")
        .remove("priority");
    doc["credentialSubject"]["rules"][0]["match"]["issuerRegion"] = json!("sc-hrss");
    assert_eq!(
        pointers(kind, &doc),
        ["/credentialSubject/rules/0/match/issuerRegion"]
    );
    doc["credentialSubject"]["rules"][0]["match"]
        .as_object_mut()
        .expect("match")
        .remove("issuerRegion");

    doc["credentialSubject"]["rules"] = json!([]);
    assert_eq!(pointers(kind, &doc), ["/credentialSubject/rules"]);
}

#[test]
fn full_id_number_inside_a_credential() {
    for ty in CredentialType::ALL {
        let Some(full) = full_id_number(ty) else {
            continue;
        };
        let mut doc = credential(ty);
        doc["credentialSubject"]["idNumber"] = json!(full);
        let found = violations(SchemaKind::Credential(ty), &doc);
        assert_eq!(found.len(), 1, "{ty:?}: {found:?}");
        assert_eq!(found[0].pointer, "/credentialSubject/idNumber", "{ty:?}");
        assert!(!found[0].message.contains(full));
    }
}

#[test]
fn bad_date_time() {
    for bad in [
        "2025-03-01",
        "2025-03-01T00:00:00",
        "2025-13-01T00:00:00Z",
        "明年",
    ] {
        let mut doc = credential(CredentialType::ProfessionalTitleCredential);
        doc["validFrom"] = json!(bad);
        assert_eq!(pointers(title(), &doc), ["/validFrom"], "{bad}");
    }
    let mut doc = signed_credential(CredentialType::ProfessionalTitleCredential);
    doc["validUntil"] = json!("2030-02-30T00:00:00Z");
    doc["proof"]["created"] = json!("yesterday");
    assert_eq!(pointers(title(), &doc), ["/proof/created", "/validUntil"]);

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["conferredOn"] = json!("2024/12/20");
    assert_eq!(pointers(title(), &doc), ["/credentialSubject/conferredOn"]);
}

#[test]
fn wrong_type_array() {
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["type"] = json!(["VerifiableCredential", "SkillLevelCredential"]);
    assert_eq!(pointers(title(), &doc), ["/type/1"]);

    doc["type"] = json!(["ProfessionalTitleCredential", "VerifiableCredential"]);
    assert_eq!(pointers(title(), &doc), ["/type/0", "/type/1"]);

    doc["type"] = json!(["VerifiableCredential"]);
    assert_eq!(pointers(title(), &doc), ["/type"]);

    doc["type"] = json!([
        "VerifiableCredential",
        "ProfessionalTitleCredential",
        "Extra"
    ]);
    assert_eq!(pointers(title(), &doc), ["/type"]);

    doc["type"] = json!("ProfessionalTitleCredential");
    assert_eq!(pointers(title(), &doc), ["/type"]);
}

#[test]
fn bad_issuer_did() {
    for bad in [
        "did:web:rlsbj.cq.gov.cn",
        // X25519 (z6LS…), not Ed25519.
        "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F",
        // Base58 has no 0, O, I or l.
        "did:key:z6Mk0VnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2O",
        "did:key:z6Mk",
    ] {
        let mut doc = credential(CredentialType::ProfessionalTitleCredential);
        doc["issuer"] = json!(bad);
        assert_eq!(pointers(title(), &doc), ["/issuer"], "{bad}");
    }
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["issuer"] = json!({ "id": ISSUER, "name": "重庆市人力资源和社会保障局" });
    assert_eq!(pointers(title(), &doc), ["/issuer"]);
}

#[test]
fn other_envelope_fields() {
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["@context"] = json!([CONTEXT_V1_URL, "https://www.w3.org/ns/credentials/v2"]);
    assert_eq!(pointers(title(), &doc), ["/@context/0", "/@context/1"]);

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["id"] = json!("urn:uuid:0193A1C4-0000-7ABC-8DEF-0123456789AB");
    assert_eq!(pointers(title(), &doc), ["/id"]);

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["certificateNumber"] = json!("1.2.156.3005.2.1150.11500000MB1J123452.2024000135.1.6");
    assert_eq!(pointers(title(), &doc), ["/certificateNumber"]);

    let mut doc = signed_credential(CredentialType::ProfessionalTitleCredential);
    doc["proof"]["proofValue"] = json!("uAAECAw");
    assert_eq!(pointers(title(), &doc), ["/proof/proofValue"]);

    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["employer"]["creditCode"] = json!("91500000MA5UABCDEI");
    assert_eq!(
        pointers(title(), &doc),
        ["/credentialSubject/employer/creditCode"]
    );

    let mut doc = credential(CredentialType::SkillLevelCredential);
    doc["credentialSubject"]["occupationCode"] = json!("6-18-1-1");
    let kind = SchemaKind::Credential(CredentialType::SkillLevelCredential);
    assert_eq!(pointers(kind, &doc), ["/credentialSubject/occupationCode"]);
}

#[test]
fn a_credential_fails_another_types_schema() {
    // The missing title fields are reported; the skill fields the title schema does not know
    // are reported once those are fixed (see `SchemaSet::validate`).
    let doc = credential(CredentialType::SkillLevelCredential);
    let found = violations(title(), &doc);
    let at = |pointer: &str| found.iter().filter(|v| v.pointer == pointer).count();
    assert_eq!(at("/type/1"), 1, "{found:?}");
    // series, titleName, committee, conferredOn; and 二级/技师 is no title level.
    assert_eq!(at("/credentialSubject"), 4, "{found:?}");
    assert_eq!(at("/credentialSubject/level"), 1, "{found:?}");
    assert_eq!(found.len(), 6, "{found:?}");
    assert_eq!(found[0].pointer, "/credentialSubject");

    let mut doc = credential(CredentialType::SkillLevelCredential);
    doc["type"][1] = json!("ProfessionalTitleCredential");
    for (field, value) in subject(CredentialType::ProfessionalTitleCredential)
        .as_object()
        .expect("an object")
    {
        doc["credentialSubject"][field] = value.clone();
    }
    assert_eq!(
        pointers(title(), &doc),
        [
            "/credentialSubject/assessmentBody",
            "/credentialSubject/occupation",
            "/credentialSubject/occupationCode"
        ]
    );
}

// ---- rejections: issue requests -------------------------------------------------------------

#[test]
fn request_with_both_id_numbers() {
    let mut doc = request(CredentialType::GoldenPhoenixTalentCredential);
    doc["credentialSubject"]["idNumberMasked"] = json!("5001**********123X");
    let found = violations(SchemaKind::IssueRequest, &doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pointer, "/credentialSubject/idNumberMasked");
    assert!(!found[0].message.contains("50010319880512123X"));
}

#[test]
fn request_without_id_number() {
    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    object(&mut doc["credentialSubject"]).remove("idNumber");
    let found = violations(SchemaKind::IssueRequest, &doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].pointer, "/credentialSubject");
    assert!(found[0].message.contains("\"idNumberMasked\""));
}

#[test]
fn request_with_bad_full_id_number() {
    let mut doc = request(CredentialType::TalentServiceCardCredential);
    doc["credentialSubject"]["idNumber"] = json!("50022719930601123x");
    let error = check(SchemaKind::IssueRequest, &doc).expect_err("lowercase x");
    assert_eq!(error.violations.len(), 1, "{error:?}");
    assert_eq!(error.violations[0].pointer, "/credentialSubject/idNumber");
    assert!(!error.to_string().contains("50022719930601123"), "{error}");
}

#[test]
fn request_subject_follows_its_type() {
    // Missing type field.
    let mut doc = request(CredentialType::SkillLevelCredential);
    object(&mut doc["credentialSubject"]).remove("assessmentBody");
    assert_eq!(
        pointers(SchemaKind::IssueRequest, &doc),
        ["/credentialSubject"]
    );

    // Wrong enum value.
    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    doc["credentialSubject"]["level"] = json!("副高");
    assert_eq!(
        pointers(SchemaKind::IssueRequest, &doc),
        ["/credentialSubject/level"]
    );

    // A title's fields are unknown to a skill level.
    let mut doc = request(CredentialType::SkillLevelCredential);
    doc["credentialSubject"]["titleName"] = json!("高级工程师");
    assert_eq!(
        pointers(SchemaKind::IssueRequest, &doc),
        ["/credentialSubject/titleName"]
    );

    // Accreditation and agreement subjects have no ID number.
    let mut doc = request(CredentialType::IssuerAccreditationCredential);
    doc["credentialSubject"]["idNumberMasked"] = json!("5001**********123X");
    assert_eq!(
        pointers(SchemaKind::IssueRequest, &doc),
        ["/credentialSubject/idNumberMasked"]
    );

    let mut doc = request(CredentialType::RecognitionAgreementCredential);
    doc["credentialSubject"]["region"] = json!("CQ");
    assert_eq!(
        pointers(SchemaKind::IssueRequest, &doc),
        ["/credentialSubject/region"]
    );
}

#[test]
fn request_envelope() {
    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    doc["type"] = json!("TitleCredential");
    assert_eq!(pointers(SchemaKind::IssueRequest, &doc), ["/type"]);

    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    doc["type"] = json!(["VerifiableCredential", "ProfessionalTitleCredential"]);
    assert_eq!(pointers(SchemaKind::IssueRequest, &doc), ["/type"]);

    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    doc["issuer"] = json!(ISSUER);
    assert_eq!(pointers(SchemaKind::IssueRequest, &doc), ["/issuer"]);

    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    doc["validUntil"] = json!("2030-02-28");
    assert_eq!(pointers(SchemaKind::IssueRequest, &doc), ["/validUntil"]);

    let mut doc = request(CredentialType::ProfessionalTitleCredential);
    doc["certificateNumber"] = json!("GB-2024-000135");
    assert_eq!(
        pointers(SchemaKind::IssueRequest, &doc),
        ["/certificateNumber"]
    );

    let doc = json!({ "type": "ProfessionalTitleCredential" });
    assert_eq!(pointers(SchemaKind::IssueRequest, &doc), [""]);

    let doc = json!([]);
    assert_eq!(pointers(SchemaKind::IssueRequest, &doc), [""]);
}

#[test]
fn error_display_summarises() {
    let mut doc = credential(CredentialType::ProfessionalTitleCredential);
    doc["issuer"] = json!("did:web:example.com");
    doc["credentialSubject"]["level"] = json!("高级");
    let error = check(title(), &doc).expect_err("two violations");
    let text = error.to_string();
    assert!(text.contains("/issuer: "), "{text}");
    assert!(text.contains("/credentialSubject/level: "), "{text}");
    assert!(!text.contains("did:web:example.com"), "{text}");
    let json = serde_json::to_value(&error.violations[0]).expect("serialisable");
    assert_eq!(json["pointer"], "/credentialSubject/level");
    assert!(json["message"].is_string());
}

// ---- documents and the JSON-LD context ------------------------------------------------------

#[test]
fn documents_cover_every_schema_and_the_context() {
    let paths: Vec<&str> = documents().iter().map(|(path, _)| *path).collect();
    for ty in CredentialType::ALL {
        assert!(paths.contains(&SchemaKind::Credential(ty).path().as_str()));
    }
    for path in [
        "common.json",
        "api/issue-request.json",
        "api/verify-request.json",
        "context/v1.jsonld",
    ] {
        assert!(paths.contains(&path), "{path}");
    }
    for (path, text) in documents() {
        serde_json::from_str::<Value>(text).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    assert_eq!(
        SchemaKind::IssueRequest.id(),
        "https://talent-registry.example/schemas/api/issue-request.json"
    );
    assert_eq!(
        SchemaKind::Credential(CredentialType::SkillLevelCredential).id(),
        Namespace::legacy().schema_url(CredentialType::SkillLevelCredential)
    );
}

/// A node serves each JSON Schema with its own URL as `$id`, so that a reader who fetched a
/// credential's `credentialSchema.id` resolves the schema's relative `$ref`s at that node.
#[test]
fn served_schemas_name_the_serving_node() {
    use talent_core::schema::served_document;

    let node = Namespace::at("https://cq-sc.example:8443/");
    for (path, text) in documents() {
        let served = served_document(path, &node).expect("served");
        if path.ends_with(".json") {
            let schema: Value = serde_json::from_str(&served).expect("JSON");
            assert_eq!(
                schema["$id"],
                format!("https://cq-sc.example:8443/schemas/{path}"),
                "{path}"
            );
            assert!(
                !served.contains("talent-registry.example/schemas"),
                "{path}"
            );
        } else {
            assert_eq!(served, *text, "{path}");
        }
    }
    assert_eq!(
        node.schema_url(CredentialType::SkillLevelCredential),
        "https://cq-sc.example:8443/schemas/credentials/SkillLevelCredential.json"
    );
    assert!(served_document("credentials/Nothing.json", &node).is_none());
}

/// The context entry is the registry's context under some node or the legacy URL; which
/// node is the verifier's check against the federation, not the schema's.
#[test]
fn the_context_is_the_registry_context_under_a_node() {
    for good in [
        CONTEXT_V1_URL,
        "https://cq-sc.example/ns/v1",
        "http://127.0.0.1:8080/ns/v1",
        "https://gov.example/talent/ns/v1",
    ] {
        let mut doc = credential(CredentialType::ProfessionalTitleCredential);
        doc["@context"][1] = json!(good);
        assert!(check(title(), &doc).is_ok(), "{good}");
    }
    for bad in [
        "https://cq-sc.example/ns/v2",
        "https://cq-sc.example/ns/v1?x",
        "ftp://cq-sc.example/ns/v1",
        "https:///ns/v1",
        "https://cq-sc.example/ns/v1#term",
    ] {
        let mut doc = credential(CredentialType::ProfessionalTitleCredential);
        doc["@context"][1] = json!(bad);
        assert_eq!(pointers(title(), &doc), ["/@context/1"], "{bad}");
    }
}

/// Terms the W3C VC 2.0 context (or its Data Integrity and status scoped contexts) already
/// defines, as protected terms, or that never appear in a credential (`idNumber`).
const NOT_OURS: &[&str] = &[
    "@context",
    "id",
    "type",
    "name",
    "description",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialSchema",
    "credentialStatus",
    "proof",
    "cryptosuite",
    "verificationMethod",
    "proofPurpose",
    "proofValue",
    "created",
    "expires",
    "domain",
    "challenge",
    "nonce",
    "previousProof",
    "idNumber",
];

/// Every property name under a `properties` keyword anywhere in `schema`.
fn property_names(schema: &Value, names: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "properties"
                    && let Value::Object(properties) = value
                {
                    names.extend(properties.keys().cloned());
                }
                property_names(value, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| property_names(item, names)),
        _ => {}
    }
}

/// Every term defined in `context`, including in its scoped contexts, with its IRI.
fn context_terms(context: &Map<String, Value>, terms: &mut Vec<(String, String)>) {
    for (term, definition) in context {
        if term.starts_with('@') {
            continue;
        }
        let iri = match definition {
            Value::String(iri) => iri.clone(),
            Value::Object(definition) => {
                if let Some(Value::Object(scoped)) = definition.get("@context") {
                    context_terms(scoped, terms);
                }
                definition["@id"].as_str().expect("@id").to_owned()
            }
            other => panic!("term {term}: {other}"),
        };
        terms.push((term.clone(), iri));
    }
}

#[test]
fn context_defines_every_type_and_field() {
    let document: Value = serde_json::from_str(CONTEXT_V1).expect("JSON");
    let context = document["@context"].as_object().expect("an object");
    assert_eq!(context["@version"], json!(1.1));
    assert_eq!(context["@protected"], json!(true));

    let mut terms = Vec::new();
    context_terms(context, &mut terms);
    let mut defined = BTreeSet::new();
    for (term, iri) in terms {
        // `id` and `type` are the JSON-LD keywords, as the VC contexts define them (a
        // statement carries only this context). Inside a rule, `id` is the rule's name, not
        // a node IRI: the rules' scoped context overrides the protected `id` (allowed for
        // property-scoped contexts).
        if term == "id" || term == "type" {
            assert!(
                iri == format!("@{term}") || iri == "https://talent-registry.example/ns#ruleId",
                "{term}: {iri}"
            );
            continue;
        }
        // A statement's issuer and proof, and its proof's terms, mean what they mean in a
        // verifiable credential: the W3C IRIs.
        if let Some(w3c) = W3C_TERMS.iter().find(|(name, _)| *name == term) {
            assert_eq!(iri, w3c.1, "{term}");
            continue;
        }
        if iri.starts_with("https://w3id.org/security#")
            || iri.starts_with("http://purl.org/dc/terms/")
        {
            continue;
        }
        assert_eq!(iri, format!("https://talent-registry.example/ns#{term}"));
        defined.insert(term);
    }

    let mut used: BTreeSet<String> = CredentialType::ALL
        .iter()
        .map(|ty| ty.as_str().to_owned())
        .collect();
    for (path, text) in documents() {
        if path.starts_with("credentials/") || *path == "common.json" {
            let schema: Value = serde_json::from_str(text).expect("JSON");
            property_names(&schema, &mut used);
        }
    }
    used.retain(|name| !NOT_OURS.contains(&name.as_str()));
    used.extend(STATEMENT_TERMS.iter().map(|term| (*term).to_owned()));
    assert_eq!(
        defined, used,
        "context terms vs schema properties and statement fields"
    );
}

/// Terms the registry's context gives their W3C meaning (for statements, which carry only
/// this context).
const W3C_TERMS: [(&str, &str); 3] = [
    ("issuer", "https://www.w3.org/2018/credentials#issuer"),
    ("proof", "https://w3id.org/security#proof"),
    (
        "DataIntegrityProof",
        "https://w3id.org/security#DataIntegrityProof",
    ),
];

/// The types and fields of the signed statements (`talent_core::statement`, whose strict
/// parsing admits no other).
const STATEMENT_TERMS: [&str; 9] = [
    "CredentialStatusChange",
    "IssuerKeyRotation",
    "credentialId",
    "status",
    "reason",
    "effective",
    "successor",
    "previousKey",
    "nextKey",
];

/// Every sample credential has canonical N-Quads under the registry's context: its context
/// defines every term a credential uses (an undefined one would make `eddsa-rdfc-2022`
/// refuse it), and an `eddsa-rdfc-2022` proof of it verifies.
#[test]
fn every_credential_type_signs_and_verifies_as_eddsa_rdfc_2022() {
    use ed25519_dalek::SigningKey;
    use talent_core::schema::json_ld_contexts;
    use talent_integrity::proof::{self, ASSERTION_METHOD, Cryptosuite, ProofOptions};

    let key = SigningKey::from_bytes(&[3u8; 32]);
    let options = ProofOptions {
        created: "2025-03-01T00:00:05Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    // Under a member's node, whose URL maps to the embedded context; unknown elsewhere.
    let member = Namespace::at("https://cq-sc.example");
    let contexts = json_ld_contexts([&member]);
    for ty in CredentialType::ALL {
        let mut unsigned = signed_credential(ty);
        object(&mut unsigned).remove("proof");
        unsigned["@context"][1] = json!(member.context_url());
        let mut elsewhere = unsigned.clone();
        elsewhere["@context"][1] = json!("https://elsewhere.example/ns/v1");
        assert!(proof::sign_rdfc(&elsewhere, &key, &options, &contexts).is_err());
        let signed = proof::sign_rdfc(&unsigned, &key, &options, &contexts)
            .unwrap_or_else(|error| panic!("{ty:?}: {error}"));
        let verified = proof::verify_with_contexts(&signed, ASSERTION_METHOD, &contexts)
            .unwrap_or_else(|error| panic!("{ty:?}: {error}"));
        assert_eq!(verified.cryptosuite, Cryptosuite::EddsaRdfc2022);
    }
}

/// The signed statements a log holds (status changes, key rotations) are sound JSON-LD
/// under the registry's context alone, as logged (with their `eddsa-jcs-2022` proof): no
/// term is dropped, so a JSON-LD processor reads what the issuer signed.
#[test]
fn every_statement_kind_is_sound_json_ld_under_the_registry_context() {
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use talent_core::schema::{CONTEXT_V1_URL, json_ld_contexts};
    use talent_core::statement::Statement;
    use talent_integrity::did::DidKey;
    use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};
    use talent_integrity::rdfc::{RdfcError, canonical_nquads};

    let key = SigningKey::from_bytes(&[4u8; 32]);
    let issuer = DidKey::from_verifying_key(&key.verifying_key()).to_string();
    let next = DidKey::from_verifying_key(&SigningKey::from_bytes(&[5u8; 32]).verifying_key());
    let statements = [
        json!({"@context": [CONTEXT_V1_URL], "type": ["CredentialStatusChange"],
               "id": "urn:uuid:01a24ef4-e740-76d3-b64e-e01618d2a8d1",
               "credentialId": "urn:uuid:01a24ef4-deec-7151-abad-026cac9f0ace",
               "status": "06", "reason": "调出 transferred",
               "successor": "urn:uuid:01a24ef4-deec-7151-abad-026cac9f0acf",
               "effective": "2026-12-07T05:23:22Z", "issuer": issuer}),
        json!({"@context": [CONTEXT_V1_URL], "type": ["IssuerKeyRotation"],
               "id": "urn:uuid:01a24ef4-e740-76d3-b64e-e01618d2a8d2",
               "previousKey": issuer, "nextKey": next.to_string(),
               "effective": "2026-12-07T05:23:22Z", "issuer": issuer}),
    ];
    let options = ProofOptions {
        created: "2026-12-07T05:23:22Z".into(),
        proof_purpose: ASSERTION_METHOD,
    };
    let contexts = json_ld_contexts([]);
    for unsigned in statements {
        let signed = proof::sign(&unsigned, &key, &options).expect("signs");
        Statement::from_json(&signed).expect("a statement the log takes");
        let quads = canonical_nquads(&signed, &contexts)
            .unwrap_or_else(|error| panic!("{}: {error}", unsigned["type"]));
        for member in unsigned.as_object().expect("object").keys() {
            if !member.starts_with('@') && member != "id" && member != "type" {
                assert!(
                    quads.contains(&format!("#{member}>")),
                    "{member} of {} is in the RDF: {quads}",
                    unsigned["type"]
                );
            }
        }
        assert!(quads.contains("https://w3id.org/security#proofValue"));
        // A member the context does not define is refused, not dropped.
        let mut undefined = signed.clone();
        undefined["comment"] = json!("not in the context");
        assert!(matches!(
            canonical_nquads(&undefined, &contexts),
            Err(RdfcError::UndefinedTerm(_))
        ));
    }
}
