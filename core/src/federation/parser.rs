//! Reading a configuration: the TOML is parsed with spans, every field and key checked, and
//! each refusal pointed at its line and column.

use std::collections::HashMap;
use std::ops::Range;
use std::str::FromStr;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::identifiers::RegionId;
use talent_integrity::did::DidKey;
use talent_integrity::proof::Cryptosuite;
use talent_tlog::sm2_note::Sm2NoteVerifier;

use super::config::Federation;
use super::error::{ConfigError, ConfigErrorKind};
use super::member::{Member, MemberClass};
use super::vkey::{ALG_COSIGNATURE_V1, ALG_ED25519, parse_vkey};

/// Largest configuration accepted, in bytes. A federation of a few dozen members needs a few
/// tens of KiB; anything near this limit is not a configuration.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

impl Federation {
    /// Parses and checks a federation configuration.
    ///
    /// # Errors
    /// A [`ConfigError`] at the first problem found: [`ConfigErrorKind::TooLarge`],
    /// [`ConfigErrorKind::Syntax`] for text that is not TOML, `UnknownField`, `MissingField`,
    /// `WrongType` and `EmptyField` for the shape, then the checks of each value
    /// (`BadFederationId`, `BadMemberId`, `BadClass`, `BadEndpoint`, `BadCryptosuite`,
    /// `BadDid`, `AuthorityNotOfSuite`, `BadLogVkey`,
    /// `LogVkeyNameNotOrigin`, `BadLogSm2Vkey`, `LogSm2VkeyNameNotOrigin`, `BadWitnessVkey`), repetitions across members
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
    "former_endpoints",
    "cryptosuite",
    "authority",
    "log_origin",
    "log_vkey",
    "log_sm2_vkey",
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

        let former_endpoints = self.former_endpoints(table, endpoint)?;
        let cryptosuite = self.cryptosuite(table, span)?;

        let (authority, authority_span) = self.string(table, span, "authority")?;
        let authority: DidKey = authority
            .parse()
            .map_err(|e| self.error(authority_span.clone(), ConfigErrorKind::BadDid(e)))?;
        if authority.kind() != cryptosuite.key_kind() {
            return Err(self.error(
                authority_span,
                ConfigErrorKind::AuthorityNotOfSuite {
                    key: authority.kind(),
                    cryptosuite,
                },
            ));
        }
        let authority_key = match authority.ed25519() {
            Some(key) => key.as_bytes().to_vec(),
            None => authority.multikey().as_bytes().to_vec(),
        };
        self.unique_key(seen, &authority_key, "authority", &authority_span)?;

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
        self.unique_key(seen, log_key.as_bytes(), "log_vkey", &log_span)?;
        let log_sm2_vkey = self.log_sm2_vkey(table, span, log_origin, seen)?;

        let (witness_vkey, witness_span) = self.string(table, span, "witness_vkey")?;
        let (witness_name, witness_key) = parse_vkey(witness_vkey, ALG_COSIGNATURE_V1)
            .map_err(|e| self.error(witness_span.clone(), ConfigErrorKind::BadWitnessVkey(e)))?;
        self.unique_name(seen, witness_name, &witness_span)?;
        self.unique_key(seen, witness_key.as_bytes(), "witness_vkey", &witness_span)?;

