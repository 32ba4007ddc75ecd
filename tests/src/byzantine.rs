//! A byzantine federation member for the multi-process tests (issue 4, "Equivocation and
//! forgery").
//!
//! [`FakeMember`] impersonates one member of the federation on that member's configured
//! endpoint: a tiny blocking HTTP/1.1 server that serves whatever the test scripts at the
//! moment (a checkpoint and entry bundles by path; everything else is 404) and records the
//! requests it saw. [`MemberKeys`] holds the member's development keys, so the harness can
//! sign exactly what the real member could sign: credentials as its authority
//! ([`Issuer`]), checkpoints with its log key. [`ForgedLog`] turns entries into the C2SP
//! resources of a log (entry bundles, hash tiles, the root), so a test can serve an honest
//! log, a rolled-back one, a fork, or bundles that do not match the signed root.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::credential::{self, IssueRequest};
use talent_core::federation::{Federation as FederationConfig, Member};
use talent_core::identifiers::{CredentialId, RegionId};
use talent_core::log_entry;
use talent_integrity::did::DidKey;
use talent_integrity::multibase;
use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};
use talent_tlog::merkle::MemoryTree;
use talent_tlog::tile::{self, TilePath};
use talent_tlog::{Hash, bundle, checkpoint};

use crate::{example_requests, workspace_root};

/// Largest request head (request line and headers) the fake member reads.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body the fake member reads (an `add-checkpoint` body is far smaller).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How long one connection may stall before the fake member gives up on it.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A member's development keys (from `federation-config/chengdu-chongqing/dev-keys/`),
/// checked against the member's entry in a federation configuration.
#[derive(Debug, Clone)]
pub struct MemberKeys {
    /// The member as the configuration describes it.
    pub member: Member,
    /// Its authority key: the issuer of its credentials.
    pub authority: SigningKey,
    /// Its log key: signs its checkpoints.
    pub log: SigningKey,
    /// Its witness key: cosigns peers' checkpoints and signs its requests to peers.
    pub witness: SigningKey,
}

impl MemberKeys {
    /// Loads the development keys of `member` and checks them against its entry in the
    /// federation configuration at `config`.
    ///
    /// # Errors
    /// The configuration or a key cannot be read or parsed, the member is not configured, or
    /// a key does not match the configured public key.
    pub fn load(config: &Path, member: &str) -> anyhow::Result<MemberKeys> {
        let text = std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?;
        let federation = FederationConfig::parse(&text)
            .map_err(|error| anyhow::anyhow!("{}: {error}", config.display()))?;
        let member = federation
            .member(member)
            .with_context(|| format!("{member} is not a member in {}", config.display()))?
            .clone();
        let dir = workspace_root()
            .join("federation-config/chengdu-chongqing/dev-keys")
            .join(member.id.as_str());
        let key = |name: &str| -> anyhow::Result<SigningKey> {
            let path = dir.join(format!("{name}.key"));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let seed = multibase::decode_ed25519_secret(text.trim())
                .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
            Ok(SigningKey::from_bytes(&seed))
        };
        let keys = MemberKeys {
            authority: key("authority")?,
            log: key("log")?,
            witness: key("witness")?,
            member,
        };
        ensure!(
            DidKey::from_verifying_key(&keys.authority.verifying_key()) == keys.member.authority,
            "the authority key of {} is not its configured authority DID",
            keys.member.id.as_str()
        );
        ensure!(
            keys.log.verifying_key() == keys.member.log_key,
            "the log key of {} is not its configured log key",
            keys.member.id.as_str()
        );
        ensure!(
            keys.witness.verifying_key() == keys.member.witness_key,
            "the witness key of {} is not its configured witness key",
            keys.member.id.as_str()
        );
        Ok(keys)
    }

    /// The member's log origin (`registry.<id>.example/log`).
    pub fn origin(&self) -> &str {
        &self.member.log_origin
    }

    /// The member's authority as an issuer of credentials for its region.
    ///
    /// # Errors
    /// Never in practice: the member id is a valid region id.
    pub fn issuer(&self) -> anyhow::Result<Issuer> {
        Issuer::new(self.authority.clone(), self.member.id.as_str())
    }

    /// A checkpoint of `size` entries with `root`, signed with the member's log key.
    ///
    /// # Errors
    /// The origin is not a valid key name (never for a configured member).
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> anyhow::Result<Vec<u8>> {
        checkpoint::sign_checkpoint(self.origin(), size, root, &self.log)
            .map_err(|error| anyhow::anyhow!("signing a checkpoint: {error}"))
    }

