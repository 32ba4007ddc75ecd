//! Credential statistics (人才大数据): how many talent credentials a log holds per region,
//! type, 金凤凰 category, level and month — aggregate counts only, never personal data.
//!
//! Three things live here and nowhere else:
//!
//! - **what an entry counts as** ([`facets`]): a logged talent credential (one of the five
//!   talent types, `CredentialType::is_talent`) becomes its [`Facets`]; accreditations, recognition
//!   agreements and signed statements (status changes, key rotations) are not counted;
//! - **the counts** ([`CredentialCounts`]): per facet tuple, with roll-ups by one
//!   [`Dimension`] or by (region, type), serialisable so a node can persist them;
//! - **the small-count rule** ([`SMALL_COUNT_THRESHOLD`], [`disclosed`]): a count below 5 is
//!   never shown, only "<5", so no small group of people can be singled out. Every
//!   statistic the registry publishes goes through it.
//!
//! Nothing here reads a log or a clock; the node feeds entry bytes in. The CSV export of the
//! counts is `talent_forms::statistics_csv`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::credential::{CredentialType, parse_datetime};

/// Counts below this are suppressed: shown as [`SUPPRESSED_LABEL`], never as a number.
pub const SMALL_COUNT_THRESHOLD: u64 = 5;

/// How a suppressed count is written in CSV files and charts.
pub const SUPPRESSED_LABEL: &str = "<5";

/// A count as it may be published: `Some(count)` at or above [`SMALL_COUNT_THRESHOLD`],
/// `None` (suppressed, shown as "<5") below it — zero included, since an empty group next
/// to a published total can also single people out.
pub fn disclosed(count: u64) -> Option<u64> {
    (count >= SMALL_COUNT_THRESHOLD).then_some(count)
}

/// What one logged talent credential is counted under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Facets {
    /// `credentialSubject.region`: the member id of the issuing region.
    pub region: String,
    /// The credential type (one of the five talent types).
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// The 金凤凰 `category` (顶尖人才, 杰出人才, 领军人才, 青年人才), when present.
    pub category: Option<String>,
    /// `level` of a title, skill level or qualification, or `cardClass` of a service card.
    pub level: Option<String>,
    /// `YYYY-MM` (UTC) of `validFrom`.
    pub month: String,
}

/// Why an entry that should be counted cannot be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FacetError {
    /// The entry is not a JSON object.
    #[error("the entry is not a JSON object")]
    NotAnObject,
    /// The entry is not valid JSON (or a field has an impossible shape).
    #[error("the entry is not valid JSON: {0}")]
    Malformed(String),
    /// A talent credential without a string `credentialSubject.region`.
    #[error("the talent credential has no credentialSubject.region")]
    MissingRegion,
    /// A talent credential without an RFC 3339 `validFrom`.
    #[error("the talent credential has no valid validFrom")]
    InvalidValidFrom,
}

/// The facets of one logged entry: `Ok(None)` for entries that are not talent credentials
/// (accreditations, recognition agreements, status changes, key rotations, anything whose
/// `type` names no single registry type).
///
/// # Errors
/// [`FacetError::NotAnObject`] and [`FacetError::Malformed`] for bytes that are not a JSON
/// object; [`FacetError::MissingRegion`] and [`FacetError::InvalidValidFrom`] for a talent
/// credential without those fields.
pub fn facets(entry: &[u8]) -> Result<Option<Facets>, FacetError> {
    // serde would fill a struct positionally from a JSON array: require an object.
    if entry.trim_ascii_start().first() != Some(&b'{') {
        return Err(FacetError::NotAnObject);
    }
    let view: EntryView<'_> =
        serde_json::from_slice(entry).map_err(|error| FacetError::Malformed(error.to_string()))?;
    let Some(credential_type) = view.types.single_registry_type() else {
        return Ok(None);
    };
    if !credential_type.is_talent() {
        return Ok(None);
    }
    let subject = view.subject.0.unwrap_or_default();
    let region = subject.region.ok_or(FacetError::MissingRegion)?;
    let month = view
        .valid_from
        .0
        .as_deref()
        .and_then(parse_datetime)
        .ok_or(FacetError::InvalidValidFrom)?
        .format("%Y-%m")
        .to_string();
    let category = match credential_type {
        CredentialType::GoldenPhoenixTalentCredential => subject.category,
        _ => None,
    };
    let level = match credential_type {
        CredentialType::TalentServiceCardCredential => subject.card_class,
        CredentialType::ProfessionalTitleCredential
        | CredentialType::SkillLevelCredential
        | CredentialType::ProfessionalQualificationCredential => subject.level,
        _ => None,
    };
    Ok(Some(Facets {
        region: region.into_owned(),
        credential_type,
        category: category.map(Cow::into_owned),
        level: level.map(Cow::into_owned),
        month,
    }))
}

