//! `registry-node backup` and `registry-node restore` (docs/operations.md, "Backup and
//! restore"). A running node holds its store's lock, so its backup is written by the node
//! itself (`--node`: `POST /api/v1/admin/backup`); a stopped node's data directory is
//! opened here (`--data`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use registry_node::backup::{self, BackupSource, Manifest};
use registry_node::store::Store;
use serde_json::{Value, json};

/// How long a node may take to write a backup before the command gives up waiting (the
/// node finishes it all the same).
const ONLINE_TIMEOUT: Duration = Duration::from_secs(3600);

/// Where a backup is taken from.
#[derive(Debug, Clone)]
pub enum BackupFrom<'a> {
    /// The running node at this URL, with an admin token.
    Node {
        /// Its base URL.
        url: &'a str,
        /// An admin token.
        token: &'a str,
    },
    /// The stopped node's data directory.
    Data(&'a Path),
}

/// Writes a verified backup into `to` and prints what it holds.
///
/// # Errors
/// The node refused (its code and message), the data directory cannot be opened (a node
/// runs on it), or the backup failed.
pub fn back_up(from: &BackupFrom<'_>, to: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let summary = match from {
        BackupFrom::Node { url, token } => online(url, token, to)?,
        BackupFrom::Data(data) => {
            let manifest = offline(data, to)?;
            json!({
                "backup": to,
                "formatVersion": manifest.format_version,
                "member": manifest.member,
                "created": manifest.created,
                "log": manifest.log,
                "files": manifest.files.len(),
            })
        }
    };
    writeln!(
        out,
        "backup of {} written to {} and verified: log size {}, root {}, format version {}, {} files",
        summary["member"].as_str().unwrap_or("?"),
        to.display(),
        summary["log"]["size"],
        summary["log"]["root"].as_str().unwrap_or("?"),
        summary["formatVersion"],
        summary["files"]
    )?;
    Ok(())
}

/// Asks the node at `url` to write the backup.
fn online(url: &str, token: &str, to: &Path) -> anyhow::Result<Value> {
    if !to.is_absolute() {
        bail!(
            "--to {} must be an absolute path on the node's machine (inside its --backup-dir)",
            to.display()
        );
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(ONLINE_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")?;
    let endpoint = format!("{}/api/v1/admin/backup", url.trim_end_matches('/'));
    let response = client
        .post(&endpoint)
        .bearer_auth(token)
        .json(&json!({"to": to}))
        .send()
        .with_context(|| format!("POST {endpoint}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .with_context(|| format!("reading the answer of {endpoint} ({status})"))?;
    if !status.is_success() {
        bail!(
            "the node refused the backup ({status} {}): {}",
            body["code"].as_str().unwrap_or("?"),
            body["message"].as_str().unwrap_or("")
        );
    }
    Ok(body)
}

/// Opens the stopped node's store in `data` and writes the backup here.
fn offline(data: &Path, to: &Path) -> anyhow::Result<Manifest> {
    let personal = registry_node::keys::load_personal(data)
        .with_context(|| format!("loading the personal-data keys of {}", data.display()))?;
    let store = Store::open(&data.join("db"), personal).with_context(|| {
        format!(
            "opening the store in {} (if its node is running, back up through it with --node)",
            data.join("db").display()
        )
    })?;
    let note = store
        .checkpoint()?
        .with_context(|| format!("{} holds no log", data.display()))?;
    // The origin is the note's first line; the backup's verification checks the note's
    // signature under that origin with the member's log key.
    let origin = String::from_utf8_lossy(&note)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let source = BackupSource {
        store: &store,
        data_dir: data,
        log_origin: &origin,
        gate: None,
    };
    Ok(backup::create(&source, to)?)
}

/// Verifies the backup `from` and restores it into `data`, printing what was done.
///
/// # Errors
/// The backup does not verify, `data` is not empty without `force`, or a file operation
/// failed.
pub fn restore(from: &Path, data: &Path, force: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let outcome = backup::restore(from, data, force)?;
    if let Some(aside) = &outcome.moved_aside {
        writeln!(
            out,
            "the previous data directory was moved to {}",
            aside.display()
        )?;
    }
    writeln!(
        out,
        "restored {} into {}: log size {}, root {}, format version {}; the node checks with its peers before it appends",
        from.display(),
        data.display(),
        outcome.manifest.log.size,
        outcome.manifest.log.root,
        outcome.manifest.format_version
    )?;
    Ok(())
}
