//! `talent-verify`: the employer's verifier. Glue only: arguments → input → `talent_core`
//! verification (or a node's) → report. Exit 0 valid, 1 not valid, 2 bad input or usage.

mod args;
mod audit;
mod batch;
mod input;
mod online;
mod public_audit;
mod recognition;
mod report;
mod trust;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use talent_core::credential::{CredentialView, Namespace};
use talent_core::federation::Federation;
use talent_core::history::LogAnchors;
use talent_core::issuers::IssuerRegistry;
use talent_core::schema::SchemaSet;
use talent_core::verify::{
    IssuerContext, LogContext, LogEvidence, LogIdentity, Verdict, Verification, VerifyOptions,
    verify,
};
use talent_integrity::did::DidKey;

use crate::args::{Args, Command, ExplainArgs, LogCommand, TrustCommand, VerifyArgs};
use crate::input::{Document, Input};
use talent_core::proof_bundle::BundleOptions;
use talent_core::verify::CheckName;

// Issuance and verification allocate many small JSON values; mimalloc spends less time
// on them than the system allocator (measured with `perf`, docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What a run concluded, mapped to the exit status.
enum Outcome {
    Valid,
    NotValid,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            // --help and --version are not errors.
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    match run(args) {
        Ok(Outcome::Valid) => ExitCode::SUCCESS,
        Ok(Outcome::NotValid) => ExitCode::from(1),
        Err(error) => {
            // A closed pipe (`talent-verify … | head`) is not an error worth reporting.
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("talent-verify: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(args: Args) -> anyhow::Result<Outcome> {
    if let Some(ca) = &args.ca {
        online::trust_roots(ca)?;
    }
    match args.command {
        Command::Verify(verify) => run_verify(&verify),
        Command::Log(LogCommand::Audit(args)) => audit::run(&args).map(outcome),
        Command::Log(LogCommand::PublicAudit(audit)) => public_audit::run(&audit).map(outcome),
        Command::Explain(explain) => run_explain(&explain),
        Command::Trust(TrustCommand::Update(update)) => {
            trust::update(&update)?;
            Ok(Outcome::Valid)
        }
    }
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let inputs = input::collect(&args.files)?;
    if let [single] = inputs.as_slice() {
        return verify_one(args, single);
    }
    verify_many(args, &inputs)
}

fn verify_one(args: &VerifyArgs, input: &Input) -> anyhow::Result<Outcome> {
    let (verdict, recognition) = judge(args, input, args.as_region.as_deref())?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let mut value = serde_json::to_value(&verdict)?;
        if let (Some(answer), Some(object)) = (&recognition, value.as_object_mut()) {
            object.insert("recognition".into(), serde_json::to_value(answer)?);
        }
        serde_json::to_writer_pretty(&mut stdout, &value)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", report::render(&verdict))?;
        if let Some(answer) = &recognition {
            write!(stdout, "{}", recognition::render(answer))?;
        }
    }
    stdout.flush()?;
    Ok(outcome(
        verdict.verified && recognition.as_ref().is_none_or(|answer| answer.recognised),
    ))
}

/// `talent-verify explain --as-region ID FILE`: every agreement rule considered and why.
fn run_explain(args: &ExplainArgs) -> anyhow::Result<Outcome> {
    if args.verify.files.len() != 1 {
        bail!("explain takes one credential or bundle");
    }
    let inputs = input::collect(&args.verify.files)?;
    let [input] = inputs.as_slice() else {
        bail!("explain takes one credential or bundle");
    };
    let region = args
        .verify
        .as_region
        .as_deref()
        .context("explain needs --as-region ID")?;
    let (verdict, recognition) = judge(&args.verify, input, Some(region))?;
    let answer = recognition.context("no recognition was asked")?;
    let mut stdout = std::io::stdout().lock();
    if args.verify.json {
        serde_json::to_writer_pretty(&mut stdout, &answer)?;
        writeln!(stdout)?;
    } else {
        writeln!(
            stdout,
            "凭证 Credential   {} — {}",
            verdict.credential.id.clone().unwrap_or_default(),
            if verdict.verified {
                "有效 valid"
            } else {
                "无效 not valid"
            }
        )?;
        write!(stdout, "{}", recognition::render_explanation(&answer))?;
    }
    stdout.flush()?;
    Ok(outcome(verdict.verified && answer.recognised))
}

/// The verdict on one input and, when `as_region` is given, whether it is recognised there.
fn judge(
    args: &VerifyArgs,
    input: &Input,
    as_region: Option<&str>,
) -> anyhow::Result<(Verdict, Option<talent_core::recognition::Recognition>)> {
    let document = input.document()?;
    let schemas = SchemaSet::new();
    let trust = trust::for_verification(args.trust.as_deref())?;
    Ok(match document {
        Document::Bundle(bundle) => {
            let Verification {
                mut verdict,
                mut verified,
            } = bundle.verification(&bundle_options(args, &schemas, trust.as_ref())?)?;
            if let Some(url) = &args.node {
                use_current_status(&mut verdict, url, &bundle.credential)?;
                // A status the node reports now can fail what the bundle's passed.
                if !verdict.verified {
                    verified = None;
                }
            }
            let answer = as_region
                .map(|region| {
                    recognition::answer(
                        recognition::Source::Bundle(&bundle),
                        &bundle.credential,
                        verified.as_ref(),
                        region,
                        trust.as_ref(),
                    )
                })
                .transpose()?;
            (verdict, answer)
        }
        Document::Credential(credential) => {
            let Verification { verdict, verified } =
                verify_credential_input(args, &credential, &schemas, trust.as_ref())?;
            let answer = match (as_region, &args.node) {
                (None, _) => None,
                (Some(region), Some(url)) => Some(recognition::answer(
                    recognition::Source::Node(url),
                    &credential,
                    verified.as_ref(),
                    region,
                    trust.as_ref(),
                )?),
                (Some(_), None) => bail!(
                    "--as-region needs the region's agreements: give a proof bundle fetched with ?asRegion=ID, or --node URL"
                ),
            };
            (verdict, answer)
        }
    })
}

/// The verdict on a bare credential: offline, or with a node's evidence.
fn verify_credential_input(
    args: &VerifyArgs,
    credential: &Value,
    schemas: &SchemaSet,
    trust: Option<&Federation>,
) -> anyhow::Result<Verification> {
    Ok({
        match &args.node {
            Some(url) => verify_with_node(url, credential, schemas, trust)?,
            None => verify(
                credential,
                &VerifyOptions {
                    issuers: talent_core::verify::IssuerContext::NotRequested,
                    status: None,
                    now: chrono::Utc::now(),
                    schemas,
                    log: LogContext::NotRequested,
                },
            ),
        }
    })
}

fn outcome(valid: bool) -> Outcome {
    if valid {
        Outcome::Valid
    } else {
        Outcome::NotValid
    }
}

/// How to check bundles: against the pinned federation (required), with its witness quorum
/// unless `--no-quorum`, refusing a status older than `--max-age`.
fn bundle_options<'a>(
    args: &VerifyArgs,
    schemas: &'a SchemaSet,
    trust: Option<&'a Federation>,
) -> anyhow::Result<BundleOptions<'a>> {
    let Some(trust) = trust else {
        bail!(
            "a proof bundle is checked against a pinned federation: pass --trust federation.toml, or store the anchors first with `talent-verify trust update --node URL --pin federation.toml`"
        );
    };
    Ok(BundleOptions {
        now: chrono::Utc::now(),
        schemas,
        trust,
        require_quorum: !args.no_quorum,
        max_status_age: args.max_age,
    })
}

