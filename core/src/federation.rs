//! The federation configuration (`federation-config/<federation>/federation.toml`): the trust
//! anchor every member and every verifier starts from.
//!
//! It names the members and, for each, its endpoint and its three public keys: the authority
//! DID that roots its credentials, the log key that signs its checkpoints (a C2SP
//! `signed-note` verifier key whose key name is the log origin), and the witness key with
//! which it cosigns other members' checkpoints (a C2SP `tlog-cosignature` verifier key). It
//! also fixes how many cosignatures by *other* members a verifier requires.
//!
//! [`Federation::parse`] takes the text (no file I/O here) and either returns a federation in
//! which every key has been decoded and checked, or a [`ConfigError`] pointing at the line and
//! column of the offending value. Unknown fields are refused, so a misspelt key cannot silently
//! fall back to a default.
//!
//! ```toml
//! [federation]
//! id = "chengdu-chongqing"
//! name_zh = "成渝地区双城经济圈人才互认联盟"
//! name_en = "Chengdu–Chongqing Talent Recognition Federation"
//! witness_quorum = 3
//!
//! [[member]]
//! id = "cq-sc"
//! name_zh = "重庆西部科学城"
//! name_en = "Western (Chongqing) Science City"
//! class = "science-city"
//! endpoint = "http://127.0.0.1:7101"
//! authority = "did:key:z6Mk…"
//! log_origin = "registry.cq-sc.example/log"
//! log_vkey = "registry.cq-sc.example/log+<8 hex>+<base64(0x01 || key)>"
//! witness_vkey = "witness.cq-sc.example+<8 hex>+<base64(0x04 || key)>"
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::identifiers::{IdentifierError, RegionId};
use talent_integrity::did::{DidError, DidKey};

/// Largest configuration accepted, in bytes. A federation of a few dozen members needs a few
/// tens of KiB; anything near this limit is not a configuration.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// signed-note algorithm byte of Ed25519 log keys (C2SP `signed-note`).
const ALG_ED25519: u8 = 0x01;
/// Algorithm byte of `cosignature/v1` Ed25519 witness keys (C2SP `tlog-cosignature`).
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// A parsed and checked federation configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Federation {
    /// Federation id (`chengdu-chongqing`).
    pub id: String,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// Cosignatures by distinct members other than the log's own that a verifier requires on
    /// a checkpoint; at least 1 and at most the number of members minus one.
    pub witness_quorum: usize,
    members: Vec<Member>,
}

/// One member of the federation: a region with its own node, log and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member id, also the region credentials belong to (`cq-sc`).
    pub id: RegionId,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// What kind of body the member is.
    pub class: MemberClass,
    /// Base URL of the member's node: `http(s)://host[:port]`, no path, no trailing slash.
    pub endpoint: String,
    /// The authority DID that roots the member's credentials and accreditations.
    pub authority: DidKey,
    /// Origin of the member's log, which is also the key name of its log key.
    pub log_origin: String,
    /// The log's signed-note verifier key, as written in the configuration.
    pub log_vkey: String,
    /// The log's public key, decoded from [`Member::log_vkey`].
    pub log_key: VerifyingKey,
    /// Key name of the member's witness key.
    pub witness_name: String,
    /// The witness's `cosignature/v1` verifier key, as written in the configuration.
    pub witness_vkey: String,
    /// The witness's public key, decoded from [`Member::witness_vkey`].
    pub witness_key: VerifyingKey,
}

/// What kind of body a member is; in the configuration, the kebab-case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberClass {
    /// `science-city`: a science city such as the Western (Chongqing) Science City.
    ScienceCity,
    /// `high-tech-zone`: a high-tech industrial development zone such as Chengdu's.
    HighTechZone,
    /// `provincial-hr-authority`: a provincial-level human resources and social security
    /// department, which confers professional titles and skill levels.
    ProvincialHrAuthority,
    /// `district`: a district or county talent office.
    District,
    /// `enclave-park`: a talent enclave (人才飞地) park whose people count as local talent.
    EnclavePark,
}

