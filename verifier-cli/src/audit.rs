//! `talent-verify log audit`: a federation member's (or an operator's) full audit of one
//! log — every entry fetched, verified and admitted, the tree rebuilt — by
//! `talent_core::log_audit`, with the requests signed when a member key is given.

use std::io::Write;

use anyhow::Context;
use serde_json::json;
use talent_core::log_audit::{self, AuditError, AuditState};
use talent_integrity::did::DidKey;

use crate::args::AuditArgs;
use crate::online;

/// `talent-verify log audit`: `Ok(true)` when the log checks out (and the state file is
/// updated), `Ok(false)` when it served something inconsistent, an error when it could not
/// be read.
///
/// # Errors
/// The node, the key or the state file cannot be read.
pub fn run(args: &AuditArgs) -> anyhow::Result<bool> {
    let mut node = online::Node::new(&args.node)?;
    if let (Some(member), Some(key)) = (&args.member, &args.key) {
        let text =
            std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
        let seed = talent_integrity::multibase::decode_ed25519_secret(text.trim())
            .with_context(|| format!("{} is not an Ed25519 secret multikey", key.display()))?;
        node = node.sign_as(member, ed25519_dalek::SigningKey::from_bytes(&seed));
    }
    let member = node.member()?;
    let issuer: DidKey = member
        .authority_did
        .parse()
        .with_context(|| format!("{} announces an invalid authority DID", args.node))?;
    let previous: Option<AuditState> = match &args.state {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not an audit state file", path.display()))?,
            )
        }
        _ => None,
    };
    let mut issuers = talent_core::issuers::IssuerRegistry::new(
        member.id.clone(),
        issuer,
        talent_core::credential::Namespace::at(&member.public_url),
    )
    .with_former_namespaces(talent_core::credential::Namespace::each_at(
        &member.former_public_urls,
    ));
    let result = log_audit::audit(
        &member.log_origin,
        &member.log_vkey,
        member.log_sm2_vkey.as_deref(),
        &mut issuers,
        previous.as_ref(),
        |path| {
            node.bytes(&format!("/log/{path}"))
                .map_err(|error| format!("{error:#}"))
        },
    );
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(report) => {
            if let Some(path) = &args.state {
                let temporary = path.with_extension("tmp");
                std::fs::write(&temporary, serde_json::to_vec_pretty(&report.state)?)
                    .with_context(|| format!("writing {}", temporary.display()))?;
                std::fs::rename(&temporary, path)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if args.json {
                serde_json::to_writer_pretty(&mut stdout, &json!({"ok": true, "report": report}))?;
                writeln!(stdout)?;
            } else {
                writeln!(
                    stdout,
                    "✔ 审计通过 AUDIT OK  {}: {} entries, {} tiles verified, root {}",
                    report.state.origin, report.entries, report.tiles, report.state.root
                )?;
                if let Some(previous) = report.previous_size {
                    writeln!(
                        stdout,
                        "  consistent with the previous audit at size {previous} (no rollback, no fork)"
                    )?;
                }
            }
            Ok(true)
        }
        Err(error @ AuditError::Fetch { .. }) => Err(error.into()),
        Err(error) => {
            if args.json {
                serde_json::to_writer_pretty(
                    &mut stdout,
                    &json!({"ok": false, "error": error.to_string()}),
                )?;
                writeln!(stdout)?;
            } else {
                writeln!(
                    stdout,
                    "✘ 审计失败 AUDIT FAILED  {}: {error}",
                    member.log_origin
                )?;
            }
            Ok(false)
        }
    }
}
