//! The open issuer: signs general W3C credentials (types that are not the registry's) for
//! the VC-API, with its own key, so the node can take part in W3C interoperability tests
//! without the member's authority ever signing what the registry does not define.
//!
//! Off unless the operator asks for it (`serve --open-issuer`). Its key
//! (`keys/open-issuer.key`) is not the authority's, its credentials are not logged, and the
//! registry's checks refuse them (`authority`, `inclusion`): nobody can mistake one for a
//! registry credential. It keeps one revocation list of [`LIST_BITS`] entries, handed out in
//! order, in the store's `meta` family.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use talent_core::status_list::{Bitstring, StatusListCredential, StatusPurpose};
use talent_core::w3c::data_model::{self, DataModelError, Version};
use talent_core::w3c::verify::KnownDocuments;
use talent_integrity::did::DidKey;
use talent_integrity::proof::{self, ASSERTION_METHOD, Cryptosuite, ProofError, ProofOptions};
use talent_integrity::rdfc::{self, RdfcError};

use crate::store::{Store, StoreError};

/// Entries of the open issuer's one status list (the W3C minimum of 16 KiB of bits).
pub const LIST_BITS: u64 = 131_072;

/// Meta key of the next status index to hand out.
const META_NEXT_INDEX: &str = "open_issuer_next_index";
/// Meta key of the revoked bits (an encoded bitstring).
const META_REVOKED: &str = "open_issuer_revoked";

