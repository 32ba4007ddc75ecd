//! Issue 23, backup and restore, upgrades: online backups of a running node, restores that
//! verify first and never delete, a restored member that never forks what its peers
//! mirrored but catches up from their mirrors, and the on-disk format version (a previous release's data directory opens and
//! is migrated; a newer one is refused).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use federation_tests::cli::{example_request, registry_node, said};
use federation_tests::{
    Federation, Node, client, client_with_token, peer_status, verify_at, wait_for, workspace_root,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long a federation step may take (sync, the rollback check).
const STEP: Duration = Duration::from_secs(60);

/// Credentials per batch issued after the backup in the catch-up test (two batches).
const AFTER_BACKUP_BATCH: usize = 600;

/// Issues one credential; returns its id.
fn issue(node: &Node) -> String {
    node.issue(&example_request("SkillLevelCredential"))["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The node's checkpoint note.
fn checkpoint(node: &Node) -> String {
    client()
        .get(node.at("/log/checkpoint"))
        .send()
        .expect("GET checkpoint")
        .text()
        .expect("text")
}

/// Size and root lines of a checkpoint note.
fn size_and_root(note: &str) -> (String, String) {
    let mut lines = note.lines().skip(1);
    (
        lines.next().unwrap_or_default().to_owned(),
        lines.next().unwrap_or_default().to_owned(),
    )
}

fn fetch_status(node: &Node, id: &str) -> StatusCode {
    node.client()
        .get(node.at(&format!("/api/v1/credentials/{id}")))
        .send()
        .expect("GET credential")
        .status()
}

/// `registry-node backup --node <node> --token <its admin token> --to <target>`.
fn back_up_online(node: &Node, target: &Path) -> std::process::Output {
    registry_node(&[
        "backup",
        "--node",
        &node.url,
        "--token",
        &node.admin_token,
        "--to",
        path(target),
    ])
}

fn manifest(backup: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).expect("manifest"))
        .expect("manifest JSON")
}

/// Back up a running node, issue more, restore, compare: the log is the one backed up, the
/// later credentials are gone, the node issues again; the old data directory was kept.
#[test]
fn a_backup_of_a_running_node_restores_to_its_log_at_the_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).expect("backup dir");
    let node = Node::start_with(
        &data,
        &["--listen", "127.0.0.1:0", "--backup-dir", path(&backups)],
    )
    .expect("starts");
    let kept: Vec<String> = (0..3).map(|_| issue(&node)).collect();
    let at_backup = checkpoint(&node);

    // Through the node (it holds the store's lock), with the CLI.
    let target = backups.join("first");
    let output = back_up_online(&node, &target);
    assert!(output.status.success(), "{}", said(&output));
    assert!(said(&output).contains("verified"), "{}", said(&output));
    let written = manifest(&target);
    assert_eq!(written["type"], "talent-registry-backup");
    assert_eq!(written["formatVersion"], 2);
    assert_eq!(written["member"], "dev");
    let (size, root) = size_and_root(&at_backup);
    assert_eq!(written["log"]["size"].to_string(), size);
    assert_eq!(written["log"]["root"], root);
    assert_eq!(written["log"]["checkpoint"], at_backup);
    let files: Vec<&str> = written["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|file| file["path"].as_str().expect("path"))
        .collect();
    for expected in [
        "keys/log.key",
        "keys/authority.key",
        "tokens.json",
        "db/CURRENT",
    ] {
        assert!(files.contains(&expected), "{expected} in {files:?}");
    }
    for key in ["keys/log.key", "keys/personal-data.key"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(target.join(key))
                .expect("key")
                .permissions(),
        );
        assert_eq!(mode & 0o077, 0, "{key} is for its owner only: {mode:o}");
    }
    // No half-written backup is left beside it.
    let names: Vec<String> = std::fs::read_dir(&backups)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["first"]);

    // The same target again, a target outside --backup-dir, a non-admin: refused.
    let again = node
        .client()
        .post(node.at("/api/v1/admin/backup"))
        .json(&json!({"to": target}))
        .send()
        .expect("POST");
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(
        again.json::<Value>().expect("JSON")["code"],
        "backup_target_not_empty"
    );
    let outside = node
        .client()
        .post(node.at("/api/v1/admin/backup"))
        .json(&json!({"to": dir.path().join("elsewhere")}))
        .send()
        .expect("POST");
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        outside.json::<Value>().expect("JSON")["code"],
        "backup_target_refused"
    );
    let auditor = federation_tests::create_token(&data, "auditor", None, "audit").expect("token");
    let refused = client_with_token(&auditor)
        .post(node.at("/api/v1/admin/backup"))
        .json(&json!({"to": backups.join("second")}))
        .send()
        .expect("POST");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A backup taken while credentials are being issued is consistent all the same.
    let during = backups.join("during");
    let issuing = {
        let (url, token) = (node.url.clone(), node.admin_token.clone());
        std::thread::spawn(move || {
            let http = client_with_token(&token);
            (0..30)
                .filter(|_| {
                    http.post(format!("{url}/api/v1/credentials"))
                        .json(&example_request("SkillLevelCredential"))
                        .send()
                        .is_ok_and(|response| response.status() == StatusCode::CREATED)
                })
                .count()
        })
    };
    let output = back_up_online(&node, &during);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(
        issuing.join().expect("issuing thread"),
        30,
        "issuance went on"
    );
    let check = registry_node(&[
        "restore",
        "--from",
        path(&during),
        "--data",
        path(&dir.path().join("check")),
    ]);
    assert!(check.status.success(), "{}", said(&check));

    let later: Vec<String> = (0..2).map(|_| issue(&node)).collect();
    assert_ne!(checkpoint(&node), at_backup);

    // The node runs: restore refuses to pull its directory away.
    let running = registry_node(&[
        "restore",
        "--from",
        path(&target),
        "--data",
        path(&data),
        "--force",
    ]);
    assert_eq!(running.status.code(), Some(2), "{}", said(&running));
    assert!(said(&running).contains("running"), "{}", said(&running));
    node.stop().expect("stops");

    // Without --force a data directory that holds something is refused.
    let occupied = registry_node(&["restore", "--from", path(&target), "--data", path(&data)]);
    assert_eq!(occupied.status.code(), Some(2), "{}", said(&occupied));
    assert!(said(&occupied).contains("--force"), "{}", said(&occupied));
    let restored = registry_node(&[
        "restore",
        "--from",
        path(&target),
        "--data",
        path(&data),
        "--force",
    ]);
    assert!(restored.status.success(), "{}", said(&restored));
    let aside: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().contains("node.before-restore-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old data directory is kept: {aside:?}");
    assert!(aside[0].join("db/CURRENT").is_file());
    assert!(data.join("RESTORED").is_file());

    let node = Node::start(&data).expect("the restored node starts");
    assert_eq!(checkpoint(&node), at_backup, "the log is the one backed up");
    for id in &kept {
        assert_eq!(fetch_status(&node, id), StatusCode::OK, "{id} kept");
    }
    for id in &later {
        assert_eq!(fetch_status(&node, id), StatusCode::NOT_FOUND, "{id} gone");
    }
    // A development member has no peers to ask: it appends again at once.
    assert!(!data.join("RESTORED").exists());
    issue(&node);
    let (size, _) = size_and_root(&checkpoint(&node));
    assert_eq!(size, (kept.len() + 1).to_string());
    node.stop().expect("stops");
}

