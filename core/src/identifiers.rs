//! Identifiers that fail closed at construction: member (region) ids, credential ids,
//! resident ID numbers (full and masked) and GB/T 36904 e-licence certificate numbers.
//!
//! A full resident ID number ([`ResidentIdNumber`]) deliberately implements neither
//! `Serialize` nor `Display`: it can be masked or handed to the issuing node's local table,
//! never written into a credential, a log entry or a sync message by accident.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use uuid::Uuid;

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// A member id must be 2–32 characters of `a-z`, `0-9`, `-`, starting with a letter.
    #[error("member id {0:?} must be 2-32 characters of a-z, 0-9 and '-', starting with a letter")]
    InvalidRegionId(String),
    /// A credential id must be `urn:uuid:` followed by a lowercase hyphenated UUID.
    #[error("credential id must be urn:uuid:<uuid>")]
    InvalidCredentialId,
    /// A resident ID number must be 17 digits and a check character (digit or `X`).
    #[error("resident ID number must be 17 digits followed by a digit or X")]
    ResidentIdFormat,
    /// The GB 11643 check character does not match the first 17 digits.
    #[error("resident ID number check character is wrong")]
    ResidentIdChecksum,
    /// A masked ID number must look like `5001**********123X`.
    #[error("masked ID number must be 4 digits, 10 '*' and 3 digits plus a digit or X")]
    MaskedIdFormat,
    /// A certificate number does not have the GB/T 36904 shape.
    #[error(
        "certificate number must be 1.2.156.3005.2.<type>.<credit code>.<serial>.<version>.<check>"
    )]
    CertificateNumberFormat,
    /// The ISO 7064 MOD 37,36 check character of a certificate number does not match.
    #[error("certificate number check character is wrong (expected {expected})")]
    CertificateNumberChecksum {
        /// The check character the rest of the number requires.
        expected: char,
    },
}

macro_rules! string_newtype_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The id of a federation member, which is also the region a credential belongs to
/// (`cq-sc`, `cd-hz`, …).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(String);

impl RegionId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RegionId {
    type Err = IdentifierError;

    fn from_str(value: &str) -> Result<RegionId, IdentifierError> {
        let bytes = value.as_bytes();
        let well_formed = (2..=32).contains(&bytes.len())
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if well_formed {
            Ok(RegionId(value.to_owned()))
        } else {
            Err(IdentifierError::InvalidRegionId(value.to_owned()))
        }
    }
}

string_newtype_serde!(RegionId);

/// A credential id: `urn:uuid:<uuid>` (UUIDv7 for credentials this project issues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(Uuid);

impl CredentialId {
    /// The URN prefix every credential id carries.
    pub const PREFIX: &'static str = "urn:uuid:";

    /// Wraps a UUID.
    pub fn from_uuid(uuid: Uuid) -> CredentialId {
        CredentialId(uuid)
    }

    /// The UUID inside.
    pub fn uuid(&self) -> Uuid {
        self.0
    }

    /// Parses either the full URN or a bare UUID (as used in API paths).
    ///
    /// # Errors
    /// [`IdentifierError::InvalidCredentialId`].
    pub fn parse_lenient(value: &str) -> Result<CredentialId, IdentifierError> {
        let bare = value.strip_prefix(Self::PREFIX).unwrap_or(value);
        Uuid::try_parse(bare)
            .map(CredentialId)
            .map_err(|_| IdentifierError::InvalidCredentialId)
    }

    fn as_urn(&self) -> String {
        format!("{}{}", Self::PREFIX, self.0.hyphenated())
    }
}

impl FromStr for CredentialId {
    type Err = IdentifierError;

    fn from_str(value: &str) -> Result<CredentialId, IdentifierError> {
        let bare = value
            .strip_prefix(Self::PREFIX)
            .ok_or(IdentifierError::InvalidCredentialId)?;
        let uuid = Uuid::try_parse(bare).map_err(|_| IdentifierError::InvalidCredentialId)?;
        // Only the canonical lowercase hyphenated spelling, so one credential has one id.
        if uuid.hyphenated().to_string() != bare {
            return Err(IdentifierError::InvalidCredentialId);
        }
        Ok(CredentialId(uuid))
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_urn())
    }
}

