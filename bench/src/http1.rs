//! A minimal HTTP/1.1 client for load generation: one keep-alive connection that sends a
//! request prepared once, byte for byte, and reads one response with a `Content-Length`.
//!
//! `talent-bench verify-api` shares the machine's cores with the node it measures, so its
//! load generator should cost as little as `wrk` would: a general client (reqwest) spent
//! about as much CPU per request as the node's HTTP layer. This one does no header map, no
//! redirects, no pooling and no chunked bodies (the node answers with `Content-Length`).

use std::net::SocketAddr;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes a response head may take at most.
const MAX_HEAD: usize = 16 << 10;
/// Bytes a response body may take at most.
const MAX_BODY: usize = 16 << 20;

/// A complete `POST` request, ready to send again and again.
pub fn post_request(host: &SocketAddr, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// One response: its status code and body.
#[derive(Debug)]
pub struct Response<'a> {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: &'a [u8],
}

/// One keep-alive connection.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet consumed: the response being read.
    buffer: Vec<u8>,
}

impl Connection {
    /// Connects to `address` with Nagle's algorithm off.
    ///
    /// # Errors
    /// The connection could not be made.
    pub async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(MAX_HEAD),
        })
    }

    /// Sends `request` (from [`post_request`]) and reads its response.
    ///
    /// # Errors
    /// The connection failed or closed, or the response is not one this client reads
    /// (no `Content-Length`, too large, not HTTP/1.1); the connection is unusable then.
    pub async fn send(&mut self, request: &[u8]) -> anyhow::Result<Response<'_>> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            if self.buffer.len() > MAX_HEAD {
                bail!("response head longer than {MAX_HEAD} bytes");
            }
            self.fill().await?;
        };
        let (status, length) = parse_head(&self.buffer[..head_end])?;
        if length > MAX_BODY {
            bail!("response body of {length} bytes");
        }
        while self.buffer.len() < head_end + length {
            self.fill().await?;
        }
        if self.buffer.len() > head_end + length {
            bail!("bytes after the response: this client sends one request at a time");
        }
        Ok(Response {
            status,
            body: &self.buffer[head_end..],
        })
    }

    /// Reads what the socket has into the buffer.
    async fn fill(&mut self) -> anyhow::Result<()> {
        self.buffer.reserve(MAX_HEAD);
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

/// The status code and `Content-Length` of a response head (ending in the empty line).
fn parse_head(head: &[u8]) -> anyhow::Result<(u16, usize)> {
    let head = std::str::from_utf8(head).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP/1.1 status line: {status_line:?}"))?;
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().parse::<usize>())
        .context("response without Content-Length")?
        .context("bad Content-Length")?;
    Ok((status, length))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_length() {
        let head =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 42\r\n\r\n";
        assert_eq!(parse_head(head).expect("parses"), (200, 42));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn talks_to_a_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let address = listener.local_addr().expect("address");
        let request = post_request(&address, "/verify", "application/json", b"{}");
        let request_length = request.len();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accepts");
            let mut seen = Vec::new();
            for (round, answer) in ["{\"verified\":true}", "{}"].into_iter().enumerate() {
                while seen.len() < (round + 1) * request_length {
                    let mut buffer = [0u8; 4096];
                    let read = socket.read(&mut buffer).await.expect("reads");
                    assert!(read > 0, "the client closed early");
                    seen.extend_from_slice(&buffer[..read]);
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                // In two pieces, as a slow server would.
                let (first, second) = response.as_bytes().split_at(10);
                socket.write_all(first).await.expect("writes");
                socket.flush().await.expect("flushes");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                socket.write_all(second).await.expect("writes");
            }
            seen
        });
        let mut connection = Connection::open(address).await.expect("connects");
        let first = connection.send(&request).await.expect("answers");
        assert_eq!(
            (first.status, first.body),
            (200, &b"{\"verified\":true}"[..])
        );
        let second = connection.send(&request).await.expect("answers");
        assert_eq!((second.status, second.body), (200, &b"{}"[..]));
        let seen = server.await.expect("server ran");
        assert!(seen.starts_with(b"POST /verify HTTP/1.1\r\n"));
        assert!(seen.ends_with(b"content-length: 2\r\n\r\n{}"));
    }
}
