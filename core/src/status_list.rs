//! W3C Bitstring Status List v1.0: the status entries credentials carry, the list
//! credentials a member publishes, and the keyed permutation that hands out list indexes.
//!
//! Inside the federation the log's status changes are the source of truth; these lists
//! publish the same facts in the form any standard VC verifier checks
//! (<https://www.w3.org/TR/vc-bitstring-status-list/>). A member's lists are issued by its
//! authority, one revocation and one suspension list per list number, and a credential uses
//! the same index in both.
//!
//! The bitstring is encoded as the specification requires: bit 0 is the most significant
//! bit of the first byte, the bytes GZIP-compressed, then multibase base64url without
//! padding (prefix `u`).

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::credential::{VC_CONTEXT_V2, VERIFIABLE_CREDENTIAL, format_datetime, parse_datetime};
use crate::status::CredentialStatus;

/// Bits in every list this registry publishes: the specification's minimum (16 KiB), which
/// gives each credential a crowd of 131,072 to hide in.
pub const LIST_BITS: u32 = 131_072;
/// How long a fetched list may be cached, in milliseconds (the list credential's `ttl`).
pub const LIST_TTL_MS: u64 = 300_000;
/// The `type` of a credential's status entry.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
/// The `type` of a status list credential.
pub const LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
/// The `type` of a status list credential's subject.
pub const LIST_TYPE: &str = "BitstringStatusList";
/// Largest decompressed list this library reads: bounds what a hostile list can make a
/// verifier allocate (a GZIP stream of a few KiB can expand to gigabytes).
const MAX_LIST_BYTES: u64 = 16 << 20;

/// Why a status entry or a status list credential was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// A required member is missing or has the wrong JSON type.
    #[error("{0} is missing or malformed")]
    Malformed(&'static str),
    /// A status purpose other than `revocation` and `suspension`.
    #[error("status purpose {0:?} is not supported (revocation, suspension)")]
    UnsupportedPurpose(String),
    /// `statusListIndex` is not the decimal string of an integer in range.
    #[error("statusListIndex {0:?} is not a decimal integer below {LIST_BITS}")]
    BadIndex(String),
    /// Two entries name the same purpose.
    #[error("two credentialStatus entries have purpose {0}")]
    DuplicatePurpose(&'static str),
    /// `encodedList` is not `u` + base64url.
    #[error("encodedList is not multibase base64url (prefix 'u')")]
    BadEncoding,
    /// `encodedList` does not decompress as GZIP, or expands beyond the bound.
    #[error("encodedList does not decompress: {0}")]
    BadCompression(String),
    /// The list is shorter than the specification's minimum.
    #[error("the list has {0} bits, fewer than the minimum {LIST_BITS}")]
    TooShort(u64),
    /// The entry's index lies outside the list.
    #[error("index {index} is outside the list of {bits} bits")]
    IndexOutOfRange {
        /// The entry's index.
        index: u32,
        /// The list's length in bits.
        bits: u64,
    },
}

/// What a list's bits mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusPurpose {
    /// A set bit: revoked for good (03 撤销, 04 注销, 06 办理转出, 07 吊销).
    Revocation,
    /// A set bit: suspended for now (02 暂扣).
    Suspension,
}

impl StatusPurpose {
    /// Both purposes, in the order entries are written.
    pub const ALL: [StatusPurpose; 2] = [StatusPurpose::Revocation, StatusPurpose::Suspension];

    /// The `statusPurpose` value.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    /// Parses a `statusPurpose` value.
    ///
    /// # Errors
    /// [`StatusListError::UnsupportedPurpose`].
    pub fn parse(text: &str) -> Result<StatusPurpose, StatusListError> {
        match text {
            "revocation" => Ok(StatusPurpose::Revocation),
            "suspension" => Ok(StatusPurpose::Suspension),
            other => Err(StatusListError::UnsupportedPurpose(other.to_owned())),
        }
    }

    /// Whether a credential in `status` has its bit set in a list of this purpose
    /// (02 is a suspension; 03, 04, 06 and 07 end the credential, so they are revocations).
    pub fn is_set_for(self, status: CredentialStatus) -> bool {
        match self {
            StatusPurpose::Suspension => status == CredentialStatus::Suspended,
            StatusPurpose::Revocation => matches!(
                status,
                CredentialStatus::Revoked
                    | CredentialStatus::Cancelled
                    | CredentialStatus::TransferredOut
                    | CredentialStatus::RevokedAsPenalty
            ),
        }
    }
}

