//! A hostile node that answers `talent-verify` without end: one that declares a huge body,
//! and one that streams JSON whitespace forever. The verifier stops at its answer bound and
//! exits 2 naming it, instead of reading until its memory runs out.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use federation_tests::cli::{said, talent_verify};

/// Serves every connection with `head` and then, when `stream` is set, spaces without end
/// (until the client hangs up). Returns the base URL.
fn hostile_node(head: &'static str, stream: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for connection in listener.incoming().take(8) {
            let Ok(mut connection) = connection else {
                continue;
            };
            std::thread::spawn(move || {
                // Read the request head, whatever it asks.
                let mut reader = BufReader::new(connection.try_clone().expect("clone"));
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                if connection.write_all(head.as_bytes()).is_err() || !stream {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, " ".repeat(1 << 16));
                let started = Instant::now();
                // Bounded in time: the verifier must have hung up long before.
                while started.elapsed() < Duration::from_secs(60) {
                    if connection.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[test]
fn a_node_answering_without_end_is_refused_at_the_bound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("credential.json");
    // Any credential: the verifier asks the node before it judges anything.
    let credential = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b5c6d",
        "type": ["VerifiableCredential", "SkillLevelCredential"],
        "issuer": "did:key:z6MkgG2M8N3nqTXxHHwdKR2EckccJFdRJrdfmZ1RqpKPRmFT",
        "credentialSubject": {"region": "cq-sc"},
    });
    std::fs::write(&file, credential.to_string()).expect("write");
    for (name, node) in [
        (
            "declared",
            hostile_node(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n",
                false,
            ),
        ),
        (
            "streamed",
            hostile_node(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                true,
            ),
        ),
    ] {
        let output = talent_verify(
            &["verify", file.to_str().expect("path"), "--node", &node],
            None,
        )
        .expect("talent-verify runs");
        assert_eq!(output.status.code(), Some(2), "{name}: {}", said(&output));
        assert!(
            said(&output).contains("more than 64 MiB"),
            "{name}: {}",
            said(&output)
        );
    }
}
