//! The HTTP server: one event loop per core, each on its own thread.
//!
//! The node's main runtime accepts connections on the listening socket and hands each one
//! whole to the server thread with the fewest open connections. That thread's
//! single-threaded runtime reads, handles and answers every request of the connection, so a
//! request's memory is touched by one core, and the requests one thread reads in one turn
//! of its loop are verified there together (see [`crate::api::verify::Batcher`]). On 2 cores
//! this served 45 % more `POST /api/v1/verify` requests per second than one multi-threaded
//! runtime handing each batch to a blocking thread (docs/benchmarks.md).
//!
//! The node's background tasks (the sequencer, federation sync, cosignature collection,
//! the console's import jobs) stay on the main runtime ([`AppState::background`]).
//!
//! At SIGTERM or SIGINT the listener closes at once. Each thread then finishes the requests
//! it has started, closes its idle connections and stops. A connection handed over but not
//! yet taken up by its thread is closed unanswered, as one still in the listen backlog is.
//! Blocking work a thread left running gets five seconds (`BLOCKING_GRACE`) to finish.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};

use anyhow::Context;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::state::AppState;

/// How long a stopping server thread waits for blocking work its handlers started.
const BLOCKING_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Serves the API on `listener` until SIGINT or SIGTERM, then drains in-flight requests.
///
/// # Errors
/// A server thread cannot be started, or one stops serving before the signal.
pub async fn serve(state: AppState, mut listener: TcpListener) -> anyhow::Result<()> {
    let local_addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let count = std::thread::available_parallelism().map_or(1, usize::from);
    let (stop, stopping) = watch::channel(false);
    let (done, mut finished) = mpsc::unbounded_channel();
    let app = crate::api::app(state);
    let mut threads = Vec::with_capacity(count);
    for index in 0..count {
        threads.push(ServerThread::start(
            index,
            app.clone(),
            local_addr,
            stopping.clone(),
            done.clone(),
        )?);
    }
    drop(done);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let outcome = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            Some((index, result)) = finished.recv() => {
                break Err(result.err().unwrap_or_else(|| {
                    anyhow::anyhow!("server thread {index} stopped serving")
                }));
            }
            (stream, peer) = axum::serve::Listener::accept(&mut listener) => {
                let Some(thread) = least_busy(&threads) else {
                    break Err(anyhow::anyhow!("no server thread"));
                };
                match thread.hand_over(stream, peer) {
                    Ok(()) => {}
                    Err(HandOverError::Detach(error)) => {
                        tracing::warn!(%peer, %error, "dropped a connection that could not be handed over");
                    }
                    Err(HandOverError::Stopped) => {
                        break Err(anyhow::anyhow!("server thread {} stopped serving", thread.index));
                    }
                }
            }
        }
    };
    // Stop accepting, let every thread drain its connections, then wait for all of them.
    drop(listener);
    let _ = stop.send(true);
    while let Some((index, result)) = finished.recv().await {
        if let Err(error) = result {
            tracing::warn!(index, %error, "server thread failed while draining");
        }
    }
    for thread in threads {
        // Each has reported, so each is at its end.
        if thread.handle.join().is_err() {
            tracing::warn!(
                index = thread.index,
                "server thread panicked while stopping"
            );
        }
    }
    outcome
}

/// The thread a new connection goes to: the one with the fewest open connections, so
/// long-lived keep-alive connections spread evenly.
fn least_busy(threads: &[ServerThread]) -> Option<&ServerThread> {
    threads.iter().min_by_key(|thread| thread.open())
}

/// One server thread, as the accepting loop sees it.
struct ServerThread {
    index: usize,
    /// Where accepted connections go.
    connections: mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>,
    /// Connections handed over and not yet closed.
    open: Arc<AtomicUsize>,
    handle: std::thread::JoinHandle<()>,
}

impl ServerThread {
    /// Starts thread `index` serving `app` on a runtime of its own. It reports on `done`
    /// when it stops, with the error that stopped it.
    fn start(
        index: usize,
        app: Router,
        local_addr: SocketAddr,
        mut stopping: watch::Receiver<bool>,
        done: mpsc::UnboundedSender<(usize, anyhow::Result<()>)>,
    ) -> anyhow::Result<ServerThread> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting a server thread's runtime")?;
        let (connections, handed_over) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let listener = HandedOver {
            connections: handed_over,
            open: Arc::clone(&open),
            local_addr,
        };
        let handle = std::thread::Builder::new()
            .name(format!("http-{index}"))
            .spawn(move || {
                let serving = std::panic::AssertUnwindSafe(|| {
                    runtime.block_on(async move {
                        axum::serve(listener, app)
                            .with_graceful_shutdown(async move {
                                let _ = stopping.wait_for(|stop| *stop).await;
                            })
                            .await
                            .context("serving HTTP")
                    })
                });
                // A panic is reported like an error, so the accepting loop never hands
                // connections to a thread that is gone.
                let result = std::panic::catch_unwind(serving)
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("server thread {index} panicked")));
                // A search or bundle cut off by the request timeout may still be running.
                runtime.shutdown_timeout(BLOCKING_GRACE);
                let _ = done.send((index, result));
            })
            .context("starting a server thread")?;
        Ok(ServerThread {
            index,
            connections,
            open,
            handle,
        })
    }

    fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Moves an accepted connection to this thread: out of the main runtime's reactor, into
    /// the thread's when it accepts it.
    fn hand_over(&self, stream: TcpStream, peer: SocketAddr) -> Result<(), HandOverError> {
        let stream = stream.into_std().map_err(HandOverError::Detach)?;
        self.open.fetch_add(1, Ordering::Relaxed);
        self.connections.send((stream, peer)).map_err(|_| {
            self.open.fetch_sub(1, Ordering::Relaxed);
            HandOverError::Stopped
        })
    }
}