/// A backup of a stopped node; a changed byte, an unlisted file, a newer format or a
/// non-empty target are refused (exit 2) and nothing is restored.
#[test]
fn a_damaged_backup_is_refused_before_anything_is_touched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("starts");
    issue(&node);
    node.stop().expect("stops");

    let backup = dir.path().join("backup");
    let output = registry_node(&["backup", "--data", path(&data), "--to", path(&backup)]);
    assert!(output.status.success(), "{}", said(&output));
    let again = registry_node(&["backup", "--data", path(&data), "--to", path(&backup)]);
    assert_eq!(again.status.code(), Some(2), "{}", said(&again));
    assert!(
        said(&again).contains("not an empty directory"),
        "{}",
        said(&again)
    );

    let restore = |from: &Path, into: &Path| {
        registry_node(&["restore", "--from", path(from), "--data", path(into)])
    };
    // The untouched backup restores into a new directory.
    let fresh = dir.path().join("fresh");
    let ok = restore(&backup, &fresh);
    assert!(ok.status.success(), "{}", said(&ok));

    let copy = |name: &str| {
        let target = dir.path().join(name);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&backup)
            .arg(&target)
            .status()
            .expect("cp");
        assert!(status.success());
        target
    };
    // One byte changed in the largest table file.
    let damaged = copy("damaged");
    let table = std::fs::read_dir(damaged.join("db"))
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sst"))
        .max_by_key(|path| std::fs::metadata(path).map_or(0, |meta| meta.len()))
        .expect("a table file");
    let mut bytes = std::fs::read(&table).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&table, bytes).expect("write");
    let into = dir.path().join("from-damaged");
    // A restore of `backup` exits 2 and says `says`.
    let refused = |backup: &Path, says: &str| {
        let refused = restore(backup, &into);
        assert_eq!(refused.status.code(), Some(2), "{}", said(&refused));
        assert!(said(&refused).contains(says), "{}", said(&refused));
    };
    refused(&damaged, "does not match the manifest");
    assert!(!into.exists(), "nothing restored");

    // A file the manifest does not list.
    let extra = copy("extra");
    std::fs::write(extra.join("keys/extra.key"), "x").expect("write");
    refused(&extra, "not in its manifest");

    // A manifest naming a file outside the backup.
    let escaping = copy("escaping");
    let mut listed = manifest(&escaping);
    listed["files"][0]["path"] = json!("../backup/tokens.json");
    std::fs::write(escaping.join("manifest.json"), listed.to_string()).expect("write");
    refused(&escaping, "not a relative path");

    // A listed file replaced by a symbolic link (to the same bytes).
    let linked = copy("linked");
    std::fs::rename(
        linked.join("tokens.json"),
        dir.path().join("tokens-outside.json"),
    )
    .expect("move");
    std::os::unix::fs::symlink(
        dir.path().join("tokens-outside.json"),
        linked.join("tokens.json"),
    )
    .expect("symlink");
    refused(&linked, "not a regular file");

    // A backup of a newer format.
    let newer = copy("newer");
    let mut listed = manifest(&newer);
    listed["formatVersion"] = json!(3);
    std::fs::write(newer.join("manifest.json"), listed.to_string()).expect("write");
    refused(&newer, "newer");
    assert!(!into.exists(), "nothing restored");
}