/// Where one credential's bits are: list number and index, the same for both purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusSlot {
    /// The list number (lists are numbered from 0 per member).
    pub list: u32,
    /// The bit index inside the list.
    pub index: u32,
}

impl StatusSlot {
    /// A fixed-width key for storage: list then index, big-endian, so a prefix scan over
    /// the list number reads one list in index order.
    pub fn to_key(self) -> [u8; 8] {
        let mut key = [0; 8];
        key[..4].copy_from_slice(&self.list.to_be_bytes());
        key[4..].copy_from_slice(&self.index.to_be_bytes());
        key
    }

    /// Reads [`StatusSlot::to_key`]; `None` for a key of another length.
    pub fn from_key(key: &[u8]) -> Option<StatusSlot> {
        let list = u32::from_be_bytes(key.get(..4)?.try_into().ok()?);
        let index = u32::from_be_bytes(key.get(4..8)?.try_into().ok()?);
        (key.len() == 8).then_some(StatusSlot { list, index })
    }
}

/// Hands out list indexes in an order no outsider can predict: the `n`-th credential of a
/// list gets `permute(n)`, a keyed permutation of `0..LIST_BITS`. Indexes are unique by
/// construction, so the issuer needs no allocation bitmap, yet an index tells nothing about
/// when the credential was issued (the specification's herd-privacy advice).
#[derive(Clone)]
pub struct SlotPermutation {
    key: [u8; 32],
}

impl std::fmt::Debug for SlotPermutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotPermutation").finish_non_exhaustive()
    }
}

/// Feistel network over 18 bits (two 9-bit halves), cycle-walked down to 17 bits.
const HALF_BITS: u32 = 9;
const HALF_MASK: u32 = (1 << HALF_BITS) - 1;
const FEISTEL_ROUNDS: u8 = 6;

impl SlotPermutation {
    /// A permutation keyed by a member's secret.
    pub fn new(key: [u8; 32]) -> SlotPermutation {
        SlotPermutation { key }
    }

    /// The slot of the `sequence`-th credential that got one (0, 1, 2, …).
    pub fn slot(&self, sequence: u64) -> StatusSlot {
        let list = u32::try_from(sequence / u64::from(LIST_BITS)).unwrap_or(u32::MAX);
        // Lossless: the remainder is below LIST_BITS.
        let position = (sequence % u64::from(LIST_BITS)) as u32;
        let mut index = position;
        // Cycle walking: a permutation of 0..2^18 applied until the value falls in
        // 0..2^17 permutes 0..2^17 (every walk starts and ends inside the smaller set).
        loop {
            index = self.feistel(list, index);
            if index < LIST_BITS {
                return StatusSlot { list, index };
            }
        }
    }

    fn feistel(&self, list: u32, value: u32) -> u32 {
        let (mut left, mut right) = (value >> HALF_BITS, value & HALF_MASK);
        for round in 0..FEISTEL_ROUNDS {
            let mut hash = Sha256::new();
            hash.update(self.key);
            hash.update(list.to_be_bytes());
            hash.update([round]);
            hash.update(right.to_be_bytes());
            let digest = hash.finalize();
            let f = u32::from_be_bytes([0, 0, digest[0], digest[1]]) & HALF_MASK;
            (left, right) = (right, left ^ f);
        }
        (left << HALF_BITS) | right
    }
}

/// One `BitstringStatusListEntry` of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// `statusPurpose`.
    pub purpose: StatusPurpose,
    /// `statusListIndex`.
    pub index: u32,
    /// `statusListCredential`: the URL of the list credential.
    pub list_credential: String,
}