    /// The checkpoint of the whole of `log`, signed with the member's log key.
    ///
    /// # Errors
    /// As [`MemberKeys::sign_checkpoint`].
    pub fn checkpoint_of(&self, log: &ForgedLog) -> anyhow::Result<Vec<u8>> {
        self.sign_checkpoint(log.size(), log.root())
    }
}

/// Signs credentials the way a node issues them (`node/src/issuance.rs`), with any key.
#[derive(Debug, Clone)]
pub struct Issuer {
    key: SigningKey,
    did: DidKey,
    region: RegionId,
}

impl Issuer {
    /// An issuer signing with `key` for `region`.
    ///
    /// # Errors
    /// `region` is not a valid region id.
    pub fn new(key: SigningKey, region: &str) -> anyhow::Result<Issuer> {
        let did = DidKey::from_verifying_key(&key.verifying_key());
        let region = region
            .parse()
            .map_err(|error| anyhow::anyhow!("region {region:?}: {error}"))?;
        Ok(Issuer { key, did, region })
    }

    /// The issuer's DID.
    pub fn did(&self) -> &DidKey {
        &self.did
    }

    /// A signed credential from an issuance request body (as `POST /api/v1/credentials`
    /// takes it), with a fresh UUIDv7 id, issued now.
    ///
    /// # Errors
    /// The body is not a valid request for this region, or signing fails.
    pub fn credential(&self, request: &Value) -> anyhow::Result<Value> {
        let request = IssueRequest::from_json(request).context("issuance request")?;
        let now = chrono::Utc::now();
        let id = CredentialId::from_uuid(uuid::Uuid::now_v7());
        let prepared = credential::prepare(request, &self.did, &self.region, id, now)
            .context("preparing the credential")?;
        let options = ProofOptions {
            created: credential::format_datetime(now),
            proof_purpose: ASSERTION_METHOD,
        };
        proof::sign(&prepared.document, &self.key, &options).context("signing the credential")
    }

    /// `count` signed credentials, cycling through the talent credential types of
    /// `docs/examples/`.
    ///
    /// # Errors
    /// As [`Issuer::credential`].
    pub fn credentials(&self, count: usize) -> anyhow::Result<Vec<Value>> {
        let bodies: Vec<Value> = example_requests()
            .into_iter()
            .map(|(_, body)| body)
            .filter(|body| {
                IssueRequest::from_json(body)
                    .is_ok_and(|request| request.credential_type.is_talent())
            })
            .collect();
        ensure!(
            !bodies.is_empty(),
            "docs/examples/ holds no talent credential request"
        );
        bodies
            .iter()
            .cycle()
            .take(count)
            .map(|body| self.credential(body))
            .collect()
    }

    /// `count` signed credentials as log entries (their JCS bytes).
    ///
    /// # Errors
    /// As [`Issuer::credential`], or an entry too large for a bundle.
    pub fn entries(&self, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
        self.credentials(count)?.iter().map(encode_entry).collect()
    }
}

/// The log entry of a signed object: its canonical (JCS) bytes.
///
/// # Errors
/// The entry is larger than an entry bundle can carry.
pub fn encode_entry(object: &Value) -> anyhow::Result<Vec<u8>> {
    log_entry::encode(object).map_err(|error| anyhow::anyhow!("encoding an entry: {error}"))
}