/// A data directory of a newer on-disk format than the binary knows is refused at start
/// (exit 2, untouched) and by an offline backup.
#[test]
fn a_data_directory_of_a_newer_format_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("starts");
    issue(&node);
    node.stop().expect("stops");
    {
        let personal = registry_node::keys::load_personal(&data).expect("keys");
        let store = registry_node::store::Store::open(&data.join("db"), personal).expect("opens");
        store
            .set_meta(&[(registry_node::store::META_FORMAT_VERSION, "3")])
            .expect("writes");
    }
    let output = registry_node(&["serve", "--listen", "127.0.0.1:0", "--data", path(&data)]);
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    assert!(
        said(&output).contains("format version 3, newer than this binary's 2"),
        "{}",
        said(&output)
    );
    let backup = registry_node(&[
        "backup",
        "--data",
        path(&data),
        "--to",
        path(&dir.path().join("backup")),
    ]);
    assert_eq!(backup.status.code(), Some(2), "{}", said(&backup));
    let personal = registry_node::keys::load_personal(&data).expect("keys");
    let store = registry_node::store::Store::open_read_only(&data.join("db"), personal)
        .expect("opens read only");
    assert_eq!(
        store
            .meta(registry_node::store::META_FORMAT_VERSION)
            .expect("reads")
            .as_deref(),
        Some("3"),
        "left as it was"
    );
}

