//! Issue 22, HTTPS served by the node itself (`serve --tls-cert --tls-key`): clients that
//! trust its certificate issue and verify over it, `talent-verify --ca` verifies online,
//! a client that does not trust it is refused, plain HTTP gets no answer, a silent
//! connection is closed at the header-read timeout, a wrong key stops the node at start,
//! and two federation members mirror each other over HTTPS (`--peer-ca`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use federation_tests::cli::example_request;
use federation_tests::{Federation, Node, binary, talent_verify, wait_for};
use reqwest::StatusCode;
use serde_json::Value;

/// Runs `openssl` with `args` in `dir`, asserting success.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A P-256 certificate authority in `dir` (`ca.crt`, `ca.key`), made by `openssl` once.
fn authority(dir: &Path) -> PathBuf {
    if !dir.join("ca.crt").exists() {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=talent-registry test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        );
    }
    dir.join("ca.crt")
}

/// A server certificate for localhost and 127.0.0.1 issued by the test authority in `dir`
/// (as a federation's own CA would issue it): (certificate, key). Clients trust `ca.crt`.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    authority(dir);
    let (cert, key, csr) = (
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.csr"),
    );
    let extensions = dir.join(format!("{name}.ext"));
    std::fs::write(
        &extensions,
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("extensions");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &path(&extensions),
            "-out",
            &cert,
        ],
    );
    (dir.join(cert), dir.join(key))
}

/// A client that trusts the certificate authority `cert`, sending `token` when given.
fn trusting(cert: &Path, token: Option<&str>) -> reqwest::blocking::Client {
    let pem = std::fs::read(cert).expect("certificate");
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM"));
    if let Some(token) = token {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
        builder = builder.default_headers(headers);
    }
    builder.build().expect("client")
}

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn a_node_serves_https_and_clients_verify_over_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = certificate(dir.path(), "node");
    let node = Node::start_with(
        &dir.path().join("node"),
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &path(&cert),
            "--tls-key",
            &path(&key),
            "--header-read-timeout-secs",
            "1",
        ],
    )
    .expect("node starts");
    assert!(node.url.starts_with("https://127.0.0.1:"), "{}", node.url);

    // Issue over HTTPS; the status list the credential names is under the HTTPS URL.
    let ca = authority(dir.path());
    let admin = trusting(&ca, Some(&node.admin_token));
    let request = example_request("ProfessionalTitleCredential");
    let response = admin
        .post(node.at("/api/v1/credentials"))
        .json(&request)
        .send()
        .expect("issue over HTTPS");
    assert_eq!(response.status(), StatusCode::CREATED);
    let credential = response.json::<Value>().expect("JSON")["credential"].clone();
    let list = credential["credentialStatus"][0]["statusListCredential"]
        .as_str()
        .expect("status list URL");
    assert!(list.starts_with(&node.url), "{list}");
    let list = trusting(&ca, None).get(list).send().expect("status list");
    assert_eq!(list.status(), StatusCode::OK);

    // talent-verify online: trusted with --ca, refused without.
    let bytes = serde_json::to_vec(&credential).expect("JSON");
    let cert_arg = path(&ca);
    let trusted = talent_verify(
        &["verify", "--ca", &cert_arg, "--node", &node.url, "-"],
        Some(&bytes),
    )
    .expect("runs");
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&trusted.stdout),
        String::from_utf8_lossy(&trusted.stderr)
    );
    let untrusted =
        talent_verify(&["verify", "--node", &node.url, "-"], Some(&bytes)).expect("runs");
    assert_eq!(untrusted.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.contains(&node.url), "{stderr}");
    // From a file: talent-verify refuses the --ca before it would read standard input.
    let file = dir.path().join("credential.json");
    std::fs::write(&file, &bytes).expect("write");
    let not_pem = talent_verify(
        &[
            "verify",
            "--ca",
            "/etc/hostname",
            "--node",
            &node.url,
            &path(&file),
        ],
        None,
    )
    .expect("runs");
    assert_eq!(not_pem.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&not_pem.stderr);
    assert!(stderr.contains("/etc/hostname"), "{stderr}");

    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let address = node.url.trim_start_matches("https://").to_owned();
    let mut plain = std::net::TcpStream::connect(&address).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // A connection that never starts its handshake is closed at the header-read timeout.
    let mut silent = std::net::TcpStream::connect(&address).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    let mut buffer = [0u8; 16];
    let read = silent.read(&mut buffer);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "the silent connection got {read:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed after {:?}",
        started.elapsed()
    );

    // The node still serves.
    let health = trusting(&ca, None)
        .get(node.at("/healthz"))
        .send()
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    node.stop().expect("stops");
}