/// The lowercase hex SHA-256 of a canonical entry, as the status endpoint names an
/// offending entry (`{"index", "sha256"}`: the bytes may hold personal data).
///
/// Computed with talent-core's `eddsa-jcs-2022` hashing, whose second half is
/// `SHA-256(JCS(document))`: for a canonical entry, JCS of its JSON is the entry itself.
///
/// # Errors
/// The bytes are not JSON, or not canonical (then that identity does not hold).
pub fn entry_sha256_hex(entry: &[u8]) -> anyhow::Result<String> {
    let object: Value = serde_json::from_slice(entry).context("entry is not JSON")?;
    ensure!(
        talent_integrity::jcs::canonicalize(&object) == entry,
        "entry is not canonical JSON"
    );
    let hashes = proof::hash_data(&Value::Object(serde_json::Map::new()), &object);
    Ok(hashes[32..]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// A log built in memory from its entries: the root, and the C2SP resources a member
/// serves for it. Nothing here is checked: entries may be anything the test wants served.
#[derive(Debug, Clone)]
pub struct ForgedLog {
    entries: Vec<Vec<u8>>,
    tree: MemoryTree,
}

impl ForgedLog {
    /// The log holding `entries`, in order.
    pub fn new(entries: Vec<Vec<u8>>) -> ForgedLog {
        let mut tree = MemoryTree::new();
        for entry in &entries {
            tree.push_entry(entry);
        }
        ForgedLog { entries, tree }
    }

    /// The entries.
    pub fn entries(&self) -> &[Vec<u8>] {
        &self.entries
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the whole log.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The root of the first `size` entries.
    ///
    /// # Errors
    /// `size` exceeds the log.
    pub fn root_at(&self, size: u64) -> anyhow::Result<Hash> {
        self.tree
            .root_at(size)
            .map_err(|error| anyhow::anyhow!("root of {size} entries: {error}"))
    }

    /// This log with `more` entries appended.
    pub fn extended(&self, more: &[Vec<u8>]) -> ForgedLog {
        let mut entries = self.entries.clone();
        entries.extend_from_slice(more);
        ForgedLog::new(entries)
    }

    /// The first `size` entries of this log.
    pub fn prefix(&self, size: usize) -> ForgedLog {
        ForgedLog::new(self.entries.iter().take(size).cloned().collect())
    }

    /// This log with entry `index` replaced by `replacement` (a different tree).
    ///
    /// # Errors
    /// `index` is beyond the log.
    pub fn with_entry(&self, index: usize, replacement: Vec<u8>) -> anyhow::Result<ForgedLog> {
        ensure!(
            index < self.entries.len(),
            "entry {index} is beyond the log"
        );
        let mut entries = self.entries.clone();
        entries[index] = replacement;
        Ok(ForgedLog::new(entries))
    }

    /// The resources a member serves for this log at its current size, by URL path
    /// (`/log/tile/entries/000.p/5`, `/log/tile/0/000.p/5`, …): every entry bundle and hash
    /// tile of [`tile::tiles_for_size`], as a C2SP `tlog-tiles` log serves them. The
    /// checkpoint is not included (sign one and serve it under `/log/checkpoint`).
    ///
    /// # Errors
    /// An entry too large for a bundle, or a hash missing from the tree (never).
    pub fn resources(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut files = BTreeMap::new();
        for path in tile::tiles_for_size(self.size()) {
            let bytes = match path {
                TilePath::Entries { .. } => {
                    let mut data = Vec::new();
                    for index in path.entry_range() {
                        let entry = usize::try_from(index)
                            .ok()
                            .and_then(|position| self.entries.get(position))
                            .with_context(|| format!("entry {index} is beyond the log"))?;
                        bundle::push_entry(&mut data, entry)
                            .map_err(|error| anyhow::anyhow!("entry {index}: {error}"))?;
                    }
                    data
                }
                TilePath::Hashes { .. } => path
                    .read_hashes(&self.tree)
                    .map_err(|error| anyhow::anyhow!("tile {path}: {error}"))?,
            };
            files.insert(format!("/log/{path}"), bytes);
        }
        Ok(files)
    }

    /// The path of the entry bundle holding every entry of this log, when it has at most
    /// 256 entries (one bundle), e.g. `/log/tile/entries/000.p/5`.
    ///
    /// # Errors
    /// The log is empty or larger than one bundle.
    pub fn only_bundle_path(&self) -> anyhow::Result<String> {
        let size = self.size();
        ensure!(
            (1..=tile::TILE_WIDTH).contains(&size),
            "a log of {size} entries is not one bundle"
        );
        let width = u16::try_from(size)?;
        Ok(format!("/log/{}", TilePath::Entries { index: 0, width }))
    }
}

/// The entry bundle of `entries` (uint16 big-endian length, then the bytes, each).
///
/// # Errors
/// An entry too large for a bundle.
pub fn bundle_of(entries: &[Vec<u8>]) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    for entry in entries {
        bundle::push_entry(&mut data, entry).map_err(|error| anyhow::anyhow!("{error}"))?;
    }
    Ok(data)
}

/// A request the fake member received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// The `Talent-Member` header, when the request carried one (the requesting member).
    pub member: Option<String>,
    /// The status it was answered with.
    pub status: u16,
}

type Files = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;
type Seen = Arc<Mutex<Vec<SeenRequest>>>;

/// A fake federation member: a blocking HTTP/1.1 server on a member's endpoint that answers
/// `GET` for the paths currently scripted (200 with their bytes) and 404 for anything else,
/// one thread per connection, `Connection: close`. Stopped when dropped.
#[derive(Debug)]
pub struct FakeMember {
    address: SocketAddr,
    files: Files,
    seen: Seen,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeMember {
    /// Listens on the host and port of `endpoint` (`http://127.0.0.1:<port>`), serving
    /// nothing until scripted.
    ///
    /// # Errors
    /// The endpoint is not `http://host:port`, or the port cannot be bound.
    pub fn listen(endpoint: &str) -> anyhow::Result<FakeMember> {
        let authority = endpoint
            .strip_prefix("http://")
            .with_context(|| format!("{endpoint} is not an http:// endpoint"))?;
        let listener =
            TcpListener::bind(authority).with_context(|| format!("binding {authority}"))?;
        let address = listener.local_addr()?;
        let files: Files = Arc::default();
        let seen: Seen = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (files, seen, stop) = (Arc::clone(&files), Arc::clone(&seen), Arc::clone(&stop));
            std::thread::Builder::new()
                .name(format!("fake-member-{}", address.port()))
                .spawn(move || accept_loop(&listener, &files, &seen, &stop))?
        };
        Ok(FakeMember {
            address,
            files,
            seen,
            stop,
            thread: Some(thread),
        })
    }

    /// Base URL, `http://<address>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Serves `body` at `path` (`/log/checkpoint`, `/log/tile/entries/000.p/5`, …).
    pub fn serve(&self, path: &str, body: Vec<u8>) {
        lock(&self.files).insert(path.to_owned(), body);
    }

    /// Stops serving `path`.
    pub fn remove(&self, path: &str) {
        lock(&self.files).remove(path);
    }

    /// Replaces the whole script: serves `log`'s resources and `checkpoint` as
    /// `/log/checkpoint`, and nothing else.
    ///
    /// # Errors
    /// As [`ForgedLog::resources`].
    pub fn serve_log(&self, log: &ForgedLog, checkpoint: Vec<u8>) -> anyhow::Result<()> {
        let mut files = log.resources()?;
        files.insert("/log/checkpoint".to_owned(), checkpoint);
        *lock(&self.files) = files;
        Ok(())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.seen).clone()
    }

    /// How many `GET`s of paths starting with `/log/` `member` made so far: its sync
    /// traffic (checkpoints, tiles, entry bundles).
    pub fn log_reads_by(&self, member: &str) -> usize {
        lock(&self.seen)
            .iter()
            .filter(|request| {
                request.method == "GET"
                    && request.path.starts_with("/log/")
                    && request.member.as_deref() == Some(member)
            })
            .count()
    }
}

