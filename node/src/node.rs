//! Start-up of a node: open the store, load the keys that belong to it, build the state.
//! Serving, until SIGINT or SIGTERM, is [`crate::server`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use talent_core::federation::Federation;
use talent_core::schema::SchemaSet;
use talent_tlog::cosignature::Cosigner;

use crate::federation::FederationNode;
use crate::issuance::{IssuanceService, LogWriter};
use crate::issuers::{Issuers, LogToLoad};
use crate::keys::MemberKeys;
use crate::log::Log;
use crate::log::sequencer::{BatchConfig, Sequencer};
use crate::member::{DEV_LOG_ORIGIN, MemberIdentity};
use crate::policy::PolicyConfig;
use crate::state::AppState;
use crate::statistics::CredentialStatistics;
use crate::status_lists::StatusLists;
use crate::store::{META_AUTHORITY_DID, META_MEMBER_ID, Store};
use crate::tokens::Tokens;

/// Who the node is to be.
#[derive(Debug, Clone)]
pub enum Role {
    /// The single development member (no federation): keys generated on first start.
    Development,
    /// A member of a federation: its keys must match the configuration.
    Member {
        /// The parsed federation configuration.
        federation: Arc<Federation>,
        /// Which member this node is.
        member: String,
        /// Copy the keys from this directory on first start (dev-only demo keys).
        keys_from: Option<PathBuf>,
    },
}

