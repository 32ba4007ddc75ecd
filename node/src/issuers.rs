//! The issuer history of every log this node holds (its own and each mirror), kept in
//! memory and rebuilt on start from the entries that changed it (`issuer_events`).
//!
//! The rules are `talent_core::issuers`; this module only holds the registries, finds the
//! credential a status change is about, and orders writers of the own log: entries that
//! change the history or a status take [`Issuers::gate`] exclusively, talent credentials
//! share it, so a credential is never judged against a history that an in-flight
//! withdrawal is about to change under it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;
use talent_core::credential::Namespace;
use talent_core::identifiers::CredentialId;
use talent_core::issuers::{IssuerRegistry, StatusTarget};
use talent_core::status::CredentialStatus;
use talent_core::w3c::verify::KnownDocuments;
use talent_integrity::did::DidKey;

use crate::store::{LogSpace, Store, StoreError};

/// The issuer registries of the own log and every mirror.
#[derive(Debug)]
pub struct Issuers {
    own: String,
    registries: RwLock<HashMap<String, Arc<IssuerRegistry>>>,
    /// Writers of the own log: exclusive for history and status changes, shared for
    /// talent credentials.
    pub gate: tokio::sync::RwLock<()>,
}

/// A log whose registry to load: member id, its authority's first key, and how much of its
/// log is verified (a mirror's size; everything for the own log).
#[derive(Debug, Clone)]
pub struct LogToLoad {
    /// The member.
    pub member: String,
    /// Its authority DID from the configuration.
    pub authority: DidKey,
    /// Entries below this count.
    pub verified: u64,
    /// Where its credentials name the context and schemas: its node's public URL (for a
    /// peer, its endpoint in the configuration).
    pub namespace: Namespace,
    /// Where they did before: the public URLs this node served under before (for a peer,
    /// its `former_endpoints`).
    pub former_namespaces: Vec<Namespace>,
}

impl Issuers {
    /// Rebuilds the registries of `own` (this member) and `peers` from the store.
    ///
    /// # Errors
    /// The store fails or holds an event entry that is not JSON.
    pub fn load(
        store: &Store,
        own: &LogToLoad,
        peers: &[LogToLoad],
    ) -> Result<Issuers, StoreError> {
        let mut registries = HashMap::new();
        for (log, space) in std::iter::once((own, LogSpace::Own)).chain(
            peers
                .iter()
                .map(|peer| (peer, LogSpace::Mirror(peer.member.as_str()))),
        ) {
            let mut registry = IssuerRegistry::new(
                log.member.clone(),
                log.authority.clone(),
                log.namespace.clone(),
            )
            .with_former_namespaces(log.former_namespaces.iter().cloned());
            for (index, bytes) in store.issuer_events(space, log.verified)? {
                let object: Value =
                    serde_json::from_slice(&bytes).map_err(|_| StoreError::Corrupt {
                        key: format!("issuer_events/{}/{index}", log.member),
                        reason: "not JSON".into(),
                    })?;
                registry.apply(&object, index);
            }
            registries.insert(log.member.clone(), Arc::new(registry));
        }
        Ok(Issuers {
            own: own.member.clone(),
            registries: RwLock::new(registries),
            gate: tokio::sync::RwLock::new(()),
        })
    }

    /// The registry of `member`'s log.
    pub fn registry(&self, member: &str) -> Option<Arc<IssuerRegistry>> {
        self.registries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(member)
            .cloned()
    }

    /// What this node reads from memory for general W3C verification and its open issuer
    /// ([`KnownDocuments::of_registry`]): the registry's context under the legacy URL and
    /// under each loaded member's node (this one now and before, and its peers).
    pub fn known_documents(&self) -> KnownDocuments {
        let registries = self
            .registries
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let namespaces: Vec<Namespace> = registries
            .values()
            .flat_map(|registry| registry.namespaces().iter().cloned())
            .collect();
        KnownDocuments::of_registry(&namespaces)
    }

    /// The registry of this member's own log.
    pub fn own(&self) -> Arc<IssuerRegistry> {
        self.registry(&self.own)
            .expect("the own registry is loaded at start")
    }

    /// Replaces `member`'s registry once the entries that changed it are durable.
    pub fn replace(&self, registry: IssuerRegistry) {
        self.registries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(registry.member().to_owned(), Arc::new(registry));
    }
}

/// The credential `id` of a log as a status change sees it: its signer, its current status
/// and who set it, from entries below `below`.
///
/// # Errors
/// The store fails.
pub fn status_target(
    store: &Store,
    space: LogSpace<'_>,
    id: CredentialId,
    below: u64,
) -> Result<Option<StatusTarget>, StoreError> {
    let index = match space {
        LogSpace::Own => store.credential_index(id)?,
        LogSpace::Mirror(member) => store
            .mirror_credential(id)?
            .into_iter()
            .find(|(holder, index)| holder == member && *index < below)
            .map(|(_, index)| index),
    };
    let Some(index) = index.filter(|index| *index < below) else {
        return Ok(None);
    };
    let Some(bytes) = store.entry(space, index)? else {
        return Ok(None);
    };
    let Some(issuer) = issuer_of(&bytes) else {
        return Ok(None);
    };
    let (status, set_by) = match store.status(space, id, below)? {
        None => (CredentialStatus::Valid, None),
        Some((change, status)) => {
            // An admitted status change's `issuer` is the key that signed it.
            let setter = store
                .entry(space, change)?
                .and_then(|bytes| issuer_of(&bytes));
            (status, setter)
        }
    };
    Ok(Some(StatusTarget {
        issuer,
        status,
        set_by,
    }))
}

/// The `issuer` of a logged entry.
fn issuer_of(bytes: &[u8]) -> Option<DidKey> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|object| object["issuer"].as_str()?.parse::<DidKey>().ok())
}
