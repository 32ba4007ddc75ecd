//! `talent-bench read-path`: reads of the public log and the status lists from the node
//! and from the object store it publishes to (`serve --publish-s3`), side by side — the
//! same objects, the same number of concurrent clients — and the node's issuance rate with
//! publication off and on, next to the issuance limits measured in the same run.
//!
//! The object store is `s3s-fs` (scripts/setup.sh installs it): one process the node
//! writes through with credentials, one the readers read through anonymously, over one
//! directory. Everything runs on 127.0.0.1; every loop is bounded in time and count.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::binaries;
use crate::corpus;
use crate::limits;
use crate::node::{self, NodeProcess};
use crate::procfs::{self, Machine};
use crate::report::{self, Table, thousands};

const BUCKET: &str = "registry";
const PREFIX: &str = "bench";
const ACCESS_KEY: &str = "talent-bench-access";
const SECRET_KEY: &str = "talent-bench-secret-0123456789";
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long publication may take to catch up with the log after the issuance phase.
const CATCH_UP: Duration = Duration::from_secs(120);
/// Most requests of one phase, whatever its duration.
const MAX_REQUESTS: u64 = 10_000_000;

/// `talent-bench read-path`.
#[derive(Debug, clap::Args)]
pub struct ReadPathArgs {
    /// Concurrent clients of every phase.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub clients: u64,
    /// Duration of each phase, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// The `s3s-fs` binary [default: ~/.cargo/bin/s3s-fs, else on the PATH].
    #[arg(long, value_name = "FILE")]
    pub s3s_fs: Option<PathBuf>,
    /// Where to create the nodes' data and the bucket [default: the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
}

/// An `s3s-fs` process, killed when dropped.
struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    fn start(
        binary: &Path,
        root: &Path,
        log: &Path,
        authenticated: bool,
    ) -> anyhow::Result<S3Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(binary);
        command.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        if authenticated {
            command.args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY]);
        }
        let child = command
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (scripts/setup.sh installs it)",
                    binary.display()
                )
            })?;
        let server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("s3s-fs did not listen on {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    let installed =
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin/s3s-fs"));
    match installed {
        Some(path) if path.is_file() => path,
        _ => PathBuf::from("s3s-fs"),
    }
}