impl MemberClass {
    /// Every class, in the order of the documentation.
    pub const ALL: [MemberClass; 5] = [
        MemberClass::ScienceCity,
        MemberClass::HighTechZone,
        MemberClass::ProvincialHrAuthority,
        MemberClass::District,
        MemberClass::EnclavePark,
    ];

    /// The name used in the configuration and in JSON (`science-city`).
    pub fn as_str(self) -> &'static str {
        match self {
            MemberClass::ScienceCity => "science-city",
            MemberClass::HighTechZone => "high-tech-zone",
            MemberClass::ProvincialHrAuthority => "provincial-hr-authority",
            MemberClass::District => "district",
            MemberClass::EnclavePark => "enclave-park",
        }
    }

    /// Label in Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            MemberClass::ScienceCity => "科学城",
            MemberClass::HighTechZone => "高新区",
            MemberClass::ProvincialHrAuthority => "省级人力资源和社会保障部门",
            MemberClass::District => "区县",
            MemberClass::EnclavePark => "人才飞地",
        }
    }

    /// Label in English.
    pub fn label_en(self) -> &'static str {
        match self {
            MemberClass::ScienceCity => "Science city",
            MemberClass::HighTechZone => "High-tech zone",
            MemberClass::ProvincialHrAuthority => "Provincial HR authority",
            MemberClass::District => "District",
            MemberClass::EnclavePark => "Talent enclave park",
        }
    }
}

impl fmt::Display for MemberClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configuration that was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ConfigError {
    /// 1-based line of the offending value (or key, or table header).
    pub line: usize,
    /// 1-based column, counted in characters, of the offending value.
    pub column: usize,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is larger than [`MAX_CONFIG_BYTES`].
    #[error("configuration is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Size of the text.
        size: usize,
        /// [`MAX_CONFIG_BYTES`].
        max: usize,
    },
    /// The text is not valid TOML; the message is the TOML parser's.
    #[error("TOML syntax: {0}")]
    Syntax(String),
    /// A key that is not part of the format.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// A required field is absent from the table the error points at.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong TOML type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A name or origin field is empty.
    #[error("`{0}` must not be empty")]
    EmptyField(&'static str),
    /// The federation id is not 2–64 characters of `a-z`, `0-9` and `-`.
    #[error("federation id {0:?} must be 2-64 characters of a-z, 0-9 and '-'")]
    BadFederationId(String),
    /// A member id is not a valid [`RegionId`].
    #[error("{0}")]
    BadMemberId(IdentifierError),
    /// Two members have the same id.
    #[error("member id {id:?} is already used on line {first_line}")]
    DuplicateMemberId {
        /// The repeated id.
        id: String,
        /// Line of the first member with that id.
        first_line: usize,
    },
    /// The member class is not one of [`MemberClass::ALL`].
    #[error(
        "unknown member class {0:?} (expected science-city, high-tech-zone, \
         provincial-hr-authority, district or enclave-park)"
    )]
    BadClass(String),
    /// The endpoint is not `http(s)://host[:port]`; the reason says which part is wrong.
    #[error("endpoint {reason}")]
    BadEndpoint {
        /// Which rule the endpoint breaks.
        reason: &'static str,
    },
    /// The authority is not an Ed25519 did:key.
    #[error("authority: {0}")]
    BadDid(DidError),
    /// The log vkey is not a signed-note Ed25519 verifier key.
    #[error("log_vkey: {0}")]
    BadLogVkey(VkeyError),
    /// The log vkey's key name is not the log origin.
    #[error("log_vkey key name {key_name:?} is not the log origin {origin:?}")]
    LogVkeyNameNotOrigin {
        /// Key name in the vkey.
        key_name: String,
        /// The `log_origin` field.
        origin: String,
    },
    /// The witness vkey is not a `cosignature/v1` Ed25519 verifier key.
    #[error("witness_vkey: {0}")]
    BadWitnessVkey(VkeyError),
    /// The same public key appears twice (in any role, in any member): every role of every
    /// member has its own key.
    #[error("`{field}` repeats a public key already used on line {first_line}")]
    DuplicateKey {
        /// The field holding the repeated key.
        field: &'static str,
        /// Line where the key first appears.
        first_line: usize,
    },
    /// The same key name is used twice as a log origin or witness name: signatures on a
    /// checkpoint are told apart by key name.
    #[error("key name {name:?} is already used on line {first_line}")]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// Line where the name first appears.
        first_line: usize,
    },
    /// The configuration has no `[[member]]`.
    #[error("the federation has no [[member]]")]
    NoMembers,
    /// The witness quorum is 0: checkpoints would need no cosignature at all.
    #[error("witness_quorum must be at least 1")]
    QuorumZero,
    /// The witness quorum cannot be met: a member never cosigns its own checkpoints.
    #[error(
        "witness_quorum {quorum} cannot be met by {members} members (a log is cosigned only by \
         the other members)"
    )]
    QuorumTooLarge {
        /// The configured quorum.
        quorum: usize,
        /// Number of members.
        members: usize,
    },
}