impl StatusEntry {
    /// The entries of `credential` (none when it has no `credentialStatus`).
    ///
    /// # Errors
    /// [`StatusListError::Malformed`], [`StatusListError::UnsupportedPurpose`],
    /// [`StatusListError::BadIndex`], [`StatusListError::DuplicatePurpose`].
    pub fn all_of(credential: &Value) -> Result<Vec<StatusEntry>, StatusListError> {
        let items = match credential.get("credentialStatus") {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(item @ Value::Object(_)) => vec![item],
            Some(_) => return Err(StatusListError::Malformed("credentialStatus")),
        };
        let mut entries: Vec<StatusEntry> = Vec::with_capacity(items.len());
        for item in items {
            let entry = StatusEntry::from_json(item)?;
            if entries.iter().any(|seen| seen.purpose == entry.purpose) {
                return Err(StatusListError::DuplicatePurpose(entry.purpose.as_str()));
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Reads one entry.
    ///
    /// # Errors
    /// As [`StatusEntry::all_of`].
    pub fn from_json(item: &Value) -> Result<StatusEntry, StatusListError> {
        if item.get("type").and_then(Value::as_str) != Some(ENTRY_TYPE) {
            return Err(StatusListError::Malformed("credentialStatus.type"));
        }
        let purpose = item
            .get("statusPurpose")
            .and_then(Value::as_str)
            .ok_or(StatusListError::Malformed("credentialStatus.statusPurpose"))?;
        let index = item.get("statusListIndex").and_then(Value::as_str).ok_or(
            StatusListError::Malformed("credentialStatus.statusListIndex"),
        )?;
        let list_credential = item
            .get("statusListCredential")
            .and_then(Value::as_str)
            .filter(|url| !url.is_empty())
            .ok_or(StatusListError::Malformed(
                "credentialStatus.statusListCredential",
            ))?;
        Ok(StatusEntry {
            purpose: StatusPurpose::parse(purpose)?,
            index: parse_index(index)?,
            list_credential: list_credential.to_owned(),
        })
    }

    /// The JSON of this entry; its `id` is the list URL with the index as fragment.
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("{}#{}", self.list_credential, self.index),
            "type": ENTRY_TYPE,
            "statusPurpose": self.purpose.as_str(),
            "statusListIndex": self.index.to_string(),
            "statusListCredential": self.list_credential,
        })
    }
}

/// A decimal index without sign or leading zeros, below [`LIST_BITS`].
fn parse_index(text: &str) -> Result<u32, StatusListError> {
    let bad = || StatusListError::BadIndex(text.to_owned());
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(bad());
    }
    text.parse::<u32>()
        .ok()
        .filter(|index| *index < LIST_BITS)
        .ok_or_else(bad)
}

/// A list's bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// A list of [`LIST_BITS`] bits, all clear.
    pub fn new() -> Bitstring {
        Bitstring {
            bytes: vec![0; (LIST_BITS / 8) as usize],
        }
    }

    /// Length in bits.
    pub fn bits(&self) -> u64 {
        self.bytes.len() as u64 * 8
    }

    /// Sets bit `index`; an index outside the list is ignored (lists are created at
    /// [`LIST_BITS`] and indexes are checked below it when read).
    pub fn set(&mut self, index: u32) {
        if let Some(byte) = self.bytes.get_mut((index / 8) as usize) {
            *byte |= 0x80 >> (index % 8);
        }
    }

    /// Clears bit `index`; an index outside the list is ignored, as by [`Bitstring::set`].
    pub fn clear(&mut self, index: u32) {
        if let Some(byte) = self.bytes.get_mut((index / 8) as usize) {
            *byte &= !(0x80 >> (index % 8));
        }
    }

    /// Bit `index`.
    ///
    /// # Errors
    /// [`StatusListError::IndexOutOfRange`].
    pub fn get(&self, index: u32) -> Result<bool, StatusListError> {
        self.bytes
            .get((index / 8) as usize)
            .map(|byte| byte & (0x80 >> (index % 8)) != 0)
            .ok_or(StatusListError::IndexOutOfRange {
                index,
                bits: self.bits(),
            })
    }

    /// `encodedList`: GZIP, then multibase base64url without padding.
    pub fn encode(&self) -> String {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let compressed = gzip
            .write_all(&self.bytes)
            .and_then(|()| gzip.finish())
            .unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    /// Reads an `encodedList`.
    ///
    /// # Errors
    /// [`StatusListError::BadEncoding`], [`StatusListError::BadCompression`],
    /// [`StatusListError::TooShort`].
    pub fn decode(encoded: &str) -> Result<Bitstring, StatusListError> {
        let compressed = encoded
            .strip_prefix('u')
            .and_then(|rest| URL_SAFE_NO_PAD.decode(rest).ok())
            .ok_or(StatusListError::BadEncoding)?;
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_LIST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| StatusListError::BadCompression(error.to_string()))?;
        if bytes.len() as u64 > MAX_LIST_BYTES {
            return Err(StatusListError::BadCompression(format!(
                "more than {MAX_LIST_BYTES} bytes"
            )));
        }
        let list = Bitstring { bytes };
        if list.bits() < u64::from(LIST_BITS) {
            return Err(StatusListError::TooShort(list.bits()));
        }
        Ok(list)
    }
}