/// The previous release's data directory (tests/fixtures/format-1-data.tar.gz, commit
/// 4392973): the new binary opens it, migrates it to the current format, and everything
/// is there and works.
#[test]
fn the_previous_releases_data_directory_is_migrated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = workspace_root().join("tests/fixtures/format-1-data.tar.gz");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar");
    assert!(status.success());
    let data = dir.path().join("data");
    let fixture = dir.path().join("fixture");
    let token = std::fs::read_to_string(fixture.join("token")).expect("token");
    let issued: Vec<Value> = [
        "ProfessionalQualificationCredential",
        "SkillLevelCredential",
        "ProfessionalTitleCredential",
    ]
    .iter()
    .map(|name| {
        serde_json::from_slice(
            &std::fs::read(fixture.join(format!("{name}.issued.json"))).expect("issued"),
        )
        .expect("JSON")
    })
    .collect();

    let node = Node::start(&data).expect("the new binary opens the old directory");
    let (size, _) = size_and_root(&checkpoint(&node));
    assert_eq!(size, "3", "the log holds the three credentials");
    let old = client_with_token(token.trim());
    for answer in &issued {
        let credential = &answer["credential"];
        let verdict = verify_at(&node.url, credential, false);
        assert_eq!(verdict["verified"], true, "{verdict:#}");
        let id = answer["id"].as_str().expect("id");
        let fetched = old
            .get(node.at(&format!("/api/v1/credentials/{id}")))
            .send()
            .expect("GET");
        assert_eq!(
            fetched.status(),
            StatusCode::OK,
            "the old token still works"
        );
    }
    let response = old
        .post(node.at("/api/v1/credentials"))
        .json(&example_request("ProfessionalTitleCredential"))
        .send()
        .expect("issue");
    assert_eq!(response.status(), StatusCode::CREATED);
    let consistency = client()
        .get(node.at("/log/proof/consistency?from=3&to=4"))
        .send()
        .expect("consistency");
    assert_eq!(
        consistency.status(),
        StatusCode::OK,
        "the old log is a prefix"
    );
    node.stop().expect("stops");

    // The store now says it is of the current format (the backup reports it).
    let backup = dir.path().join("backup");
    let output = registry_node(&["backup", "--data", path(&data), "--to", path(&backup)]);
    assert!(output.status.success(), "{}", said(&output));
    assert_eq!(manifest(&backup)["formatVersion"], 2);
    assert_eq!(manifest(&backup)["log"]["size"], 4);
}

/// A federation whose member `cq-sc` may write online backups into `backups`.
struct BackedUpMember {
    federation: Federation,
    backups: PathBuf,
    keys: PathBuf,
}

impl BackedUpMember {
    const MEMBER: &'static str = "cq-sc";

    fn prepare(dir: &Path) -> BackedUpMember {
        let federation = Federation::prepare(dir).expect("federation");
        let backups = dir.join("backups");
        std::fs::create_dir(&backups).expect("backup dir");
        let keys = workspace_root()
            .join("federation-config/chengdu-chongqing/dev-keys")
            .join(Self::MEMBER);
        BackedUpMember {
            federation,
            backups,
            keys,
        }
    }

    /// Starts the member with `--backup-dir`.
    fn start(&self) -> Node {
        Node::start_with(
            &self.federation.data_dir(Self::MEMBER),
            &[
                "--config",
                path(&self.federation.config),
                "--member",
                Self::MEMBER,
                "--keys-from",
                path(&self.keys),
                "--backup-dir",
                path(&self.backups),
            ],
        )
        .expect("member starts")
    }

    /// Starts every other member.
    fn start_peers(&self) -> Vec<Node> {
        federation_tests::MEMBERS
            .iter()
            .filter(|id| **id != Self::MEMBER)
            .map(|id| self.federation.start(id).expect("peer starts"))
            .collect()
    }

    /// Backs the running `node` up into `backups/<name>`; returns the backup's path.
    fn back_up(&self, node: &Node, name: &str) -> PathBuf {
        let target = self.backups.join(name);
        let output = back_up_online(node, &target);
        assert!(output.status.success(), "{}", said(&output));
        target
    }

    /// Restores `backup` into the member's data directory (its node stopped), starts
    /// it and waits until every peer has confirmed its log (the restore marker is gone).
    fn restore_and_start(&self, backup: &Path) -> Node {
        let data = self.federation.data_dir(Self::MEMBER);
        let restored = registry_node(&[
            "restore",
            "--from",
            path(backup),
            "--data",
            path(&data),
            "--force",
        ]);
        assert!(restored.status.success(), "{}", said(&restored));
        let node = self.start();
        wait_for(
            STEP,
            || (!data.join("RESTORED").exists()).then_some(()),
            || {
                client()
                    .get(node.at("/healthz"))
                    .send()
                    .and_then(|response| response.text())
                    .unwrap_or_default()
            },
        )
        .expect("the restored member's log is confirmed by every peer");
        node
    }
}