/// Why a verifier key (`<name>+<8 hex digits>+<base64>`) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VkeyError {
    /// Not `<name>+<id>+<key>` with an 8-digit hexadecimal key id. (The base64 key may itself
    /// contain `+`: only the first two separate parts.)
    #[error("must be <name>+<8 hex digits>+<base64 key>")]
    Format,
    /// The key name is empty or contains whitespace.
    #[error("key name must be non-empty and contain no whitespace or '+'")]
    KeyName,
    /// The key is not standard padded base64.
    #[error("key is not base64")]
    Base64,
    /// The algorithm byte is not the one this key must have.
    #[error("algorithm byte is {found:#04x}, expected {expected:#04x}")]
    Algorithm {
        /// The byte required.
        expected: u8,
        /// The byte found.
        found: u8,
    },
    /// The encoded key is not an algorithm byte and 32 bytes.
    #[error("encoded key is {found} bytes, expected 33")]
    KeyLength {
        /// Bytes found.
        found: usize,
    },
    /// The key id is not the one computed from the name and the key.
    #[error("key id {found:08x} does not match the key (expected {expected:08x})")]
    KeyIdMismatch {
        /// Key id computed from the name and key.
        expected: u32,
        /// Key id written.
        found: u32,
    },
    /// The 32 bytes are not a valid Ed25519 point.
    #[error("not a valid Ed25519 public key")]
    InvalidPoint,
}

impl Federation {
    /// Parses and checks a federation configuration.
    ///
    /// # Errors
    /// A [`ConfigError`] at the first problem found: [`ConfigErrorKind::TooLarge`],
    /// [`ConfigErrorKind::Syntax`] for text that is not TOML, `UnknownField`, `MissingField`,
    /// `WrongType` and `EmptyField` for the shape, then the checks of each value
    /// (`BadFederationId`, `BadMemberId`, `BadClass`, `BadEndpoint`, `BadDid`, `BadLogVkey`,
    /// `LogVkeyNameNotOrigin`, `BadWitnessVkey`), repetitions across members
    /// (`DuplicateMemberId`, `DuplicateKey`, `DuplicateName`) and the quorum (`NoMembers`,
    /// `QuorumZero`, `QuorumTooLarge`).
    pub fn parse(text: &str) -> Result<Federation, ConfigError> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError {
                line: 1,
                column: 1,
                kind: ConfigErrorKind::TooLarge {
                    size: text.len(),
                    max: MAX_CONFIG_BYTES,
                },
            });
        }
        Parser { text }.federation()
    }

    /// The witnesses whose cosignatures count for `member`'s checkpoints: every other
    /// member's witness key.
    pub fn cosigners_of(&self, member: &str) -> Vec<talent_tlog::cosignature::CosignerKey> {
        self.members
            .iter()
            .filter(|other| other.id.as_str() != member)
            .filter_map(|other| {
                talent_tlog::cosignature::CosignerKey::from_vkey(&other.witness_vkey).ok()
            })
            .collect()
    }

    /// The members, in configuration order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member with this id.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id.as_str() == id)
    }

    /// The member whose authority DID this is.
    pub fn member_by_authority(&self, did: &DidKey) -> Option<&Member> {
        self.members.iter().find(|m| &m.authority == did)
    }

    /// The member whose log has this origin.
    pub fn member_by_origin(&self, origin: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.log_origin == origin)
    }

    /// The member whose witness key has this name.
    pub fn member_by_witness_name(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.witness_name == name)
    }

    /// Every member but `id`: the peers a member syncs from and cosigns for.
    pub fn peers_of<'a>(&'a self, id: &RegionId) -> impl Iterator<Item = &'a Member> + use<'a> {
        let id = id.clone();
        self.members.iter().filter(move |m| m.id != id)
    }
}

