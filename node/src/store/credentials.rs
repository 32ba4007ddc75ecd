//! Where a credential id is logged: the own log's index (`credentials`) and the mirrors'
//! (`mirror_credentials`), the latter checked against the entries it points at.

use serde::Deserialize;
use talent_core::identifiers::CredentialId;

use super::families::{CF_CREDENTIALS, CF_MIRROR_CREDENTIALS};
use super::space::LogSpace;
use super::{Store, StoreError};

/// Where one credential id is indexed here ([`Store::credential_locations`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialLocations {
    /// Its leaf index in the own log.
    pub own: Option<u64>,
    /// (member, leaf index) the mirror index records, unchecked.
    pub mirrors: Vec<(String, u64)>,
}

impl Store {
    /// The leaf index of a credential's entry, if stored.
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credential_index(&self, id: CredentialId) -> Result<Option<u64>, StoreError> {
        match self
            .db
            .get_pinned_cf(self.cf(CF_CREDENTIALS)?, id.uuid().into_bytes())?
        {
            None => Ok(None),
            Some(bytes) => {
                let array: [u8; 8] =
                    bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt {
                        key: format!("credentials/{id}"),
                        reason: "index is not 8 bytes".into(),
                    })?;
                Ok(Some(u64::from_be_bytes(array)))
            }
        }
    }

    /// Every (member, leaf index) whose mirrored log holds an entry with credential id `id`
    /// (normally one; a member copying another's id shows up as a second).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn mirror_credential(&self, id: CredentialId) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = id.uuid().into_bytes();
        let mut found = Vec::new();
        for item in self
            .db
            .prefix_iterator_cf(self.cf(CF_MIRROR_CREDENTIALS)?, prefix)
        {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let corrupt = |reason: &str| StoreError::Corrupt {
                key: format!("mirror_credentials/{id}"),
                reason: reason.into(),
            };
            let member = std::str::from_utf8(&key[prefix.len()..])
                .map_err(|_| corrupt("member id is not UTF-8"))?;
            let index: [u8; 8] = value
                .as_ref()
                .try_into()
                .map_err(|_| corrupt("index is not 8 bytes"))?;
            found.push((member.to_owned(), u64::from_be_bytes(index)));
        }
        Ok(found)
    }

    /// Every (member, leaf index) of a mirrored entry that carries credential id `id`,
    /// below `bound(member)` (a mirror's verified size: entries above it are not verified
    /// yet), each read again to check it carries the id (an interrupted catch-up may have
    /// left an index pointing at an entry that a retry replaced).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn mirror_holders(
        &self,
        id: CredentialId,
        bound: impl Fn(&str) -> u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        self.confirm_mirror_holders(id, self.mirror_credential(id)?, bound)
    }

    /// Of `candidates` ((member, leaf index) the mirror index records for `id`), those
    /// below `bound(member)` whose entry really carries `id` (see
    /// [`Store::mirror_holders`]).
    ///
    /// # Errors
    /// [`StoreError::Engine`].
    pub fn confirm_mirror_holders(
        &self,
        id: CredentialId,
        candidates: Vec<(String, u64)>,
        bound: impl Fn(&str) -> u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut found = Vec::new();
        for (member, index) in candidates {
            if index >= bound(&member) {
                continue;
            }
            let Some(bytes) = self.entry(LogSpace::Mirror(&member), index)? else {
                continue;
            };
            if entry_credential_id(&bytes) == Some(id) {
                found.push((member, index));
            }
        }
        Ok(found)
    }

    /// Where each of `ids` is indexed here, read in one pass (a catch-up step asks for a
    /// thousand at once): its leaf index in the own log, and the (member, leaf index) pairs
    /// the mirror index records for it, unchecked (see [`Store::confirm_mirror_holders`]).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn credential_locations(
        &self,
        ids: &[CredentialId],
    ) -> Result<Vec<CredentialLocations>, StoreError> {
        let keys: Vec<[u8; 16]> = ids.iter().map(|id| id.uuid().into_bytes()).collect();
        let mut found: Vec<CredentialLocations> = Vec::with_capacity(ids.len());
        let own = self
            .db
            .batched_multi_get_cf(self.cf(CF_CREDENTIALS)?, &keys, false);
        for (id, value) in ids.iter().zip(own) {
            let own = match value? {
                None => None,
                Some(bytes) => Some(u64::from_be_bytes(bytes.as_ref().try_into().map_err(
                    |_| StoreError::Corrupt {
                        key: format!("credentials/{id}"),
                        reason: "index is not 8 bytes".into(),
                    },
                )?)),
            };
            found.push(CredentialLocations {
                own,
                mirrors: Vec::new(),
            });
        }
        // One iterator for all: ids of a step are near each other (UUIDv7 sort by time).
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|position| keys[*position]);
        let mut iterator = self.db.raw_iterator_cf(self.cf(CF_MIRROR_CREDENTIALS)?);
        for position in order {
            let prefix = &keys[position];
            iterator.seek(prefix);
            while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
                if !key.starts_with(prefix) {
                    break;
                }
                let corrupt = |reason: &str| StoreError::Corrupt {
                    key: format!("mirror_credentials/{}", ids[position]),
                    reason: reason.into(),
                };
                let member = std::str::from_utf8(&key[prefix.len()..])
                    .map_err(|_| corrupt("member id is not UTF-8"))?;
                let index: [u8; 8] = value
                    .try_into()
                    .map_err(|_| corrupt("index is not 8 bytes"))?;
                found[position]
                    .mirrors
                    .push((member.to_owned(), u64::from_be_bytes(index)));
                iterator.next();
            }
            iterator.status()?;
        }
        Ok(found)
    }
}

