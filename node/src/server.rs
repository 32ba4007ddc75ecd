//! The HTTP server: one event loop per core, each on its own thread.
//!
//! The node's main runtime accepts connections on the listening socket, admits each within
//! the node's connection limits ([`crate::connections`]) and hands it whole to the server
//! thread with the fewest open connections. That thread's single-threaded runtime reads,
//! handles and answers every request of the connection (HTTP/1.1, served by `hyper`), so a
//! request's memory is touched by one core, and the requests one thread reads in one turn
//! of its loop are verified there together (see
//! [`crate::services::verification::Batcher`]). On 2 cores this served 45 % more
//! `POST /api/v1/verify` requests per second than one multi-threaded runtime handing each
//! batch to a blocking thread (docs/benchmarks.md).
//!
//! Beside each connection a watchdog task closes it when it waits too long for a request
//! head (the header-read timeout for its first request, the idle timeout after a
//! response), or when the accepting loop evicted it to make room; a connection with a
//! request in flight is left to finish it. The watchdog wakes only at those deadlines, so
//! a request costs a few atomic operations on its connection's [`Activity`], nothing more.
//!
//! The node's background tasks (the sequencer, federation sync, cosignature collection,
//! the console's import jobs) stay on the main runtime ([`AppState::background`]).
//!
//! At the stop (SIGTERM or SIGINT, which `Node::serve` listens for) the listener closes at
//! once. Each thread then finishes the requests it has started, closes its idle connections
//! and stops. A connection handed over but not yet taken up by its thread is closed
//! unanswered, as one still in the listen backlog is. Blocking work a thread left running
//! gets five seconds (`BLOCKING_GRACE`) to finish. The workers stop after
//! (`Node::serve`).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;

use crate::connections::{
    Activity, Admission, Deadline, Epoch, InFlight, Refusal, RefusalLog, ServerLimits, Ticket,
};
use crate::metrics::{ConnectionMetrics, OpenConnectionGuard, RefusedBy};
use crate::state::AppState;
use crate::tls::ServerTls;

/// How long a stopping server thread waits for blocking work its handlers started.
const BLOCKING_GRACE: Duration = Duration::from_secs(5);

/// How often an evicted connection that still has a request in flight is looked at again.
const EVICTED_RECHECK: Duration = Duration::from_millis(50);

