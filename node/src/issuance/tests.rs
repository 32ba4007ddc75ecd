//! The service on a real store in a temporary directory, without HTTP: what an issuance
//! writes, and what a revoked token, a bad batch or a second submission of one id cannot.

use std::path::Path;

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use talent_core::identifiers::RegionId;
use talent_core::log_entry;

use super::*;
use crate::issuers::LogToLoad;
use crate::log::sequencer::BatchConfig;
use crate::store::PersonalKeys;
use crate::tokens::{self, Role};

const MEMBER: &str = "cq-sc";

struct Fixture {
    dir: tempfile::TempDir,
    service: IssuanceService,
    store: Arc<Store>,
    log: Arc<Log>,
    issuers: Arc<Issuers>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_authority(SigningKey::from_bytes(&[2; 32]).into())
    }

    /// A fixture whose authority signs with `authority` (Ed25519 or SM2).
    fn with_authority(authority: IssuerKey) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(
            Store::open(&dir.path().join("db"), PersonalKeys::for_tests()).expect("store"),
        );
        let log = Arc::new(
            Log::open(
                Arc::clone(&store),
                "talent.example/cq-sc",
                SigningKey::from_bytes(&[1; 32]),
            )
            .expect("log"),
        );
        let own = LogToLoad {
            member: MEMBER.into(),
            authority: authority.did(),
            verified: u64::MAX,
            namespace: talent_core::credential::Namespace::at("http://127.0.0.1:9"),
            former_namespaces: Vec::new(),
        };
        let issuers = Arc::new(Issuers::load(&store, &own, &[]).expect("issuers"));
        let status_lists = Arc::new(
            StatusLists::open(Arc::clone(&store), "http://127.0.0.1:9").expect("status lists"),
        );
        let service = IssuanceService::new(
            Arc::new(SchemaSet::new()),
            LogWriter {
                sequencer: Sequencer::start(
                    Arc::clone(&log),
                    BatchConfig::default(),
                    &mut crate::worker::Workers::new(crate::worker::BackoffPolicy::NODE),
                    crate::metrics::Metrics::new().expect("metrics").log,
                ),
                store: Arc::clone(&store),
                log: Arc::clone(&log),
                issuers: Arc::clone(&issuers),
                data_dir: dir.path().to_path_buf(),
                status_lists,
                tokens: Arc::new(Tokens::open(dir.path())),
                max_reserved_slots: 10,
                metrics: crate::metrics::Metrics::new().expect("metrics").issuance,
            },
            authority,
            MEMBER.parse::<RegionId>().expect("region"),
        );
        Fixture {
            dir,
            service,
            store,
            log,
            issuers,
        }
    }

    /// A new operator token of `role`, authenticated.
    fn operator(&self, role: Role) -> (Operator, String) {
        let (record, token) = tokens::create(self.dir.path(), role, None, "窗口一").expect("token");
        let operator = self
            .service
            .tokens
            .authenticate(Some(&format!("Bearer {token}")))
            .expect("authenticates");
        (operator, record.id)
    }
}

fn request() -> Value {
    example("ProfessionalTitleCredential")
}

/// The request body of `docs/examples/{name}.json`.
fn example(name: &str) -> Value {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    let text =
        std::fs::read_to_string(examples.join(format!("{name}.json"))).expect("example request");
    serde_json::from_str(&text).expect("json")
}

#[tokio::test]
async fn an_issued_credential_is_answered_with_its_logged_bytes() {
    let fixture = Fixture::new();
    let (admin, _) = fixture.operator(Role::Admin);
    let issued = fixture
        .service
        .issue(&admin, &request())
        .await
        .expect("issues");
    assert_eq!(issued.log.index, 0);
    assert_eq!(fixture.log.head().size, 1);
    // The answer's bytes are the entry's: canonical, and the signed object itself.
    assert_eq!(
        fixture.log.entry(0).expect("reads").as_deref(),
        Some(issued.entry.as_slice())
    );
    assert_eq!(
        log_entry::encode(&issued.credential).expect("encodes"),
        issued.entry
    );
    assert_eq!(issued.credential["credentialSubject"]["region"], MEMBER);
    assert_eq!(
        fixture.store.credential_index(issued.id).expect("reads"),
        Some(0)
    );
}