/// The credential id an entry carries (`id` of its JSON), if any.
fn entry_credential_id(bytes: &[u8]) -> Option<CredentialId> {
    #[derive(Deserialize)]
    struct WithId<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<WithId<'_>>(bytes)
        .ok()?
        .id?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EntryEffects, MirrorAppend, MirrorRecord, PersonalKeys};

    #[test]
    fn mirror_holders_are_bounded_by_the_verified_size_and_carry_the_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("opens");
        let id = CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d").expect("id");
        let other =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6e").expect("id");
        let record = |id: CredentialId| MirrorRecord {
            entry: format!("{{\"id\":\"{id}\"}}").into_bytes(),
            credential_id: Some(id),
            effects: EntryEffects::default(),
        };
        let append = |member: &str, first_index: u64, entries: &[MirrorRecord]| {
            store
                .append_mirror(&MirrorAppend {
                    member,
                    first_index,
                    entries,
                    hashes: &[],
                    logged: true,
                })
                .expect("writes");
        };
        append("bj-zgc", 0, &[record(other), record(id)]);
        append("cq-sc", 0, &[record(id)]);
        // An interrupted catch-up wrote `id` at cd-hz's entry 0; its retry wrote another.
        append("cd-hz", 0, &[record(id)]);
        append("cd-hz", 0, &[record(other)]);
        let all = |_: &str| u64::MAX;
        assert_eq!(
            store.mirror_holders(id, all).expect("reads"),
            vec![("bj-zgc".to_owned(), 1), ("cq-sc".to_owned(), 0)]
        );
        let verified = |member: &str| u64::from(member == "cq-sc");
        assert_eq!(
            store.mirror_holders(id, verified).expect("reads"),
            vec![("cq-sc".to_owned(), 0)],
            "bj-zgc's entry 1 is beyond its verified size"
        );
        assert!(
            store
                .entry_is(LogSpace::Mirror("cq-sc"), 0, &record(id).entry)
                .expect("reads")
        );
        assert!(
            !store
                .entry_is(LogSpace::Mirror("cq-sc"), 0, &record(other).entry)
                .expect("reads")
        );
        assert!(
            !store
                .entry_is(LogSpace::Mirror("cq-sc"), 1, b"{}")
                .expect("reads")
        );
        let unknown =
            CredentialId::parse_lenient("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6f").expect("id");
        let locations = store
            .credential_locations(&[unknown, id, other])
            .expect("reads");
        assert_eq!(locations[0], CredentialLocations::default());
        assert_eq!(
            locations[1].mirrors,
            store.mirror_credential(id).expect("reads")
        );
        assert_eq!(
            locations[2].mirrors,
            vec![("bj-zgc".to_owned(), 0), ("cd-hz".to_owned(), 0)]
        );
    }
}