/// Why a connection could not be handed to a server thread.
#[derive(Debug, thiserror::Error)]
enum HandOverError {
    /// The connection could not be taken out of the main runtime's reactor.
    #[error("could not detach the connection: {0}")]
    Detach(io::Error),
    /// The thread no longer serves.
    #[error("the server thread has stopped")]
    Stopped,
}

/// The connections handed to one server thread, as the [`axum::serve::Listener`] it serves.
struct HandedOver {
    connections: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    open: Arc<AtomicUsize>,
    local_addr: SocketAddr,
}

impl axum::serve::Listener for HandedOver {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        loop {
            let Some((stream, peer)) = self.connections.recv().await else {
                // The accepting loop has stopped; graceful shutdown ends `serve`.
                return std::future::pending().await;
            };
            let open = OpenConnection(Arc::clone(&self.open));
            match TcpStream::from_std(stream) {
                Ok(stream) => {
                    return (
                        Connection {
                            stream,
                            _open: open,
                        },
                        peer,
                    );
                }
                Err(error) => {
                    tracing::warn!(%peer, %error, "could not register a handed-over connection");
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// Counts one connection as open on its server thread until it is dropped.
#[derive(Debug)]
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A TCP connection served by one server thread.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    _open: OpenConnection,
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The name of the thread that answers `GET /` on `client`'s connection.
    async fn served_by(client: &mut TcpStream) -> String {
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        let mut buffer = [0u8; 1024];
        while !answer.ends_with(b"<") {
            let read = client.read(&mut buffer).await.expect("read");
            assert!(read > 0, "closed: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&buffer[..read]);
        }
        let text = String::from_utf8_lossy(&answer);
        let name = text
            .rsplit_once('>')
            .map(|(_, name)| name)
            .unwrap_or_default();
        name.trim_end_matches('<').to_owned()
    }

    #[tokio::test]
    async fn connections_spread_over_the_threads_and_count_until_closed() {
        let app = Router::new().route(
            "/",
            get(|| async { format!(">{}<", std::thread::current().name().unwrap_or("?")) }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopping) = watch::channel(false);
        let (done, mut finished) = mpsc::unbounded_channel();
        let threads: Vec<ServerThread> = (0..2)
            .map(|index| {
                ServerThread::start(index, app.clone(), address, stopping.clone(), done.clone())
                    .expect("a server thread")
            })
            .collect();
        drop(done);

        let mut clients = Vec::new();
        for _ in 0..4 {
            let client = TcpStream::connect(address).await.expect("connect");
            let (stream, peer) = listener.accept().await.expect("accept");
            least_busy(&threads)
                .expect("a thread")
                .hand_over(stream, peer)
                .expect("handed over");
            clients.push(client);
        }
        let open: Vec<usize> = threads.iter().map(ServerThread::open).collect();
        assert_eq!(open, [2, 2]);
        let mut names = Vec::new();
        for client in &mut clients {
            names.push(served_by(client).await);
        }
        names.sort();
        assert_eq!(names, ["http-0", "http-0", "http-1", "http-1"]);

        // A closed connection stops counting once its thread sees the close.
        drop(clients.pop());
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while threads.iter().map(ServerThread::open).sum::<usize>() != 3 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the close was not counted"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }

        // Stopping closes the idle connections and ends both threads.
        let _ = stop.send(true);
        for _ in 0..2 {
            let (_, result) = finished.recv().await.expect("a thread reports");
            result.expect("stopped cleanly");
        }
        for client in &mut clients {
            let mut byte = [0u8; 1];
            assert_eq!(client.read(&mut byte).await.expect("read"), 0);
        }
        for thread in threads {
            thread.handle.join().expect("thread ends");
        }
    }

    /// A thread that has stopped refuses new connections (the accepting loop then stops the
    /// server) and counts nothing for them.
    #[tokio::test]
    async fn a_stopped_thread_refuses_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopping) = watch::channel(false);
        let (done, mut finished) = mpsc::unbounded_channel();
        let thread = ServerThread::start(0, Router::new(), address, stopping, done)
            .expect("a server thread");
        let _ = stop.send(true);
        let (index, result) = finished.recv().await.expect("the thread reports");
        assert_eq!(index, 0);
        result.expect("stopped cleanly");

        let _client = TcpStream::connect(address).await.expect("connect");
        let (stream, peer) = listener.accept().await.expect("accept");
        let refused = thread.hand_over(stream, peer);
        assert!(
            matches!(refused, Err(HandOverError::Stopped)),
            "{refused:?}"
        );
        assert_eq!(thread.open(), 0);
        thread.handle.join().expect("thread ends");
    }
}