#[tokio::test]
async fn a_batch_with_one_invalid_request_issues_nothing() {
    let fixture = Fixture::new();
    let (admin, _) = fixture.operator(Role::Admin);
    let mut bad = request();
    bad["type"] = json!("NoSuchCredential");
    let refused = fixture
        .service
        .issue_batch(&admin, &[request(), bad, request()])
        .await;
    match refused {
        Err(IssueError::Batch(items)) => {
            assert_eq!(
                items
                    .iter()
                    .map(|(position, _)| *position)
                    .collect::<Vec<_>>(),
                [1]
            );
        }
        other => panic!("expected a refused batch, got {other:?}"),
    }
    assert_eq!(fixture.log.head().size, 0);
    assert!(matches!(
        fixture.service.issue_batch(&admin, &[]).await,
        Err(IssueError::BatchSize(0))
    ));
}

#[tokio::test]
async fn a_token_revoked_after_authentication_writes_nothing() {
    let fixture = Fixture::new();
    let (admin, id) = fixture.operator(Role::Admin);
    tokens::revoke(fixture.dir.path(), &id).expect("revokes");
    assert!(matches!(
        fixture.service.issue(&admin, &request()).await,
        Err(IssueError::Token(_))
    ));
    assert_eq!(fixture.log.head().size, 0);
    let (auditor, _) = fixture.operator(Role::Auditor);
    assert!(matches!(
        fixture.service.issue(&auditor, &request()).await,
        Err(IssueError::Access(AccessError::Role { .. }))
    ));
}

#[tokio::test]
async fn a_logged_id_cannot_be_claimed_again() {
    let fixture = Fixture::new();
    let (admin, _) = fixture.operator(Role::Admin);
    let issued = fixture
        .service
        .issue(&admin, &request())
        .await
        .expect("issues");
    assert!(matches!(
        fixture.service.claim_id(issued.id),
        Err(IssueError::Duplicate(id)) if id == issued.id
    ));
    // A fresh id is claimed once, and free again once its claim is dropped.
    let fresh = CredentialId::from_uuid(uuid::Uuid::now_v7());
    let claim = fixture.service.claim_id(fresh).expect("claims");
    assert!(matches!(
        fixture.service.claim_id(fresh),
        Err(IssueError::Duplicate(_))
    ));
    drop(claim);
    assert!(fixture.service.claim_id(fresh).is_ok());
}

#[tokio::test]
async fn an_accreditation_stands_as_its_status_and_window_say() {
    use crate::member::MemberIdentity;
    use crate::services::{HeldLogs, accreditations};
    use talent_core::status::CredentialStatus;

    let fixture = Fixture::new();
    let (admin, _) = fixture.operator(Role::Admin);
    let logs = HeldLogs {
        store: Arc::clone(&fixture.store),
        log: Arc::clone(&fixture.log),
        member: Arc::new(MemberIdentity::development(
            fixture.service.current_authority().did.clone(),
            String::new(),
        )),
        federation: None,
    };
    let standings = |at| accreditations::own(&logs, &fixture.issuers, at).expect("reads");
    assert!(standings(chrono::Utc::now()).is_empty());

    let issued = fixture
        .service
        .issue(&admin, &example("IssuerAccreditationCredential"))
        .await
        .expect("issues the accreditation");
    let now = chrono::Utc::now();
    let found = standings(now);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].accreditation.id, issued.id);
    assert_eq!(found[0].status, CredentialStatus::Valid);
    assert!(found[0].in_force, "valid and within its window");
    let after_window = "2028-01-01T00:00:00Z".parse().expect("time");
    assert!(!standings(after_window)[0].in_force, "its window has ended");

    fixture
        .service
        .change_status(
            &admin,
            issued.id,
            &json!({"status": "03", "reason": "企业申请撤销"}),
        )
        .await
        .expect("withdraws");
    let found = standings(chrono::Utc::now());
    assert_eq!(found[0].status.code(), "03");
    assert!(!found[0].in_force, "withdrawn");
}

#[tokio::test]
async fn only_an_ed25519_authority_signs_jws() {
    use ed25519_dalek::Verifier;
    let ed25519 = Fixture::new();
    let (did, signature) = ed25519
        .service
        .with_authority_jws_key(|did, sign| (did.clone(), sign(b"header.payload")))
        .expect("an Ed25519 authority signs");
    let key = did.ed25519().expect("an Ed25519 DID");
    key.verify(
        b"header.payload",
        &ed25519_dalek::Signature::from_bytes(&signature),
    )
    .expect("the signature verifies under the authority's DID");
    let sm2 = Fixture::with_authority(
        talent_integrity::keys::Sm2SigningKey::from_bytes(&[3; 32])
            .expect("an SM2 key")
            .into(),
    );
    assert!(
        sm2.service.with_authority_jws_key(|_, _| ()).is_none(),
        "JOSE has no SM2 algorithm: an SM2 member makes no SD-JWT VC"
    );
}
