//! The propagation part: five members; credentials issued one at a time at the source and
//! polled at the follower until they verify with a quorum of cosignatures.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use super::federation::{
    Federation, PeerView, federation_status, http_client, post_json, stop_all,
};
use super::node_logs::report_logs;
use super::{
    FOLLOWER, MEMBERS, PROGRESS_EVERY, REQUEST_TIMEOUT, SOURCE, SyncArgs, percentile, seconds,
};
use crate::corpus::Example;
use crate::node::NodeProcess;
use crate::report::{Table, millis, thousands};

/// How long the five members may take to see each other `in-sync`.
const MESH_TIMEOUT: Duration = Duration::from_secs(60);

/// How often `POST /api/v1/verify` is polled for a propagating credential.
const PROPAGATION_POLL: Duration = Duration::from_millis(15);

/// How long one credential may take to propagate before it counts as a timeout.
const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause between propagation samples.
const SAMPLE_PAUSE: Duration = Duration::from_millis(100);

/// What the propagation part measured.
#[derive(Debug)]
pub(super) struct Propagation {
    pub(super) samples: Vec<Sample>,
    /// Time until all five saw each other in sync.
    pub(super) mesh: Duration,
}

/// One credential issued at the source and polled at the follower.
#[derive(Debug)]
pub(super) struct Sample {
    /// Send → 201 at the source.
    acknowledged: Duration,
    /// 201 → verified at the follower without requiring a quorum (mirrored there).
    mirrored: Option<Duration>,
    /// 201 → verified at the follower with `requireQuorum: true`.
    quorum: Option<Duration>,
    /// Why the last verdict was negative, for a timeout.
    problem: Option<String>,
}

impl Propagation {
    fn sorted(&self, pick: impl Fn(&Sample) -> Option<Duration>) -> Vec<Duration> {
        let mut values: Vec<Duration> = self.samples.iter().filter_map(pick).collect();
        values.sort_unstable();
        values
    }

    pub(super) fn quorum_percentile(&self, fraction: f64) -> Option<Duration> {
        percentile(&self.sorted(|sample| sample.quorum), fraction)
    }

    pub(super) fn timeouts(&self) -> usize {
        self.samples
            .iter()
            .filter(|sample| sample.quorum.is_none())
            .count()
    }

    pub(super) fn table(&self) -> Table {
        let mut table = Table::new(&[
            "propagation",
            "samples",
            "p50 ms",
            "p99 ms",
            "max ms",
            "timeouts",
        ]);
        let rows: [(String, Vec<Duration>, usize); 3] = [
            (
                format!("issue at {SOURCE}: send → 201"),
                self.sorted(|sample| Some(sample.acknowledged)),
                0,
            ),
            (
                format!("201 → verified at {FOLLOWER}, no quorum required (mirrored)"),
                self.sorted(|sample| sample.mirrored),
                self.samples
                    .iter()
                    .filter(|sample| sample.mirrored.is_none())
                    .count(),
            ),
            (
                format!("201 → verified at {FOLLOWER} with requireQuorum (target)"),
                self.sorted(|sample| sample.quorum),
                self.timeouts(),
            ),
        ];
        for (name, sorted, timeouts) in rows {
            let at = |fraction: f64| percentile(&sorted, fraction).map_or("—".into(), millis);
            table.row(vec![
                name,
                sorted.len().to_string(),
                at(0.50),
                at(0.99),
                at(1.0),
                timeouts.to_string(),
            ]);
        }
        table.row(vec![
            "five members started → all peers in-sync everywhere".into(),
            String::new(),
            millis(self.mesh),
            String::new(),
            String::new(),
            String::new(),
        ]);
        table
    }
}

/// The propagation part: five members, credentials issued one at a time at the source and
/// polled at the follower.
pub(super) fn propagation(
    args: &SyncArgs,
    binary: &Path,
    examples: &[Example],
    scratch: &Path,
) -> anyhow::Result<Propagation> {
    println!();
    println!(
        "propagation: five members; {} credentials issued one at a time at {SOURCE}, each \
         polled at {FOLLOWER} every {} ms until it verifies with a quorum",
        thousands(args.propagation_samples as f64),
        PROPAGATION_POLL.as_millis()
    );
    let federation = Federation::prepare(&args.federation, &scratch.join("propagation"))?;
    let started = Instant::now();
    let mut nodes = Vec::new();
    for member in MEMBERS {
        let node = federation.start(binary, member)?;
        println!("started {member} (pid {}) at {}", node.pid(), node.url);
        nodes.push((member, node));
    }
    let source_node = nodes
        .iter()
        .find(|(member, _)| *member == SOURCE)
        .map(|(_, node)| node);
    let client = http_client(REQUEST_TIMEOUT, source_node)?;
    match wait_mesh(&client, &nodes) {
        Ok(()) => println!(
            "all five members see every peer in-sync after {}",
            seconds(started.elapsed())
        ),
        Err(error) => println!("note: {error:#}; measuring anyway"),
    }
    let mesh = started.elapsed();
    let source_url = federation.endpoints[SOURCE].clone();
    let follower_url = federation.endpoints[FOLLOWER].clone();

    let warm_up = sample(&client, &source_url, &follower_url, &examples[0].body)?;
    println!(
        "warm-up (not counted): 201 after {} ms, verified with quorum at {FOLLOWER} {} ms later",
        millis(warm_up.acknowledged),
        warm_up.quorum.map_or("—".into(), millis)
    );
    let mut samples = Vec::new();
    let mut last_print = Instant::now();
    for (index, example) in (0..args.propagation_samples).zip(examples.iter().cycle().skip(1)) {
        std::thread::sleep(SAMPLE_PAUSE);
        let sample = sample(&client, &source_url, &follower_url, &example.body)?;
        if sample.quorum.is_none() {
            println!(
                "  sample {}: not verified with quorum at {FOLLOWER} within {} s: {}",
                index + 1,
                PROPAGATION_TIMEOUT.as_secs(),
                sample.problem.as_deref().unwrap_or("no verdict")
            );
        }
        samples.push(sample);
        if last_print.elapsed() >= PROGRESS_EVERY {
            let mut sorted: Vec<Duration> = samples.iter().filter_map(|s| s.quorum).collect();
            sorted.sort_unstable();
            println!(
                "  {} samples: p50 {} ms, max {} ms",
                samples.len(),
                percentile(&sorted, 0.5).map_or("—".into(), millis),
                percentile(&sorted, 1.0).map_or("—".into(), millis)
            );
            last_print = Instant::now();
        }
    }
    if let Some(view) = federation_status(&client, &follower_url)
        .ok()
        .and_then(|status| PeerView::of(&status, SOURCE))
    {
        println!(
            "{FOLLOWER} mirrors {} entries of {SOURCE} ({})",
            thousands(view.mirrored as f64),
            view.state
        );
    }
    stop_all(nodes);
    report_logs(&federation, &MEMBERS);
    Ok(Propagation { samples, mesh })
}

