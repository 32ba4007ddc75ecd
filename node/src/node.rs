//! Start-up and shutdown of a node: open the store, load the keys that belong to it, build
//! the state, serve until SIGINT/SIGTERM.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use talent_core::schema::SchemaSet;
use tokio::net::TcpListener;

use crate::issuance::IssuanceService;
use crate::keys::MemberKeys;
use crate::log::Log;
use crate::log::sequencer::{BatchConfig, Sequencer};
use crate::member::{DEV_LOG_ORIGIN, MemberIdentity};
use crate::state::AppState;
use crate::store::{META_AUTHORITY_DID, META_MEMBER_ID, Store};

/// Opens the development member whose data lives in `data_dir` and starts its sequencer
/// (so it must run inside a Tokio runtime).
///
/// A new directory gets fresh keys. An existing one must hold the keys its data was issued
/// with: a node never silently starts signing with a key its stored credentials don't name.
///
/// # Errors
/// The store cannot be opened (locked by another node, corrupt), a key file is unreadable,
/// the keys do not belong to the stored data, or the log on disk is damaged.
pub fn open_development(data_dir: &Path, batching: BatchConfig) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let store = Store::open(&data_dir.join("db"))
        .with_context(|| format!("opening the store in {}", data_dir.join("db").display()))?;
    let fresh = store.meta(META_MEMBER_ID)?.is_none();
    if fresh && MemberKeys::exist(data_dir) {
        // Keys without a store means the database was lost, truncated or moved: starting
        // an empty log under the same keys would silently roll the member's history back.
        bail!(
            "{} has member keys but an empty store: the database was lost or moved. Restore {} (or remove {} to start a new member)",
            data_dir.display(),
            data_dir.join("db").display(),
            data_dir.join("keys").display()
        );
    }
    let keys = MemberKeys::load_or_generate(data_dir, fresh)?;
    let log_vkey =
        talent_core::tlog::checkpoint::verifier_key(DEV_LOG_ORIGIN, &keys.log.verifying_key());
    let member = MemberIdentity::development(keys.authority_did(), log_vkey);
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
                "{}: the stored credentials were issued by {stored_authority} but keys/authority.key is {authority}; restore the original key",
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
    let sequencer = Sequencer::start(Arc::clone(&log), batching);
    let schemas = Arc::new(SchemaSet::new());
    let issuance = Arc::new(IssuanceService::new(
        Arc::clone(&schemas),
        sequencer,
        keys.authority.clone(),
        member.id.clone(),
    ));
    Ok(AppState {
        store,
        schemas,
        member: Arc::new(member),
        issuance,
        log,
    })
}

/// Serves the API on `listener` until SIGINT or SIGTERM, then drains in-flight requests.
///
/// # Errors
/// The server fails to accept connections.
pub async fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    axum::serve(listener, crate::api::app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
