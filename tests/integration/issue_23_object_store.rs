//! Issue 23 part 3: the node publishes its public read artefacts — full hash tiles, the
//! checkpoint with its cosignatures, status-list credentials — to a real S3-compatible
//! server (`s3s-fs`, installed by scripts/setup.sh), and a reader verifies them from the
//! bucket alone: `talent-verify log public-audit --log-base <bucket>` and the status
//! list's proof. A restart resumes from the durable cursor without uploading the full
//! tiles again, and an outage of the object store stops neither issuance nor, once it is
//! back, publication.
//!
//! Two `s3s-fs` processes share one directory: the node writes through one that checks its
//! credentials (SigV4), readers read anonymously through the other, as they would through
//! a public-read bucket or a CDN.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use federation_tests::cli::said;
use federation_tests::{Federation, Node, client, example_requests, free_port, talent_verify};
use reqwest::StatusCode;
use serde_json::{Value, json};
use talent_core::status_list::{StatusEntry, StatusListCredential, StatusPurpose};
use talent_integrity::proof::{self, ASSERTION_METHOD};

const BUCKET: &str = "registry";
const PREFIX: &str = "members/cq-sc";
const ACCESS_KEY: &str = "talent-test-access";
const SECRET_KEY: &str = "talent-test-secret-0123456789";
/// How long publication may take to reach the bucket.
const PUBLISHED: Duration = Duration::from_secs(60);

/// The `s3s-fs` binary: `$S3S_FS`, else `~/.cargo/bin/s3s-fs` (scripts/setup.sh installs
/// it there), else on the PATH.
fn s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    match home.map(|home| home.join("bin/s3s-fs")) {
        Some(path) if path.is_file() => path,
        _ => PathBuf::from("s3s-fs"),
    }
}