/// The fields of an entry that statistics read; everything else is skipped unparsed.
#[derive(Deserialize)]
struct EntryView<'a> {
    #[serde(rename = "type", default, borrow)]
    types: Types<'a>,
    #[serde(rename = "validFrom", default, borrow)]
    valid_from: Lenient<Cow<'a, str>>,
    #[serde(rename = "credentialSubject", default, borrow)]
    subject: Lenient<Subject<'a>>,
}

/// A VC `type`: a string or an array of strings (other shapes name no type).
#[derive(Default)]
struct Types<'a>(Vec<Cow<'a, str>>);

impl Types<'_> {
    /// The one registry type named (as [`CredentialType::from_type_array`] decides).
    fn single_registry_type(&self) -> Option<CredentialType> {
        let mut found = self.0.iter().filter_map(|name| name.parse().ok());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Types<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypesVisitor;
        impl<'de> Visitor<'de> for TypesVisitor {
            type Value = Types<'de>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a type name or an array of them")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(Types(vec![Cow::Borrowed(value)]))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Types(vec![Cow::Owned(value.to_owned())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(Lenient(name)) = seq.next_element::<Lenient<Cow<'de, str>>>()? {
                    names.extend(name);
                }
                Ok(Types(names))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Types::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Types::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Types::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Types::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Types::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Types::default())
            }
        }
        deserializer.deserialize_any(TypesVisitor)
    }
}

/// The subject fields statistics read; non-string values count as absent.
#[derive(Default)]
struct Subject<'a> {
    region: Option<Cow<'a, str>>,
    category: Option<Cow<'a, str>>,
    level: Option<Cow<'a, str>>,
    card_class: Option<Cow<'a, str>>,
}

/// A value of the expected shape, or `None` for any other JSON value (skipped unparsed):
/// statistics must not fail on a field of an entry they do not count.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

/// Values a [`Lenient`] can hold: built from a string or from a map.
trait FromJsonShape<'de>: Sized {
    fn from_str(value: Cow<'de, str>) -> Option<Self>;
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error>;
}

impl<'de: 'a, 'a> FromJsonShape<'de> for Cow<'a, str> {
    fn from_str(value: Cow<'de, str>) -> Option<Self> {
        Some(value)
    }
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl<'de: 'a, 'a> FromJsonShape<'de> for Subject<'a> {
    fn from_str(_: Cow<'de, str>) -> Option<Self> {
        None
    }
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut subject = Subject::default();
        // Lenient keys borrow from the input (serde's own `Cow` impl always copies).
        while let Some(Lenient(key)) = map.next_key::<Lenient<Cow<'a, str>>>()? {
            let slot = match key.as_deref() {
                Some("region") => &mut subject.region,
                Some("category") => &mut subject.category,
                Some("level") => &mut subject.level,
                Some("cardClass") => &mut subject.card_class,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value::<Lenient<Cow<'a, str>>>()?.0;
        }
        Ok(Some(subject))
    }
}

impl<'de, T: FromJsonShape<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: FromJsonShape<'de>> Visitor<'de> for LenientVisitor<T> {
            type Value = Lenient<T>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_str(Cow::Borrowed(value))))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_str(Cow::Owned(value.to_owned()))))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::from_map(map).map(Lenient)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor(std::marker::PhantomData))
    }
}

