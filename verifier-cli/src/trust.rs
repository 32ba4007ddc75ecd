//! `talent-verify trust update`: fetch a node's trust anchors, check them against the pinned
//! federation configuration, and store them for offline verification; and where the stored
//! anchors live.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use talent_core::federation::Federation;
use talent_core::trust::TrustAnchors;

use crate::args::TrustUpdateArgs;
use crate::online;

/// Environment variable naming the trust file (overrides the default location).
pub const TRUST_FILE_ENV: &str = "TALENT_VERIFY_TRUST";

/// Where the stored trust anchors are: `--store`, else `$TALENT_VERIFY_TRUST`, else
/// `$XDG_CONFIG_HOME/talent-verify/trust.json`, else `~/.config/talent-verify/trust.json`.
pub fn default_store() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(TRUST_FILE_ENV) {
        return Some(PathBuf::from(path));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("talent-verify").join("trust.json"))
}

/// Reads the federation to trust from `path`: a federation configuration (TOML) or stored
/// trust anchors (JSON, as `trust update` writes them).
///
/// # Errors
/// The file cannot be read or is neither.
pub fn load(path: &Path) -> anyhow::Result<Federation> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        let anchors: TrustAnchors = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a trust file", path.display()))?;
        return anchors
            .federation()
            .with_context(|| format!("{}: the stored federation", path.display()));
    }
    Federation::parse(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// The federation to trust for a verification: `--trust FILE`, else the stored anchors when
/// they exist.
///
/// # Errors
/// As [`load`].
pub fn for_verification(explicit: Option<&Path>) -> anyhow::Result<Option<Federation>> {
    match explicit {
        Some(path) => load(path).map(Some),
        None => match default_store().filter(|path| path.exists()) {
            Some(path) => load(&path).map(Some),
            None => Ok(None),
        },
    }
}

/// `talent-verify trust update --node URL --pin federation.toml [--store FILE]`.
///
/// # Errors
/// Unreachable node, anchors that differ from the pin, a checkpoint that does not verify or
/// went back, or a store that cannot be written.
pub fn update(args: &TrustUpdateArgs) -> anyhow::Result<()> {
    let pinned_text = std::fs::read_to_string(&args.pin)
        .with_context(|| format!("reading {}", args.pin.display()))?;
    let pinned = Federation::parse(&pinned_text)
        .map_err(|error| anyhow::anyhow!("{}: {error}", args.pin.display()))?;
    let store = match &args.store {
        Some(path) => path.clone(),
        None => default_store().context(
            "no place to store the trust anchors: pass --store FILE or set TALENT_VERIFY_TRUST",
        )?,
    };
    let node = online::Node::new(&args.node)?;
    let bytes = node.bytes("/api/v1/federation/trust")?;
    let served: TrustAnchors = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: the served trust anchors are not valid", args.node))?;
    let stored = match std::fs::read_to_string(&store) {
        Ok(text) => Some(
            serde_json::from_str::<TrustAnchors>(&text).with_context(|| {
                format!(
                    "{}: the stored trust anchors are not valid",
                    store.display()
                )
            })?,
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            return Err(error).with_context(|| format!("reading {}", store.display()));
        }
    };
    let heads = served
        .check(&pinned, stored.as_ref())
        .with_context(|| format!("{} serves trust anchors that do not hold", args.node))?;
    if heads.is_empty() {
        bail!("{} served no checkpoint of any member", args.node);
    }
    write_atomically(&store, &serde_json::to_vec_pretty(&served)?)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "trust anchors of {} ({}) from {}: {} members, witness quorum {}",
        pinned.id,
        pinned.name_zh,
        args.node,
        pinned.members().len(),
        pinned.witness_quorum
    )?;
    for head in &heads {
        writeln!(
            stdout,
            "  {:<8} log size {:>8}, cosigned by {} of {} required{}",
            head.member,
            head.size,
            head.cosigners.len(),
            pinned.witness_quorum,
            if head.cosigners.is_empty() {
                String::new()
            } else {
                format!(" ({})", head.cosigners.join(", "))
            }
        )?;
    }
    writeln!(stdout, "stored in {}", store.display())?;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of either.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}