/// Replaces the bundle's status with the one `url` reports now (its verdict's status check).
fn use_current_status(verdict: &mut Verdict, url: &str, credential: &Value) -> anyhow::Result<()> {
    let remote = online::Node::new(url)?.verify(credential)?;
    let current = remote.check(CheckName::Status).cloned().with_context(|| {
        format!("{url} reported no status for the credential (is it in a log the node holds?)")
    })?;
    let mut current = current;
    current.detail = format!("{} (current, from {url})", current.detail);
    match verdict
        .checks
        .iter_mut()
        .find(|check| check.name == CheckName::Status)
    {
        Some(check) => *check = current,
        None => verdict.checks.push(current),
    }
    verdict.verified = verdict.checks.iter().all(|check| check.ok);
    Ok(())
}

/// Verifies many credentials on all cores; every input must at least be readable JSON.
fn verify_many(args: &VerifyArgs, inputs: &[Input]) -> anyhow::Result<Outcome> {
    if args.node.is_some() {
        bail!("--node takes a single credential");
    }
    if args.as_region.is_some() {
        bail!("--as-region takes a single credential or bundle");
    }
    let started = Instant::now();
    let schemas = SchemaSet::new();
    let trust = trust::for_verification(args.trust.as_deref())?;
    let bundles = match trust {
        Some(_) => Some(bundle_options(args, &schemas, trust.as_ref())?),
        None => None,
    };
    let options = VerifyOptions {
        issuers: talent_core::verify::IssuerContext::NotRequested,
        status: None,
        now: chrono::Utc::now(),
        schemas: &schemas,
        log: talent_core::verify::LogContext::NotRequested,
    };
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .max(1);
    let needs_trust = || {
        bundle_options(args, &schemas, None)
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("a bundle needs --trust"))
    };
    if args.json {
        let verdicts = batch::verify_all(
            inputs,
            threads,
            &options,
            bundles.as_ref(),
            needs_trust,
            |_, verdict| verdict,
        )?;
        let items: Vec<Value> = inputs
            .iter()
            .zip(&verdicts)
            .map(|(input, verdict)| json!({"file": input.name(), "verdict": verdict}))
            .collect();
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &items)?;
        writeln!(stdout)?;
        stdout.flush()?;
        return Ok(outcome(verdicts.iter().all(|verdict| verdict.verified)));
    }
    // Each thread keeps only what the report shows of a verdict: whether it passed, and its
    // line unless `--quiet`.
    let lines = batch::verify_all(
        inputs,
        threads,
        &options,
        bundles.as_ref(),
        needs_trust,
        |input, verdict| {
            let line = (!args.quiet).then(|| report::render_line(input.name(), &verdict));
            (verdict.verified, line)
        },
    )?;
    let elapsed = started.elapsed();
    let valid = lines.iter().filter(|(verified, _)| *verified).count();
    let mut stdout = std::io::stdout().lock();
    for line in lines.iter().filter_map(|(_, line)| line.as_ref()) {
        writeln!(stdout, "{line}")?;
    }
    let rate = lines.len() as f64 / elapsed.as_secs_f64().max(1e-9);
    writeln!(
        stdout,
        "{valid} 有效 valid, {} 无效 not valid, of {} credentials in {:.3} s ({rate:.0} credentials/s, {threads} threads)",
        lines.len() - valid,
        lines.len(),
        elapsed.as_secs_f64(),
    )?;
    stdout.flush()?;
    Ok(outcome(valid == lines.len()))
}

