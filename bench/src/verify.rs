//! `talent-bench verify`: the offline verification rate of the release `talent-verify`
//! over N generated credentials, next to the raw verify rate of this machine for the
//! credentials' signature (Ed25519, or SM2 with `--suite sm2-jcs-2025`).
//!
//! The credentials are signed documents of every talent type, written one `*.json` per
//! credential into a temporary directory; `talent-verify verify --quiet DIR` verifies them
//! all on all cores (reading, parsing and checking groups of 256 per thread, Ed25519
//! signatures as one batch, SM2 signatures one by one) and prints its own rate, and the
//! whole process is also timed from spawn to exit (start-up and listing the directory
//! included).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use talent_core::schema::SchemaSet;
use talent_core::verify::{LogContext, VerifyOptions, verify_credential, verify_credentials};
use talent_integrity::proof::{self, ASSERTION_METHOD};

use crate::binaries;
use crate::corpus;
use crate::limits::{self, CPU_BUDGET, MAX_OPS};
use crate::procfs::{self, Machine};
use crate::report::{self, Table, thousands};

/// The target of issue 6: `eddsa-jcs-2022` credentials/s verified on 2 cores.
const TARGET_CREDENTIALS_PER_SECOND: f64 = 45_000.0;
/// The target of issue 21: `sm2-jcs-2025` credentials verified at this share of the SM2
/// verify limit on all cores.
const TARGET_SM2_SHARE: f64 = 0.70;
/// Signatures per batch of the Ed25519 batch-verification limit.
const VERIFY_BATCH: usize = 64;
/// Credentials per group in `talent-verify` (its `batch::GROUP`), for the in-process row.
const CLI_GROUP: usize = 256;
/// How long `talent-verify` may run before it is killed.
const CLI_DEADLINE: Duration = Duration::from_secs(600);

/// `talent-bench verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Credentials to generate and verify.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    pub count: u64,
    /// Threads for `talent-verify` and for the all-cores Ed25519 limit [default: all cores].
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: Option<u64>,
    /// Directory of issuance request bodies to make credentials from.
    #[arg(long, value_name = "DIR", default_value_os_t = corpus::default_examples_dir())]
    pub examples: PathBuf,
    /// Where to create the temporary credential directory [default: the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Keep the credential directory instead of deleting it at the end (for profiling).
    #[arg(long)]
    pub keep_scratch: bool,
    /// The cryptosuite the credentials are signed with.
    #[arg(long, value_enum, default_value_t = corpus::Suite::EddsaJcs2022)]
    pub suite: corpus::Suite,
}

/// What `talent-verify` printed as its last line.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    valid: u64,
    total: u64,
    seconds: f64,
    rate: f64,
    threads: u64,
}

/// Parses `V 有效 valid, X 无效 not valid, of N credentials in S s (R credentials/s, T threads)`.
fn parse_summary(line: &str) -> Option<Summary> {
    let valid = line.split_whitespace().next()?.parse().ok()?;
    let (_, rest) = line.split_once(" of ")?;
    let words: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ','))
        .filter(|word| !word.is_empty())
        .collect();
    match words.as_slice() {
        [
            total,
            "credentials",
            "in",
            seconds,
            "s",
            rate,
            "credentials/s",
            threads,
            "threads",
        ] => Some(Summary {
            valid,
            total: total.parse().ok()?,
            seconds: seconds.parse().ok()?,
            rate: rate.parse().ok()?,
            threads: threads.parse().ok()?,
        }),
        _ => None,
    }
}