impl Serialize for CredentialId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CredentialId, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A full 18-character PRC resident ID number (GB 11643-1999), checksum verified.
///
/// Personal data: no `Serialize`, no `Display`, and `Debug` is redacted. Use
/// [`ResidentIdNumber::masked`] for anything that leaves the issuing node.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentIdNumber(String);

impl ResidentIdNumber {
    /// The masked form carried in credentials: first 4, ten `*`, last 4.
    pub fn masked(&self) -> MaskedIdNumber {
        MaskedIdNumber(format!(
            "{}{}{}",
            &self.0[..4],
            "*".repeat(10),
            &self.0[14..]
        ))
    }

    /// The full number, for the issuing node's local table only.
    pub fn expose_for_local_storage(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResidentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentIdNumber({})", self.masked().as_str())
    }
}

/// GB 11643 weights of the first 17 digits.
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// GB 11643 check character by weighted sum modulo 11.
const RESIDENT_ID_CHECK: &[u8; 11] = b"10X98765432";

impl FromStr for ResidentIdNumber {
    type Err = IdentifierError;

    fn from_str(value: &str) -> Result<ResidentIdNumber, IdentifierError> {
        let bytes = value.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdentifierError::ResidentIdFormat);
        }
        let sum: u32 = bytes[..17]
            .iter()
            .zip(RESIDENT_ID_WEIGHTS)
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        if RESIDENT_ID_CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(IdentifierError::ResidentIdChecksum);
        }
        Ok(ResidentIdNumber(value.to_owned()))
    }
}

/// A masked resident ID number, `5001**********123X`: what credentials and logs carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaskedIdNumber(String);

impl MaskedIdNumber {
    /// The masked number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for MaskedIdNumber {
    type Err = IdentifierError;

    fn from_str(value: &str) -> Result<MaskedIdNumber, IdentifierError> {
        let bytes = value.as_bytes();
        let well_formed = bytes.len() == 18
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[4..14].iter().all(|b| *b == b'*')
            && bytes[14..17].iter().all(u8::is_ascii_digit)
            && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
        if well_formed {
            Ok(MaskedIdNumber(value.to_owned()))
        } else {
            Err(IdentifierError::MaskedIdFormat)
        }
    }
}

string_newtype_serde!(MaskedIdNumber);

/// A GB/T 36904-2018 e-licence identifier:
/// `1.2.156.3005.2.<licence type>.<issuer credit code>.<serial>.<3-digit version>.<check>`.
///
/// The check character is ISO 7064 MOD 37,36 over the alphanumeric characters before it
/// (the dots are separators and do not count; letters are taken as upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateNumber(String);

/// Fixed arc every GB/T 36904 e-licence identifier starts with.
const CERTIFICATE_ROOT: &str = "1.2.156.3005.2.";
/// ISO 7064 alphabet of the MOD 37,36 system: digits then letters.
const MOD_37_36_ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl CertificateNumber {
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Builds a number from its parts, computing the check character.
    ///
    /// # Errors
    /// [`IdentifierError::CertificateNumberFormat`] when a part is empty, not alphanumeric,
    /// the credit code is not 18 characters or the version not 3 digits.
    pub fn from_parts(
        licence_type: &str,
        credit_code: &str,
        serial: &str,
        version: &str,
    ) -> Result<CertificateNumber, IdentifierError> {
        let body = format!("{CERTIFICATE_ROOT}{licence_type}.{credit_code}.{serial}.{version}");
        check_certificate_body(&body)?;
        let check = mod_37_36_check(&body).ok_or(IdentifierError::CertificateNumberFormat)?;
        Ok(CertificateNumber(format!("{body}.{check}")))
    }
}

fn check_certificate_body(body: &str) -> Result<(), IdentifierError> {
    let rest = body
        .strip_prefix(CERTIFICATE_ROOT)
        .ok_or(IdentifierError::CertificateNumberFormat)?;
    let parts: Vec<&str> = rest.split('.').collect();
    let [licence_type, credit_code, serial, version] = parts[..] else {
        return Err(IdentifierError::CertificateNumberFormat);
    };
    let alnum = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if alnum(licence_type)
        && credit_code.len() == 18
        && alnum(credit_code)
        && alnum(serial)
        && version.len() == 3
        && version.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(IdentifierError::CertificateNumberFormat)
    }
}