/// The log keys of a member: pinned by `trust` when given, else as the node announces its
/// own (trust on first use).
struct LogKeys {
    origin: String,
    vkey: String,
    /// A pinned member's SM2 log key; a node announces none (no `--trust`: not required).
    sm2_vkey: Option<String>,
    authority: DidKey,
    /// Where the member's credentials name the context and schemas: its endpoint, or the
    /// public URL the node announces.
    namespace: Namespace,
    /// Where they did before: former endpoints, or former public URLs the node announces.
    former_namespaces: Vec<Namespace>,
}

fn log_keys(
    region: &str,
    node_member: &online::Member,
    trust: Option<&Federation>,
) -> Result<LogKeys, String> {
    match trust {
        Some(federation) => federation
            .member(region)
            .map(|member| LogKeys {
                origin: member.log_origin.clone(),
                vkey: member.log_vkey.clone(),
                sm2_vkey: member.log_sm2_vkey.clone(),
                authority: member.authority.clone(),
                namespace: Namespace::at(&member.endpoint),
                former_namespaces: Namespace::each_at(&member.former_endpoints),
            })
            .ok_or_else(|| {
                format!(
                    "region {region:?} is not a member of the pinned federation {}",
                    federation.id
                )
            }),
        None if region == node_member.id => Ok(LogKeys {
            origin: node_member.log_origin.clone(),
            vkey: node_member.log_vkey.clone(),
            // As the node announces it: its checkpoints must then carry the SM2 line too.
            sm2_vkey: node_member.log_sm2_vkey.clone(),
            authority: node_member
                .authority_did
                .parse()
                .map_err(|error| format!("the node announces an invalid authority DID: {error}"))?,
            namespace: Namespace::at(&node_member.public_url),
            former_namespaces: Namespace::each_at(&node_member.former_public_urls),
        }),
        None => Err(format!(
            "checking an issuer of region {region:?} at a node of {} needs --trust federation.toml",
            node_member.id
        )),
    }
}

