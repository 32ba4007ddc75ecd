//! Which credentials an operator's token may read: admins and auditors any, an issuer token
//! only those of its own issuer (any key of it). The API's reads and the console's search,
//! pages and downloads all ask here, so each sees exactly what the other lets it see.

use serde_json::Value;
use talent_integrity::did::DidKey;

use crate::issuers::Issuers;
use crate::tokens::{Operator, Role};

/// Whether `operator` may read a credential whose `issuer` is `issuer`, judged by the own
/// log's issuer registry in `issuers` (which knows every key of an issuer).
pub fn may_read_issued_by(issuers: &Issuers, operator: &Operator, issuer: Option<&str>) -> bool {
    if operator.role != Role::Issuer {
        return true;
    }
    let issuer = issuer.and_then(|issuer| issuer.parse::<DidKey>().ok());
    match (&operator.issuer, &issuer) {
        (Some(bound), Some(issuer)) => issuers.own().same_issuer(bound, issuer),
        _ => false,
    }
}

/// Whether `operator` may read the logged credential `bytes`. Only an issuer token needs
/// the bytes read: for any other role this is true without parsing them.
pub fn may_read(issuers: &Issuers, operator: &Operator, bytes: &[u8]) -> bool {
    if operator.role != Role::Issuer {
        return true;
    }
    let issuer = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|object| object["issuer"].as_str().map(str::to_owned));
    may_read_issued_by(issuers, operator, issuer.as_deref())
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::issuers::LogToLoad;
    use crate::store::{PersonalKeys, Store};

    fn did(seed: u8) -> DidKey {
        DidKey::from_verifying_key(&SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    fn operator(role: Role, issuer: Option<DidKey>) -> Operator {
        Operator {
            token_id: "t1".into(),
            name: "office".into(),
            role,
            issuer,
        }
    }

    #[test]
    fn an_issuer_token_reads_its_own_issuers_credentials_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), PersonalKeys::for_tests()).expect("store");
        let own = LogToLoad {
            member: "dev".into(),
            authority: did(1),
            verified: 0,
            namespace: talent_core::credential::Namespace::legacy(),
            former_namespaces: Vec::new(),
        };
        let issuers = Issuers::load(&store, &own, &[]).expect("registries");
        let (mine, theirs) = (did(2), did(3));
        let bytes = |issuer: &DidKey| format!(r#"{{"issuer":"{issuer}"}}"#).into_bytes();

        for role in [Role::Admin, Role::Auditor] {
            let reader = operator(role, None);
            assert!(may_read_issued_by(&issuers, &reader, None));
            assert!(may_read(&issuers, &reader, b"not even JSON"));
        }
        let issuer = operator(Role::Issuer, Some(mine.clone()));
        assert!(may_read_issued_by(
            &issuers,
            &issuer,
            Some(&mine.to_string())
        ));
        assert!(may_read(&issuers, &issuer, &bytes(&mine)));
        assert!(!may_read_issued_by(
            &issuers,
            &issuer,
            Some(&theirs.to_string())
        ));
        assert!(!may_read(&issuers, &issuer, &bytes(&theirs)));
        assert!(!may_read_issued_by(&issuers, &issuer, None));
        assert!(!may_read_issued_by(&issuers, &issuer, Some("not a did")));
        assert!(!may_read(&issuers, &issuer, b"not JSON"));
        let unbound = operator(Role::Issuer, None);
        assert!(!may_read_issued_by(
            &issuers,
            &unbound,
            Some(&mine.to_string())
        ));
    }
}