/// Runs the benchmark and prints its table.
///
/// # Errors
/// `talent-verify` is missing or failed, or the credentials could not be generated.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let machine = Machine::current();
    println!("{}", report::header("verify", &machine));
    let talent_verify = binaries::sibling("talent-verify")?;
    let threads = match args.threads {
        Some(threads) => usize::try_from(threads).context("--threads")?,
        None => procfs::available_cores(),
    };

    let examples = corpus::load_examples(&args.examples)?;
    let mut scratch = tempfile::Builder::new();
    scratch
        .prefix("talent-bench-verify-")
        .disable_cleanup(args.keep_scratch);
    let dir = match &args.scratch {
        Some(parent) => scratch.tempdir_in(parent),
        None => scratch.tempdir(),
    }
    .context("creating the credential directory")?;
    let types: Vec<&str> = examples
        .iter()
        .map(|example| example.credential_type.as_str())
        .collect();
    let suite = args.suite;
    println!(
        "generating {} {} credentials ({}) in {} …",
        thousands(args.count as f64),
        suite.name(),
        types.join(", "),
        dir.path().display()
    );
    let sample = corpus::write_credentials(dir.path(), args.count, &examples, suite)?;

    println!("measuring limits (about {} s) …", 8 * CPU_BUDGET.as_secs());
    let (signature, verify_one_core, verify_all_cores) = match suite {
        corpus::Suite::EddsaJcs2022 => (
            "Ed25519",
            limits::ed25519_verify(1)?,
            limits::ed25519_verify(threads)?,
        ),
        corpus::Suite::Sm2Jcs2025 => ("SM2", limits::sm2_verify(1)?, limits::sm2_verify(threads)?),
    };
    // SM2 signatures are verified one by one: the batch limits are Ed25519's only.
    let batch = match suite {
        corpus::Suite::EddsaJcs2022 => Some((
            limits::ed25519_batch_verify(1, VERIFY_BATCH)?,
            limits::ed25519_batch_verify(threads, VERIFY_BATCH)?,
        )),
        corpus::Suite::Sm2Jcs2025 => None,
    };
    let jcs = limits::jcs_sha256(&sample)?;
    let schemas = SchemaSet::new();
    let options = VerifyOptions {
        issuers: talent_core::verify::IssuerContext::NotRequested,
        status: None,
        now: chrono::Utc::now(),
        schemas: &schemas,
        log: LogContext::NotRequested,
    };
    let proof_only = limits::measure(CPU_BUDGET, MAX_OPS, |_| {
        proof::verify(&sample, ASSERTION_METHOD)?;
        Ok(())
    })?;
    let pipeline = limits::measure(CPU_BUDGET, MAX_OPS, |_| {
        ensure!(
            verify_credential(&sample, &options).verified,
            "the sample credential does not verify"
        );
        Ok(())
    })?;
    // What talent-verify does per group: the same checks, signatures as one batch.
    let group: Vec<&serde_json::Value> = vec![&sample; CLI_GROUP];
    let mut keys = talent_integrity::did::KeyCache::new();
    let batched = limits::measure(CPU_BUDGET, MAX_OPS, |_| {
        let verdicts = verify_credentials(&group, &options, &mut keys);
        ensure!(
            verdicts.iter().all(|verdict| verdict.verified),
            "the sample credential does not verify in a batch"
        );
        Ok(())
    })?;
    let batched = limits::Rate {
        ops: batched.ops * CLI_GROUP as u64,
        elapsed: batched.elapsed,
    };

    println!(
        "running {} verify --quiet --threads {threads} {} …",
        talent_verify.display(),
        dir.path().display()
    );
    let mut command = Command::new(&talent_verify);
    command
        .args(["verify", "--quiet", "--threads", &threads.to_string()])
        .arg(dir.path());
    let timed = binaries::run_with_deadline(command, CLI_DEADLINE)?;
    let stdout = String::from_utf8_lossy(&timed.output.stdout);
    let stderr = String::from_utf8_lossy(&timed.output.stderr);
    let Some(summary) = stdout.lines().rev().find_map(parse_summary) else {
        bail!(
            "talent-verify printed no summary line ({}):\n{stdout}{stderr}",
            timed.output.status
        );
    };
    if summary.total != args.count || summary.valid != summary.total {
        bail!(
            "talent-verify found {} of {} credentials valid, expected all {} ({}): {}",
            summary.valid,
            summary.total,
            args.count,
            timed.output.status,
            stdout.trim()
        );
    }
    let wall_rate = args.count as f64 / timed.wall.as_secs_f64().max(1e-9);

    let on_threads = report::count(threads as u64, "thread", "threads");
    println!();
    let mut table = Table::new(&["verification", "per second", "time"]);
    table.row(vec![
        format!(
            "talent-verify, {} credentials, {}: pipeline (as it reports)",
            thousands(args.count as f64),
            report::count(summary.threads, "thread", "threads")
        ),
        thousands(summary.rate),
        format!("{:.3} s", summary.seconds),
    ]);
    table.row(vec![
        "talent-verify, whole process (wall clock, start-up and file reads included)".into(),
        thousands(wall_rate),
        format!("{:.3} s", timed.wall.as_secs_f64()),
    ]);
    table.row(vec![
        "in-process verify_credential (schema, proof, issuer, validity), 1 core".into(),
        thousands(pipeline.per_second()),
        format!("{:.1} µs each", pipeline.mean().as_secs_f64() * 1e6),
    ]);
    table.row(vec![
        format!("in-process verify_credentials, batches of {CLI_GROUP}, 1 core"),
        thousands(batched.per_second()),
        format!("{:.1} µs each", batched.mean().as_secs_f64() * 1e6),
    ]);
    table.row(vec![
        format!("in-process {} proof::verify only, 1 core", suite.name()),
        thousands(proof_only.per_second()),
        format!("{:.1} µs each", proof_only.mean().as_secs_f64() * 1e6),
    ]);
    table.row(vec![
        format!("limit: {signature} verify of 64 bytes, 1 core"),
        thousands(verify_one_core.per_second()),
        format!(
            "{:.1} µs each",
            1e6 / verify_one_core.per_second().max(1e-9)
        ),
    ]);
    table.row(vec![
        format!("limit: {signature} verify of 64 bytes, {on_threads}"),
        thousands(verify_all_cores.per_second()),
        String::new(),
    ]);
    if let Some((batch_one_core, batch_all_cores)) = &batch {
        table.row(vec![
            format!("limit: Ed25519 batch verify (batches of {VERIFY_BATCH}), 1 core"),
            thousands(batch_one_core.per_second()),
            format!("{:.1} µs each", 1e6 / batch_one_core.per_second().max(1e-9)),
        ]);
        table.row(vec![
            format!("limit: Ed25519 batch verify (batches of {VERIFY_BATCH}), {on_threads}"),
            thousands(batch_all_cores.per_second()),
            String::new(),
        ]);
    }
    table.row(vec![
        "limit: JCS + SHA-256 of one credential, 1 core".into(),
        thousands(jcs.per_second()),
        format!("{:.1} µs each", jcs.mean().as_secs_f64() * 1e6),
    ]);
    print!("{}", table.render());
    println!();
    let share = summary.rate / verify_all_cores.per_second().max(1e-9);
    match suite {
        corpus::Suite::EddsaJcs2022 => println!(
            "talent-verify reaches {:.0} % of the raw Ed25519 verify rate on {on_threads} \
             (pipeline time); target (issue 6): ≥ {} credentials/s on 2 cores.",
            100.0 * share,
            thousands(TARGET_CREDENTIALS_PER_SECOND),
        ),
        corpus::Suite::Sm2Jcs2025 => println!(
            "talent-verify reaches {:.0} % of the raw SM2 verify rate on {on_threads} \
             (pipeline time); target (issue 21): ≥ {:.0} % on 2 cores.",
            100.0 * share,
            100.0 * TARGET_SM2_SHARE,
        ),
    }
    if args.keep_scratch {
        println!("credential directory kept: {}", dir.path().display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cli_summary() {
        let line = "20000 有效 valid, 0 无效 not valid, of 20000 credentials in 1.234 s \
                    (16207 credentials/s, 2 threads)";
        assert_eq!(
            parse_summary(line),
            Some(Summary {
                valid: 20000,
                total: 20000,
                seconds: 1.234,
                rate: 16207.0,
                threads: 2,
            })
        );
        assert_eq!(parse_summary("✔ 有效 VALID  a.json"), None);
    }
}