#[test]
fn a_key_that_is_not_the_certificates_stops_the_node_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, _) = certificate(dir.path(), "one");
    let (_, other_key) = certificate(dir.path(), "two");
    let output = Command::new(binary("registry-node"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("node"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&other_key)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("one.crt") && stderr.contains("two.key"),
        "{stderr}"
    );
    let output = Command::new(binary("registry-node"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("node"))
        .arg("--tls-cert")
        .arg(&cert)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "--tls-cert needs --tls-key");
}

#[test]
fn members_mirror_each_other_over_https() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("federation");
    // Every member serves HTTPS: their endpoints in the configuration say so.
    let mut text = std::fs::read_to_string(&federation.config).expect("config");
    for member in federation.endpoints.keys() {
        let endpoint = federation.endpoint(member);
        let https = endpoint.replace("http://", "https://");
        text = text.replace(&format!("\"{endpoint}\""), &format!("\"{https}\""));
    }
    std::fs::write(&federation.config, text).expect("config");
    let (cert, key) = certificate(dir.path(), "federation");
    let ca = authority(dir.path());
    let keys_of = |member: &str| {
        path(
            &federation_tests::workspace_root()
                .join("federation-config/chengdu-chongqing/dev-keys")
                .join(member),
        )
    };
    let start = |member: &str| {
        Node::start_with(
            &federation.data_dir(member),
            &[
                "--config",
                &path(&federation.config),
                "--member",
                member,
                "--keys-from",
                &keys_of(member),
                "--tls-cert",
                &path(&cert),
                "--tls-key",
                &path(&key),
                "--peer-ca",
                &path(&ca),
            ],
        )
        .expect("member starts")
    };
    let cq_sc = start("cq-sc");
    let cd_hz = start("cd-hz");
    let others: Vec<Node> = ["cq-hrss", "sc-hrss", "bj-zgc"]
        .into_iter()
        .map(start)
        .collect();
    assert!(cd_hz.url.starts_with("https://"), "{}", cd_hz.url);
    let request = example_request("SkillLevelCredential");
    let response = trusting(&ca, Some(&cd_hz.admin_token))
        .post(cd_hz.at("/api/v1/credentials"))
        .json(&request)
        .send()
        .expect("issue");
    assert_eq!(response.status(), StatusCode::CREATED);

    let client = trusting(&ca, None);
    let federation_status = |node: &Node| -> Option<Value> {
        client
            .get(node.at("/api/v1/federation/status"))
            .send()
            .ok()?
            .json()
            .ok()
    };
    let mirrored = |node: &Node| {
        let status = federation_status(node)?;
        status["peers"]
            .as_array()?
            .iter()
            .find(|peer| peer["id"] == "cd-hz")
            .and_then(|peer| peer["mirroredSize"].as_u64())
            .filter(|size| *size >= 1)
    };
    wait_for(
        Duration::from_secs(60),
        || mirrored(&cq_sc),
        || "cq-sc has not mirrored cd-hz over HTTPS".to_owned(),
    )
    .expect("mirrored over HTTPS");
    // The start-up rollback check asks every peer over HTTPS too (with --peer-ca): once
    // each has answered, the worker has no error.
    let rollback_error = |node: &Node| -> Option<Value> {
        let status = federation_status(node)?;
        let worker = status["workers"]
            .as_array()?
            .iter()
            .find(|worker| worker["name"] == "rollback-check")?
            .clone();
        Some(worker["lastError"].clone())
    };
    wait_for(
        Duration::from_secs(60),
        || rollback_error(&cq_sc).filter(Value::is_null),
        || format!("cq-sc's rollback check: {:?}", rollback_error(&cq_sc)),
    )
    .expect("the rollback check reached every peer over HTTPS");
    cq_sc.stop().expect("stops");
    cd_hz.stop().expect("stops");
    for node in others {
        node.stop().expect("stops");
    }
}