impl Default for Bitstring {
    fn default() -> Bitstring {
        Bitstring::new()
    }
}

/// A `BitstringStatusListCredential` read from JSON (its proof is checked separately, by
/// [`talent_integrity::proof::verify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListCredential {
    /// `id`: the URL entries name in `statusListCredential`.
    pub id: String,
    /// `issuer`.
    pub issuer: String,
    /// `validFrom`: when the list was made.
    pub valid_from: DateTime<Utc>,
    /// `credentialSubject.statusPurpose`.
    pub purpose: StatusPurpose,
    /// `credentialSubject.ttl`, in milliseconds.
    pub ttl_ms: Option<u64>,
    /// The decoded bits.
    pub list: Bitstring,
}

impl StatusListCredential {
    /// The unsigned list credential a member's authority signs.
    pub fn unsigned(
        id: &str,
        issuer: &str,
        purpose: StatusPurpose,
        list: &Bitstring,
        valid_from: DateTime<Utc>,
    ) -> Value {
        json!({
            "@context": [VC_CONTEXT_V2],
            "id": id,
            "type": [VERIFIABLE_CREDENTIAL, LIST_CREDENTIAL_TYPE],
            "issuer": issuer,
            "validFrom": format_datetime(valid_from),
            "credentialSubject": {
                "id": format!("{id}#list"),
                "type": LIST_TYPE,
                "statusPurpose": purpose.as_str(),
                "encodedList": list.encode(),
                "ttl": LIST_TTL_MS,
            },
        })
    }

