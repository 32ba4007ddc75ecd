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

mod config;
mod error;
mod member;
mod parser;
mod vkey;

pub use config::Federation;
pub use error::{ConfigError, ConfigErrorKind};
pub use member::{Member, MemberClass};
pub use parser::MAX_CONFIG_BYTES;
pub use vkey::VkeyError;