impl Federation {
    /// The configuration as TOML, in the format [`Federation::parse`] reads: parsing the
    /// result gives an equal federation. Nodes serve it as their trust anchors.
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Header<'a> {
            id: &'a str,
            name_zh: &'a str,
            name_en: &'a str,
            witness_quorum: usize,
        }
        #[derive(Serialize)]
        struct MemberOut<'a> {
            id: &'a str,
            name_zh: &'a str,
            name_en: &'a str,
            class: MemberClass,
            endpoint: &'a str,
            authority: String,
            log_origin: &'a str,
            log_vkey: &'a str,
            witness_vkey: &'a str,
        }
        #[derive(Serialize)]
        struct Config<'a> {
            federation: Header<'a>,
            member: Vec<MemberOut<'a>>,
        }
        let config = Config {
            federation: Header {
                id: &self.id,
                name_zh: &self.name_zh,
                name_en: &self.name_en,
                witness_quorum: self.witness_quorum,
            },
            member: self
                .members
                .iter()
                .map(|m| MemberOut {
                    id: m.id.as_str(),
                    name_zh: &m.name_zh,
                    name_en: &m.name_en,
                    class: m.class,
                    endpoint: &m.endpoint,
                    authority: m.authority.to_string(),
                    log_origin: &m.log_origin,
                    log_vkey: &m.log_vkey,
                    witness_vkey: &m.witness_vkey,
                })
                .collect(),
        };
        // Strings, integers and arrays of tables always serialise.
        toml::to_string(&config).unwrap_or_default()
    }
}

impl FromStr for Federation {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Federation, ConfigError> {
        Federation::parse(text)
    }
}

/// Fields of `[federation]`.
const FEDERATION_FIELDS: &[&str] = &["id", "name_zh", "name_en", "witness_quorum"];
/// Fields of each `[[member]]`.
const MEMBER_FIELDS: &[&str] = &[
    "id",
    "name_zh",
    "name_en",
    "class",
    "endpoint",
    "authority",
    "log_origin",
    "log_vkey",
    "witness_vkey",
];

/// Walks the parsed TOML tree, turning byte spans into line/column errors.
///
/// The tree is walked by hand rather than through serde so that every error carries a
/// precise kind and the span of the value it is about.
struct Parser<'t> {
    text: &'t str,
}