/// Reads and checks a federation configuration file; errors name the file and line.
///
/// # Errors
/// The file cannot be read or is not a valid configuration.
pub fn load_federation(path: &Path) -> anyhow::Result<Federation> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Federation::parse(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// Opens the member whose data lives in `data_dir` and starts its sequencer (so it must
/// run inside a Tokio runtime). Federation tasks start with [`start_federation`].
///
/// A new directory of the development member gets fresh keys. An existing one must hold
/// the keys its data was issued with: a node never silently starts signing with a key its
/// stored credentials don't name. A federation member's keys must be the ones its
/// configuration lists.
///
/// # Errors
/// The store cannot be opened (locked by another node, corrupt), a key file is unreadable,
/// the keys do not belong to the stored data or the configuration, or the log on disk is
/// damaged.
pub fn open(
    data_dir: &Path,
    batching: BatchConfig,
    role: Role,
    public_url: &str,
    policy: PolicyConfig,
) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    // Written by an older version (0644 files) or restored from a backup: only this user.
    let loosened = crate::file_modes::restrict_data_dir(data_dir).with_context(|| {
        format!(
            "making the data directory {} readable by this user only",
            data_dir.display()
        )
    })?;
    if loosened > 0 {
        tracing::warn!(
            entries = loosened,
            "removed group and other permissions in the data directory"
        );
    }
    let personal = crate::keys::load_or_generate_personal(data_dir).with_context(|| {
        format!(
            "loading the personal-data keys from {}",
            data_dir.join("keys").display()
        )
    })?;
    let store = Store::open(&data_dir.join("db"), personal)
        .with_context(|| format!("opening the store in {}", data_dir.join("db").display()))?;
    let fresh = store.meta(META_MEMBER_ID)?.is_none();
    if let Role::Member {
        keys_from: Some(source),
        ..
    } = &role
        && fresh
    {
        MemberKeys::install_from(data_dir, source)?;
    }
    if fresh && MemberKeys::exist(data_dir) && matches!(role, Role::Development) {
        // Keys without a store means the database was lost, truncated or moved: starting
        // an empty log under the same keys would silently roll the member's history back.
        bail!(
            "{} has member keys but an empty store: the database was lost or moved. Restore {} (or remove {} to start a new member)",
            data_dir.display(),
            data_dir.join("db").display(),
            data_dir.join("keys").display()
        );
    }
    let generate = fresh && matches!(role, Role::Development);
    let keys = MemberKeys::load_or_generate(data_dir, generate).with_context(|| {
        format!(
            "loading the member keys from {}",
            data_dir.join("keys").display()
        )
    })?;
    let (member, federation) = match &role {
        Role::Development => {
            let log_vkey =
                talent_tlog::checkpoint::verifier_key(DEV_LOG_ORIGIN, &keys.log.verifying_key());
            // The authority's identity is its first key; after a rotation authority.key
            // holds a later one.
            let root = match store.meta(META_AUTHORITY_DID)? {
                Some(stored) => stored.parse().map_err(|error| {
                    anyhow::anyhow!("the stored authority DID {stored:?} is invalid: {error}")
                })?,
                None => keys.authority_did(),
            };
            (MemberIdentity::development(root, log_vkey), None)
        }
        Role::Member {
            federation, member, ..
        } => {
            let Some(config) = federation.member(member) else {
                let known: Vec<&str> = federation.members().iter().map(|m| m.id.as_str()).collect();
                bail!(
                    "member {member:?} is not in the federation configuration (members: {})",
                    known.join(", ")
                );
            };
            check_keys_match(&keys, config, data_dir)?;
            (
                MemberIdentity::from_config(config, &federation.id),
                Some(config.clone()),
            )
        }
    };
    let authority = member.authority_did.to_string();
    if fresh {
        store.set_meta(&[
            (META_MEMBER_ID, member.id.as_str()),
            (META_AUTHORITY_DID, &authority),
        ])?;
    } else {
        let stored_member = store.meta(META_MEMBER_ID)?.unwrap_or_default();
        let stored_authority = store.meta(META_AUTHORITY_DID)?.unwrap_or_default();
        if stored_member != member.id.as_str() {
            bail!(
                "{} holds data of member {stored_member:?}, not {:?}",
                data_dir.display(),
                member.id.as_str()
            );
        }
        if stored_authority != authority {
            bail!(
                "{}: the stored credentials belong to authority {stored_authority}, but this member's authority is {authority}",
                data_dir.display()
            );
        }
    }
    let store = Arc::new(store);
    let log = Arc::new(
        Log::open(Arc::clone(&store), &member.log_origin, keys.log.clone()).with_context(|| {
            format!(
                "refusing to serve the log in {}",
                data_dir.join("db").display()
            )
        })?,
    );
    let own = LogToLoad {
        member: member.id.as_str().to_owned(),
        authority: member.authority_did.clone(),
        verified: u64::MAX,
    };
    let mut peers = Vec::new();
    if let Role::Member { federation, .. } = &role {
        for peer in federation.peers_of(&member.id) {
            let id = peer.id.as_str();
            peers.push(LogToLoad {
                member: id.to_owned(),
                authority: peer.authority.clone(),
                verified: store.mirror_state(id)?.map_or(0, |state| state.size),
            });
        }
    }
    let issuers = Arc::new(
        Issuers::load(&store, &own, &peers)
            .with_context(|| format!("loading the issuer history in {}", data_dir.display()))?,
    );
    let keys = reconcile_authority_key(data_dir, keys, &issuers.own())?;
    let federation = match (&role, federation) {
        (Role::Member { federation, .. }, Some(me)) => Some(Arc::new(
            FederationNode::new(
                Arc::clone(federation),
                me,
                Arc::clone(&store),
                Arc::clone(&issuers),
                keys.witness.clone(),
            )
            .with_context(|| format!("opening the mirrors in {}", data_dir.display()))?,
        )),
        _ => None,
    };
    let status_lists = Arc::new(
        StatusLists::open(Arc::clone(&store), public_url)
            .with_context(|| format!("opening the status lists in {}", data_dir.display()))?,
    );
    let sequencer = Sequencer::start(Arc::clone(&log), batching);
    let schemas = Arc::new(SchemaSet::new());
    let tokens = Arc::new(Tokens::open(data_dir));
    let id_search_audit = Arc::new(crate::audit::IdSearchAudit::open(data_dir)?);
    let issuance = Arc::new(IssuanceService::new(
        Arc::clone(&schemas),
        LogWriter {
            sequencer,
            store: Arc::clone(&store),
            log: Arc::clone(&log),
            issuers: Arc::clone(&issuers),
            data_dir: data_dir.to_path_buf(),
            status_lists,
            tokens: Arc::clone(&tokens),
            max_reserved_slots: policy.max_reserved_slots,
        },
        keys.authority.clone(),
        member.id.clone(),
    ));
    let statistics = Arc::new(
        CredentialStatistics::open(
            Arc::clone(&store),
            Arc::clone(&log),
            member.id.as_str(),
            federation.clone(),
        )
        .with_context(|| format!("loading the statistics in {}", data_dir.display()))?,
    );
    Ok(AppState {
        store,
        schemas,
        member: Arc::new(member),
        issuance,
        log,
        federation,
        issuers,
        tokens,
        public_url: Arc::from(public_url.trim_end_matches('/')),
        verifier: Arc::default(),
        statistics,
        id_searches: Arc::new(crate::rate_limit::RateLimiter::new(
            policy.id_search_burst,
            policy.id_search_per_hour,
        )),
        id_search_audit,
        background: tokio::runtime::Handle::try_current()
            .context("a node is opened on the runtime it runs on")?,
    })
}

