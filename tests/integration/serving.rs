//! How a node serves HTTP: each connection on one of its server threads, requests verified
//! together per thread, and SIGTERM letting requests in flight finish.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use federation_tests::{Node, example_requests};
use serde_json::{Value, json};

/// Many keep-alive connections verifying at once, valid and forged credentials mixed: the
/// node verifies concurrent requests in shared batches, and every answer must still be the
/// verdict of the request it answers.
#[test]
fn concurrent_verifications_each_get_their_own_verdict() {
    const CLIENTS: usize = 24;
    const REQUESTS_EACH: usize = 12;
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let mut cases: Vec<(Value, bool)> = Vec::new();
    for (_, request) in example_requests().iter().take(6) {
        let credential = node.issue(request);
        let mut forged = credential.clone();
        forged["validFrom"] = json!("2000-01-01T00:00:00Z");
        cases.push((credential, true));
        cases.push((forged, false));
    }
    let url = node.at("/api/v1/verify");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (url, cases) = (url.clone(), cases.clone());
            std::thread::spawn(move || {
                // One pooled connection per client thread, kept alive across its requests.
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("HTTP client");
                for request in 0..REQUESTS_EACH {
                    let (credential, valid) = &cases[(client * 5 + request) % cases.len()];
                    let verdict: Value = http
                        .post(&url)
                        .json(&json!({ "credential": credential }))
                        .send()
                        .expect("POST /api/v1/verify")
                        .json()
                        .expect("verdict JSON");
                    assert_eq!(
                        verdict["credential"]["id"], credential["id"],
                        "an answer for another request: {verdict}"
                    );
                    assert_eq!(verdict["verified"], json!(valid), "{verdict}");
                    if !valid {
                        let proof = verdict["checks"]
                            .as_array()
                            .and_then(|checks| checks.iter().find(|check| check["name"] == "proof"))
                            .expect("a proof check");
                        assert_eq!(proof["ok"], json!(false), "{verdict}");
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
}

/// The head of a `POST /api/v1/verify` as raw HTTP/1.1 for a body of `length` bytes; with
/// `continue_first`, the node is asked for a `100 Continue` before the body is sent.
fn request_head(length: usize, continue_first: bool) -> Vec<u8> {
    let expect = if continue_first {
        "Expect: 100-continue\r\n"
    } else {
        ""
    };
    format!(
        "POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n{expect}\r\n"
    )
    .into_bytes()
}

/// Reads one response: its head, and as many body bytes as its `content-length` says.
fn read_response(stream: &mut TcpStream) -> (String, String) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut buffer).expect("a response");
        assert!(read > 0, "closed before a whole head: {bytes:?}");
        bytes.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a content-length");
    while bytes.len() < head_end + length {
        let read = stream.read(&mut buffer).expect("the body");
        assert!(read > 0, "closed before the whole body");
        bytes.extend_from_slice(&buffer[..read]);
    }
    let body = String::from_utf8_lossy(&bytes[head_end..head_end + length]).into_owned();
    (head, body)
}

/// Whether the server has closed the connection (after at most 20 s).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0))
}

/// SIGTERM stops new connections at once, but a request whose body has yet to arrive is
/// read, verified and answered; an idle keep-alive connection is closed; then the node
/// exits cleanly.
#[test]
fn sigterm_finishes_requests_in_flight_and_refuses_new_connections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut node = Node::start(&dir.path().join("node")).expect("node starts");
    let (_, request) = example_requests().into_iter().next().expect("an example");
    let credential = node.issue(&request);
    let body = serde_json::to_vec(&json!({ "credential": credential })).expect("JSON");
    let address = node.url.trim_start_matches("http://").to_owned();

    // An idle keep-alive connection that has been served once.
    let mut idle = TcpStream::connect(&address).expect("connect");
    idle.write_all(&[request_head(body.len(), false), body.clone()].concat())
        .expect("write");
    let (head, _) = read_response(&mut idle);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    // A request in flight: its handler is waiting for the body (the node has answered
    // `100 Continue`) when the signal comes.
    let mut in_flight = TcpStream::connect(&address).expect("connect");
    in_flight
        .write_all(&request_head(body.len(), true))
        .expect("write");
    in_flight
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let mut interim = Vec::new();
    let mut buffer = [0u8; 256];
    while !interim.ends_with(b"\r\n\r\n") {
        let read = in_flight.read(&mut buffer).expect("100 Continue");
        assert!(read > 0, "closed before 100 Continue");
        interim.extend_from_slice(&buffer[..read]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{interim:?}");
    node.terminate().expect("SIGTERM");

    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the node still accepts connections 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    in_flight.write_all(&body).expect("the body");
    let (head, verdict) = read_response(&mut in_flight);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(verdict.contains(r#""verified":true"#), "{verdict}");
    assert!(closed_by_server(&mut in_flight), "kept open while stopping");
    assert!(
        closed_by_server(&mut idle),
        "an idle connection was kept open"
    );

    let status = node
        .wait_exit(Duration::from_secs(20))
        .expect("the node exits");
    assert!(status.success(), "{status}");
}

/// SIGTERM while clients issue: every request the node took up is answered with its
/// credential once durable (never a 5xx "shutting down"), the node exits cleanly, and after
/// a restart the log holds every credential answered 201 and nothing else — no answer
/// without its entry, no entry without its answer.
#[test]
fn sigterm_while_issuing_answers_every_accepted_request_and_loses_nothing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const CLIENTS: usize = 8;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let mut node = Node::start(&data).expect("node starts");
    let (_, request) = example_requests()
        .into_iter()
        .find(|(name, _)| name == "ProfessionalTitleCredential")
        .expect("title example");
    let before = node.checkpoint_size();
    let issued = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, url, request) = (
                node.client(),
                node.at("/api/v1/credentials"),
                request.clone(),
            );
            let issued = Arc::clone(&issued);
            std::thread::spawn(move || {
                // Until the node stops taking requests: the ids answered 201, and any
                // other status (none is expected).
                let (mut ids, mut others) = (Vec::new(), Vec::new());
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(60) {
                    let Ok(response) = http.post(&url).json(&request).send() else {
                        break;
                    };
                    let status = response.status();
                    let Ok(body) = response.json::<Value>() else {
                        // The head came, the body did not: an answer cut off.
                        others.push(format!("{status}: body cut off"));
                        break;
                    };
                    if status == reqwest::StatusCode::CREATED {
                        ids.push(body["id"].as_str().expect("id").to_owned());
                        issued.fetch_add(1, Ordering::Relaxed);
                    } else {
                        others.push(format!("{status}: {body}"));
                    }
                }
                (ids, others)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while issued.load(Ordering::Relaxed) < 50 {
        assert!(Instant::now() < deadline, "the node issued too slowly");
        std::thread::sleep(Duration::from_millis(10));
    }
    node.terminate().expect("SIGTERM");
    let mut answered = Vec::new();
    for client in clients {
        let (ids, others) = client.join().expect("client thread");
        assert!(others.is_empty(), "answers other than 201: {others:?}");
        answered.extend(ids);
    }
    let status = node
        .wait_exit(Duration::from_secs(30))
        .expect("the node exits");
    assert!(status.success(), "{status}");

    let node = Node::start(&data).expect("restarts");
    assert_eq!(
        node.checkpoint_size() - before,
        answered.len() as u64,
        "the log holds exactly the credentials answered"
    );
    for id in &answered {
        let response = node
            .client()
            .get(node.at(&format!("/api/v1/credentials/{id}")))
            .send()
            .expect("GET credential");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{id}");
    }
}