/// What one phase of requests did.
#[derive(Debug, Default, Clone, Copy)]
struct Phase {
    ok: u64,
    errors: u64,
    bytes: u64,
    elapsed: Duration,
    node_cores: Option<f64>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs the benchmark and prints its tables.
///
/// # Errors
/// A server could not be started or reached, or publication did not catch up in time.
pub fn run(args: &ReadPathArgs) -> anyhow::Result<()> {
    let binary = binaries::sibling("registry-node")?;
    let s3s_fs = s3s_fs(args.s3s_fs.as_deref());
    let machine = Machine::current();
    println!("{}", report::header("read-path", &machine));
    let examples = corpus::load_examples(&corpus::default_examples_dir())?;
    // Talent credentials only (the corpus leaves accreditations out).
    let bodies: Vec<Vec<u8>> = examples
        .iter()
        .map(|example| serde_json::to_vec(&example.body))
        .collect::<Result<_, _>>()?;
    let mut scratch = tempfile::Builder::new();
    scratch.prefix("talent-bench-read-path-");
    let scratch = match &args.scratch {
        Some(parent) => scratch.tempdir_in(parent),
        None => scratch.tempdir(),
    }
    .context("creating the scratch directory")?;
    let dir = scratch.path();

    println!("measuring limits …");
    let sign = limits::ed25519_sign()?;
    let commits = limits::synced_commits(&dir.join("commit-probe"))?;

    let root = dir.join("s3");
    std::fs::create_dir_all(root.join(BUCKET))?;
    let writer = S3Server::start(&s3s_fs, &root, &dir.join("s3-writer.log"), true)?;
    let reader = S3Server::start(&s3s_fs, &root, &dir.join("s3-reader.log"), false)?;
    let bucket_base = format!("http://127.0.0.1:{}/{BUCKET}/{PREFIX}", reader.port);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let seconds = Duration::from_secs(args.seconds);
    let clients = args.clients;

    // Issuance without publication, then a fresh node with it.
    let off_node = NodeProcess::start(&binary, &dir.join("off"), &dir.join("off.log"), &[])?;
    node::wait_healthy(&off_node.url, Duration::from_secs(30))?;
    println!("issuing for {} s with publication off …", args.seconds);
    let off = runtime.block_on(issue(&off_node, &bodies, clients, seconds))?;
    off_node.stop()?;
    let publish_args: Vec<String> = [
        "--publish-s3",
        &format!("http://127.0.0.1:{}", writer.port),
        "--publish-bucket",
        BUCKET,
        "--publish-prefix",
        PREFIX,
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let on_node = NodeProcess::start_with_env(
        &binary,
        &dir.join("on"),
        &dir.join("on.log"),
        &publish_args,
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
    )?;
    node::wait_healthy(&on_node.url, Duration::from_secs(30))?;
    println!("issuing for {} s with publication on …", args.seconds);
    let writer_cpu = || procfs::cpu_seconds(&writer.child.id().to_string());
    let writer_before = writer_cpu();
    let on = runtime.block_on(issue(&on_node, &bodies, clients, seconds))?;
    // What the S3 server the node uploads to took of the same cores meanwhile.
    let writer_cores = writer_before
        .zip(writer_cpu())
        .map(|(before, after)| (after - before) / on.elapsed.as_secs_f64().max(1e-9));

    // Publication catches up; then the same objects are read from both.
    let size = runtime.block_on(checkpoint_size(&format!("{}/log/checkpoint", on_node.url)))?;
    let started = Instant::now();
    let mut published = 0;
    while published != size {
        if started.elapsed() > CATCH_UP {
            bail!(
                "the bucket holds a checkpoint of {published} entries, the log {size}, after {CATCH_UP:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
        published = runtime
            .block_on(checkpoint_size(&format!("{bucket_base}/log/checkpoint")))
            .unwrap_or(0);
    }
    let caught_up = started.elapsed();
    let tiles: Vec<String> = (0..size / 256)
        .map(|index| {
            let tile = talent_tlog::tile::TilePath::Hashes {
                level: 0,
                index,
                width: 256,
            };
            format!("log/{tile}")
        })
        .collect();
    if tiles.is_empty() {
        bail!("only {size} entries were issued: no full tile to read (raise --seconds)");
    }
    let lists: Vec<String> = ["revocation", "suspension"]
        .iter()
        .map(|purpose| format!("api/v1/status-lists/{purpose}/0"))
        .collect();
    let mut reads = Vec::new();
    for (what, paths) in [("full hash tiles", &tiles), ("status lists", &lists)] {
        for (source, base) in [
            ("node", on_node.url.as_str()),
            ("object store", bucket_base.as_str()),
        ] {
            let urls: Vec<String> = paths.iter().map(|path| format!("{base}/{path}")).collect();
            println!("reading {what} from the {source} for {} s …", args.seconds);
            // The CPU of whoever serves: the node, or the s3s-fs the readers read through.
            let server_cpu = || match source {
                "node" => on_node.cpu_seconds(),
                _ => procfs::cpu_seconds(&reader.child.id().to_string()),
            };
            let before = server_cpu();
            let mut phase = runtime.block_on(read(urls, clients, seconds))?;
            phase.node_cores = before
                .zip(server_cpu())
                .map(|(before, after)| (after - before) / phase.elapsed.as_secs_f64().max(1e-9));
            reads.push((what, source, phase));
        }
    }
    on_node.stop()?;
    drop(writer);
    drop(reader);

    println!();
    println!(
        "summary ({clients} concurrent clients, {} s per phase)",
        args.seconds
    );
    let mut table = Table::new(&[
        "reads",
        "from",
        "requests/s",
        "MiB/s",
        "errors",
        "server CPU",
    ]);
    for (what, source, phase) in &reads {
        table.row(vec![
            (*what).to_owned(),
            (*source).to_owned(),
            thousands(phase.per_second()),
            format!(
                "{:.1}",
                phase.bytes as f64 / phase.elapsed.as_secs_f64().max(1e-9) / 1_048_576.0
            ),
            phase.errors.to_string(),
            phase
                .node_cores
                .map_or("—".into(), |cores| format!("{cores:.2}")),
        ]);
    }
    print!("{}", table.render());
    let mut table = Table::new(&[
        "issuance (POST /api/v1/credentials)",
        "credentials/s",
        "errors",
        "node CPU",
    ]);
    for (name, phase) in [("publication off", &off), ("publication on", &on)] {
        table.row(vec![
            name.to_owned(),
            thousands(phase.per_second()),
            phase.errors.to_string(),
            phase
                .node_cores
                .map_or("—".into(), |cores| format!("{cores:.2}")),
        ]);
    }
    print!("{}", table.render());
    if let Some(cores) = writer_cores {
        println!(
            "the s3s-fs the node uploads to used {cores:.2} cores while it issued with publication on"
        );
    }
    println!(
        "publication caught up with the log ({size} entries, {} full tiles) {:.1} s after issuance stopped",
        tiles.len(),
        caught_up.as_secs_f64()
    );
    let mut table = Table::new(&["limit measured in this run", "per second"]);
    table.row(vec![
        "Ed25519 sign of 64 bytes, 1 core".into(),
        thousands(sign.per_second()),
    ]);
    table.row(vec![
        format!("synced RocksDB commit ({})", dir.display()),
        thousands(commits.rate.per_second()),
    ]);
    print!("{}", table.render());
    if machine.cores <= 2 {
        println!(
            "note: the clients, the node and both s3s-fs processes share the {} cores.",
            machine.cores
        );
    }
    Ok(())
}

async fn checkpoint_size(url: &str) -> anyhow::Result<u64> {
    let text = reqwest::Client::new()
        .get(url)
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    text.lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .with_context(|| format!("{url} is not a checkpoint"))
}

/// `clients` tasks POST issuance requests for `duration`; counts the 201s.
async fn issue(
    node: &NodeProcess,
    bodies: &[Vec<u8>],
    clients: u64,
    duration: Duration,
) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder()
        .default_headers(node.auth_headers())
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let url = format!("{}/api/v1/credentials", node.url);
    let bodies = Arc::new(bodies.to_vec());
    let cpu = node.cpu_seconds();
    let phase = load(clients, duration, move |serial| {
        let request = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(bodies[serial as usize % bodies.len()].clone());
        async move {
            let response = request.send().await.ok()?;
            (response.status() == StatusCode::CREATED).then_some(0)
        }
    })
    .await?;
    let node_cores = cpu
        .zip(node.cpu_seconds())
        .map(|(before, after)| (after - before) / phase.elapsed.as_secs_f64().max(1e-9));
    Ok(Phase {
        node_cores,
        ..phase
    })
}

/// `clients` tasks GET `urls` in turn for `duration`; counts the 200s and their bytes.
async fn read(urls: Vec<String>, clients: u64, duration: Duration) -> anyhow::Result<Phase> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let urls = Arc::new(urls);
    load(clients, duration, move |serial| {
        let request = client.get(&urls[serial as usize % urls.len()]);
        async move {
            let response = request.send().await.ok()?;
            if response.status() != StatusCode::OK {
                return None;
            }
            Some(response.bytes().await.ok()?.len() as u64)
        }
    })
    .await
}

/// Runs `request(serial)` from `clients` tasks, each waiting for its answer before the
/// next, for `duration` (and at most [`MAX_REQUESTS`]); `Some(bytes)` counts as success.
async fn load<F, R>(clients: u64, duration: Duration, request: F) -> anyhow::Result<Phase>
where
    F: Fn(u64) -> R + Send + Sync + 'static,
    R: std::future::Future<Output = Option<u64>> + Send,
{
    let request = Arc::new(request);
    let serial = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let request = Arc::clone(&request);
        let serial = Arc::clone(&serial);
        tasks.spawn(async move {
            let mut phase = Phase::default();
            while started.elapsed() < duration {
                let next = serial.fetch_add(1, Ordering::Relaxed);
                if next >= MAX_REQUESTS {
                    break;
                }
                match request(next).await {
                    Some(bytes) => {
                        phase.ok += 1;
                        phase.bytes += bytes;
                    }
                    None => phase.errors += 1,
                }
            }
            phase
        });
    }
    let mut total = Phase::default();
    while let Some(phase) = tasks.join_next().await {
        let phase = phase.context("a client task failed")?;
        total.ok += phase.ok;
        total.errors += phase.errors;
        total.bytes += phase.bytes;
    }
    total.elapsed = started.elapsed();
    Ok(total)
}
