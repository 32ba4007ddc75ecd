//! Issue 23, observability: a real node's `GET /metrics` counts what it did (issuance,
//! verification, batches, HTTP responses, connections) and Debian's `prometheus` scrapes
//! it with an auditor token and answers queries on it; its JSON log lines carry each
//! request's id; `GET /healthz` names why it is unhealthy (disk low, a key file gone, a
//! halted peer); and the per-peer metrics follow a peer from in-sync to halted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use federation_tests::byzantine::{FakeMember, ForgedLog, MemberKeys, encode_entry};
use federation_tests::{
    Federation, Node, client, client_with_token, create_token, example_requests, free_port,
    verify_at, wait_for,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Bound of every wait.
const STEP: Duration = Duration::from_secs(60);

/// The value of the sample `series` (name with its labels, as the node writes them) in the
/// text exposition `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// `GET /metrics` with `token`: its status and body.
fn metrics(node: &Node, token: Option<&str>) -> (StatusCode, String) {
    let http = token.map_or_else(client, client_with_token);
    let response = http.get(node.at("/metrics")).send().expect("GET /metrics");
    (response.status(), response.text().expect("body"))
}

/// `GET /healthz` with `token`: its status and JSON body.
fn health(node: &Node, token: Option<&str>) -> (StatusCode, Value) {
    let http = token.map_or_else(client, client_with_token);
    let response = http.get(node.at("/healthz")).send().expect("GET /healthz");
    (response.status(), response.json().expect("JSON body"))
}

/// A Debian `prometheus` server scraping one target, stopped when dropped.
struct Prometheus {
    child: Child,
    url: String,
}

impl Prometheus {
    /// Starts `/usr/bin/prometheus` in `dir`, scraping `target` (`host:port`) every second
    /// with the bearer token in `token_file`.
    fn start(dir: &Path, target: &str, token_file: &Path) -> Prometheus {
        let binary = PathBuf::from("/usr/bin/prometheus");
        assert!(
            binary.is_file(),
            "Debian's prometheus is missing: scripts/setup.sh installs it (apt-get install prometheus)"
        );
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: registry\n    scrape_interval: 1s\n    scrape_timeout: 1s\n\
                 \x20   metrics_path: /metrics\n    authorization:\n      type: Bearer\n\
                 \x20     credentials_file: {}\n    static_configs:\n      - targets: ['{target}']\n",
                token_file.display()
            ),
        )
        .expect("config written");
        let port = free_port().expect("a free port");
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The value of the instant query `query` when it has exactly one series.
    fn query(&self, query: &str) -> Option<f64> {
        let answer: Value = client()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .ok()?
            .json()
            .ok()?;
        match answer["data"]["result"].as_array()?.as_slice() {
            [series] => series["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_node_counts_what_it_does_and_debians_prometheus_scrapes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    std::fs::create_dir_all(&data).expect("data dir");
    let auditor = create_token(&data, "auditor", None, "prometheus").expect("auditor token");
    let node = Node::start_with_log_filter(
        &data,
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
        "info,registry_node::observe=debug",
    )
    .expect("node starts");

    // Operational, not public: no token 401, an auditor's 200 in the text format.
    let (status, body) = metrics(&node, None);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("token_required"), "{body}");
    let response = client_with_token(&auditor)
        .get(node.at("/metrics"))
        .send()
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let before = response.text().expect("body");
    // An issuer token acts for one issuer; the node's state is not its business.
    let member = node.member();
    let did = member["authorityDid"].as_str().expect("authority DID");
    let issuer_token = create_token(&data, "issuer", Some(did), "office").expect("issuer token");
    let (status, body) = metrics(&node, Some(&issuer_token));
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("role_forbidden"), "{body}");
    let issued = r#"registry_credentials_issued_total{signer="authority"}"#;
    assert_eq!(sample(&before, issued), Some(0.0), "{before}");

    // Three credentials issued, one verified as issued, one tampered with.
    let examples = example_requests();
    let credentials: Vec<Value> = examples
        .iter()
        .take(3)
        .map(|(_, body)| node.issue(body))
        .collect();
    assert_eq!(
        verify_at(&node.url, &credentials[0], false)["verified"],
        true
    );
    let mut tampered = credentials[1].clone();
    tampered["validUntil"] = json!("2099-01-01T00:00:00Z");
    assert_eq!(verify_at(&node.url, &tampered, false)["verified"], false);
    let refused = node
        .client()
        .post(node.at("/api/v1/credentials"))
        .json(&json!({"type": "NoSuchCredential"}))
        .send()
        .expect("a bad issuance request");
    assert!(refused.status().is_client_error());

    let (status, after) = metrics(&node, Some(&auditor));
    assert_eq!(status, StatusCode::OK);
    let expect = [
        (issued, 3.0),
        (r#"registry_issuance_requests_total{outcome="issued"}"#, 3.0),
        (
            r#"registry_issuance_requests_total{outcome="refused"}"#,
            1.0,
        ),
        ("registry_issuance_duration_seconds_count", 3.0),
        (r#"registry_verifications_total{outcome="verified"}"#, 1.0),
        (
            r#"registry_verifications_total{outcome="not_verified"}"#,
            1.0,
        ),
        (
            r#"registry_http_responses_total{class="2xx",group="verify"}"#,
            2.0,
        ),
        (
            r#"registry_http_responses_total{class="2xx",group="credentials"}"#,
            3.0,
        ),
        (
            r#"registry_http_responses_total{class="4xx",group="metrics"}"#,
            2.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&after, series), Some(value), "{series} in\n{after}");
    }
    // Every durable entry went through one of the sequencer's batches, each timed.
    let log_entries = sample(&after, "registry_log_entries").expect("log size");
    assert!(log_entries >= 3.0, "{after}");
    assert_eq!(
        sample(&after, "registry_sequencer_batch_entries_sum"),
        Some(log_entries),
        "{after}"
    );
    let batches = sample(&after, "registry_sequencer_batch_entries_count").expect("batches");
    assert!(batches >= 1.0, "{after}");
    assert_eq!(
        sample(&after, "registry_sequencer_commit_seconds_count"),
        Some(batches)
    );
    assert!(sample(&after, "registry_connections_accepted_total").is_some_and(|n| n >= 8.0));
    assert!(sample(&after, "registry_connections_open").is_some_and(|n| n >= 1.0));
    assert!(
        !after.contains("peer="),
        "a development node has no peers: {after}"
    );

    // A sane request id is echoed and names the request's log lines; anything else is
    // replaced by a generated one.
    let response = client()
        .post(node.at("/api/v1/verify"))
        .header("x-request-id", "h12-probe-7")
        .json(&json!({"credential": credentials[2]}))
        .send()
        .expect("verify");
    assert_eq!(response.headers()["x-request-id"], "h12-probe-7");
    let response = client()
        .get(node.at("/healthz"))
        .header("x-request-id", "not a sane id {\"x\":1}")
        .send()
        .expect("healthz");
    let generated = response.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().expect("JSON");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["problems"], json!([]));

    let log_path = data.with_extension("log");
    let lines = wait_for(
        Duration::from_secs(10),
        || {
            let log = std::fs::read_to_string(&log_path).ok()?;
            log.contains("h12-probe-7")
                .then(|| log.lines().map(str::to_owned).collect::<Vec<_>>())
        },
        || std::fs::read_to_string(&log_path).unwrap_or_default(),
    )
    .expect("the request's log line");
    let mut probe = None;
    for line in &lines {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON log line ({error}): {line}"));
        if parsed["span"]["id"] == "h12-probe-7" {
            probe = Some(parsed);
        }
    }
    let probe = probe.expect("a line in the request's span");
    assert_eq!(probe["fields"]["message"], "response", "{probe}");
    assert_eq!(probe["fields"]["status"], 200, "{probe}");
    assert_eq!(probe["span"]["route"], "/api/v1/verify", "{probe}");
    assert_eq!(probe["span"]["method"], "POST", "{probe}");
    let log = lines.join("\n");
    assert!(!log.contains(&node.admin_token), "a token reached the log");
    assert!(!log.contains(&auditor), "a token reached the log");
    assert!(!log.contains(&issuer_token), "a token reached the log");
    assert!(
        !log.contains("credentialSubject"),
        "a request body reached the log"
    );

    // Debian's prometheus scrapes the node with the auditor's token and answers queries.
    let token_file = dir.path().join("prometheus.token");
    std::fs::write(&token_file, &auditor).expect("token file");
    let target = node.url.trim_start_matches("http://").to_owned();
    let prometheus = Prometheus::start(dir.path(), &target, &token_file);
    let query = r#"registry_credentials_issued_total{job="registry",signer="authority"}"#;
    let scraped = wait_for(
        STEP,
        || prometheus.query(query).filter(|value| *value >= 3.0),
        || {
            format!(
                "{query} = {:?}; up = {:?}; prometheus log: {}",
                prometheus.query(query),
                prometheus.query(r#"up{job="registry"}"#),
                std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
            )
        },
    )
    .expect("prometheus holds the node's issuance count");
    assert_eq!(scraped, 3.0);
    assert_eq!(prometheus.query(r#"up{job="registry"}"#), Some(1.0));
    // A histogram is usable as one: the issuance count from its buckets.
    assert_eq!(
        prometheus.query(r#"registry_issuance_duration_seconds_bucket{job="registry",le="+Inf"}"#),
        Some(3.0)
    );
    // Prometheus's own scrapes are counted in the metrics group.
    wait_for(
        STEP,
        || {
            prometheus
                .query(
                    r#"registry_http_responses_total{job="registry",group="metrics",class="2xx"}"#,
                )
                .filter(|count| *count >= 2.0)
        },
        || "scrapes counted".to_owned(),
    )
    .expect("the node counts the scrapes");
}

#[test]
fn healthz_names_low_disk_and_an_unreadable_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    std::fs::create_dir_all(&data).expect("data dir");
    let auditor = create_token(&data, "auditor", None, "monitor").expect("auditor token");
    // A threshold of 1 EiB: above the free space of any disk.
    let node = Node::start_with(
        &data,
        &[
            "--listen",
            "127.0.0.1:0",
            "--min-free-disk-mb",
            "1099511627776",
        ],
    )
    .expect("node starts");

    let (status, body) = health(&node, None);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(
        body["problems"],
        json!([{"code": "disk_low"}]),
        "anyone sees the code only"
    );
    let (_, detailed) = health(&node, Some(&auditor));
    let problem = &detailed["problems"][0];
    assert_eq!(problem["code"], "disk_low");
    assert_eq!(
        problem["thresholdBytes"],
        json!(1_099_511_627_776_u64 << 20),
        "{detailed}"
    );
    assert!(problem["freeBytes"].as_u64().is_some_and(|free| free > 0));

    // The witness key moved away: named once the last round's second has passed.
    let key = data.join("keys/witness.key");
    let aside = data.join("witness.key.aside");
    std::fs::rename(&key, &aside).expect("key moved");
    let body = wait_for(
        Duration::from_secs(10),
        || {
            let (_, body) = health(&node, Some(&auditor));
            (body["problems"].as_array()?.len() == 2).then_some(body)
        },
        || format!("{}", health(&node, Some(&auditor)).1),
    )
    .expect("the key is named");
    assert_eq!(
        body["problems"][1],
        json!({"code": "key_unreadable", "file": "witness.key"})
    );
    assert_eq!(
        health(&node, None).1["problems"],
        json!([{"code": "disk_low"}, {"code": "key_unreadable"}])
    );
    std::fs::rename(&aside, &key).expect("key back");
}

#[test]
fn the_metrics_and_healthz_follow_a_peer_from_in_sync_to_halted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("federation config");
    let keys = MemberKeys::load(&federation.config, "bj-zgc").expect("bj-zgc's dev keys");
    let issuer = keys.issuer().expect("bj-zgc's authority");
    let fake = FakeMember::listen(federation.endpoint("bj-zgc")).expect("fake bj-zgc listens");
    let entries: Vec<Vec<u8>> = issuer
        .credentials(4)
        .expect("credentials")
        .iter()
        .map(|credential| encode_entry(credential).expect("entry"))
        .collect();
    let honest = ForgedLog::new(entries);
    fake.serve_log(&honest, keys.checkpoint_of(&honest).expect("checkpoint"))
        .expect("honest log served");
    let node = federation.start("cq-sc").expect("cq-sc starts");
    let auditor = create_token(&federation.data_dir("cq-sc"), "auditor", None, "monitor")
        .expect("auditor token");
    let peer = |text: &str, name: &str| sample(text, &format!(r#"{name}{{peer="bj-zgc"}}"#));
    let state = |text: &str, state: &str| {
        sample(
            text,
            &format!(r#"registry_peer_state{{peer="bj-zgc",state="{state}"}}"#),
        )
    };

    let text = wait_for(
        STEP,
        || {
            let (_, text) = metrics(&node, Some(&auditor));
            (state(&text, "in-sync") == Some(1.0)).then_some(text)
        },
        || metrics(&node, Some(&auditor)).1,
    )
    .expect("bj-zgc in sync");
    assert_eq!(peer(&text, "registry_peer_mirrored_entries"), Some(4.0));
    assert!(peer(&text, "registry_peer_mirror_age_seconds").is_some_and(|age| age < 60.0));
    assert_eq!(peer(&text, "registry_peer_evidence_records"), Some(0.0));
    assert_eq!(state(&text, "halted"), Some(0.0));
    // The members not started are unreachable, which is not a health problem.
    assert!(
        sample(
            &text,
            r#"registry_peer_state{peer="cd-hz",state="unreachable"}"#
        )
        .is_some()
    );
    let (status, body) = health(&node, None);
    assert_eq!(status, StatusCode::OK, "{body}");

    // bj-zgc rolls its log back: sync from it halts, with evidence.
    let rolled_back = honest.prefix(2);
    fake.serve_log(
        &rolled_back,
        keys.checkpoint_of(&rolled_back).expect("checkpoint"),
    )
    .expect("rolled-back log served");
    let text = wait_for(
        STEP,
        || {
            let (_, text) = metrics(&node, Some(&auditor));
            (state(&text, "halted") == Some(1.0)).then_some(text)
        },
        || metrics(&node, Some(&auditor)).1,
    )
    .expect("bj-zgc halted");
    assert_eq!(state(&text, "in-sync"), Some(0.0));
    assert_eq!(peer(&text, "registry_peer_evidence_records"), Some(1.0));
    assert_eq!(peer(&text, "registry_peer_mirrored_entries"), Some(4.0));
    let (status, body) = wait_for(
        Duration::from_secs(10),
        || {
            let (status, body) = health(&node, None);
            (status == StatusCode::SERVICE_UNAVAILABLE).then_some((status, body))
        },
        || format!("{}", health(&node, None).1),
    )
    .expect("healthz names the halted peer");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["problems"],
        json!([{"code": "peer_halted", "peer": "bj-zgc"}])
    );
}