impl<'t> Parser<'t> {
    fn error(&self, span: Range<usize>, kind: ConfigErrorKind) -> ConfigError {
        let (line, column) = self.position(span.start);
        ConfigError { line, column, kind }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        // Just past an ASCII '\n' (or 0): always a character boundary, so the slice cannot panic.
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    fn federation(&self) -> Result<Federation, ConfigError> {
        let root = DeTable::parse(self.text).map_err(|e| {
            let start = e.span().map_or(0, |s| s.start);
            self.error(
                start..start,
                ConfigErrorKind::Syntax(e.message().to_owned()),
            )
        })?;
        let root_span = root.span();
        let root = root.get_ref();
        self.deny_unknown(root, &["federation", "member"])?;

        let (header, header_span) = self.table(root, root_span.clone(), "federation")?;
        self.deny_unknown(header, FEDERATION_FIELDS)?;
        let (id, id_span) = self.string(header, &header_span, "id")?;
        let id_ok = (2..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(self.error(id_span, ConfigErrorKind::BadFederationId(id.to_owned())));
        }
        let name_zh = self.name(header, &header_span, "name_zh")?;
        let name_en = self.name(header, &header_span, "name_en")?;
        let (quorum, quorum_span) = self.count(header, &header_span, "witness_quorum")?;

        let members = self.members(root, &header_span)?;
        if quorum == 0 {
            return Err(self.error(quorum_span, ConfigErrorKind::QuorumZero));
        }
        if quorum >= members.len() {
            return Err(self.error(
                quorum_span,
                ConfigErrorKind::QuorumTooLarge {
                    quorum,
                    members: members.len(),
                },
            ));
        }
        Ok(Federation {
            id: id.to_owned(),
            name_zh,
            name_en,
            witness_quorum: quorum,
            members,
        })
    }

    fn members(
        &self,
        root: &DeTable<'_>,
        header_span: &Range<usize>,
    ) -> Result<Vec<Member>, ConfigError> {
        let Some(value) = root.get("member") else {
            return Err(self.error(header_span.clone(), ConfigErrorKind::NoMembers));
        };
        let wrong_type = || {
            self.error(
                value.span(),
                ConfigErrorKind::WrongType {
                    field: "member",
                    expected: "an array of tables ([[member]])",
                },
            )
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(wrong_type());
        };
        if items.is_empty() {
            return Err(self.error(value.span(), ConfigErrorKind::NoMembers));
        }
        let mut seen = Seen::default();
        let mut members = Vec::with_capacity(items.len());
        for item in items.iter() {
            let DeValue::Table(table) = item.get_ref() else {
                return Err(wrong_type());
            };
            members.push(self.member(table, &item.span(), &mut seen)?);
        }
        Ok(members)
    }

    fn member(
        &self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        seen: &mut Seen,
    ) -> Result<Member, ConfigError> {
        self.deny_unknown(table, MEMBER_FIELDS)?;

        let (id, id_span) = self.string(table, span, "id")?;
        let region: RegionId = id
            .parse()
            .map_err(|e| self.error(id_span.clone(), ConfigErrorKind::BadMemberId(e)))?;
        if let Some(&first_line) = seen.ids.get(id) {
            return Err(self.error(
                id_span,
                ConfigErrorKind::DuplicateMemberId {
                    id: id.to_owned(),
                    first_line,
                },
            ));
        }
        seen.ids.insert(id.to_owned(), self.line(&id_span));

        let name_zh = self.name(table, span, "name_zh")?;
        let name_en = self.name(table, span, "name_en")?;

        let (class, class_span) = self.string(table, span, "class")?;
        let class = MemberClass::ALL
            .into_iter()
            .find(|c| c.as_str() == class)
            .ok_or_else(|| self.error(class_span, ConfigErrorKind::BadClass(class.to_owned())))?;

        let (endpoint, endpoint_span) = self.string(table, span, "endpoint")?;
        check_endpoint(endpoint)
            .map_err(|reason| self.error(endpoint_span, ConfigErrorKind::BadEndpoint { reason }))?;

        let (authority, authority_span) = self.string(table, span, "authority")?;
        let authority: DidKey = authority
            .parse()
            .map_err(|e| self.error(authority_span.clone(), ConfigErrorKind::BadDid(e)))?;
        self.unique_key(
            seen,
            authority.verifying_key(),
            "authority",
            &authority_span,
        )?;

        let (log_origin, origin_span) = self.string(table, span, "log_origin")?;
        if log_origin.is_empty() {
            return Err(self.error(origin_span, ConfigErrorKind::EmptyField("log_origin")));
        }
        let (log_vkey, log_span) = self.string(table, span, "log_vkey")?;
        let (key_name, log_key) = parse_vkey(log_vkey, ALG_ED25519)
            .map_err(|e| self.error(log_span.clone(), ConfigErrorKind::BadLogVkey(e)))?;
        if key_name != log_origin {
            return Err(self.error(
                log_span,
                ConfigErrorKind::LogVkeyNameNotOrigin {
                    key_name: key_name.to_owned(),
                    origin: log_origin.to_owned(),
                },
            ));
        }
        self.unique_name(seen, log_origin, &origin_span)?;
        self.unique_key(seen, &log_key, "log_vkey", &log_span)?;

        let (witness_vkey, witness_span) = self.string(table, span, "witness_vkey")?;
        let (witness_name, witness_key) = parse_vkey(witness_vkey, ALG_COSIGNATURE_V1)
            .map_err(|e| self.error(witness_span.clone(), ConfigErrorKind::BadWitnessVkey(e)))?;
        self.unique_name(seen, witness_name, &witness_span)?;
        self.unique_key(seen, &witness_key, "witness_vkey", &witness_span)?;

        Ok(Member {
            id: region,
            name_zh,
            name_en,
            class,
            endpoint: endpoint.to_owned(),
            authority,
            log_origin: log_origin.to_owned(),
            log_vkey: log_vkey.to_owned(),
            log_key,
            witness_name: witness_name.to_owned(),
            witness_vkey: witness_vkey.to_owned(),
            witness_key,
        })
    }

    fn unique_key(
        &self,
        seen: &mut Seen,
        key: &VerifyingKey,
        field: &'static str,
        span: &Range<usize>,
    ) -> Result<(), ConfigError> {
        if let Some(&first_line) = seen.keys.get(key.as_bytes()) {
            return Err(self.error(
                span.clone(),
                ConfigErrorKind::DuplicateKey { field, first_line },
            ));
        }
        seen.keys.insert(*key.as_bytes(), self.line(span));
        Ok(())
    }

    fn unique_name(
        &self,
        seen: &mut Seen,
        name: &str,
        span: &Range<usize>,
    ) -> Result<(), ConfigError> {
        if let Some(&first_line) = seen.names.get(name) {
            return Err(self.error(
                span.clone(),
                ConfigErrorKind::DuplicateName {
                    name: name.to_owned(),
                    first_line,
                },
            ));
        }
        seen.names.insert(name.to_owned(), self.line(span));
        Ok(())
    }

    /// Refuses the first key, in text order, that is not in `allowed`.
    fn deny_unknown(&self, table: &DeTable<'_>, allowed: &[&str]) -> Result<(), ConfigError> {
        let unknown = table
            .keys()
            .filter(|key| !allowed.contains(&key.get_ref().as_ref()))
            .min_by_key(|key| key.span().start);
        match unknown {
            Some(key) => Err(self.error(
                key.span(),
                ConfigErrorKind::UnknownField(key.get_ref().to_string()),
            )),
            None => Ok(()),
        }
    }

    fn field<'a, 'i>(
        &self,
        table: &'a DeTable<'i>,
        table_span: &Range<usize>,
        field: &'static str,
    ) -> Result<&'a Spanned<DeValue<'i>>, ConfigError> {
        table
            .get(field)
            .ok_or_else(|| self.error(table_span.clone(), ConfigErrorKind::MissingField(field)))
    }

    fn table<'a, 'i>(
        &self,
        table: &'a DeTable<'i>,
        table_span: Range<usize>,
        field: &'static str,
    ) -> Result<(&'a DeTable<'i>, Range<usize>), ConfigError> {
        let value = self.field(table, &table_span, field)?;
        match value.get_ref() {
            DeValue::Table(inner) => Ok((inner, value.span())),
            _ => Err(self.error(
                value.span(),
                ConfigErrorKind::WrongType {
                    field,
                    expected: "a table",
                },
            )),
        }
    }

    fn string<'a>(
        &self,
        table: &'a DeTable<'_>,
        table_span: &Range<usize>,
        field: &'static str,
    ) -> Result<(&'a str, Range<usize>), ConfigError> {
        let value = self.field(table, table_span, field)?;
        match value.get_ref() {
            DeValue::String(text) => Ok((text.as_ref(), value.span())),
            _ => Err(self.error(
                value.span(),
                ConfigErrorKind::WrongType {
                    field,
                    expected: "a string",
                },
            )),
        }
    }