/// `GET <peer>/api/v1/federation/mirrors/<log>/entries?start=0&count=1` signed as
/// `reader` with its witness key from `keys`.
fn mirrored_entries_as(peer: &Node, log: &str, reader: &str, keys: &Path) -> StatusCode {
    let secret = std::fs::read_to_string(keys.join("witness.key")).expect("witness key");
    let seed = talent_integrity::multibase::decode_ed25519_secret(secret.trim()).expect("key");
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let path = format!("/api/v1/federation/mirrors/{log}/entries?start=0&count=1");
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let mut request = client().get(peer.at(&path));
    for (name, value) in
        talent_core::request_auth::sign_request(reader, &key, "GET", &path, now, &[])
    {
        request = request.header(name, value);
    }
    request.send().expect("GET").status()
}

/// A member restored from a backup older than what its peers mirrored catches up by itself:
/// while held it publishes no checkpoint (so no peer takes it for a rollback), fetches the
/// missing entries from a peer's mirror, checks them against the checkpoint of its own log
/// the peer holds and appends them; then every peer confirms, the credentials issued after
/// the backup verify at it again, it issues again, and no peer kept evidence or halted it.
#[test]
fn a_member_restored_behind_its_peers_catches_up_from_their_mirrors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = BackedUpMember::prepare(dir.path());
    let (federation, member) = (&fixture.federation, BackedUpMember::MEMBER);
    let keys = &fixture.keys;
    let node = fixture.start();
    let peers = fixture.start_peers();
    issue(&node);
    let backed_up = node.checkpoint_size();
    let target = fixture.back_up(&node, "before");
    // More than a status-list lease (1,024 slots) after the backup: the restored node leases
    // again from the backup's counter, into slots the recovered credentials hold; and more
    // than one request (256 entries) of catch-up.
    let mut after_backup: Vec<Value> = vec![node.issue(&example_request("SkillLevelCredential"))];
    for _ in 0..2 {
        let requests: Vec<Value> = (0..AFTER_BACKUP_BATCH)
            .map(|_| example_request("SkillLevelCredential"))
            .collect();
        let response = node
            .client()
            .post(node.at("/api/v1/credentials:batch"))
            .json(&json!({ "credentials": requests }))
            .send()
            .expect("batch");
        assert_eq!(response.status(), StatusCode::CREATED);
        let batch: Value = response.json().expect("JSON");
        after_backup.extend(
            batch["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|result| result["credential"].clone()),
        );
    }
    let later = node.checkpoint_size();
    assert_eq!(later, backed_up + after_backup.len() as u64);
    let signed = size_and_root(&checkpoint(&node));
    for peer in &peers {
        peer.wait_mirrored(member, later, STEP)
            .expect("the peers mirror the later entries");
    }
    node.stop().expect("stops");

    // The mirrored entries are for the log's own member only: unsigned 401, another
    // member 403 `not_the_log_member`, the member itself 200.
    let unsigned = client()
        .get(peers[0].at(&format!(
            "/api/v1/federation/mirrors/{member}/entries?start=0&count=1"
        )))
        .send()
        .expect("GET");
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let other = federation.data_dir("cq-hrss").join("keys");
    assert_eq!(
        mirrored_entries_as(&peers[0], member, "cq-hrss", &other),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        mirrored_entries_as(&peers[0], member, member, keys),
        StatusCode::OK
    );

    let data = federation.data_dir(member);
    let started = std::time::Instant::now();
    let node = fixture.restore_and_start(&target);
    eprintln!(
        "caught up {} entries and confirmed by {} peers {:?} after the start",
        later - backed_up,
        peers.len(),
        started.elapsed()
    );
    assert_eq!(node.checkpoint_size(), later, "caught up");
    assert_eq!(
        size_and_root(&checkpoint(&node)),
        signed,
        "the very tree it had signed"
    );
    for peer in &peers {
        let trust: Value = client()
            .get(peer.at("/api/v1/federation/trust"))
            .send()
            .expect("GET trust")
            .json()
            .expect("JSON");
        let held = trust["checkpoints"][member].as_str().expect("a checkpoint");
        assert_eq!(size_and_root(held), signed, "what {} holds", peer.url);
    }
    // /healthz answers from a round at most a second old.
    wait_for(
        STEP,
        || {
            let health: Value = client().get(node.at("/healthz")).send().ok()?.json().ok()?;
            (health["status"] == "ok").then_some(())
        },
        || "the node is healthy again (its log no longer held)".into(),
    )
    .expect("healthy");
    // The first, one in the second lease and the last credential after the backup.
    let samples = [
        &after_backup[0],
        &after_backup[1100],
        after_backup.last().expect("credentials"),
    ];
    for credential in samples {
        let verdict = verify_at(&node.url, credential, false);
        assert_eq!(verdict["verified"], true, "{verdict:#}");
        let id = credential["id"].as_str().expect("id");
        assert_eq!(fetch_status(&node, id), StatusCode::OK, "{id} is back");
    }

    // The node says what it did, and what it could not recover.
    let log = std::fs::read_to_string(data.with_extension("log")).expect("node log");
    let caught_up = log
        .lines()
        .find(|line| line.contains("caught up the log from a peer's mirror"))
        .unwrap_or_else(|| panic!("no catch-up line in {log}"));
    assert!(
        caught_up.contains("full ID numbers") && caught_up.contains("cannot be recovered"),
        "{caught_up}"
    );

    let fresh = node.issue(&example_request("SkillLevelCredential"));
    assert_eq!(node.checkpoint_size(), later + 1);
    assert_eq!(verify_at(&node.url, &fresh, false)["verified"], true);
    // The restored lease counter hands slots out again from the backup's: the slots the
    // recovered credentials hold are skipped, so no two credentials share a status bit.
    let slot = |credential: &Value| {
        let status = &credential["credentialStatus"][0];
        (
            status["statusListCredential"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            status["statusListIndex"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    assert!(!slot(&fresh).1.is_empty(), "{fresh}");
    for credential in &after_backup {
        assert_ne!(
            slot(credential),
            slot(&fresh),
            "a status slot handed out twice"
        );
    }
    // A recovered credential's status changes through its own slot only.
    let revoked = samples[1]["id"].as_str().expect("id");
    let response = node
        .client()
        .post(node.at(&format!("/api/v1/credentials/{revoked}/status")))
        .json(&json!({"status": "03", "reason": "issued in error"}))
        .send()
        .expect("revoke");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(verify_at(&node.url, samples[1], false)["verified"], false);
    assert_eq!(verify_at(&node.url, &fresh, false)["verified"], true);
    assert_eq!(verify_at(&node.url, samples[2], false)["verified"], true);
    let later = later + 1;
    for peer in &peers {
        peer.wait_mirrored(member, later + 1, STEP)
            .expect("the peers mirror the new entry");
        let status = peer_status(&peer.url, member);
        assert_ne!(status["state"], "halted", "{status}");
        assert_eq!(status["evidence"], json!([]), "{status}");
    }
}

/// A member restored to what every peer holds: once all of them have answered, the marker
/// is removed, the log takes entries again and the peers mirror them without evidence.
#[test]
fn a_member_restored_to_what_its_peers_hold_resumes_once_they_confirm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = BackedUpMember::prepare(dir.path());
    let member = BackedUpMember::MEMBER;
    let node = fixture.start();
    let peers = fixture.start_peers();
    issue(&node);
    let size = node.checkpoint_size();
    for peer in &peers {
        peer.wait_mirrored(member, size, STEP).expect("mirrored");
    }
    let target = fixture.back_up(&node, "now");
    node.stop().expect("stops");
    let node = fixture.restore_and_start(&target);
    // /healthz answers from a round at most a second old.
    wait_for(
        STEP,
        || {
            let health: Value = client().get(node.at("/healthz")).send().ok()?.json().ok()?;
            (health["status"] == "ok").then_some(())
        },
        || "the node is healthy again (its log no longer held)".into(),
    )
    .expect("healthy");
    issue(&node);
    for peer in &peers {
        peer.wait_mirrored(member, size + 1, STEP)
            .expect("the peers mirror the new entry");
        let status = peer_status(&peer.url, member);
        assert_ne!(status["state"], "halted", "{status}");
        assert_eq!(status["evidence"], json!([]), "{status}");
    }
}