        Ok(Member {
            id: region,
            name_zh,
            name_en,
            class,
            endpoint: endpoint.to_owned(),
            former_endpoints,
            cryptosuite,
            authority,
            log_origin: log_origin.to_owned(),
            log_vkey: log_vkey.to_owned(),
            log_key,
            log_sm2_vkey,
            witness_name: witness_name.to_owned(),
            witness_vkey: witness_vkey.to_owned(),
            witness_key,
        })
    }

    fn unique_key(
        &self,
        seen: &mut Seen,
        key: &[u8],
        field: &'static str,
        span: &Range<usize>,
    ) -> Result<(), ConfigError> {
        if let Some(&first_line) = seen.keys.get(key) {
            return Err(self.error(
                span.clone(),
                ConfigErrorKind::DuplicateKey { field, first_line },
            ));
        }
        seen.keys.insert(key.to_vec(), self.line(span));
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

    /// The optional `former_endpoints`: an array of endpoints the member's node had before
    /// `endpoint`, each checked as `endpoint` is and none of them `endpoint` itself.
    fn former_endpoints(
        &self,
        table: &DeTable<'_>,
        endpoint: &str,
    ) -> Result<Vec<String>, ConfigError> {
        let Some(value) = table.get("former_endpoints") else {
            return Ok(Vec::new());
        };
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.error(
                value.span(),
                ConfigErrorKind::WrongType {
                    field: "former_endpoints",
                    expected: "an array of endpoints",
                },
            ));
        };
        let mut former = Vec::with_capacity(items.len());
        for item in items {
            let DeValue::String(text) = item.get_ref() else {
                return Err(self.error(
                    item.span(),
                    ConfigErrorKind::WrongType {
                        field: "former_endpoints",
                        expected: "an array of endpoints",
                    },
                ));
            };
            check_endpoint(text).map_err(|reason| {
                self.error(item.span(), ConfigErrorKind::BadEndpoint { reason })
            })?;
            if text.as_ref() == endpoint || former.iter().any(|f| f == text.as_ref()) {
                return Err(self.error(
                    item.span(),
                    ConfigErrorKind::BadEndpoint {
                        reason: "a former endpoint is listed twice or is the endpoint",
                    },
                ));
            }
            former.push(text.to_string());
        }
        Ok(former)
    }

    /// The optional `cryptosuite`: `eddsa-jcs-2022` when absent, so that configurations
    /// written before the field existed mean what they meant.
    fn cryptosuite(
        &self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
    ) -> Result<Cryptosuite, ConfigError> {
        if table.get("cryptosuite").is_none() {
            return Ok(Cryptosuite::EddsaJcs2022);
        }
        let (name, span) = self.string(table, table_span, "cryptosuite")?;
        Cryptosuite::from_name(name)
            .ok_or_else(|| self.error(span, ConfigErrorKind::BadCryptosuite(name.to_owned())))
    }

    /// The optional `log_sm2_vkey`: an SM2 signed-note verifier key named by the log origin.
    fn log_sm2_vkey(
        &self,
        table: &DeTable<'_>,
        table_span: &Range<usize>,
        log_origin: &str,
        seen: &mut Seen,
    ) -> Result<Option<String>, ConfigError> {
        use signed_note::Verifier as _;
        if table.get("log_sm2_vkey").is_none() {
            return Ok(None);
        }
        let (vkey, span) = self.string(table, table_span, "log_sm2_vkey")?;
        let verifier = Sm2NoteVerifier::new(vkey)
            .map_err(|e| self.error(span.clone(), ConfigErrorKind::BadLogSm2Vkey(e)))?;
        if verifier.name() != log_origin {
            return Err(self.error(
                span,
                ConfigErrorKind::LogSm2VkeyNameNotOrigin {
                    key_name: verifier.name().to_owned(),
                    origin: log_origin.to_owned(),
                },
            ));
        }
        // The encoded key (after `<name>+<id>+`) does not depend on the name: the same SM2
        // point under two origins is one key in two roles, which is refused.
        let encoded_key = vkey.splitn(3, '+').nth(2).unwrap_or(vkey);
        self.unique_key(seen, encoded_key.as_bytes(), "log_sm2_vkey", &span)?;
        Ok(Some(vkey.to_owned()))
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
    /// Public keys by their bytes: 32 for Ed25519, the SM2 multikey text for SM2 (the two
    /// cannot collide).
    keys: HashMap<Vec<u8>, usize>,
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
    fn positions_count_characters() {
        let parser = Parser {
            text: "a = 1\n名 = \"x\"\n",
        };
        assert_eq!(parser.position(0), (1, 1));
        assert_eq!(parser.position(6), (2, 1));
        // After "名 = " (3 + 3 bytes): column 5 in characters.
        assert_eq!(parser.position(12), (2, 5));
    }
}