/// One dimension to roll the counts up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The issuing region (member id).
    Region,
    /// The credential type.
    Type,
    /// The 金凤凰 category (credentials without one are left out).
    Category,
    /// The level or card class (credentials without one are left out).
    Level,
    /// The month of `validFrom`.
    Month,
}

impl Dimension {
    /// Every dimension, in the order of the CSV columns.
    pub const ALL: [Dimension; 5] = [
        Dimension::Region,
        Dimension::Type,
        Dimension::Category,
        Dimension::Level,
        Dimension::Month,
    ];

    /// The value of this dimension in `facets`, `None` where the credential has none.
    pub fn value(self, facets: &Facets) -> Option<&str> {
        match self {
            Dimension::Region => Some(&facets.region),
            Dimension::Type => Some(facets.credential_type.as_str()),
            Dimension::Category => facets.category.as_deref(),
            Dimension::Level => facets.level.as_deref(),
            Dimension::Month => Some(&facets.month),
        }
    }
}

/// One row of [`CredentialCounts`] as it is serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    /// What is counted.
    #[serde(flatten)]
    pub facets: Facets,
    /// How many.
    pub count: u64,
}

/// Credential counts per [`Facets`] tuple. Serialised as an array of [`CountRow`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<CountRow>", into = "Vec<CountRow>")]
pub struct CredentialCounts {
    counts: BTreeMap<Facets, u64>,
}

impl From<Vec<CountRow>> for CredentialCounts {
    fn from(rows: Vec<CountRow>) -> Self {
        let mut counts = CredentialCounts::default();
        for row in rows {
            counts.add_many(row.facets, row.count);
        }
        counts
    }
}

impl From<CredentialCounts> for Vec<CountRow> {
    fn from(counts: CredentialCounts) -> Self {
        counts
            .counts
            .into_iter()
            .map(|(facets, count)| CountRow { facets, count })
            .collect()
    }
}

impl CredentialCounts {
    /// No counts.
    pub fn new() -> CredentialCounts {
        CredentialCounts::default()
    }

    /// Counts one credential.
    pub fn add(&mut self, facets: Facets) {
        self.add_many(facets, 1);
    }

    /// Counts `count` credentials with the same facets (saturating).
    pub fn add_many(&mut self, facets: Facets, count: u64) {
        if count == 0 {
            return;
        }
        let slot = self.counts.entry(facets).or_insert(0);
        *slot = slot.saturating_add(count);
    }

    /// Counts one logged entry if it is a talent credential; returns whether it was.
    ///
    /// # Errors
    /// As [`facets`]; nothing is counted then.
    pub fn add_entry(&mut self, entry: &[u8]) -> Result<bool, FacetError> {
        Ok(match facets(entry)? {
            Some(facets) => {
                self.add(facets);
                true
            }
            None => false,
        })
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &CredentialCounts) {
        for (facets, count) in &other.counts {
            self.add_many(facets.clone(), *count);
        }
    }

    /// Whether nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// All credentials counted.
    pub fn total(&self) -> u64 {
        self.counts
            .values()
            .fold(0, |total, count| total.saturating_add(*count))
    }

    /// The count of each facet tuple, in order.
    pub fn rows(&self) -> impl Iterator<Item = (&Facets, u64)> {
        self.counts.iter().map(|(facets, count)| (facets, *count))
    }

    /// Counts per value of one dimension, in order (credentials without a value of that
    /// dimension are left out).
    pub fn by(&self, dimension: Dimension) -> BTreeMap<String, u64> {
        let mut rolled = BTreeMap::new();
        for (facets, count) in &self.counts {
            if let Some(value) = dimension.value(facets) {
                let slot: &mut u64 = rolled.entry(value.to_owned()).or_default();
                *slot = slot.saturating_add(*count);
            }
        }
        rolled
    }