impl Drop for FakeMember {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn accept_loop(listener: &TcpListener, files: &Files, seen: &Seen, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match stream {
            Ok(stream) => {
                let (files, seen) = (Arc::clone(files), Arc::clone(seen));
                let spawned = std::thread::Builder::new()
                    .name("fake-member-connection".to_owned())
                    .spawn(move || {
                        // A connection the peer dropped or that timed out just ends.
                        let _ = answer(stream, &files, &seen);
                    });
                if spawned.is_err() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            // Out of file descriptors or similar: back off instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A parsed request: method, path, `Talent-Member`.
struct Request {
    method: String,
    path: String,
    member: Option<String>,
}

fn read_request(stream: &mut TcpStream) -> anyhow::Result<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            bail!("request head larger than {MAX_HEAD_BYTES} bytes");
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            bail!("connection closed inside the request head");
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let mut content_length = 0usize;
    let mut member = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().context("Content-Length")?;
        } else if name.eq_ignore_ascii_case("talent-member") {
            member = Some(value.to_owned());
        }
    }
    ensure!(
        content_length <= MAX_BODY_BYTES,
        "request body of {content_length} bytes"
    );
    // Read (and drop) the body so the client sees a complete exchange.
    let mut body_read = buffer.len() - (head_end + 4);
    while body_read < content_length {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            bail!("connection closed inside the request body");
        }
        body_read += read;
    }
    Ok(Request {
        method,
        path,
        member,
    })
}

fn answer(mut stream: TcpStream, files: &Files, seen: &Seen) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let request = match read_request(&mut stream) {
        Ok(request) => request,
        Err(error) => {
            write_response(
                &mut stream,
                400,
                "text/plain",
                format!("{error}\n").as_bytes(),
            )?;
            return Err(error);
        }
    };
    let found = if request.method == "GET" {
        lock(files).get(&request.path).cloned()
    } else {
        None
    };
    let status = if found.is_some() { 200 } else { 404 };
    lock(seen).push(SeenRequest {
        method: request.method.clone(),
        path: request.path.clone(),
        member: request.member,
        status,
    });
    match found {
        Some(body) => {
            let content_type = if request.path == "/log/checkpoint" {
                "text/plain; charset=utf-8"
            } else {
                "application/octet-stream"
            };
            write_response(&mut stream, 200, content_type, &body)?;
        }
        None => write_response(&mut stream, 404, "text/plain", b"not found\n")?,
    }
    Ok(())
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}
