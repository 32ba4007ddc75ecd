//! Accreditations of delegated issuers (enterprises, district offices and enclave parks that
//! issue under their region's authority): what an `IssuerAccreditationCredential`
//! says, and whether a credential falls inside its scope.
//!
//! A scope lists credential types and may narrow them by level, 金凤凰 category and district.
//! A list that is absent does not restrict; a list that is present must contain the
//! credential's value, and a credential without such a value is outside it (it cannot show
//! that it is inside).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::credential::{CredentialType, CredentialView, parse_datetime};
use crate::identifiers::CredentialId;
use talent_integrity::did::DidKey;

/// What a delegated issuer may issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    /// Credential types (talent types only).
    pub types: Vec<CredentialType>,
    /// Title levels, skill levels, qualification levels, card classes or 金凤凰 tiers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// 金凤凰 categories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Districts or parks (`credentialSubject.district`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub districts: Option<Vec<String>>,
}

/// Which part of a scope a credential falls outside of.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScopeViolation {
    /// The credential type is not among the scope's types.
    #[error("type {found} is not in the scope (types: {})", .allowed.join(", "))]
    Type {
        /// The credential's type.
        found: CredentialType,
        /// The scope's types.
        allowed: Vec<String>,
    },
    /// The level (or card class, or tier) is not among the scope's levels.
    #[error("level {} is not in the scope (levels: {})", display(.found), .allowed.join(", "))]
    Level {
        /// The credential's level, if it has one.
        found: Option<String>,
        /// The scope's levels.
        allowed: Vec<String>,
    },
    /// The 金凤凰 category is not among the scope's categories.
    #[error("category {} is not in the scope (categories: {})", display(.found), .allowed.join(", "))]
    Category {
        /// The credential's category, if it has one.
        found: Option<String>,
        /// The scope's categories.
        allowed: Vec<String>,
    },
    /// The district is not among the scope's districts.
    #[error("district {} is not in the scope (districts: {})", display(.found), .allowed.join(", "))]
    District {
        /// The credential's district, if it has one.
        found: Option<String>,
        /// The scope's districts.
        allowed: Vec<String>,
    },
}

fn display(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or_else(|| "(none)".to_owned(), |v| v.to_owned())
}

impl ScopeViolation {
    /// Stable machine code: `scope_type`, `scope_level`, `scope_category`, `scope_district`.
    pub fn code(&self) -> &'static str {
        match self {
            ScopeViolation::Type { .. } => "scope_type",
            ScopeViolation::Level { .. } => "scope_level",
            ScopeViolation::Category { .. } => "scope_category",
            ScopeViolation::District { .. } => "scope_district",
        }
    }
}

/// The subject field a scope's `levels` is matched against, per type.
pub fn level_field(credential_type: CredentialType) -> Option<&'static str> {
    match credential_type {
        CredentialType::ProfessionalTitleCredential
        | CredentialType::SkillLevelCredential
        | CredentialType::ProfessionalQualificationCredential => Some("level"),
        CredentialType::TalentServiceCardCredential => Some("cardClass"),
        CredentialType::GoldenPhoenixTalentCredential => Some("tier"),
        CredentialType::IssuerAccreditationCredential
        | CredentialType::RecognitionAgreementCredential => None,
    }
}

impl Scope {
    /// Reads the `scope` object of an accreditation subject.
    fn from_json(scope: &Value) -> Result<Scope, AccreditationError> {
        let list = |name: &str| -> Result<Option<Vec<String>>, AccreditationError> {
            match scope.get(name) {
                None => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .map(Some)
                    .ok_or(AccreditationError::Malformed("scope lists hold strings")),
                Some(_) => Err(AccreditationError::Malformed("scope lists are arrays")),
            }
        };
        let types = list("types")?
            .ok_or(AccreditationError::Malformed("scope.types is required"))?
            .iter()
            .map(|name| name.parse::<CredentialType>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| AccreditationError::Malformed("scope.types names unknown types"))?;
        if types.is_empty() || types.iter().any(|t| !t.is_talent()) {
            return Err(AccreditationError::Malformed(
                "scope.types lists one or more talent credential types",
            ));
        }
        Ok(Scope {
            types,
            levels: list("levels")?,
            categories: list("categories")?,
            districts: list("districts")?,
        })
    }