    /// A display name: a non-empty string.
    fn name(
        &self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
        field: &'static str,
    ) -> Result<String, ConfigError> {
        let (text, span) = self.string(table, table_span, field)?;
        if text.trim().is_empty() {
            return Err(self.error(span, ConfigErrorKind::EmptyField(field)));
        }
        Ok(text.to_owned())
    }

    /// A non-negative integer.
    fn count(
        &self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
        field: &'static str,
    ) -> Result<(usize, Range<usize>), ConfigError> {
        let value = self.field(table, table_span, field)?;
        let count = match value.get_ref() {
            DeValue::Integer(integer) => {
                usize::from_str_radix(integer.as_str(), integer.radix()).ok()
            }
            _ => None,
        };
        count.map(|count| (count, value.span())).ok_or_else(|| {
            self.error(
                value.span(),
                ConfigErrorKind::WrongType {
                    field,
                    expected: "a non-negative integer",
                },
            )
        })
    }
}

/// What earlier members used, with the line of first use.
#[derive(Default)]
struct Seen {
    ids: HashMap<String, usize>,
    keys: HashMap<[u8; 32], usize>,
    names: HashMap<String, usize>,
}

/// Checks `http(s)://host[:port]` with no path, query, fragment or user information.
fn check_endpoint(endpoint: &str) -> Result<(), &'static str> {
    let authority = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if authority.ends_with('/') {
        return Err("must not end with '/'");
    }
    if authority.contains('/') {
        return Err("must not have a path");
    }
    if authority.contains(['?', '#']) {
        return Err("must not have a query or fragment");
    }
    if authority.contains('@') {
        return Err("must not carry user information");
    }
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[addr]` or `[addr]:port`.
        Some(rest) => {
            let (address, after) = rest.split_once(']').ok_or("has an unclosed '['")?;
            if address.is_empty() || !address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                return Err("has an invalid IPv6 address");
            }
            match after {
                "" => (address, None),
                _ => (
                    address,
                    Some(after.strip_prefix(':').ok_or("has text after the host")?),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("has no host");
    }
    let host_ok = authority.starts_with('[')
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !host_ok {
        return Err("has an invalid host name");
    }
    if let Some(port) = port {
        let valid = port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p != 0);
        if !valid {
            return Err("has an invalid port");
        }
    }
    Ok(())
}

/// Parses a verifier key `<name>+<hex id>+<base64(alg || key)>` whose algorithm byte must be
/// `alg` and whose key id must be the first four bytes of SHA-256(name || "\n" || alg || key),
/// as in C2SP `signed-note` (alg 0x01) and `tlog-cosignature` (alg 0x04).
fn parse_vkey(vkey: &str, alg: u8) -> Result<(&str, VerifyingKey), VkeyError> {
    let (name, rest) = vkey.split_once('+').ok_or(VkeyError::Format)?;
    let (id_hex, key_base64) = rest.split_once('+').ok_or(VkeyError::Format)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VkeyError::Format);
    }
    let found = u32::from_str_radix(id_hex, 16).map_err(|_| VkeyError::Format)?;
    if !signed_note::is_key_name_valid(name) {
        return Err(VkeyError::KeyName);
    }
    let encoded = BASE64.decode(key_base64).map_err(|_| VkeyError::Base64)?;
    let (&found_alg, key) = encoded
        .split_first()
        .ok_or(VkeyError::KeyLength { found: 0 })?;
    if found_alg != alg {
        return Err(VkeyError::Algorithm {
            expected: alg,
            found: found_alg,
        });
    }
    let key: &[u8; 32] = key.try_into().map_err(|_| VkeyError::KeyLength {
        found: encoded.len(),
    })?;
    let expected = signed_note::key_id(name, &encoded);
    if found != expected {
        return Err(VkeyError::KeyIdMismatch { expected, found });
    }
    let key = VerifyingKey::from_bytes(key).map_err(|_| VkeyError::InvalidPoint)?;
    Ok((name, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        for ok in [
            "http://127.0.0.1:7101",
            "https://registry.cq-sc.example",
            "https://registry.cq-sc.example:8443",
            "http://[::1]:7101",
            "http://localhost",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        for (bad, reason) in [
            ("ftp://127.0.0.1", "must start with http:// or https://"),
            ("127.0.0.1:7101", "must start with http:// or https://"),
            ("http://127.0.0.1:7101/", "must not end with '/'"),
            ("http://127.0.0.1:7101/api", "must not have a path"),
            ("http://h?x=1", "must not have a query or fragment"),
            ("http://user@h", "must not carry user information"),
            ("http://", "has no host"),
            ("http://:80", "has no host"),
            ("http://h:0", "has an invalid port"),
            ("http://h:65536", "has an invalid port"),
            ("http://h:", "has an invalid port"),
            ("http://h h", "has an invalid host name"),
            ("http://[::1", "has an unclosed '['"),
            ("http://[::1]x", "has text after the host"),
        ] {
            assert_eq!(check_endpoint(bad), Err(reason), "{bad}");
        }
    }

    #[test]
    fn the_toml_it_writes_parses_to_the_same_federation() {
        let text = include_str!("../../federation-config/chengdu-chongqing/federation.toml");
        let federation = Federation::parse(text).expect("the shipped configuration parses");
        let written = federation.to_toml();
        assert_eq!(Federation::parse(&written), Ok(federation));
    }

    #[test]
    fn log_vkey_round_trips_signed_note_encoding() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        let vkey = talent_tlog::checkpoint::verifier_key("registry.cq-sc.example/log", &key);
        assert_eq!(
            parse_vkey(&vkey, ALG_ED25519),
            Ok(("registry.cq-sc.example/log", key))
        );
        assert_eq!(
            parse_vkey(&vkey, ALG_COSIGNATURE_V1),
            Err(VkeyError::Algorithm {
                expected: 0x04,
                found: 0x01
            })
        );
        assert_eq!(parse_vkey("no-plus", ALG_ED25519), Err(VkeyError::Format));
        assert_eq!(
            parse_vkey("a+1234567+AQ==", ALG_ED25519),
            Err(VkeyError::Format)
        );
        assert_eq!(
            parse_vkey("a+12345678+!!", ALG_ED25519),
            Err(VkeyError::Base64)
        );
        assert_eq!(
            parse_vkey("a+12345678+", ALG_ED25519),
            Err(VkeyError::KeyLength { found: 0 })
        );
        assert_eq!(
            parse_vkey("a+12345678+AQ==", ALG_ED25519),
            Err(VkeyError::KeyLength { found: 1 })
        );
    }

    #[test]
    fn positions_count_characters() {
        let parser = Parser {
            text: "a = 1\n名 = \"x\"\n",
        };
        assert_eq!(parser.position(0), (1, 1));
        assert_eq!(parser.position(6), (2, 1));
        // After "名 = " (3 + 3 bytes): column 5 in characters.
        assert_eq!(parser.position(12), (2, 5));
    }

    #[test]
    fn class_names_match_serde() {
        for class in MemberClass::ALL {
            let json = serde_json::to_string(&class).expect("serialises");
            assert_eq!(json, format!("\"{}\"", class.as_str()));
        }
    }
}