/// A running `s3s-fs` over `root`, killed when dropped.
struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    /// Starts `s3s-fs` on `port`, with credentials when `authenticated`, and waits (at most
    /// 10 s) until it accepts connections.
    fn start(root: &Path, port: u16, authenticated: bool) -> S3Server {
        let mut command = Command::new(s3s_fs());
        command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        if authenticated {
            command.args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY]);
        }
        let log =
            std::fs::File::create(root.with_extension(format!("{port}.log"))).expect("server log");
        let child = command
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "starting {} (scripts/setup.sh installs it): {error}",
                    s3s_fs().display()
                )
            });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s3s-fs did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        S3Server { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The object store: its directory, the node's (authenticated) endpoint and the readers'.
struct ObjectStore {
    root: PathBuf,
    write_port: u16,
    writer: Option<S3Server>,
    reader: S3Server,
}

impl ObjectStore {
    fn start(dir: &Path) -> ObjectStore {
        let root = dir.join("s3");
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket directory");
        let write_port = free_port().expect("port");
        let writer = S3Server::start(&root, write_port, true);
        let reader = S3Server::start(&root, free_port().expect("port"), false);
        ObjectStore {
            root,
            write_port,
            writer: Some(writer),
            reader,
        }
    }

    /// The base URL a reader uses: the node's paths below it.
    fn base(&self) -> String {
        format!("{}/{BUCKET}/{PREFIX}", self.reader.url())
    }

    /// GET `<base>/<path>` anonymously.
    fn get(&self, path: &str) -> reqwest::blocking::Response {
        client()
            .get(format!("{}/{path}", self.base()))
            .send()
            .expect("GET from the bucket")
    }

    /// The bytes of an object, if it is there.
    fn object(&self, path: &str) -> Option<Vec<u8>> {
        let response = self.get(path);
        (response.status() == StatusCode::OK).then(|| response.bytes().expect("body").to_vec())
    }

    /// When the object's file was last written (s3s-fs keeps an object as a file).
    fn written_at(&self, path: &str) -> SystemTime {
        std::fs::metadata(self.root.join(BUCKET).join(PREFIX).join(path))
            .and_then(|metadata| metadata.modified())
            .unwrap_or_else(|error| panic!("{path} in the bucket: {error}"))
    }

    /// The size of the checkpoint in the bucket (0 when there is none).
    fn checkpoint_size(&self) -> u64 {
        self.object("log/checkpoint")
            .and_then(|note| {
                String::from_utf8_lossy(&note)
                    .lines()
                    .nth(1)
                    .and_then(|line| line.parse().ok())
            })
            .unwrap_or(0)
    }

    fn wait_checkpoint(&self, size: u64, node: &Node) {
        federation_tests::wait_for(
            PUBLISHED,
            || (self.checkpoint_size() == size).then_some(()),
            || {
                format!(
                    "bucket checkpoint at {}, log at {size}; node log:\n{}",
                    self.checkpoint_size(),
                    node_log(node)
                )
            },
        )
        .expect("the checkpoint is published");
    }

    fn stop_writer(&mut self) {
        self.writer = None;
    }

    fn restart_writer(&mut self) {
        self.writer = Some(S3Server::start(&self.root, self.write_port, true));
    }
}

fn node_log(node: &Node) -> String {
    std::fs::read_to_string(node.data_dir.with_extension("log")).unwrap_or_default()
}

/// Starts cq-sc of a freshly prepared federation (its peers stay down) publishing to
/// `bucket`, the credentials in its environment only.
fn start_publishing(federation: &Federation, bucket: &ObjectStore) -> Node {
    let keys = federation_tests::workspace_root()
        .join("federation-config/chengdu-chongqing/dev-keys/cq-sc");
    let config = federation.config.to_string_lossy().into_owned();
    let keys = keys.to_string_lossy().into_owned();
    let endpoint = format!("http://127.0.0.1:{}", bucket.write_port);
    Node::start_with_env(
        &federation.data_dir("cq-sc"),
        &[
            "--config",
            &config,
            "--member",
            "cq-sc",
            "--keys-from",
            &keys,
            "--publish-s3",
            &endpoint,
            "--publish-bucket",
            BUCKET,
            "--publish-prefix",
            PREFIX,
            "--publish-interval-ms",
            "200",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
    )
    .expect("cq-sc starts publishing")
}

/// Issues `count` credentials in batches; returns them.
fn issue(node: &Node, count: usize) -> Vec<Value> {
    // Talent credentials only: accreditations and agreements have rules of their own.
    let examples: Vec<Value> = example_requests()
        .into_iter()
        .filter(|(name, _)| {
            [
                "GoldenPhoenixTalentCredential",
                "ProfessionalTitleCredential",
                "SkillLevelCredential",
            ]
            .contains(&name.as_str())
        })
        .map(|(_, request)| request)
        .collect();
    let mut issued = Vec::new();
    while issued.len() < count {
        let batch: Vec<Value> = (issued.len()..count.min(issued.len() + 100))
            .map(|i| examples[i % examples.len()].clone())
            .collect();
        let response = node
            .client()
            .post(node.at("/api/v1/credentials:batch"))
            .json(&json!({ "credentials": batch }))
            .send()
            .expect("batch request");
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().expect("JSON");
        for result in body["results"].as_array().expect("results") {
            issued.push(result["credential"].clone());
        }
    }
    issued
}

fn public_audit(federation: &Federation, node: &Node, state: &Path, extra: &[&str]) -> Output {
    let config = federation.config.to_string_lossy().into_owned();
    let state = state.to_string_lossy().into_owned();
    let mut args = vec![
        "log",
        "public-audit",
        "--trust",
        &config,
        "--state",
        &state,
        "--member",
        "cq-sc",
        "--node",
        &node.url,
    ];
    args.extend_from_slice(extra);
    talent_verify(&args, None).expect("talent-verify runs")
}

/// The revocation bit of `credential` in the list the bucket holds, the list's proof and
/// issuer checked on the way.
fn revoked_in_bucket(bucket: &ObjectStore, credential: &Value) -> bool {
    let entry = StatusEntry::all_of(credential)
        .expect("credentialStatus")
        .into_iter()
        .find(|entry| entry.purpose == StatusPurpose::Revocation)
        .expect("a revocation entry");
    // The entry names the node's URL; the bucket holds the list at the same path.
    let path = entry
        .list_credential
        .split_once("/api/v1/")
        .map(|(_, rest)| format!("api/v1/{rest}"))
        .expect("a path under /api/v1/");
    let bytes = bucket.object(&path).expect("the list is in the bucket");
    let signed: Value = serde_json::from_slice(&bytes).expect("list JSON");
    let verified = proof::verify(&signed, ASSERTION_METHOD).expect("the list's proof verifies");
    let list = StatusListCredential::from_json(&signed).expect("a status list credential");
    assert_eq!(list.issuer, verified.controller.to_string());
    assert_eq!(Some(list.issuer.as_str()), credential["issuer"].as_str());
    assert_eq!(list.id, entry.list_credential);
    list.list.get(entry.index).expect("index inside the list")
}

#[test]
fn the_public_log_and_status_lists_are_published_verified_from_the_bucket_and_survive_restart_and_outage()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bucket = ObjectStore::start(dir.path());
    let federation = Federation::prepare(dir.path()).expect("config");
    let node = start_publishing(&federation, &bucket);

    // 300 entries: one full tile of level 0 and a partial one.
    let issued = issue(&node, 300);
    let size = node.checkpoint_size();
    assert_eq!(size, 300);
    bucket.wait_checkpoint(size, &node);
    let full = bucket.object("log/tile/0/000").expect("the full tile");
    let from_node = client()
        .get(node.at("/log/tile/0/000"))
        .send()
        .expect("GET")
        .bytes()
        .expect("body");
    assert_eq!(
        full,
        from_node.to_vec(),
        "the same bytes as the node serves"
    );
    assert_eq!(
        bucket.object("log/tile/0/001.p/44").map(|tile| tile.len()),
        Some(44 * 32),
        "the checkpoint's partial tile"
    );
    assert_eq!(
        bucket.object("log/tile/1/000.p/1").map(|tile| tile.len()),
        Some(32)
    );
    // Entry bundles hold personal data: never in the bucket, not even as a key.
    assert_eq!(
        bucket.get("log/tile/entries/000").status(),
        StatusCode::NOT_FOUND
    );
    let everything = walk(&bucket.root);
    assert!(
        everything.iter().all(|path| !path.contains("entries")),
        "{everything:?}"
    );
    // No credential's subject appears anywhere in the bucket.
    let name = issued[0]["credentialSubject"]["name"]
        .as_str()
        .expect("a subject name");
    for path in &everything {
        let bytes = std::fs::read(path).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(name),
            "{path} holds personal data"
        );
    }

    // An outside auditor: first from the node, then from the bucket alone, proving the
    // bucket's checkpoint an extension of what it saw at the node, from the bucket's tiles.
    let state = dir.path().join("audit-state");
    let first = public_audit(&federation, &node, &state, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", said(&first));
    issue(&node, 10);
    bucket.wait_checkpoint(310, &node);
    let from_bucket = public_audit(&federation, &node, &state, &["--log-base", &bucket.base()]);
    assert_eq!(from_bucket.status.code(), Some(0), "{}", said(&from_bucket));
    assert!(
        said(&from_bucket).contains("consistent with the previous audit at size 300"),
        "{}",
        said(&from_bucket)
    );
    assert!(
        said(&from_bucket).contains(&format!("{}/log/checkpoint", bucket.base())),
        "{}",
        said(&from_bucket)
    );
    // A bucket serving a forged checkpoint fails the audit.
    let checkpoint_file = bucket.root.join(BUCKET).join(PREFIX).join("log/checkpoint");
    let genuine = std::fs::read(&checkpoint_file).expect("checkpoint file");
    let forged = String::from_utf8_lossy(&genuine).replacen("\n310\n", "\n311\n", 1);
    std::fs::write(&checkpoint_file, forged).expect("forges");
    let refused = public_audit(&federation, &node, &state, &["--log-base", &bucket.base()]);
    assert_eq!(refused.status.code(), Some(1), "{}", said(&refused));
    std::fs::write(&checkpoint_file, &genuine).expect("restores");

    // A revocation changes the status list in the bucket.
    let revoked = &issued[6];
    assert!(!revoked_in_bucket(&bucket, revoked));
    let id = revoked["id"].as_str().expect("id");
    let response = node
        .client()
        .post(node.at(&format!("/api/v1/credentials/{id}/status")))
        .json(&json!({"status": "03", "reason": "测试撤销"}))
        .send()
        .expect("status change");
    assert_eq!(response.status(), StatusCode::CREATED);
    federation_tests::wait_for(
        PUBLISHED,
        || revoked_in_bucket(&bucket, revoked).then_some(()),
        || node_log(&node),
    )
    .expect("the revoked bit reaches the bucket");
    assert!(!revoked_in_bucket(&bucket, &issued[9]), "only that one");

    // A restart resumes from the cursor: the full tile is not uploaded again.
    let tile_written = bucket.written_at("log/tile/0/000");
    let size = node.checkpoint_size();
    node.stop().expect("stops");
    std::thread::sleep(Duration::from_millis(1100));
    let node = start_publishing(&federation, &bucket);
    issue(&node, 5);
    bucket.wait_checkpoint(size + 5, &node);
    assert_eq!(
        bucket.written_at("log/tile/0/000"),
        tile_written,
        "the full tile was uploaded again after the restart"
    );

    // Outage: the object store goes away; issuance goes on, publication fails and backs off.
    bucket.stop_writer();
    let during = issue(&node, 250);
    assert_eq!(during.len(), 250);
    let size = node.checkpoint_size();
    federation_tests::wait_for(
        PUBLISHED,
        || {
            node_log(&node)
                .contains("publication round failed")
                .then_some(())
        },
        || node_log(&node),
    )
    .expect("the failed rounds are logged");
    assert!(bucket.checkpoint_size() < size, "nothing new was published");
    assert!(bucket.object("log/tile/0/001").is_none());
    // Back: publication catches up, the new full tile included, the old one left alone.
    bucket.restart_writer();
    bucket.wait_checkpoint(size, &node);
    assert!(bucket.object("log/tile/0/001").is_some());
    assert_eq!(bucket.written_at("log/tile/0/000"), tile_written);
    let audit = public_audit(&federation, &node, &state, &["--log-base", &bucket.base()]);
    assert_eq!(audit.status.code(), Some(0), "{}", said(&audit));
    let log = node_log(&node);
    assert!(!log.contains(SECRET_KEY), "the secret is never logged");
}

/// Every file under `root`, as paths.
fn walk(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files
}

#[test]
fn a_publication_misconfiguration_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let output = Command::new(federation_tests::binary("registry-node"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .args(args)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("registry-node runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let keys = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    ];
    let base = [
        "--publish-s3",
        "http://127.0.0.1:9",
        "--publish-bucket",
        BUCKET,
    ];
    let (code, stderr) = run(&base, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("AWS_ACCESS_KEY_ID is not set"), "{stderr}");
    let (code, stderr) = run(
        &[
            "--publish-s3",
            "http://10.1.2.3:9",
            "--publish-bucket",
            BUCKET,
        ],
        &keys,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("loopback"), "{stderr}");
    let mut traversal = base.to_vec();
    traversal.extend(["--publish-prefix", "../other"]);
    let (code, stderr) = run(&traversal, &keys);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("publication prefix"), "{stderr}");
    let (code, stderr) = run(&["--publish-s3", "http://127.0.0.1:9"], &keys);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--publish-bucket"), "{stderr}");
    for (code, stderr) in [run(&base, &[]), run(&traversal, &keys)] {
        assert!(!stderr.contains("panicked"), "{code:?} {stderr}");
    }
}