    /// Checks a credential's type and subject against the scope.
    ///
    /// # Errors
    /// The first [`ScopeViolation`], in the order type, level, category, district.
    pub fn check(
        &self,
        credential_type: CredentialType,
        subject: &SubjectFacts,
    ) -> Result<(), ScopeViolation> {
        if !self.types.contains(&credential_type) {
            return Err(ScopeViolation::Type {
                found: credential_type,
                allowed: self.types.iter().map(|t| t.as_str().to_owned()).collect(),
            });
        }
        let within = |allowed: &Option<Vec<String>>, found: &Option<String>| match allowed {
            None => true,
            Some(allowed) => found.as_ref().is_some_and(|value| allowed.contains(value)),
        };
        if !within(&self.levels, &subject.level) {
            return Err(ScopeViolation::Level {
                found: subject.level.clone(),
                allowed: self.levels.clone().unwrap_or_default(),
            });
        }
        if credential_type == CredentialType::GoldenPhoenixTalentCredential
            && !within(&self.categories, &subject.category)
        {
            return Err(ScopeViolation::Category {
                found: subject.category.clone(),
                allowed: self.categories.clone().unwrap_or_default(),
            });
        }
        if !within(&self.districts, &subject.district) {
            return Err(ScopeViolation::District {
                found: subject.district.clone(),
                allowed: self.districts.clone().unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// What admitting a talent credential reads of its `credentialSubject`: the region (whose
/// log it belongs in) and the fields an accreditation's [`Scope`] limits. A field that is
/// missing or not a string is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    /// `region`.
    pub region: Option<String>,
    /// The type's level field ([`level_field`]).
    pub level: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `district`.
    pub district: Option<String>,
}

impl SubjectFacts {
    /// The facts of a parsed subject.
    pub fn of(credential_type: CredentialType, subject: &Value) -> SubjectFacts {
        let text = |field: &str| {
            subject
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        SubjectFacts {
            region: text("region"),
            level: level_field(credential_type).and_then(text),
            category: text("category"),
            district: text("district"),
        }
    }

    /// The facts read straight from a subject's JSON text, without building the rest of
    /// it. `None` when the text is not an object whose fields of interest are strings or
    /// null (or names one twice): [`SubjectFacts::of`] of the parsed subject decides those.
    pub fn from_json(credential_type: CredentialType, subject: &str) -> Option<SubjectFacts> {
        #[derive(serde::Deserialize)]
        struct Fields {
            region: Option<String>,
            level: Option<String>,
            #[serde(rename = "cardClass")]
            card_class: Option<String>,
            tier: Option<String>,
            category: Option<String>,
            district: Option<String>,
        }
        let fields: Fields = serde_json::from_str(subject).ok()?;
        let level = match level_field(credential_type) {
            None => None,
            Some("level") => fields.level,
            Some("cardClass") => fields.card_class,
            Some("tier") => fields.tier,
            // A level field `Fields` does not read: left to the parsed subject.
            Some(_) => return None,
        };
        Some(SubjectFacts {
            region: fields.region,
            level,
            category: fields.category,
            district: fields.district,
        })
    }
}

/// Why a credential is not a usable accreditation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AccreditationError {
    /// Not an `IssuerAccreditationCredential`.
    #[error("not an IssuerAccreditationCredential")]
    WrongType,
    /// A field is missing or malformed (the schema should have caught it).
    #[error("accreditation is malformed: {0}")]
    Malformed(&'static str),
}

/// An accreditation of a delegated issuer, as logged by a member's authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accreditation {
    /// The accreditation credential's id.
    pub id: CredentialId,
    /// The authority (key) that signed it.
    pub authority: DidKey,
    /// The accredited issuer.
    pub issuer: DidKey,
    /// The issuer's name, e.g. 重庆某某科技有限公司.
    pub name: String,
    /// The region (member) it issues for.
    pub region: String,
    /// What it may issue.
    pub scope: Scope,
    /// Start of the accreditation.
    pub valid_from: DateTime<Utc>,
    /// End of the accreditation, if any.
    pub valid_until: Option<DateTime<Utc>>,
}

impl Accreditation {
    /// Reads an `IssuerAccreditationCredential` (already schema-valid and proof-checked).
    ///
    /// # Errors
    /// [`AccreditationError`].
    pub fn from_credential(document: &Value) -> Result<Accreditation, AccreditationError> {
        let credential = CredentialView::of(document);
        if credential.credential_type() != Some(CredentialType::IssuerAccreditationCredential) {
            return Err(AccreditationError::WrongType);
        }
        let text = |value: &Value, what: &'static str| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or(AccreditationError::Malformed(what))
        };
        let did = |value: &Value, what: &'static str| {
            value
                .as_str()
                .and_then(|text| text.parse::<DidKey>().ok())
                .ok_or(AccreditationError::Malformed(what))
        };
        let time = |value: &Value, what: &'static str| {
            value
                .as_str()
                .and_then(parse_datetime)
                .ok_or(AccreditationError::Malformed(what))
        };
        let subject = credential.subject();
        Ok(Accreditation {
            id: document["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .ok_or(AccreditationError::Malformed("id"))?,
            authority: did(&document["issuer"], "issuer")?,
            issuer: did(&subject["id"], "credentialSubject.id")?,
            name: text(&subject["name"], "credentialSubject.name")?,
            region: text(&subject["region"], "credentialSubject.region")?,
            scope: Scope::from_json(&subject["scope"])?,
            valid_from: time(&document["validFrom"], "validFrom")?,
            valid_until: match document.get("validUntil") {
                None => None,
                Some(value) => Some(time(value, "validUntil")?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(value: Value) -> Scope {
        Scope::from_json(&value).expect("valid scope")
    }

    #[test]
    fn absent_lists_do_not_restrict_present_lists_do() {
        let titles = scope(json!({"types": ["ProfessionalTitleCredential"], "levels": ["中级"]}));
        let title = |level: &str| {
            SubjectFacts::of(
                CredentialType::ProfessionalTitleCredential,
                &json!({"level": level, "region": "cq-sc"}),
            )
        };
        assert_eq!(
            titles.check(CredentialType::ProfessionalTitleCredential, &title("中级")),
            Ok(())
        );
        let err = titles
            .check(
                CredentialType::ProfessionalTitleCredential,
                &title("正高级"),
            )
            .expect_err("out of level");
        assert_eq!(err.code(), "scope_level");
        assert!(err.to_string().contains("正高级"), "{err}");
        let err = titles
            .check(CredentialType::SkillLevelCredential, &title("中级"))
            .expect_err("out of type");
        assert_eq!(err.code(), "scope_type");
    }

    #[test]
    fn categories_and_districts() {
        let phoenix = scope(json!({
            "types": ["GoldenPhoenixTalentCredential"],
            "categories": ["青年人才"],
            "districts": ["沙坪坝区"],
        }));
        let subject = |category: &str, district: Option<&str>| {
            let mut subject = json!({"category": category, "tier": "塔基"});
            if let Some(district) = district {
                subject["district"] = district.into();
            }
            SubjectFacts::of(CredentialType::GoldenPhoenixTalentCredential, &subject)
        };
        let t = CredentialType::GoldenPhoenixTalentCredential;
        assert_eq!(
            phoenix.check(t, &subject("青年人才", Some("沙坪坝区"))),
            Ok(())
        );
        assert_eq!(
            phoenix
                .check(t, &subject("顶尖人才", Some("沙坪坝区")))
                .map_err(|e| e.code()),
            Err("scope_category")
        );
        assert_eq!(
            phoenix
                .check(t, &subject("青年人才", Some("九龙坡区")))
                .map_err(|e| e.code()),
            Err("scope_district")
        );
        // Without a district the credential cannot show it is inside the scope.
        assert_eq!(
            phoenix
                .check(t, &subject("青年人才", None))
                .map_err(|e| e.code()),
            Err("scope_district")
        );
    }

    #[test]
    fn subject_facts_from_text_match_the_parsed_subject() {
        let subjects = [
            json!({"region": "cq-sc", "level": "中级", "district": "沙坪坝区", "name": "张三"}),
            json!({"region": "cd-hz", "tier": "塔尖", "category": "青年人才", "level": "x"}),
            json!({"region": "cq-sc", "cardClass": "A", "nested": {"region": "bj-zgc"}}),
            json!({"region": "cq-\"sc\"\n", "level": null}),
            json!({"name": "no region"}),
            json!({}),
        ];
        for subject in &subjects {
            for t in [
                CredentialType::ProfessionalTitleCredential,
                CredentialType::TalentServiceCardCredential,
                CredentialType::GoldenPhoenixTalentCredential,
            ] {
                let text = subject.to_string();
                assert_eq!(
                    SubjectFacts::from_json(t, &text),
                    Some(SubjectFacts::of(t, subject)),
                    "{t:?} {text}"
                );
            }
        }
        let facts = SubjectFacts::from_json(
            CredentialType::TalentServiceCardCredential,
            r#"{"cardClass":"A","level":"中级","region":"cq-sc"}"#,
        );
        assert_eq!(facts.and_then(|f| f.level).as_deref(), Some("A"));
        // Anything else is left to the parsed subject, which reads a non-string as absent.
        for text in [
            r#"{"region":5}"#,
            r#"{"district":["a"]}"#,
            r#"{"region":"a","region":"b"}"#,
            r#"["region"]"#,
            "null",
            r#"{"region":"a""#,
        ] {
            assert_eq!(
                SubjectFacts::from_json(CredentialType::SkillLevelCredential, text),
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn scopes_name_talent_types_only() {
        assert!(Scope::from_json(&json!({"types": []})).is_err());
        assert!(Scope::from_json(&json!({"types": ["IssuerAccreditationCredential"]})).is_err());
        assert!(Scope::from_json(&json!({"types": ["NoSuchCredential"]})).is_err());
        assert!(Scope::from_json(&json!({"levels": ["中级"]})).is_err());
    }
}