/// The issuer history of the credential's region, fetched from the node and verified here
/// against the region's (pinned or announced) log key.
fn fetch_issuer_registry(
    node: &online::Node,
    node_member: &online::Member,
    credential: &Value,
    trust: Option<&Federation>,
) -> anyhow::Result<Result<IssuerRegistry, String>> {
    let Some(region) = CredentialView::of(credential).region() else {
        return Ok(Err("the credential names no region".into()));
    };
    if region
        .parse::<talent_core::identifiers::RegionId>()
        .is_err()
    {
        return Ok(Err(format!("region {region:?} is not a member id")));
    }
    let keys = match log_keys(region, node_member, trust) {
        Ok(keys) => keys,
        Err(reason) => return Ok(Err(reason)),
    };
    let Some(history) = node.issuer_history(region)? else {
        return Ok(Err(format!(
            "the node holds no issuer history of {region:?}"
        )));
    };
    Ok(history
        .verify(&LogAnchors {
            member: region,
            origin: &keys.origin,
            log_vkey: &keys.vkey,
            sm2_vkey: keys.sm2_vkey.as_deref(),
            authority: &keys.authority,
            namespace: keys.namespace,
            former_namespaces: keys.former_namespaces,
        })
        .map(|(registry, _)| registry)
        .map_err(|error| {
            format!("the issuer history of {region} served by the node does not verify: {error}")
        }))
}

/// Verifies here, with the evidence the node holds: the log key (pinned by --trust, else as
/// the node announces it), checkpoint and inclusion proof of the credential, and the issuer
/// history of its region (accreditations, rotations, withdrawals), all checked locally.
fn verify_with_node(
    url: &str,
    credential: &Value,
    schemas: &SchemaSet,
    trust: Option<&Federation>,
) -> anyhow::Result<Verification> {
    let node = online::Node::new(url)?;
    let member = node.member()?;
    let own_keys = log_keys(&member.id, &member, trust).ok();
    let id = credential["id"].as_str().unwrap_or_default();
    let found = if id.is_empty() {
        None
    } else {
        node.log_proof(id)?
    };
    let log = match (&found, &own_keys) {
        // The node's own log; its witnesses are pinned with trust bundles, not here.
        (Some(found), Some(keys)) => LogContext::Evidence(LogEvidence::new(
            LogIdentity {
                member: &member.id,
                origin: &keys.origin,
                vkey: &keys.vkey,
                sm2_vkey: keys.sm2_vkey.as_deref(),
            },
            &found.checkpoint,
            &found.proof,
        )),
        (Some(_), None) => LogContext::Missing(format!(
            "{url} (member {}) is not a member of the pinned federation",
            member.id
        )),
        (None, _) => LogContext::Missing(format!(
            "{url} (member {}) has no log entry for {id:?}",
            member.id
        )),
    };
    let registry = fetch_issuer_registry(&node, &member, credential, trust)?;
    let region_is_node = CredentialView::of(credential).region() == Some(member.id.as_str());
    let issuers = match &registry {
        Ok(registry) => IssuerContext::Registry {
            registry,
            position: found
                .as_ref()
                .filter(|_| region_is_node)
                .map(|found| found.proof.leaf_index),
        },
        Err(reason) => IssuerContext::Missing(reason.clone()),
    };
    Ok(verify(
        credential,
        &VerifyOptions {
            issuers,
            status: None,
            now: chrono::Utc::now(),
            schemas,
            log,
        },
    ))
}