/// Waits until every member's status shows every peer `in-sync`.
fn wait_mesh(client: &Client, nodes: &[(&str, NodeProcess)]) -> anyhow::Result<()> {
    let started = Instant::now();
    let poll = Duration::from_millis(200);
    let mut lagging = String::new();
    for _ in 0..MESH_TIMEOUT.as_millis() / poll.as_millis() + 1 {
        lagging.clear();
        for (member, node) in nodes {
            match federation_status(client, &node.url) {
                Ok(status) => {
                    for peer in MEMBERS.iter().filter(|peer| *peer != member) {
                        let state =
                            PeerView::of(&status, peer).map_or("?".into(), |view| view.state);
                        if state != "in-sync" {
                            lagging.push_str(&format!(" {member}→{peer}: {state};"));
                        }
                    }
                }
                Err(error) => lagging.push_str(&format!(" {member}: {error:#};")),
            }
        }
        if lagging.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= MESH_TIMEOUT {
            break;
        }
        std::thread::sleep(poll);
    }
    bail!(
        "the members did not all see each other in-sync within {} s:{lagging}",
        MESH_TIMEOUT.as_secs()
    )
}

/// Issues `body` at the source, then polls the follower until the credential verifies
/// without, then with, a required quorum.
fn sample(client: &Client, source: &str, follower: &str, body: &Value) -> anyhow::Result<Sample> {
    let sent = Instant::now();
    let (status, answer) = post_json(
        client,
        &format!("{source}/api/v1/credentials"),
        serde_json::to_vec(body)?,
    )
    .context("issuing a credential at the source")?;
    let acknowledged_at = Instant::now();
    ensure!(
        status == StatusCode::CREATED,
        "issuing at {SOURCE} answered {status}: {}",
        String::from_utf8_lossy(&answer)
            .chars()
            .take(300)
            .collect::<String>()
    );
    let issued: Value = serde_json::from_slice(&answer).context("the 201 is not JSON")?;
    let credential = &issued["credential"];
    ensure!(credential.is_object(), "the 201 holds no credential");
    let deadline = acknowledged_at + PROPAGATION_TIMEOUT;
    let verify = format!("{follower}/api/v1/verify");
    let mut problem = None;
    let mut poll = |require_quorum: bool| -> anyhow::Result<Option<Duration>> {
        let body = serde_json::to_vec(&json!({
            "credential": credential,
            "requireQuorum": require_quorum,
        }))?;
        let max_polls = PROPAGATION_TIMEOUT.as_millis() / PROPAGATION_POLL.as_millis() + 1;
        for _ in 0..max_polls {
            match post_json(client, &verify, body.clone()) {
                Ok((StatusCode::OK, answer)) => {
                    let verdict: Value =
                        serde_json::from_slice(&answer).context("a verdict is not JSON")?;
                    if verdict["verified"] == true {
                        return Ok(Some(acknowledged_at.elapsed()));
                    }
                    problem = verdict["checks"]
                        .as_array()
                        .and_then(|checks| {
                            checks
                                .iter()
                                .find(|check| check["ok"] == false && check["skipped"] != true)
                        })
                        .map(|check| format!("{}: {}", check["name"], check["detail"]));
                }
                Ok((status, answer)) => {
                    problem = Some(format!(
                        "answered {status}: {}",
                        String::from_utf8_lossy(&answer)
                            .chars()
                            .take(200)
                            .collect::<String>()
                    ));
                }
                Err(error) => problem = Some(error.to_string()),
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(PROPAGATION_POLL);
        }
        Ok(None)
    };
    let mirrored = poll(false)?;
    let quorum = match mirrored {
        Some(_) => poll(true)?,
        None => None,
    };
    Ok(Sample {
        acknowledged: acknowledged_at.duration_since(sent),
        mirrored,
        quorum,
        problem: if quorum.is_none() { problem } else { None },
    })
}