    /// Counts per (region, type), in order.
    pub fn by_region_and_type(&self) -> BTreeMap<(String, CredentialType), u64> {
        let mut rolled = BTreeMap::new();
        for (facets, count) in &self.counts {
            let slot: &mut u64 = rolled
                .entry((facets.region.clone(), facets.credential_type))
                .or_default();
            *slot = slot.saturating_add(*count);
        }
        rolled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn title(region: &str, level: &str, valid_from: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d",
            "type": ["VerifiableCredential", "ProfessionalTitleCredential"],
            "issuer": "did:key:z6Mk",
            "validFrom": valid_from,
            "credentialSubject": {
                "name": "李明华", "idNumberMasked": "5001**********123X",
                "region": region, "series": "工程", "level": level,
                "employer": {"name": "重庆某软件有限公司"},
            },
            "proof": {"type": "DataIntegrityProof"},
        }))
        .expect("JSON")
    }

    fn phoenix(category: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": ["VerifiableCredential", "GoldenPhoenixTalentCredential"],
            "validFrom": "2025-12-31T23:30:00-02:00",
            "credentialSubject": {"name": "王小红", "region": "cq-sc", "category": category,
                "tier": "塔身", "level": "ignored for this type"},
        }))
        .expect("JSON")
    }

    #[test]
    fn facets_of_each_talent_type() {
        let facets_of = |bytes: &[u8]| facets(bytes).expect("parses").expect("talent");
        assert_eq!(
            facets_of(&title("sc-hrss", "正高级", "2025-03-01T00:00:00Z")),
            Facets {
                region: "sc-hrss".into(),
                credential_type: CredentialType::ProfessionalTitleCredential,
                category: None,
                level: Some("正高级".into()),
                month: "2025-03".into(),
            }
        );
        // The month is UTC's: 23:30 at -02:00 on 31 December is January.
        let golden = facets_of(&phoenix("青年人才"));
        assert_eq!(golden.category.as_deref(), Some("青年人才"));
        assert_eq!(golden.level, None);
        assert_eq!(golden.month, "2026-01");
        let card = facets_of(br#"{"type":["VerifiableCredential","TalentServiceCardCredential"],
            "validFrom":"2025-01-02T00:00:00Z","credentialSubject":{"region":"cq-sc","cardClass":"\u2161"}}"#);
        assert_eq!(
            card.level.as_deref(),
            Some("Ⅱ"),
            "escaped strings are decoded"
        );
        let qualification = facets_of(
            br#"{"type":["VerifiableCredential","ProfessionalQualificationCredential"],
            "validFrom":"2025-01-02T00:00:00Z","credentialSubject":{"region":"cq-sc","level":7}}"#,
        );
        assert_eq!(qualification.level, None, "a non-string level is absent");
    }

    #[test]
    fn entries_that_are_not_talent_credentials_are_skipped() {
        let skipped = [
            json!({"type": ["VerifiableCredential", "IssuerAccreditationCredential"],
                   "validFrom": "2025-01-01T00:00:00Z",
                   "credentialSubject": {"id": "did:key:z6Mk", "region": "cq-sc",
                       "scope": {"types": ["ProfessionalTitleCredential"]}}}),
            json!({"type": ["VerifiableCredential", "RecognitionAgreementCredential"],
                   "credentialSubject": [{"rules": []}]}),
            json!({"type": ["CredentialStatusChange"], "credentialId": "urn:uuid:x",
                   "status": "03", "effective": "2025-01-01T00:00:00Z"}),
            json!({"type": ["IssuerKeyRotation"], "previousKey": "a", "nextKey": "b"}),
            json!({"type": ["VerifiableCredential", "ProfessionalTitleCredential",
                            "SkillLevelCredential"], "credentialSubject": {"region": "x"}}),
            json!({"type": "VerifiableCredential"}),
            json!({"type": 7, "credentialSubject": 3}),
            json!({}),
        ];
        for entry in skipped {
            let bytes = serde_json::to_vec(&entry).expect("JSON");
            assert_eq!(facets(&bytes), Ok(None), "{entry}");
        }
        let mut counts = CredentialCounts::new();
        assert_eq!(
            counts.add_entry(br#"{"type":["CredentialStatusChange"]}"#),
            Ok(false)
        );
        assert!(counts.is_empty());
    }

    #[test]
    fn malformed_entries_are_errors_not_panics() {
        assert_eq!(facets(b""), Err(FacetError::NotAnObject));
        assert_eq!(facets(b"[1,2,3]"), Err(FacetError::NotAnObject));
        assert_eq!(facets(b"\xff\xfe"), Err(FacetError::NotAnObject));
        assert!(matches!(
            facets(b"{\"type\":"),
            Err(FacetError::Malformed(_))
        ));
        assert!(matches!(
            facets(b"{\"type\":[\"a\"]} trailing"),
            Err(FacetError::Malformed(_))
        ));
        // Invalid UTF-8 in a field that is read (in one that is skipped, it is not looked at).
        assert!(matches!(
            facets(b"{\"type\":[\"SkillLevelCredential\"],\"credentialSubject\":{\"region\":\"\xff\"}}"),
            Err(FacetError::Malformed(_))
        ));
        assert_eq!(
            facets(br#"{"type":["VerifiableCredential","SkillLevelCredential"],"validFrom":"2025-01-01T00:00:00Z","credentialSubject":{"level":"x"}}"#),
            Err(FacetError::MissingRegion)
        );
        assert_eq!(
            facets(br#"{"type":["VerifiableCredential","SkillLevelCredential"],"validFrom":"last year","credentialSubject":{"region":"cq-sc"}}"#),
            Err(FacetError::InvalidValidFrom)
        );
        assert_eq!(
            facets(br#"{"type":["VerifiableCredential","SkillLevelCredential"],"credentialSubject":["cq-sc"]}"#),
            Err(FacetError::MissingRegion),
            "an array subject has no region"
        );
        let mut counts = CredentialCounts::new();
        assert!(counts.add_entry(b"not json").is_err());
        assert!(counts.is_empty(), "nothing is counted from a bad entry");
    }

    #[test]
    fn small_counts_are_suppressed() {
        assert_eq!(SMALL_COUNT_THRESHOLD, 5);
        for count in 0..SMALL_COUNT_THRESHOLD {
            assert_eq!(disclosed(count), None, "{count}");
        }
        assert_eq!(disclosed(5), Some(5));
        assert_eq!(disclosed(u64::MAX), Some(u64::MAX));
    }

    fn sample() -> CredentialCounts {
        let mut counts = CredentialCounts::new();
        for _ in 0..6 {
            counts
                .add_entry(&title("cq-sc", "正高级", "2025-03-04T00:00:00Z"))
                .expect("counts");
        }
        counts
            .add_entry(&title("sc-hrss", "中级", "2025-04-04T00:00:00Z"))
            .expect("counts");
        for _ in 0..2 {
            counts.add_entry(&phoenix("青年人才")).expect("counts");
        }
        counts
    }

    #[test]
    fn rollups_add_up() {
        let counts = sample();
        assert_eq!(counts.total(), 9);
        assert_eq!(
            counts.by(Dimension::Region),
            BTreeMap::from([("cq-sc".into(), 8), ("sc-hrss".into(), 1)])
        );
        assert_eq!(
            counts.by(Dimension::Type),
            BTreeMap::from([
                ("GoldenPhoenixTalentCredential".into(), 2),
                ("ProfessionalTitleCredential".into(), 7),
            ])
        );
        assert_eq!(
            counts.by(Dimension::Category),
            BTreeMap::from([("青年人才".into(), 2)])
        );
        assert_eq!(
            counts.by(Dimension::Level),
            BTreeMap::from([("中级".into(), 1), ("正高级".into(), 6)])
        );
        assert_eq!(
            counts.by(Dimension::Month),
            BTreeMap::from([
                ("2025-03".into(), 6),
                ("2025-04".into(), 1),
                ("2026-01".into(), 2)
            ])
        );
        assert_eq!(
            counts
                .by_region_and_type()
                .get(&("cq-sc".into(), CredentialType::ProfessionalTitleCredential)),
            Some(&6)
        );
        let mut merged = counts.clone();
        merged.merge(&counts);
        assert_eq!(merged.total(), 18);
        assert_eq!(merged.rows().count(), counts.rows().count());
    }

    #[test]
    fn counts_round_trip_through_json() {
        let counts = sample();
        let json = serde_json::to_string(&counts).expect("serialises");
        assert!(
            json.contains(r#""type":"ProfessionalTitleCredential""#),
            "{json}"
        );
        let back: CredentialCounts = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, counts);
    }
}