    /// Reads a list credential.
    ///
    /// # Errors
    /// [`StatusListError::Malformed`] naming the member, or the errors of
    /// [`Bitstring::decode`] and [`StatusPurpose::parse`].
    pub fn from_json(value: &Value) -> Result<StatusListCredential, StatusListError> {
        let text = |value: &Value, name: &'static str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(StatusListError::Malformed(name))
        };
        let types = value
            .get("type")
            .and_then(Value::as_array)
            .ok_or(StatusListError::Malformed("type"))?;
        if !types.iter().any(|t| t == LIST_CREDENTIAL_TYPE) {
            return Err(StatusListError::Malformed("type"));
        }
        let subject = value
            .get("credentialSubject")
            .filter(|subject| subject.is_object())
            .ok_or(StatusListError::Malformed("credentialSubject"))?;
        if subject.get("type").and_then(Value::as_str) != Some(LIST_TYPE) {
            return Err(StatusListError::Malformed("credentialSubject.type"));
        }
        let ttl_ms = match subject.get("ttl") {
            None => None,
            Some(ttl) => Some(
                ttl.as_u64()
                    .ok_or(StatusListError::Malformed("credentialSubject.ttl"))?,
            ),
        };
        Ok(StatusListCredential {
            id: text(value, "id")?,
            issuer: text(value, "issuer")?,
            valid_from: parse_datetime(&text(value, "validFrom")?)
                .ok_or(StatusListError::Malformed("validFrom"))?,
            purpose: StatusPurpose::parse(&text(subject, "statusPurpose")?)?,
            ttl_ms,
            list: Bitstring::decode(&text(subject, "encodedList")?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_permutation_gives_every_index_of_a_list_once() {
        let permutation = SlotPermutation::new([7; 32]);
        let mut seen = HashSet::new();
        for sequence in 0..u64::from(LIST_BITS) {
            let slot = permutation.slot(sequence);
            assert_eq!(slot.list, 0);
            assert!(slot.index < LIST_BITS);
            assert!(seen.insert(slot.index), "index {} twice", slot.index);
        }
        assert_eq!(permutation.slot(u64::from(LIST_BITS)).list, 1);
        // Not the identity, and another key gives another order.
        let first: Vec<_> = (0..8).map(|n| permutation.slot(n).index).collect();
        assert_ne!(first, (0..8).collect::<Vec<u32>>());
        let other: Vec<_> = (0..8)
            .map(|n| SlotPermutation::new([8; 32]).slot(n).index)
            .collect();
        assert_ne!(first, other);
    }

    #[test]
    fn bits_are_most_significant_first_and_survive_encoding() {
        let mut list = Bitstring::new();
        list.set(0);
        list.set(9);
        list.set(LIST_BITS - 1);
        assert_eq!(list.bytes[0], 0x80);
        assert_eq!(list.bytes[1], 0x40);
        let encoded = list.encode();
        assert!(encoded.starts_with('u'));
        let decoded = Bitstring::decode(&encoded).expect("decodes");
        assert_eq!(decoded, list);
        assert_eq!(decoded.get(9), Ok(true));
        assert_eq!(decoded.get(10), Ok(false));
        assert!(matches!(
            decoded.get(LIST_BITS),
            Err(StatusListError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn the_specification_example_list_decodes() {
        // The encodedList of the W3C recommendation's example: 16 KiB, all bits clear.
        let example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
        let list = Bitstring::decode(example).expect("decodes");
        assert_eq!(list.bits(), u64::from(LIST_BITS));
        assert!((0..LIST_BITS).all(|i| list.get(i) == Ok(false)));
    }

    #[test]
    fn bad_lists_are_refused() {
        assert_eq!(Bitstring::decode("H4sI"), Err(StatusListError::BadEncoding));
        assert!(matches!(
            Bitstring::decode("uAAAA"),
            Err(StatusListError::BadCompression(_))
        ));
        let short = {
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gzip.write_all(&[0; 100]).expect("vec");
            format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().expect("vec")))
        };
        assert_eq!(
            Bitstring::decode(&short),
            Err(StatusListError::TooShort(800))
        );
        let bomb = {
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gzip.write_all(&vec![0; (MAX_LIST_BYTES + 1) as usize])
                .expect("vec");
            format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().expect("vec")))
        };
        assert!(matches!(
            Bitstring::decode(&bomb),
            Err(StatusListError::BadCompression(_))
        ));
    }

    #[test]
    fn entries_round_trip_and_strange_ones_are_refused() {
        let entry = StatusEntry {
            purpose: StatusPurpose::Suspension,
            index: 94_567,
            list_credential: "https://cq-sc.example/api/v1/status-lists/suspension/0".into(),
        };
        let credential = json!({"credentialStatus": [entry.to_json()]});
        assert_eq!(StatusEntry::all_of(&credential), Ok(vec![entry.clone()]));
        assert_eq!(StatusEntry::all_of(&json!({})), Ok(vec![]));
        let twice = json!({"credentialStatus": [entry.to_json(), entry.to_json()]});
        assert_eq!(
            StatusEntry::all_of(&twice),
            Err(StatusListError::DuplicatePurpose("suspension"))
        );
        for index in ["", "01", "-1", "1e3", "131072", " 5"] {
            let mut item = entry.to_json();
            item["statusListIndex"] = index.into();
            assert_eq!(
                StatusEntry::from_json(&item),
                Err(StatusListError::BadIndex(index.into())),
                "{index:?}"
            );
        }
        let mut item = entry.to_json();
        item["statusPurpose"] = "message".into();
        assert!(matches!(
            StatusEntry::from_json(&item),
            Err(StatusListError::UnsupportedPurpose(_))
        ));
    }

    #[test]
    fn a_list_credential_round_trips() {
        let mut list = Bitstring::new();
        list.set(42);
        let now = parse_datetime("2026-11-26T10:00:00Z").expect("time");
        let unsigned = StatusListCredential::unsigned(
            "https://n.example/api/v1/status-lists/revocation/0",
            "did:key:z6Mk",
            StatusPurpose::Revocation,
            &list,
            now,
        );
        let read = StatusListCredential::from_json(&unsigned).expect("reads");
        assert_eq!(read.purpose, StatusPurpose::Revocation);
        assert_eq!(read.valid_from, now);
        assert_eq!(read.ttl_ms, Some(LIST_TTL_MS));
        assert_eq!(read.list.get(42), Ok(true));
        let mut wrong = unsigned.clone();
        wrong["credentialSubject"]["type"] = "StatusList2021".into();
        assert_eq!(
            StatusListCredential::from_json(&wrong),
            Err(StatusListError::Malformed("credentialSubject.type"))
        );
    }

    #[test]
    fn purposes_follow_the_national_codes() {
        use CredentialStatus::*;
        for status in CredentialStatus::ALL {
            assert_eq!(
                StatusPurpose::Suspension.is_set_for(status),
                status == Suspended
            );
            assert_eq!(
                StatusPurpose::Revocation.is_set_for(status),
                matches!(
                    status,
                    Revoked | Cancelled | TransferredOut | RevokedAsPenalty
                )
            );
        }
    }
}
