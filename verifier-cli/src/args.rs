//! Command-line arguments. Parsing only: no I/O happens here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Verify Chengdu–Chongqing talent credentials, offline or against a registry node.
///
/// Exit status: 0 valid, 1 not valid, 2 bad input or usage.
#[derive(Debug, Parser)]
#[command(name = "talent-verify", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Trust the certificates of this PEM file for nodes' HTTPS, beside the public web
    /// roots (a federation's own certificate authority).
    #[arg(long, global = true, value_name = "FILE", env = "TALENT_VERIFY_CA")]
    pub ca: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a credential (a signed VC, or an API response `{"credential": …}`).
    Verify(VerifyArgs),
    /// Transparency-log commands.
    #[command(subcommand)]
    Log(LogCommand),
    /// Explain whether a credential is recognised in a region: every agreement rule
    /// considered, and why it matched or not.
    Explain(ExplainArgs),
    /// Trust anchors for offline verification.
    #[command(subcommand)]
    Trust(TrustCommand),
}

/// `talent-verify trust …`.
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Fetch the federation's trust anchors (members, keys, quorum, every member's newest
    /// checkpoint) from a node, check them against a pinned federation configuration, and
    /// store them; `verify` then uses them when --trust is not given.
    Update(TrustUpdateArgs),
}

/// `talent-verify trust update`.
#[derive(Debug, clap::Args)]
pub struct TrustUpdateArgs {
    /// A federation member's node, e.g. http://127.0.0.1:7101.
    #[arg(long, value_name = "URL")]
    pub node: String,
    /// The pinned federation configuration (federation.toml) the anchors must match.
    #[arg(long, value_name = "FILE")]
    pub pin: PathBuf,
    /// Where to store them (default: $TALENT_VERIFY_TRUST, else
    /// ~/.config/talent-verify/trust.json).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// `talent-verify log …`.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Fetch a member's checkpoint and every tile, rebuild the tree, verify every entry and
    /// the checkpoint signature; with --state, prove the log only grew since the last audit.
    Audit(AuditArgs),
    /// Audit members' logs from outside, with no token and no member key: check every
    /// checkpoint of a log that its node and the other nodes hold (signatures, witness
    /// cosignatures) and prove them one append-only log from the public hash tiles; with
    /// --state, also consistent with the last run. Exit 0 consistent, 1 inconsistent (split
    /// view, rollback, fork, bad signature), 2 unreadable.
    PublicAudit(PublicAuditArgs),
}

/// `talent-verify log public-audit`.
#[derive(Debug, clap::Args)]
pub struct PublicAuditArgs {
    /// The pinned federation: a configuration (federation.toml) or stored trust anchors.
    /// Pins every member's log keys, witnesses and node endpoint.
    #[arg(long, value_name = "FILE")]
    pub trust: PathBuf,
    /// Directory of audit states, one `<member>.json` per member: read to prove the log
    /// only grew since the last run, then updated.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Audit only this member (default: every member).
    #[arg(long, value_name = "ID")]
    pub member: Option<String>,
    /// Nodes whose held checkpoints to compare (repeatable; default: every member's
    /// endpoint).
    #[arg(long, value_name = "URL")]
    pub node: Vec<String>,
    /// Read the member's checkpoint and hash tiles from this base URL instead of its node:
    /// a bucket or CDN the node publishes to (`serve --publish-s3`), holding them at the
    /// node's paths (`<base>/log/checkpoint`, `<base>/log/tile/…`). Needs --member.
    #[arg(long, value_name = "URL", requires = "member")]
    pub log_base: Option<String>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `talent-verify log audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The member node, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub node: String,
    /// State file: read (if it exists) to check consistency, then updated.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Sign the requests as this federation member (a federation node serves its tiles only
    /// to members); needs --key.
    #[arg(long, value_name = "ID", requires = "key")]
    pub member: Option<String>,
    /// The member's witness key file (`<data>/keys/witness.key`, a secret multikey).
    #[arg(long, value_name = "FILE", requires = "member")]
    pub key: Option<PathBuf>,
}

/// `talent-verify explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// What to verify, and how (one file; --as-region is required).
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// `talent-verify verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Credential files or directories of them (`*.json`), or `-` for standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also check log inclusion against this registry node (e.g. http://127.0.0.1:8080):
    /// its member key, checkpoint and inclusion proof are fetched and verified here.
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
    /// The federation to trust: a configuration (federation.toml) or trust anchors stored by
    /// `trust update`; pins the members' log keys, witnesses and authorities. Default: the
    /// stored anchors, when `trust update` has stored them. Needed for proof bundles; with
    /// --node, lets it check issuers of any member, not only its own.
    #[arg(long, value_name = "FILE")]
    pub trust: Option<PathBuf>,
    /// For a proof bundle: fail when the status it relies on is older than this (e.g. 90s,
    /// 30m, 12h, 7d; plain numbers are seconds).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub max_age: Option<i64>,
    /// For a proof bundle: do not require the federation's witness quorum on its checkpoint.
    #[arg(long)]
    pub no_quorum: bool,
    /// Also answer whether it is recognised in this region (a member id), from the region's
    /// logged recognition agreements: carried in the bundle (fetch it with ?asRegion=ID) or
    /// fetched from --node. Exit 0 only when valid and recognised.
    #[arg(long, value_name = "ID")]
    pub as_region: Option<String>,
    /// Print the verdict as JSON instead of a report.
    #[arg(long)]
    pub json: bool,
    /// With several credentials: print only the summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Verifier threads for several credentials (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Parses an age such as `90`, `90s`, `30m`, `12h` or `7d` into seconds.
fn parse_age(text: &str) -> Result<i64, String> {
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let value: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not an age like 90s, 30m, 12h or 7d"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}
