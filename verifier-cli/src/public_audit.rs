//! `talent-verify log public-audit`: an outside auditor's check of members' logs with no
//! token and no member key. Glue only: fetch what is public (checkpoints from each member's
//! node, the checkpoints every node holds of the others, hash tiles) and hand it to
//! `talent_core::public_audit`, which decides.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use talent_core::federation::{Federation, Member};
use talent_core::log_audit::AuditState;
use talent_core::public_audit::{self, PublicAuditReport, View, Views};

use crate::args::PublicAuditArgs;
use crate::online;

/// What one member's audit concluded.
enum Finding {
    Consistent(PublicAuditReport),
    /// The log served something it must not have (exit 1).
    Inconsistent(String),
    /// Something could not be read (exit 2).
    Unreadable(String),
}

/// The checkpoints a node holds of every member's log (`GET /api/v1/federation/trust`).
struct HeldCheckpoints {
    node: String,
    checkpoints: Result<Value, String>,
}

/// Runs the audit; `Ok(true)` when every audited log is consistent, `Ok(false)` when one is
/// not, an error when a log could not be read (and none was found inconsistent).
///
/// # Errors
/// Unreadable configuration, state or log.
pub fn run(args: &PublicAuditArgs) -> anyhow::Result<bool> {
    let federation = crate::trust::load(&args.trust)?;
    let members: Vec<&Member> = match &args.member {
        Some(id) => vec![federation.member(id).with_context(|| {
            format!(
                "{id:?} is not a member of the pinned federation {}",
                federation.id
            )
        })?],
        None => federation.members().iter().collect(),
    };
    let nodes: Vec<String> = if args.node.is_empty() {
        federation
            .members()
            .iter()
            .map(|member| member.endpoint.clone())
            .collect()
    } else {
        args.node.clone()
    };
    // Every node's held checkpoints first, each member's own checkpoint after: a log that
    // grows meanwhile still serves the largest view.
    let held: Vec<HeldCheckpoints> = nodes.iter().map(|node| held_checkpoints(node)).collect();
    let mut findings = Vec::new();
    for member in members {
        let finding = audit_member(
            &federation,
            member,
            &held,
            args.state.as_deref(),
            args.log_base.as_deref(),
        )?;
        findings.push((member.id.to_string(), finding));
    }
    print(&findings, args.json)?;
    let inconsistent = findings
        .iter()
        .any(|(_, finding)| matches!(finding, Finding::Inconsistent(_)));
    let unreadable = findings
        .iter()
        .filter_map(|(member, finding)| match finding {
            Finding::Unreadable(reason) => Some(format!("{member}: {reason}")),
            _ => None,
        })
        .collect::<Vec<_>>();
    if !inconsistent && !unreadable.is_empty() {
        bail!("could not read: {}", unreadable.join("; "));
    }
    Ok(!inconsistent)
}

fn held_checkpoints(node: &str) -> HeldCheckpoints {
    let checkpoints = online::Node::new(node)
        .and_then(|client| client.bytes("/api/v1/federation/trust"))
        .and_then(|bytes| Ok(serde_json::from_slice::<Value>(&bytes)?))
        .map_err(|error| format!("{error:#}"))
        .and_then(|body| match body.get("checkpoints") {
            Some(Value::Object(_)) => Ok(body["checkpoints"].clone()),
            _ => Err(format!(
                "{node}/api/v1/federation/trust holds no checkpoints"
            )),
        });
    HeldCheckpoints {
        node: node.trim_end_matches('/').to_owned(),
        checkpoints,
    }
}

