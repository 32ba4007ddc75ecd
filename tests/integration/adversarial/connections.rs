//! Descriptor exhaustion (issue 19, item 3): 20,000 connections that sent nothing stopped
//! `/healthz` and issuance. Now a node closes a connection that brings no request head in
//! time, holds at most so many connections per address and in all, and makes room for a
//! client that asks something by closing the connection that has waited longest.

use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use federation_tests::{Node, client, example_requests, wait_for};

/// The node's open-file limit: fewer than the attack's connections, so a node that holds
/// every connection runs out of descriptors.
const DESCRIPTORS: u64 = 700;
const MAX_CONNECTIONS: usize = 64;
const PER_ADDRESS: usize = 16;
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Attacking addresses (127.0.0.3 …): together they open more connections than
/// `DESCRIPTORS`.
const ATTACKERS: u8 = 50;

fn limit_args() -> Vec<String> {
    [
        "--listen",
        "127.0.0.1:0",
        "--max-connections",
        &MAX_CONNECTIONS.to_string(),
        "--max-connections-per-ip",
        &PER_ADDRESS.to_string(),
        "--header-read-timeout-secs",
        &HEADER_READ_TIMEOUT.as_secs().to_string(),
        "--idle-timeout-secs",
        &HEADER_READ_TIMEOUT.as_secs().to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A connection to `node` from the loopback address 127.0.0.`host`, sending nothing.
fn connect_from(host: u8, node: SocketAddr) -> TcpStream {
    // std has no bind-before-connect; tokio's TcpSocket has.
    tokio_runtime().block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
            .expect("bind to a loopback address");
        let stream = socket
            .connect(node)
            .await
            .expect("connect")
            .into_std()
            .expect("a std stream");
        stream.set_nonblocking(false).expect("blocking");
        stream
    })
}

fn tokio_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("a runtime")
    })
}

/// Whether the node still holds `stream` open (it has neither closed nor reset it).
fn held(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("non-blocking");
    let mut byte = [0u8; 1];
    let open =
        matches!(stream.peek(&mut byte), Err(error) if error.kind() == ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("blocking");
    open
}

#[test]
fn idle_connections_from_many_addresses_cannot_stop_health_checks_or_issuance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start_with_descriptor_limit(
        &dir.path().join("node"),
        &limit_args(),
        DESCRIPTORS,
        DESCRIPTORS,
    )
    .expect("node starts");
    let address: SocketAddr = node
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("a socket address");
    let (_, request) = example_requests().into_iter().next().expect("an example");

    // One address holds at most PER_ADDRESS connections: the next is answered 429.
    let started = Instant::now();
    let mut attack: Vec<TcpStream> = (0..PER_ADDRESS).map(|_| connect_from(2, address)).collect();
    let mut excess = connect_from(2, address);
    excess
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = excess.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer:?}");
    assert!(answer.contains("connection_limit_per_address"), "{answer}");

    // Many addresses open more silent connections than the node has descriptors.
    for host in 3..3 + ATTACKERS {
        for _ in 0..PER_ADDRESS {
            attack.push(connect_from(host, address));
        }
    }
    assert!(attack.len() as u64 > DESCRIPTORS);
    // The node holds as many as it may: the newest MAX_CONNECTIONS.
    wait_for(
        Duration::from_secs(5),
        || (attack.iter().filter(|stream| held(stream)).count() == MAX_CONNECTIONS).then_some(()),
        || {
            format!(
                "{} of {} attacking connections held",
                attack.iter().filter(|stream| held(stream)).count(),
                attack.len()
            )
        },
    )
    .expect("the node holds its limit of silent connections");

    // While it does, a client that asks is answered promptly.
    let asked = Instant::now();
    let health = client()
        .get(node.at("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .expect("GET /healthz answered");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    let issued = node
        .client()
        .post(node.at("/api/v1/credentials"))
        .json(&request)
        .timeout(Duration::from_secs(10))
        .send()
        .expect("issuance answered");
    assert_eq!(issued.status(), reqwest::StatusCode::CREATED);
    let answered = asked.elapsed();
    let still_held = attack.iter().filter(|stream| held(stream)).count();
    assert!(
        still_held >= MAX_CONNECTIONS - 4,
        "the attack no longer held the limit when the requests were answered ({still_held} held)"
    );
    assert!(
        answered < Duration::from_secs(10),
        "answered in {answered:?}"
    );

    // The silent connections are closed once the header-read timeout has passed.
    wait_for(
        HEADER_READ_TIMEOUT + Duration::from_secs(10),
        || attack.iter().all(|stream| !held(stream)).then_some(()),
        || {
            format!(
                "{} silent connections still open {:?} after the attack began",
                attack.iter().filter(|stream| held(stream)).count(),
                started.elapsed()
            )
        },
    )
    .expect("silent connections are closed");
    assert!(
        started.elapsed() >= HEADER_READ_TIMEOUT,
        "closed before the header-read timeout"
    );
    let status = node.stop().expect("stops");
    assert!(status.success(), "{status}");
}

#[test]
fn the_node_raises_its_open_file_limit_and_refuses_a_connection_limit_it_cannot_hold() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A soft limit below the hard one is raised to it.
    let node = Node::start_with_descriptor_limit(
        &dir.path().join("raised"),
        &["--listen", "127.0.0.1:0", "--max-connections", "1000"],
        700,
        4096,
    )
    .expect("node starts");
    let limits =
        std::fs::read_to_string(format!("/proc/{}/limits", node.pid())).expect("its limits");
    let open_files = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("an open-file limit");
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["4096", "4096"], "{open_files}");
    drop(node);

    // A limit the hard limit cannot hold is refused, saying what to change.
    let refused = Node::start_with_descriptor_limit(
        &dir.path().join("refused"),
        &["--listen", "127.0.0.1:0", "--max-connections", "1000"],
        700,
        700,
    )
    .expect_err("a node that could run out of descriptors must not start");
    let message = format!("{refused:#}");
    assert!(
        message.contains("file descriptors") && message.contains("--max-connections"),
        "{message}"
    );
}
