//! `registry-node demo`: the five-member Chengdu–Chongqing federation on this machine.
//!
//! Starts one `registry-node serve` process per member of the configuration (dev-only keys,
//! data under one directory), issues a sample credential of every type at each member,
//! waits until every member verifies every other member's credentials from its mirror with
//! the witness quorum, prints what happened and what to try next, and keeps the federation
//! running until Ctrl-C.
//!
//! The members live no longer than the demo. At SIGINT or SIGTERM (Ctrl-C, systemd, a
//! container stopping), at any point, the demo sends each member SIGTERM, waits for them
//! ([`MEMBER_STOP_TIMEOUT`]) and kills those still running. If the demo itself dies without
//! a word (SIGKILL, a crash), each member sees its standard input, a pipe whose other end
//! only the demo held, close, and stops as on SIGTERM (`serve --stop-when-stdin-closes`,
//! [`stop_when_stdin_closes`]).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use talent_core::federation::{Federation, Member};

/// The request bodies of the samples, one per credential type (the files in
/// `docs/examples/`, compiled in so the demo needs nothing but the configuration).
const SAMPLES: [(&str, &str); 7] = [
    (
        "GoldenPhoenixTalentCredential",
        include_str!("../../../docs/examples/GoldenPhoenixTalentCredential.json"),
    ),
    (
        "ProfessionalTitleCredential",
        include_str!("../../../docs/examples/ProfessionalTitleCredential.json"),
    ),
    (
        "SkillLevelCredential",
        include_str!("../../../docs/examples/SkillLevelCredential.json"),
    ),
    (
        "ProfessionalQualificationCredential",
        include_str!("../../../docs/examples/ProfessionalQualificationCredential.json"),
    ),
    (
        "TalentServiceCardCredential",
        include_str!("../../../docs/examples/TalentServiceCardCredential.json"),
    ),
    (
        "IssuerAccreditationCredential",
        include_str!("../../../docs/examples/IssuerAccreditationCredential.json"),
    ),
    (
        "RecognitionAgreementCredential",
        include_str!("../../../docs/examples/RecognitionAgreementCredential.json"),
    ),
];

/// How long the demo waits for the federation to start and converge.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the members may take to stop after SIGTERM before they are killed. A member
/// finishes the requests it has started and closes; every write it acknowledged is
/// already synced, so a kill after this loses nothing acknowledged.
pub const MEMBER_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The member processes; stopped ([`Members::stop`]) when dropped.
struct Members {
    /// Member id and process. Each process's standard input is a pipe whose write end
    /// only this process holds (std opens pipes close-on-exec, so no other member
    /// inherits it): it closes when the demo exits, however it exits.
    children: Vec<(String, Child)>,
}

impl Members {
    /// Sends every member SIGTERM, waits at most `timeout` for all of them, then kills
    /// the rest.
    fn stop(&mut self, timeout: Duration) {
        for (id, child) in &self.children {
            let pid = rustix::process::Pid::from_child(child);
            if let Err(error) = rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
                // It has exited already (ESRCH) or cannot be signalled: the wait below tells.
                tracing::debug!(member = %id, %error, "SIGTERM not delivered");
            }
        }
        let deadline = Instant::now() + timeout;
        while !self.children.is_empty() {
            self.children
                .retain_mut(|(_, child)| matches!(child.try_wait(), Ok(None)));
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for (id, mut child) in self.children.drain(..) {
            eprintln!(
                "registry-node demo: member {id} did not stop within {} s; killing it",
                timeout.as_secs()
            );
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        self.stop(MEMBER_STOP_TIMEOUT);
    }
}

/// Resolves at the first SIGINT or SIGTERM. Both are caught from the moment this is
/// called, so a signal during start-up is not lost (nor does it kill the demo before it
/// can stop its members).
///
/// # Errors
/// A signal handler cannot be installed.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("catching SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("catching SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Has this process send itself SIGTERM (and so stop as on SIGTERM) once its standard
/// input reaches its end: `serve --stop-when-stdin-closes`, which ties a demo member's
/// life to the demo's.
///
/// # Errors
/// The watching thread cannot be started.
pub fn stop_when_stdin_closes() -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(|| {
            let mut stdin = std::io::stdin().lock();
            let mut buffer = [0u8; 64];
            // Anything written is ignored; end of input or a read error means the parent
            // is gone.
            while matches!(stdin.read(&mut buffer), Ok(read) if read > 0) {}
            tracing::info!("standard input closed: stopping");
            if let Err(error) = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::TERM,
            ) {
                tracing::error!(%error, "could not signal myself to stop; exiting");
                std::process::exit(1);
            }
        })
        .context("starting the standard-input watch")?;
    Ok(())
}

