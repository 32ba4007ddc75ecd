//! A parsed and checked federation: its members and the questions asked of them, and the
//! TOML it is served as.

use serde::Serialize;

use crate::identifiers::RegionId;
use talent_integrity::did::DidKey;
use talent_integrity::proof::Cryptosuite;
use talent_tlog::cosignature::CosignerKey;

use super::member::{Member, MemberClass};

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
    pub(super) members: Vec<Member>,
}

impl Federation {
    /// The witnesses whose cosignatures count for `member`'s checkpoints: every other
    /// member's witness key.
    pub fn cosigners_of(&self, member: &str) -> Vec<CosignerKey> {
        self.members
            .iter()
            .filter(|other| other.id.as_str() != member)
            .filter_map(|other| CosignerKey::from_vkey(&other.witness_vkey).ok())
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
            // Written only when present, so a member that never moved reads as before.
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            former_endpoints: &'a [String],
            // Written only when not the default, so an Ed25519 federation's TOML is unchanged.
            #[serde(skip_serializing_if = "Option::is_none")]
            cryptosuite: Option<&'static str>,
            authority: String,
            log_origin: &'a str,
            log_vkey: &'a str,
            // Written only when present, so an Ed25519-only member's TOML is unchanged.
            #[serde(skip_serializing_if = "Option::is_none")]
            log_sm2_vkey: Option<&'a str>,
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
                    former_endpoints: &m.former_endpoints,
                    cryptosuite: (m.cryptosuite != Cryptosuite::EddsaJcs2022)
                        .then(|| m.cryptosuite.as_str()),
                    authority: m.authority.to_string(),
                    log_origin: &m.log_origin,
                    log_vkey: &m.log_vkey,
                    log_sm2_vkey: m.log_sm2_vkey.as_deref(),
                    witness_vkey: &m.witness_vkey,
                })
                .collect(),
        };
        // Strings, integers and arrays of tables always serialise.
        toml::to_string(&config).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toml_it_writes_parses_to_the_same_federation() {
        let text = include_str!("../../../federation-config/chengdu-chongqing/federation.toml");
        let federation = Federation::parse(text).expect("the shipped configuration parses");
        let written = federation.to_toml();
        assert_eq!(Federation::parse(&written), Ok(federation));
    }
}