/// Why the open issuer refused.
#[derive(Debug, thiserror::Error)]
pub enum OpenIssuerError {
    /// The credential breaks a data-model rule.
    #[error("not a W3C verifiable credential: {0}")]
    DataModel(#[from] DataModelError),
    /// The credential names another issuer than this one.
    #[error("the credential's issuer must be this node's open issuer {0}")]
    IssuerMismatch(String),
    /// The credential already carries a proof, or could not be signed.
    #[error("the credential must be unsigned: {0}")]
    Proof(#[from] ProofError),
    /// Read as JSON-LD, the credential loses or breaks something: a term no context defines,
    /// a relative or invalid IRI, an unknown context (what `eddsa-rdfc-2022` calls a data
    /// loss; checked for every suite, so no credential means less than it says).
    #[error("the credential is not sound JSON-LD: {0}")]
    JsonLd(#[from] RdfcError),
    /// A cryptosuite the open issuer does not sign with.
    #[error("the open issuer signs with eddsa-jcs-2022 or eddsa-rdfc-2022, not {0:?}")]
    Cryptosuite(String),
    /// Every index of the status list is in use.
    #[error("the open issuer's status list is full ({LIST_BITS} credentials)")]
    ListFull,
    /// The status index is not one this issuer handed out.
    #[error("status index {0} was not handed out by this issuer")]
    UnknownIndex(u64),
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The open issuer of one node.
#[derive(Debug)]
pub struct OpenIssuer {
    key: SigningKey,
    did: DidKey,
    store: Arc<Store>,
    list_url: String,
    known: KnownDocuments,
    /// Serialises index hand-outs and revocations (read, change, write the meta value).
    writes: Mutex<()>,
}

impl OpenIssuer {
    /// The open issuer with `key`, keeping its state in `store`, its list at
    /// `<public_url>/credentials/status-lists/open/0`, signing `eddsa-rdfc-2022` with the
    /// contexts of `known` and checking related resources' digests against its resources.
    pub fn new(
        key: SigningKey,
        store: Arc<Store>,
        public_url: &str,
        known: KnownDocuments,
    ) -> OpenIssuer {
        OpenIssuer {
            did: DidKey::from_verifying_key(&key.verifying_key()),
            key,
            store,
            list_url: format!(
                "{}/credentials/status-lists/open/0",
                public_url.trim_end_matches('/')
            ),
            known,
            writes: Mutex::new(()),
        }
    }

    /// The issuer's did:key.
    pub fn did(&self) -> &DidKey {
        &self.did
    }

    /// The URL of its status list credential.
    pub fn list_url(&self) -> &str {
        &self.list_url
    }

    /// Signs `credential` with `cryptosuite` (`eddsa-jcs-2022` when `None`, or
    /// `eddsa-rdfc-2022`) after checking it against the data model and as JSON-LD, filling
    /// in `issuer` when absent and attaching a revocation entry when it has no
    /// `credentialStatus`.
    ///
    /// # Errors
    /// Every [`OpenIssuerError`] but `UnknownIndex`.
    pub fn issue(
        &self,
        mut credential: Value,
        cryptosuite: Option<&str>,
    ) -> Result<Value, OpenIssuerError> {
        let suite = match cryptosuite {
            None => Cryptosuite::EddsaJcs2022,
            Some(name) => match Cryptosuite::from_any_name(name) {
                Some(suite @ (Cryptosuite::EddsaJcs2022 | Cryptosuite::EddsaRdfc2022)) => suite,
                _ => return Err(OpenIssuerError::Cryptosuite(name.to_owned())),
            },
        };
        let object = credential
            .as_object_mut()
            .ok_or(DataModelError::NotAnObject)?;
        if object.contains_key("proof") {
            return Err(ProofError::AlreadySigned.into());
        }
        let did = self.did.to_string();
        let named = match object.get("issuer") {
            None => None,
            Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str),
            Some(other) => other.as_str(),
        };
        match named {
            None if !object.contains_key("issuer") => {
                object.insert("issuer".into(), did.clone().into());
            }
            Some(named) if named == did => {}
            _ => return Err(OpenIssuerError::IssuerMismatch(did)),
        }
        let version = data_model::check_credential(&credential)?;
        // An issuer that holds a related resource refuses a digest that is not its own.
        data_model::check_related_digests(&credential, &self.known.resources)?;
        // The status list's terms are defined by the VC 2.0 context only: a VC 1.1
        // credential gets no status entry.
        if version == Version::V2_0 && credential.get("credentialStatus").is_none() {
            let index = self.next_index()?;
            credential["credentialStatus"] = json!({
                "id": format!("{}#{index}", self.list_url),
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": index.to_string(),
                "statusListCredential": self.list_url,
            });
        }
        match rdfc::canonical_nquads(&credential, &self.known.contexts) {
            // A JCS proof signs the JSON, where a base direction stays; only canonical
            // N-Quads would lose it.
            Err(RdfcError::BaseDirection(_)) if suite != Cryptosuite::EddsaRdfc2022 => {}
            Err(error) => return Err(error.into()),
            Ok(_) => {}
        }
        let options = ProofOptions {
            created: talent_core::credential::format_datetime(Utc::now()),
            proof_purpose: ASSERTION_METHOD,
        };
        Ok(match suite {
            Cryptosuite::EddsaRdfc2022 => {
                proof::sign_rdfc(&credential, &self.key, &options, &self.known.contexts)?
            }
            _ => proof::sign(&credential, &self.key, &options)?,
        })
    }

    /// Sets (or clears) the revocation bit at `index`.
    ///
    /// # Errors
    /// [`OpenIssuerError::UnknownIndex`] for an index not handed out; storage errors.
    pub fn set_revoked(&self, index: u64, revoked: bool) -> Result<(), OpenIssuerError> {
        let _guard = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if index >= self.handed_out()? {
            return Err(OpenIssuerError::UnknownIndex(index));
        }
        let mut bits = self.revoked()?;
        let index = u32::try_from(index).map_err(|_| OpenIssuerError::UnknownIndex(index))?;
        if revoked {
            bits.set(index);
        } else {
            bits.clear(index);
        }
        self.store.set_meta(&[(META_REVOKED, &bits.encode())])?;
        Ok(())
    }

    /// Whether the bit at `index` is set.
    ///
    /// # Errors
    /// Storage errors.
    pub fn is_revoked(&self, index: u64) -> Result<bool, OpenIssuerError> {
        let Ok(index) = u32::try_from(index) else {
            return Ok(false);
        };
        Ok(self.revoked()?.get(index).unwrap_or(false))
    }

    /// The signed status list credential.
    ///
    /// # Errors
    /// Storage errors.
    pub fn list_credential(&self) -> Result<Value, OpenIssuerError> {
        let unsigned = StatusListCredential::unsigned(
            &self.list_url,
            &self.did.to_string(),
            StatusPurpose::Revocation,
            &self.revoked()?,
            Utc::now(),
        );
        let options = ProofOptions {
            created: talent_core::credential::format_datetime(Utc::now()),
            proof_purpose: ASSERTION_METHOD,
        };
        Ok(proof::sign(&unsigned, &self.key, &options)?)
    }

    fn next_index(&self) -> Result<u64, OpenIssuerError> {
        let _guard = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        let index = self.handed_out()?;
        if index >= LIST_BITS {
            return Err(OpenIssuerError::ListFull);
        }
        self.store
            .set_meta(&[(META_NEXT_INDEX, &(index + 1).to_string())])?;
        Ok(index)
    }

    fn handed_out(&self) -> Result<u64, OpenIssuerError> {
        Ok(self
            .store
            .meta(META_NEXT_INDEX)?
            .and_then(|next| next.parse().ok())
            .unwrap_or(0))
    }

    fn revoked(&self) -> Result<Bitstring, OpenIssuerError> {
        Ok(match self.store.meta(META_REVOKED)? {
            Some(encoded) => Bitstring::decode(&encoded).map_err(|error| StoreError::Corrupt {
                key: format!("meta/{META_REVOKED}"),
                reason: error.to_string(),
            })?,
            None => Bitstring::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use talent_core::w3c::verify::verify_credential;

    use super::*;
    use crate::store::PersonalKeys;

    fn issuer(dir: &std::path::Path) -> OpenIssuer {
        let store = Arc::new(Store::open(dir, PersonalKeys::for_tests()).expect("store"));
        OpenIssuer::new(
            SigningKey::from_bytes(&[9; 32]),
            store,
            "https://node.example/",
            KnownDocuments::of_registry(&[]),
        )
    }

    fn unsigned() -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:subject"}
        })
    }

    #[test]
    fn it_signs_general_credentials_with_a_status_entry_of_its_own_list() {
        let dir = tempfile::tempdir().expect("temp dir");
        let issuer = issuer(dir.path());
        let first = issuer.issue(unsigned(), None).expect("issues");
        let second = issuer.issue(unsigned(), None).expect("issues");
        assert_eq!(first["issuer"], issuer.did().to_string());
        assert_eq!(first["credentialStatus"]["statusListIndex"], "0");
        assert_eq!(second["credentialStatus"]["statusListIndex"], "1");
        assert_eq!(
            first["credentialStatus"]["statusListCredential"],
            "https://node.example/credentials/status-lists/open/0"
        );
        assert!(
            verify_credential(&first, &issuer.known, Utc::now())
                .iter()
                .all(|c| c.ok)
        );

        issuer.set_revoked(1, true).expect("revokes");
        assert!(issuer.is_revoked(1).expect("reads"));
        assert!(!issuer.is_revoked(0).expect("reads"));
        let list = issuer.list_credential().expect("list");
        let read = StatusListCredential::from_json(&list).expect("list credential");
        assert_eq!(read.list.get(1), Ok(true));
        assert_eq!(read.list.get(0), Ok(false));
        assert!(matches!(
            issuer.set_revoked(2, true),
            Err(OpenIssuerError::UnknownIndex(2))
        ));
    }

    #[test]
    fn it_refuses_another_issuer_a_signed_document_and_a_broken_model() {
        let dir = tempfile::tempdir().expect("temp dir");
        let issuer = issuer(dir.path());
        let mut other = unsigned();
        other["issuer"] = json!("did:example:someone-else");
        assert!(matches!(
            issuer.issue(other, None),
            Err(OpenIssuerError::IssuerMismatch(_))
        ));
        let signed = issuer.issue(unsigned(), None).expect("issues");
        assert!(matches!(
            issuer.issue(signed, None),
            Err(OpenIssuerError::Proof(ProofError::AlreadySigned))
        ));
        let mut undefined = unsigned();
        undefined["statusEntry"] = json!({"type": "BitstringStatusListEntry"});
        assert!(matches!(
            issuer.issue(undefined, None),
            Err(OpenIssuerError::JsonLd(_))
        ));
        assert!(matches!(
            issuer.issue(unsigned(), Some("sm2-jcs-2025")),
            Err(OpenIssuerError::Cryptosuite(_))
        ));
        let rdfc = issuer
            .issue(unsigned(), Some("eddsa-rdfc-2022"))
            .expect("signs");
        assert_eq!(rdfc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
        assert!(
            verify_credential(&rdfc, &issuer.known, Utc::now())
                .iter()
                .all(|c| c.ok)
        );
        let mut broken = unsigned();
        broken["validFrom"] = json!("yesterday");
        assert!(matches!(
            issuer.issue(broken, None),
            Err(OpenIssuerError::DataModel(DataModelError::DateTime(_)))
        ));
    }
}