fn audit_member(
    federation: &Federation,
    member: &Member,
    held: &[HeldCheckpoints],
    state_dir: Option<&Path>,
    log_base: Option<&str>,
) -> anyhow::Result<Finding> {
    let id = member.id.as_str();
    let own_node = member.endpoint.trim_end_matches('/');
    // The checkpoint and tiles may come from a published copy: they are checked against the
    // pinned keys all the same, so where they come from needs no trust.
    let log_source = log_base.map_or(own_node, |base| base.trim_end_matches('/'));
    let mut views = Vec::new();
    // Nodes that could not be read: the audit still checks what the others hold, but
    // cannot pass (a hidden view may be the split one).
    let mut unread = Vec::new();
    for node in held.iter().filter(|node| node.node != own_node) {
        let checkpoints = match &node.checkpoints {
            Ok(checkpoints) => checkpoints,
            Err(reason) => {
                unread.push(reason.clone());
                continue;
            }
        };
        // A node that holds no checkpoint of the log yet has no view to compare.
        if let Some(note) = checkpoints[id].as_str() {
            views.push(View {
                source: format!("{}/api/v1/federation/trust", node.node),
                note: note.as_bytes().to_vec(),
            });
        }
    }
    let client = online::Node::new(log_source)?;
    let own = match client.bytes("/log/checkpoint") {
        Ok(note) => View {
            source: format!("{log_source}/log/checkpoint"),
            note,
        },
        Err(error) => return Ok(Finding::Unreadable(format!("{error:#}"))),
    };
    let state_file = state_dir.map(|dir| dir.join(format!("{id}.json")));
    let previous = read_state(state_file.as_deref())?;
    let result = public_audit::audit(
        member,
        &federation.cosigners_of(id),
        &Views {
            own,
            held: views,
            previous: previous.as_ref(),
        },
        |path| {
            client
                .bytes(&format!("/log/{path}"))
                .map_err(|error| format!("{error:#}"))
        },
    );
    Ok(match result {
        Ok(report) => {
            // What was read is consistent: the state may advance even if a node was down.
            if let Some(path) = &state_file {
                write_state(path, &report.state)?;
            }
            if unread.is_empty() {
                Finding::Consistent(report)
            } else {
                Finding::Unreadable(format!(
                    "the {} views read are consistent, but: {}",
                    report.views.len(),
                    unread.join("; ")
                ))
            }
        }
        Err(error) if error.is_unreadable() => Finding::Unreadable(error.to_string()),
        Err(error) => Finding::Inconsistent(error.to_string()),
    })
}

fn read_state(path: Option<&Path>) -> anyhow::Result<Option<AuditState>> {
    let Some(path) = path.filter(|path| path.exists()) else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(serde_json::from_str(&text).with_context(|| {
        format!("{} is not an audit state file", path.display())
    })?))
}

/// Writes the state through a temporary file and a rename.
fn write_state(path: &PathBuf, state: &AuditState) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

fn print(findings: &[(String, Finding)], as_json: bool) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if as_json {
        let members: Vec<Value> = findings
            .iter()
            .map(|(member, finding)| match finding {
                Finding::Consistent(report) => {
                    json!({"member": member, "ok": true, "report": report})
                }
                Finding::Inconsistent(error) => {
                    json!({"member": member, "ok": false, "error": error})
                }
                Finding::Unreadable(error) => {
                    json!({"member": member, "ok": false, "unreadable": error})
                }
            })
            .collect();
        let ok = findings
            .iter()
            .all(|(_, finding)| matches!(finding, Finding::Consistent(_)));
        serde_json::to_writer_pretty(&mut stdout, &json!({"ok": ok, "members": members}))?;
        writeln!(stdout)?;
        return Ok(());
    }
    for (member, finding) in findings {
        match finding {
            Finding::Consistent(report) => {
                writeln!(
                    stdout,
                    "✔ 公开审计通过 PUBLIC AUDIT OK  {member} ({}): size {}, root {}; {} views consistent, {} consistency proofs from {} hash tiles",
                    report.state.origin,
                    report.state.size,
                    report.state.root,
                    report.views.len(),
                    report.proofs,
                    report.tiles
                )?;
                for view in &report.views {
                    writeln!(
                        stdout,
                        "    size {:>8}  {} cosigners  {}",
                        view.size,
                        view.cosigners.len(),
                        view.source
                    )?;
                }
                if let Some(previous) = report.previous_size {
                    writeln!(
                        stdout,
                        "    consistent with the previous audit at size {previous} (no rollback, no fork)"
                    )?;
                }
            }
            Finding::Inconsistent(error) => {
                writeln!(
                    stdout,
                    "✘ 公开审计失败 PUBLIC AUDIT FAILED  {member}: {error}"
                )?;
            }
            Finding::Unreadable(error) => {
                writeln!(stdout, "? 无法读取 UNREADABLE  {member}: {error}")?;
            }
        }
    }
    stdout.flush()?;
    Ok(())
}
