//! [`FakeMember`]: a tiny blocking HTTP/1.1 server on a member's endpoint that serves what
//! the test scripts and records the requests it saw.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use super::ForgedLog;

/// Largest request head (request line and headers) the fake member reads.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body the fake member reads (an `add-checkpoint` body is far smaller).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How long one connection may stall before the fake member gives up on it.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

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