/// Why the server stopped serving before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A server thread's runtime could not be built.
    #[error("starting a server thread's runtime: {0}")]
    Runtime(#[source] io::Error),
    /// A server thread could not be started.
    #[error("starting a server thread: {0}")]
    Thread(#[source] io::Error),
    /// A server thread stopped serving.
    #[error("server thread {0} stopped serving")]
    ThreadStopped(usize),
    /// A server thread panicked.
    #[error("server thread {0} panicked")]
    ThreadPanicked(usize),
    /// No server thread was started.
    #[error("no server thread")]
    NoThread,
}

/// Serves the API on `listener` within `limits` until `shutdown` resolves, then drains
/// in-flight requests.
///
/// # Errors
/// A server thread cannot be started, or one stops serving before the shutdown.
pub async fn serve(
    state: AppState,
    mut listener: TcpListener,
    limits: ServerLimits,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let count = std::thread::available_parallelism().map_or(1, usize::from);
    let (stop, stopping) = watch::channel(false);
    let (done, mut finished) = mpsc::unbounded_channel();
    let counted = state.metrics.connections.clone();
    let app = crate::app::app(state);
    let admission = Admission::new(limits);
    let mut threads = Vec::with_capacity(count);
    for index in 0..count {
        threads.push(ServerThread::start(
            index,
            app.clone(),
            Arc::clone(&admission),
            tls.clone(),
            stopping.clone(),
            done.clone(),
        )?);
    }
    drop(done);
    tokio::pin!(shutdown);
    let mut refusals = RefusalLog::default();
    let outcome = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            Some((index, result)) = finished.recv() => {
                break Err(result.err().unwrap_or(ServeError::ThreadStopped(index)));
            }
            (stream, peer) = axum::serve::Listener::accept(&mut listener) => {
                if let Err(error) = place(&admission, &threads, (stream, peer), &mut refusals, &counted) {
                    break Err(error);
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

/// Admits an accepted connection and hands it to the least busy server thread, or answers
/// it with its refusal and closes it; counts either in `counted`.
///
/// # Errors
/// The server cannot go on: it has no thread, or the chosen one has stopped.
fn place(
    admission: &Arc<Admission>,
    threads: &[ServerThread],
    (stream, peer): (TcpStream, SocketAddr),
    refusals: &mut RefusalLog,
    counted: &ConnectionMetrics,
) -> Result<(), ServeError> {
    let ticket = match admission.admit(peer) {
        Ok(ticket) => ticket,
        Err(refusal) => {
            // Best effort: the answer fits any empty send buffer; the connection is closed
            // either way.
            let _ = stream.try_write(refusal.response());
            counted.refused(match refusal {
                Refusal::AddressLimit => RefusedBy::PerAddress,
                Refusal::NodeFull => RefusedBy::NodeFull,
            });
            refusals.note(refusal, peer);
            return Ok(());
        }
    };
    let Some(thread) = least_busy(threads) else {
        return Err(ServeError::NoThread);
    };
    // Open from here until the connection (or a failed hand-over) drops the guard.
    let open = counted.accepted();
    match thread.hand_over(stream, peer, ticket, Some(open)) {
        Ok(()) => Ok(()),
        Err(HandOverError::Detach(error)) => {
            tracing::warn!(%peer, %error, "dropped a connection that could not be handed over");
            Ok(())
        }
        Err(HandOverError::Stopped) => Err(ServeError::ThreadStopped(thread.index)),
    }
}

/// The thread a new connection goes to: the one with the fewest open connections, so
/// long-lived keep-alive connections spread evenly.
fn least_busy(threads: &[ServerThread]) -> Option<&ServerThread> {
    threads.iter().min_by_key(|thread| thread.open())
}

/// A connection on its way from the accepting loop to a server thread, with what counts it
/// as open in the metrics.
type HandedOver = (
    std::net::TcpStream,
    SocketAddr,
    Ticket,
    Option<OpenConnectionGuard>,
);

/// One server thread, as the accepting loop sees it.
struct ServerThread {
    index: usize,
    /// Where accepted connections go.
    connections: mpsc::UnboundedSender<HandedOver>,
    /// Connections handed over and not yet closed.
    open: Arc<AtomicUsize>,
    handle: std::thread::JoinHandle<()>,
}

impl ServerThread {
    /// Starts thread `index` serving `app` on a runtime of its own, its connections within
    /// `admission`'s limits. It reports on `done` when it stops, with the error that
    /// stopped it.
    fn start(
        index: usize,
        app: Router,
        admission: Arc<Admission>,
        tls: Option<ServerTls>,
        stopping: watch::Receiver<bool>,
        done: mpsc::UnboundedSender<(usize, Result<(), ServeError>)>,
    ) -> Result<ServerThread, ServeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let (connections, handed_over) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let thread = Thread {
            handed_over,
            open: Arc::clone(&open),
            app,
            admission,
            tls,
            stopping,
        };
        let handle = std::thread::Builder::new()
            .name(format!("http-{index}"))
            .spawn(move || {
                let serving = std::panic::AssertUnwindSafe(|| runtime.block_on(thread.serve()));
                // A panic is reported like an error, so the accepting loop never hands
                // connections to a thread that is gone.
                let result = std::panic::catch_unwind(serving)
                    .map_err(|_| ServeError::ThreadPanicked(index));
                // A search or bundle cut off by the request timeout may still be running.
                runtime.shutdown_timeout(BLOCKING_GRACE);
                let _ = done.send((index, result));
            })
            .map_err(ServeError::Thread)?;
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
    /// the thread's when it takes it up.
    fn hand_over(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        ticket: Ticket,
        counted: Option<OpenConnectionGuard>,
    ) -> Result<(), HandOverError> {
        let stream = stream.into_std().map_err(HandOverError::Detach)?;
        self.open.fetch_add(1, Ordering::Relaxed);
        self.connections
            .send((stream, peer, ticket, counted))
            .map_err(|_| {
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

/// What a server thread runs on its own runtime.
struct Thread {
    handed_over: mpsc::UnboundedReceiver<HandedOver>,
    open: Arc<AtomicUsize>,
    app: Router,
    admission: Arc<Admission>,
    /// With HTTPS, what each connection's handshake is made with.
    tls: Option<ServerTls>,
    stopping: watch::Receiver<bool>,
}

impl Thread {
    /// Serves every connection handed over until the server stops, then lets each finish
    /// the request it has in flight.
    async fn serve(mut self) {
        // Each connection task holds a receiver; the thread is done when none is left.
        let (all_closed, closed) = watch::channel(());
        let mut http = http1::Builder::new();
        // The watchdog enforces the header-read timeout, without a timer per request.
        http.header_read_timeout(None);
        loop {
            let handed = tokio::select! {
                _ = self.stopping.wait_for(|stop| *stop) => break,
                handed = self.handed_over.recv() => handed,
            };
            let Some((stream, peer, ticket, counted)) = handed else {
                // The accepting loop has stopped; the signal follows.
                let _ = self.stopping.wait_for(|stop| *stop).await;
                break;
            };
            let open = OpenConnection(Arc::clone(&self.open));
            let stream = match TcpStream::from_std(stream) {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::warn!(%peer, %error, "could not register a handed-over connection");
                    continue;
                }
            };
            let activity = Arc::clone(ticket.activity());
            let service = Served {
                app: std::cell::RefCell::new(self.app.clone()),
                activity: Arc::clone(&activity),
                epoch: self.admission.epoch(),
            };
            let connection = Connection {
                stream,
                _open: open,
                _ticket: ticket,
                _counted: counted,
            };
            let (ended, end) = oneshot::channel();
            let task = tokio::spawn(serve_connection(
                connection,
                self.tls.clone(),
                (http.clone(), service),
                self.stopping.clone(),
                (closed.clone(), ended),
            ));
            tokio::spawn(watch_connection(
                activity,
                Arc::clone(&self.admission),
                task.abort_handle(),
                end,
            ));
        }
        // Connections still queued are closed unanswered.
        drop(self.handed_over);
        drop(closed);
        all_closed.closed().await;
    }
}

/// Serves one connection until it closes, after its TLS handshake when the node serves
/// HTTPS; at the server's stop, finishes the request in flight and closes. `_held` is
/// dropped when the task ends (also when the watchdog aborts it: a handshake, like a
/// request head, must be done within the header-read timeout).
async fn serve_connection(
    connection: Connection,
    tls: Option<ServerTls>,
    (http, service): (http1::Builder, Served),
    mut stopping: watch::Receiver<bool>,
    _held: (watch::Receiver<()>, oneshot::Sender<()>),
) {
    let Some(tls) = tls else {
        let connection = http.serve_connection(TokioIo::new(connection), service);
        return serve_http(connection, stopping).await;
    };
    let stream = tokio::select! {
        accepted = tls.acceptor().accept(connection) => match accepted {
            Ok(stream) => stream,
            Err(error) => {
                tracing::trace!(%error, "TLS handshake failed");
                return;
            }
        },
        _ = stopping.wait_for(|stop| *stop) => return,
    };
    let connection = http.serve_connection(TokioIo::new(stream), service);
    serve_http(connection, stopping).await;
}

/// Drives one connection's HTTP exchanges until it closes, or the server stops and its
/// request in flight is answered.
async fn serve_http<I>(
    connection: http1::Connection<TokioIo<I>, Served>,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin,
{
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::trace!(%error, "connection ended with an error");
                }
                break;
            }
            _ = stopping.wait_for(|stop| *stop), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Closes a connection (by aborting its task) once it has waited past its deadline for a
/// request head, or once it is evicted and has no request in flight. Ends when the
/// connection does (`end`).
async fn watch_connection(
    activity: Arc<Activity>,
    admission: Arc<Admission>,
    connection: AbortHandle,
    mut end: oneshot::Receiver<()>,
) {
    let limits = admission.limits();
    // While a request is in flight there is no deadline; look again this often.
    let busy_recheck = limits.header_read_timeout.min(limits.idle_timeout);
    let first = match admission.deadline(&activity) {
        Deadline::At(at) => at,
        Deadline::Busy => Instant::now() + busy_recheck,
    };
    let sleep = tokio::time::sleep_until(first.into());
    tokio::pin!(sleep);
    let mut evicted = false;
    loop {
        tokio::select! {
            _ = &mut end => return,
            () = activity.eviction(), if !evicted => {
                evicted = true;
                sleep.as_mut().reset(tokio::time::Instant::now());
            }
            () = &mut sleep => {
                let now = Instant::now();
                let next = if evicted {
                    if !activity.busy() {
                        connection.abort();
                        return;
                    }
                    now + EVICTED_RECHECK
                } else {
                    match admission.deadline(&activity) {
                        Deadline::At(at) if at <= now => {
                            connection.abort();
                            return;
                        }
                        Deadline::At(at) => at,
                        Deadline::Busy => now + busy_recheck,
                    }
                };
                sleep.as_mut().reset(next.into());
            }
        }
    }
}

/// The node's router as the `hyper` service of one connection: it counts each request as
/// in flight on the connection's [`Activity`] until its response is produced.
struct Served {
    /// The connection's own handle to the router (a `RefCell`: the router is called with
    /// `&mut`, hyper calls with `&`; one connection's requests are handled on one thread).
    app: std::cell::RefCell<Router>,
    activity: Arc<Activity>,
    epoch: Epoch,
}

impl hyper::service::Service<axum::http::Request<Incoming>> for Served {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Tracked<<Router as tower::Service<axum::http::Request<Incoming>>>::Future>;

    fn call(&self, request: axum::http::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(&self.activity, self.epoch);
        // The router is always ready (`poll_ready` is a no-op for it).
        let future = tower::Service::call(&mut *self.app.borrow_mut(), request);
        Tracked {
            future,
            _in_flight: in_flight,
        }
    }
}

/// A request's response future, with the request counted in flight until it is dropped.
struct Tracked<F> {
    future: F,
    _in_flight: InFlight,
}

impl<F: Future + Unpin> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.future).poll(cx)
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

/// A TCP connection served by one server thread; closing it frees its place in the
/// node's connection limits.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    _open: OpenConnection,
    _ticket: Ticket,
    _counted: Option<OpenConnectionGuard>,
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
        let admission = Admission::new(ServerLimits::default());
        let threads: Vec<ServerThread> = (0..2)
            .map(|index| {
                ServerThread::start(
                    index,
                    app.clone(),
                    Arc::clone(&admission),
                    None,
                    stopping.clone(),
                    done.clone(),
                )
                .expect("a server thread")
            })
            .collect();
        drop(done);

        let mut clients = Vec::new();
        for _ in 0..4 {
            let client = TcpStream::connect(address).await.expect("connect");
            let (stream, peer) = listener.accept().await.expect("accept");
            let ticket = admission.admit(peer).expect("admitted");
            least_busy(&threads)
                .expect("a thread")
                .hand_over(stream, peer, ticket, None)
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
        let admission = Admission::new(ServerLimits::default());
        let thread = ServerThread::start(
            0,
            Router::new(),
            Arc::clone(&admission),
            None,
            stopping,
            done,
        )
        .expect("a server thread");
        let _ = stop.send(true);
        let (index, result) = finished.recv().await.expect("the thread reports");
        assert_eq!(index, 0);
        result.expect("stopped cleanly");

        let _client = TcpStream::connect(address).await.expect("connect");
        let (stream, peer) = listener.accept().await.expect("accept");
        let ticket = admission.admit(peer).expect("admitted");
        let refused = thread.hand_over(stream, peer, ticket, None);
        assert!(
            matches!(refused, Err(HandOverError::Stopped)),
            "{refused:?}"
        );
        assert_eq!(thread.open(), 0);
        assert_eq!(
            admission.open(),
            0,
            "the refused connection's place is free"
        );
        thread.handle.join().expect("thread ends");
    }

    /// Serves `app` within `limits` on two server threads, as `serve` does but without
    /// signals; returns its address, its admission and the sender that would stop it (the
    /// test's runtime ends the accepting task).
    async fn start_server(
        app: Router,
        limits: ServerLimits,
    ) -> (SocketAddr, Arc<Admission>, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopping) = watch::channel(false);
        let (done, _finished) = mpsc::unbounded_channel();
        let admission = Admission::new(limits);
        let threads: Vec<ServerThread> = (0..2)
            .map(|index| {
                ServerThread::start(
                    index,
                    app.clone(),
                    Arc::clone(&admission),
                    None,
                    stopping.clone(),
                    done.clone(),
                )
                .expect("a server thread")
            })
            .collect();
        let accepting = Arc::clone(&admission);
        let counted = crate::metrics::Metrics::new().expect("metrics").connections;
        tokio::spawn(async move {
            let admission = accepting;
            let _finished = _finished;
            let mut refusals = RefusalLog::default();
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                place(
                    &admission,
                    &threads,
                    (stream, peer),
                    &mut refusals,
                    &counted,
                )
                .expect("placed");
            }
        });
        (address, admission, stop)
    }

    fn slow_app() -> Router {
        Router::new().route("/", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(900)).await;
                "slow"
            }),
        )
    }

    /// Whether the server has closed `client` (EOF or reset), waiting at most `within`.
    async fn closed_within(client: &mut TcpStream, within: Duration) -> bool {
        let mut buffer = [0u8; 256];
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, client.read(&mut buffer)).await {
                Err(_) => return false,
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Reads one whole response (head and `content-length` body) as text.
    async fn response(client: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            let text = String::from_utf8_lossy(&answer).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length: "))
                    .and_then(|value| value.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
            let read = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buffer))
                .await
                .expect("an answer in time")
                .expect("read");
            assert!(read > 0, "closed: {}", String::from_utf8_lossy(&answer));
            answer.extend_from_slice(&buffer[..read]);
        }
    }

    #[tokio::test]
    async fn silent_and_idle_connections_are_closed_after_their_timeouts() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(1500),
            ..ServerLimits::default()
        };
        let (address, _admission, _stop) = start_server(slow_app(), limits).await;
        let started = std::time::Instant::now();
        let mut silent = TcpStream::connect(address).await.expect("connect");
        let mut served = TcpStream::connect(address).await.expect("connect");
        served
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("write");
        assert!(response(&mut served).await.starts_with("HTTP/1.1 200"));

        assert!(
            closed_within(&mut silent, Duration::from_secs(5)).await,
            "a connection that sent nothing stayed open"
        );
        assert!(started.elapsed() >= Duration::from_millis(300));
        // The served one waits for its next request for the idle timeout, not the
        // header-read timeout.
        assert!(
            !closed_within(&mut served, Duration::from_millis(200)).await,
            "a kept-alive connection was closed at the header-read timeout"
        );
        assert!(
            closed_within(&mut served, Duration::from_secs(5)).await,
            "an idle kept-alive connection stayed open"
        );
        assert!(started.elapsed() >= Duration::from_millis(1500));
    }

    #[tokio::test]
    async fn a_head_sent_slowly_is_cut_at_the_header_read_timeout() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_millis(500),
            ..ServerLimits::default()
        };
        let (address, _admission, _stop) = start_server(slow_app(), limits).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        client
            .write_all(b"GET / HTTP/1.1\r\n")
            .await
            .expect("write");
        let started = std::time::Instant::now();
        let mut cut = false;
        for _ in 0..50 {
            if client.write_all(b"X-Slow: y\r\n").await.is_err() {
                cut = true;
                break;
            }
            if closed_within(&mut client, Duration::from_millis(100)).await {
                cut = true;
                break;
            }
        }
        assert!(cut, "a head trickling in byte by byte was never cut");
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn a_request_in_flight_outlives_the_timeouts() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(200),
            ..ServerLimits::default()
        };
        let (address, _admission, _stop) = start_server(slow_app(), limits).await;
        let mut client = TcpStream::connect(address).await.expect("connect");
        client
            .write_all(b"GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("write");
        let answer = response(&mut client).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("slow"), "{answer}");
    }

    #[tokio::test]
    async fn a_full_node_closes_its_longest_idle_connection_for_a_new_one() {
        let limits = ServerLimits {
            max_connections: 3,
            max_connections_per_ip: 2,
            ..ServerLimits::default()
        };
        let (address, admission, _stop) = start_server(slow_app(), limits).await;
        // Two silent connections from 127.0.0.2; a third from there is refused.
        let mut silent = Vec::new();
        for open in 1..=2 {
            silent.push(connect_from("127.0.0.2", address).await);
            admitted(&admission, open).await;
        }
        let mut refused = connect_from("127.0.0.2", address).await;
        let answer = response(&mut refused).await;
        assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
        assert!(answer.contains("connection_limit_per_address"), "{answer}");
        let mut third = connect_from("127.0.0.3", address).await;
        admitted(&admission, 3).await;
        // The node is full of silent connections; a client that asks is still served, in
        // the place of the connection that has waited longest.
        let mut asking = TcpStream::connect(address).await.expect("connect");
        asking
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .expect("write");
        assert!(response(&mut asking).await.starts_with("HTTP/1.1 200"));
        assert!(
            closed_within(&mut silent[0], Duration::from_secs(5)).await,
            "the longest-idle connection was not evicted"
        );
        assert!(!closed_within(&mut silent[1], Duration::from_millis(100)).await);
        assert!(!closed_within(&mut third, Duration::from_millis(100)).await);
    }

    /// A connection to `address` from the loopback address `from`.
    async fn connect_from(from: &str, address: SocketAddr) -> TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(from.parse().expect("address"), 0))
            .expect("bind");
        socket.connect(address).await.expect("connect")
    }

    /// Waits until `admission` holds `open` connections; then a millisecond more, so the
    /// next connection is admitted at a later time.
    async fn admitted(admission: &Admission, open: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while admission.open() != open {
            assert!(tokio::time::Instant::now() < deadline, "never admitted");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