/// ISO 7064 hybrid MOD 37,36 check character of the alphanumeric characters of `text`.
fn mod_37_36_check(text: &str) -> Option<char> {
    let mut product: u32 = 36;
    for byte in text.bytes().filter(u8::is_ascii_alphanumeric) {
        let value = MOD_37_36_ALPHABET
            .iter()
            .position(|c| *c == byte.to_ascii_uppercase())? as u32;
        let mut sum = (product + value) % 36;
        if sum == 0 {
            sum = 36;
        }
        product = (sum * 2) % 37;
    }
    Some(char::from(
        MOD_37_36_ALPHABET[((37 - product) % 36) as usize],
    ))
}

impl FromStr for CertificateNumber {
    type Err = IdentifierError;

    fn from_str(value: &str) -> Result<CertificateNumber, IdentifierError> {
        let (body, check) = value
            .rsplit_once('.')
            .ok_or(IdentifierError::CertificateNumberFormat)?;
        check_certificate_body(body)?;
        let expected = mod_37_36_check(body).ok_or(IdentifierError::CertificateNumberFormat)?;
        if check.len() != 1 || !check.eq_ignore_ascii_case(&expected.to_string()) {
            return Err(if check.len() == 1 {
                IdentifierError::CertificateNumberChecksum { expected }
            } else {
                IdentifierError::CertificateNumberFormat
            });
        }
        Ok(CertificateNumber(value.to_owned()))
    }
}

string_newtype_serde!(CertificateNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_ids() {
        assert!("cq-sc".parse::<RegionId>().is_ok());
        assert!("Cq".parse::<RegionId>().is_err());
        assert!("c".parse::<RegionId>().is_err());
        assert!("1abc".parse::<RegionId>().is_err());
        assert!("cq sc".parse::<RegionId>().is_err());
    }

    #[test]
    fn credential_ids_are_canonical() {
        let id: CredentialId = "urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d"
            .parse()
            .expect("valid");
        assert_eq!(
            id.to_string(),
            "urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d"
        );
        assert!(
            "urn:uuid:0192F1C4-5D6E-7A8B-9C0D-1E2F3A4B5C6D"
                .parse::<CredentialId>()
                .is_err()
        );
        assert!(
            "0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d"
                .parse::<CredentialId>()
                .is_err()
        );
        assert_eq!(
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d"),
            Ok(id)
        );
    }

    #[test]
    fn resident_id_checksum_and_masking() {
        // A GB 11643 sample number with a valid check character.
        let id: ResidentIdNumber = "11010519491231002X".parse().expect("valid checksum");
        assert_eq!(id.masked().as_str(), "1101**********002X");
        assert_eq!(
            "110105194912310021".parse::<ResidentIdNumber>(),
            Err(IdentifierError::ResidentIdChecksum)
        );
        assert_eq!(
            "1101051949123100".parse::<ResidentIdNumber>(),
            Err(IdentifierError::ResidentIdFormat)
        );
        assert!(!format!("{id:?}").contains("19491231"));
    }

    #[test]
    fn masked_ids() {
        assert!("5001**********123X".parse::<MaskedIdNumber>().is_ok());
        assert!("500101199001011234".parse::<MaskedIdNumber>().is_err());
        assert!("5001*********1234X".parse::<MaskedIdNumber>().is_err());
    }

    #[test]
    fn certificate_numbers_carry_a_mod_37_36_check() {
        let number =
            CertificateNumber::from_parts("100001", "11500000MB1588776X", "202600001", "001")
                .expect("well-formed parts");
        let text = number.as_str().to_owned();
        assert_eq!(text.parse::<CertificateNumber>(), Ok(number));
        // Changing any character of the body changes the required check character.
        let tampered = text.replacen("202600001", "202600002", 1);
        assert!(matches!(
            tampered.parse::<CertificateNumber>(),
            Err(IdentifierError::CertificateNumberChecksum { .. })
        ));
        assert_eq!(
            "1.2.156.3005.2.x.short.1.001.A".parse::<CertificateNumber>(),
            Err(IdentifierError::CertificateNumberFormat)
        );
    }

    #[test]
    fn mod_37_36_matches_hand_computation() {
        // "0": p=36 -> s=(36+0)%36=0 -> 36 -> p=72%37=35 -> check=(37-35)%36=2.
        assert_eq!(mod_37_36_check("0"), Some('2'));
    }
}