/// Opens the single development member (see [`open`]).
///
/// # Errors
/// As [`open`].
pub fn open_development(
    data_dir: &Path,
    batching: BatchConfig,
    public_url: &str,
) -> anyhow::Result<AppState> {
    open(
        data_dir,
        batching,
        Role::Development,
        public_url,
        PolicyConfig::default(),
    )
}

fn check_keys_match(
    keys: &MemberKeys,
    config: &talent_core::federation::Member,
    data_dir: &Path,
) -> anyhow::Result<()> {
    let keys_dir = data_dir.join("keys");
    if keys.log.verifying_key() != config.log_key {
        bail!(
            "{}/log.key does not match log_vkey {} of member {}",
            keys_dir.display(),
            config.log_vkey,
            config.id
        );
    }
    let witness = Cosigner::new(&config.witness_name, keys.witness.clone())
        .map_err(|error| anyhow::anyhow!("witness name {}: {error}", config.witness_name))?;
    if witness.vkey() != config.witness_vkey {
        bail!(
            "{}/witness.key does not match witness_vkey {} of member {}",
            keys_dir.display(),
            config.witness_vkey,
            config.id
        );
    }
    Ok(())
}

/// Finishes an authority key rotation interrupted by a crash, then requires
/// `keys/authority.key` to be the authority's newest key in the own log (the configured
/// authority itself until a rotation is logged).
fn reconcile_authority_key(
    data_dir: &Path,
    mut keys: MemberKeys,
    registry: &talent_core::issuers::IssuerRegistry,
) -> anyhow::Result<MemberKeys> {
    let latest = registry.latest_authority_key();
    if let Some(successor) = MemberKeys::staged_authority_successor(data_dir)? {
        let successor_did =
            talent_integrity::did::DidKey::from_verifying_key(&successor.verifying_key());
        if successor_did == latest && keys.authority_did() != latest {
            MemberKeys::promote_authority_successor(data_dir)?;
            keys.authority = successor;
            tracing::info!(key = %latest, "finished an interrupted authority key rotation");
        } else {
            MemberKeys::discard_authority_successor(data_dir)?;
        }
    }
    let authority = keys.authority_did();
    if authority != latest {
        bail!(
            "{}/authority.key is {authority}, but the authority's key in this member's log is {latest} (first key {}); restore the original key",
            data_dir.join("keys").display(),
            registry.authority_root()
        );
    }
    Ok(keys)
}

/// Starts the federation tasks (sync, cosignature collection) of a member node.
pub fn start_federation(state: &AppState) {
    if let Some(federation) = &state.federation {
        federation.start(Arc::clone(&state.log));
    }
}