/// Runs the demo: `config` is the federation file; its `dev-keys/<member>/` directory next
/// to it holds the members' keys; `data` the parent of the members' data directories.
///
/// # Errors
/// The configuration or keys are missing, a member does not start, or the federation does
/// not converge in time.
pub async fn run(config: &Path, data: &Path) -> anyhow::Result<()> {
    let stop = stop_signal()?;
    let federation = registry_node::node::load_federation(config)?;
    let keys_root = config
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("dev-keys");
    let executable = std::env::current_exe().context("locating the registry-node binary")?;
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    println!(
        "registry-node demo: {} ({}), {} members, witness quorum {}",
        federation.name_zh,
        federation.name_en,
        federation.members().len(),
        federation.witness_quorum
    );
    println!(
        "⚠ dev-only keys from {} — never use them for real data",
        keys_root.display()
    );
    let mut members = Members {
        children: Vec::new(),
    };
    tokio::pin!(stop);
    let started = tokio::select! {
        result = bring_up(&federation, config, data, &keys_root, &executable, &mut members) => {
            result?;
            true
        }
        () = &mut stop => false,
    };
    if started {
        stop.await;
    }
    println!("\nstopping the federation …");
    let stopping = Instant::now();
    members.stop(MEMBER_STOP_TIMEOUT);
    println!(
        "stopped all members in {:.1} s",
        stopping.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Starts the members, issues the samples, waits until every member verifies every other
/// member's credentials and prints what to try next.
async fn bring_up(
    federation: &Federation,
    config: &Path,
    data: &Path,
    keys_root: &Path,
    executable: &Path,
    members: &mut Members,
) -> anyhow::Result<()> {
    let mut tokens = std::collections::HashMap::new();
    for member in federation.members() {
        let (_, token) = registry_node::tokens::create(
            &data.join(member.id.as_str()),
            registry_node::tokens::Role::Admin,
            None,
            "demo operator",
        )?;
        tokens.insert(member.id.as_str().to_owned(), token);
        let child = start_member(executable, config, member, data, keys_root)?;
        members
            .children
            .push((member.id.as_str().to_owned(), child));
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let deadline = Instant::now() + CONVERGE_TIMEOUT;
    for member in federation.members() {
        wait_healthy(&http, member, members, deadline).await?;
    }
    println!(
        "\nall {} members are up; issuing samples …",
        federation.members().len()
    );
    let issued = issue_samples(&http, federation, &tokens).await?;
    let recognition = config
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("recognition");
    publish_agreements(&http, federation, &tokens, &recognition).await?;
    println!(
        "\nwaiting until every member verifies every other member's credentials from its mirror, with the quorum of cosignatures …"
    );
    let started = Instant::now();
    cross_verify(&http, federation, &issued, deadline).await?;
    println!(
        "✓ {} credentials issued at {} members, each verified at every other member ({} cross-checks) in {:.1} s",
        issued.len(),
        federation.members().len(),
        issued.len() * (federation.members().len() - 1),
        started.elapsed().as_secs_f64()
    );
    print_next_steps(federation, &issued, data, &tokens);
    Ok(())
}

fn start_member(
    executable: &Path,
    config: &Path,
    member: &Member,
    data: &Path,
    keys_root: &Path,
) -> anyhow::Result<Child> {
    let id = member.id.as_str();
    let member_data = data.join(id);
    let log_path = data.join(format!("{id}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    // An older run's log keeps its mode when truncated: this user's only, like new files.
    log.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let child = Command::new(executable)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--member")
        .arg(id)
        .arg("--data")
        .arg(&member_data)
        .arg("--keys-from")
        .arg(keys_root.join(id))
        .arg("--stop-when-stdin-closes")
        .stdin(Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting member {id}"))?;
    println!(
        "  {id:<8} {} — {} (pid {}, log {})",
        member.name_zh,
        member.endpoint,
        child.id(),
        log_path.display()
    );
    Ok(child)
}

async fn wait_healthy(
    http: &reqwest::Client,
    member: &Member,
    members: &mut Members,
    deadline: Instant,
) -> anyhow::Result<()> {
    let url = format!("{}/healthz", member.endpoint);
    loop {
        if let Ok(response) = http.get(&url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        for (id, child) in &mut members.children {
            if let Some(status) = child.try_wait()? {
                bail!("member {id} exited ({status}); see its log in the data directory");
            }
        }
        if Instant::now() > deadline {
            bail!("member {} did not answer {url} in time", member.id);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A sample credential: where it was issued and the signed VC.
struct Issued {
    member: String,
    credential_type: &'static str,
    credential: Value,
}

/// Has `member` sign and log the issue request `body` with the demo's admin token; the
/// node's answer (`{"credential": …}`).
async fn issue(
    http: &reqwest::Client,
    member: &Member,
    tokens: &std::collections::HashMap<String, String>,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = http
        .post(format!("{}/api/v1/credentials", member.endpoint))
        .bearer_auth(tokens.get(member.id.as_str()).map_or("", String::as_str))
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.as_u16() != 201 {
        bail!("{status} {answer}");
    }
    Ok(answer)
}

async fn issue_samples(
    http: &reqwest::Client,
    federation: &Federation,
    tokens: &std::collections::HashMap<String, String>,
) -> anyhow::Result<Vec<Issued>> {
    let mut issued = Vec::new();
    for member in federation.members() {
        let mut line = format!("  {:<8}", member.id.as_str());
        for (credential_type, body) in SAMPLES {
            let body: Value = serde_json::from_str(body)
                .with_context(|| format!("sample {credential_type} is not JSON"))?;
            let answer = issue(http, member, tokens, &body)
                .await
                .with_context(|| format!("issuing {credential_type} at {}", member.id))?;
            line.push_str(" ✓");
            issued.push(Issued {
                member: member.id.as_str().to_owned(),
                credential_type,
                credential: answer["credential"].clone(),
            });
        }
        println!("{line}  ({} types issued)", SAMPLES.len());
    }
    Ok(issued)
}

/// Publishes the seed recognition agreements: `recognition/<member>/*.json` are issue
/// requests of `RecognitionAgreementCredential`s, signed and logged by that member.
async fn publish_agreements(
    http: &reqwest::Client,
    federation: &Federation,
    tokens: &std::collections::HashMap<String, String>,
    directory: &Path,
) -> anyhow::Result<()> {
    println!(
        "\npublishing the seed recognition agreements from {} …",
        directory.display()
    );
    for member in federation.members() {
        let folder = directory.join(member.id.as_str());
        let Ok(listing) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut files: Vec<PathBuf> = listing
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let body: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            issue(http, member, tokens, &body)
                .await
                .with_context(|| format!("publishing {} at {}", file.display(), member.id))?;
            println!(
                "  {:<8} ✓ {}",
                member.id.as_str(),
                body["credentialSubject"]["name"]
                    .as_str()
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

async fn cross_verify(
    http: &reqwest::Client,
    federation: &Federation,
    issued: &[Issued],
    deadline: Instant,
) -> anyhow::Result<()> {
    for verifier in federation.members() {
        for item in issued
            .iter()
            .filter(|item| item.member != verifier.id.as_str())
        {
            loop {
                let response = http
                    .post(format!("{}/api/v1/verify", verifier.endpoint))
                    .json(&json!({"credential": item.credential, "requireQuorum": true}))
                    .send()
                    .await?;
                let verdict: Value = response.json().await.unwrap_or(Value::Null);
                if verdict["verified"] == Value::Bool(true) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "{} does not verify the {} issued at {} in time: {verdict}",
                        verifier.id,
                        item.credential_type,
                        item.member
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        println!(
            "  {:<8} verifies all {} credentials of the other members ✓",
            verifier.id.as_str(),
            issued
                .iter()
                .filter(|item| item.member != verifier.id.as_str())
                .count()
        );
    }
    Ok(())
}

fn print_next_steps(
    federation: &Federation,
    issued: &[Issued],
    data: &Path,
    tokens: &std::collections::HashMap<String, String>,
) {
    let first = federation.members().first();
    let last = federation.members().last();
    let (Some(first), Some(last)) = (first, last) else {
        return;
    };
    let sample = issued
        .iter()
        .find(|item| item.member == first.id.as_str())
        .map(|item| item.credential.clone())
        .unwrap_or(Value::Null);
    let sample_path: PathBuf = data.join("sample-credential.json");
    let _ = std::fs::write(
        &sample_path,
        serde_json::to_vec_pretty(&sample).unwrap_or_default(),
    );
    let token = tokens.get(first.id.as_str()).map_or("", String::as_str);
    println!("\nadmin operator tokens (demo only; `registry-node token create` makes more):");
    for member in federation.members() {
        println!(
            "  {:<8} {}",
            member.id.as_str(),
            tokens.get(member.id.as_str()).map_or("", String::as_str)
        );
    }
    println!(
        "\nWeb console (Chinese first; ?lang=en for English):
  {first}/                                     # log in at /login with {first_id}'s token above
  {last}/verify                                # employers: paste {sample} or a photo of a credential's QR code
  {last}/federation  ·  {last}/statistics

Try next (the federation keeps running until Ctrl-C or SIGTERM):
  curl -s -X POST {first}/api/v1/credentials -H 'authorization: Bearer {token}' \\
       -H 'content-type: application/json' -d @docs/examples/ProfessionalTitleCredential.json | jq .
  curl -s {last}/api/v1/federation/status | jq .          # mirrors, lag, cosigners, evidence
  curl -s {first}/log/checkpoint                            # {first_id}'s checkpoint with cosignatures
  curl -s -X POST {last}/api/v1/verify -H 'content-type: application/json' \\
       -d \"{{\\\"credential\\\": $(cat {sample}), \\\"requireQuorum\\\": true}}\" | jq .
                                                            # {last_id} verifies {first_id}'s credential from its mirror
  talent-verify verify {sample}                             # offline: signature, issuer, schema, validity
  kill the {first_id} process (see its pid above) and verify at {last_id} again: it still works, from the mirror",
        last = last.endpoint,
        first = first.endpoint,
        token = token,
        first_id = first.id,
        last_id = last.id,
        sample = sample_path.display(),
    );
}
