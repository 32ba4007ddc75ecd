//! Which connections a node holds, and for how long: the limits of `registry-node serve`
//! ([`ServerLimits`]), the admission of each accepted connection ([`Admission`]) and the
//! process's descriptor limit.
//!
//! A connection costs the node a file descriptor from the moment it is accepted. Without
//! bounds, clients that connect and send nothing hold descriptors until the process can
//! accept nothing more, not even `/healthz`. So:
//!
//! - a connection must bring its first request head within the *header-read timeout*, and a
//!   kept-alive connection its next one within the *idle timeout* of its last response
//!   (enforced by the server thread that serves it);
//! - one client address holds at most `max_connections_per_ip` connections (an IPv6 client
//!   is counted by its /64, the block one subscriber is usually given);
//! - the node holds at most `max_connections`. When it is full, a new connection takes the
//!   place of the connection that has waited longest without a request in flight, so
//!   connections that only wait can never lock out a client that asks something; only when
//!   every connection is busy with a request is a new one refused.
//!
//! Refused connections get a one-line HTTP answer (429 or 503 with a stable `code`) and are
//! closed at once.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Descriptors the node keeps for everything but client connections: RocksDB's files and
/// write-ahead log, the runtimes' event descriptors, outgoing connections to federation
/// peers, the listening socket. `serve` refuses a connection limit that leaves fewer.
pub const RESERVED_DESCRIPTORS: u64 = 512;

/// At most this many evicted connections may still be closing when another is admitted
/// in their place; the node's descriptors are bounded by `max_connections` plus this.
pub const MAX_EVICTING: usize = 64;

/// How long connections may wait and how many the node holds (flags of `registry-node
/// serve`; a configuration file can carry the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a new connection may take to send its first whole request head.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait, after a response, for its next request
    /// head.
    pub idle_timeout: Duration,
    /// The most connections the node holds at once.
    pub max_connections: usize,
    /// The most connections one client address (an IPv6 /64) holds at once.
    pub max_connections_per_ip: usize,
}

impl ServerLimits {
    /// Default header-read timeout: a client on a slow mobile link sends a request head in
    /// well under a second; ten leave room for a lost packet or two.
    pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
    /// Default idle timeout: longer than clients usually keep an unused connection pooled
    /// (reqwest 90 s is the exception; it retries a request a closed connection refused).
    pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
    /// Default node-wide connection limit.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
    /// Default per-address limit: above the 256 connections the benchmarks open from one
    /// address, and above what an office behind one NAT address needs.
    pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 512;

    /// Checks that every limit can be met: no zero timeouts or limits.
    ///
    /// # Errors
    /// [`LimitsError::Zero`] naming the limit.
    pub fn check(&self) -> Result<(), LimitsError> {
        let zero = [
            ("header read timeout", self.header_read_timeout.is_zero()),
            ("idle timeout", self.idle_timeout.is_zero()),
            ("connection limit", self.max_connections == 0),
            (
                "per-address connection limit",
                self.max_connections_per_ip == 0,
            ),
        ];
        match zero.iter().find(|(_, zero)| *zero) {
            Some((name, _)) => Err(LimitsError::Zero(name)),
            None => Ok(()),
        }
    }

    /// The descriptors this process needs to hold `max_connections` connections.
    pub fn descriptors_needed(&self) -> u64 {
        (self.max_connections + MAX_EVICTING) as u64 + RESERVED_DESCRIPTORS
    }

    /// The largest connection limit `descriptors` can hold (0 when it holds none).
    pub fn max_connections_within(descriptors: u64) -> usize {
        let spare = descriptors.saturating_sub(RESERVED_DESCRIPTORS + MAX_EVICTING as u64);
        usize::try_from(spare).unwrap_or(usize::MAX)
    }

    /// Checks that a process allowed `descriptors` open files can hold these limits.
    ///
    /// # Errors
    /// [`LimitsError::Descriptors`] with what is needed.
    pub fn check_descriptors(&self, descriptors: u64) -> Result<(), LimitsError> {
        if self.descriptors_needed() <= descriptors {
            return Ok(());
        }
        Err(LimitsError::Descriptors {
            max_connections: self.max_connections,
            needed: self.descriptors_needed(),
            allowed: descriptors,
        })
    }
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(Self::DEFAULT_HEADER_READ_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs(Self::DEFAULT_IDLE_TIMEOUT_SECS),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: Self::DEFAULT_MAX_CONNECTIONS_PER_IP,
        }
    }
}

/// Why limits cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// A timeout or limit of zero would refuse every connection.
    #[error("the {0} must be greater than zero")]
    Zero(&'static str),
    /// The process may not open enough files for the connection limit.
    #[error(
        "a limit of {max_connections} connections needs {needed} file descriptors, but this process may open {allowed} (RLIMIT_NOFILE): raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) or lower --max-connections"
    )]
    Descriptors {
        /// The connection limit asked for.
        max_connections: usize,
        /// Descriptors it needs, with the node's own.
        needed: u64,
        /// The process's limit.
        allowed: u64,
    },
}

/// Raises the soft limit on open files (RLIMIT_NOFILE) to the hard limit, as far as the
/// kernel allows; returns the soft limit in force afterwards.
///
/// Many systems start processes with a soft limit of 1024 and a far higher hard limit: a
/// process may raise its own soft limit to the hard one without privileges.
///
/// # Errors
/// The limit cannot be read.
pub fn raise_descriptor_limit() -> std::io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    let Some(maximum) = limit.maximum else {
        // No hard limit: the soft one is what the kernel enforces (fs.nr_open caps both).
        return Ok(current);
    };
    if maximum <= current {
        return Ok(current);
    }
    let raised = Rlimit {
        current: Some(maximum),
        maximum: Some(maximum),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Ok(maximum),
        Err(error) => {
            tracing::warn!(%error, current, maximum, "could not raise the open-file limit");
            Ok(current)
        }
    }
}

/// The address a per-address limit counts a client by: an IPv4 address, or the /64 of an
/// IPv6 address (an IPv4-mapped IPv6 address counts as its IPv4 address).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address already holds `max_connections_per_ip` connections. 429.
    AddressLimit,
    /// The node holds `max_connections` connections and each has a request in flight (or
    /// too many are still closing). 503.
    NodeFull,
}

impl Refusal {
    /// The stable code of the refusal.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::AddressLimit => "connection_limit_per_address",
            Refusal::NodeFull => "connection_limit",
        }
    }

    /// The whole HTTP/1.1 answer written to a refused connection before it is closed.
    pub fn response(self) -> &'static [u8] {
        match self {
            Refusal::AddressLimit => concat!(
                "HTTP/1.1 429 Too Many Requests\r\n",
                "content-type: application/json\r\n",
                "retry-after: 1\r\n",
                "connection: close\r\n",
                "content-length: 103\r\n\r\n",
                r#"{"code":"connection_limit_per_address","message":"this address holds too many connections to the node"}"#,
            )
            .as_bytes(),
            Refusal::NodeFull => concat!(
                "HTTP/1.1 503 Service Unavailable\r\n",
                "content-type: application/json\r\n",
                "retry-after: 1\r\n",
                "connection: close\r\n",
                "content-length: 84\r\n\r\n",
                r#"{"code":"connection_limit","message":"the node holds as many connections as it may"}"#,
            )
            .as_bytes(),
        }
    }
}

/// What the server knows of one admitted connection's requests, shared by the server
/// thread that serves it (which writes it) and the accepting loop (which reads it to choose
/// a connection to evict).
#[derive(Debug)]
pub struct Activity {
    /// Requests whose response has not been produced yet.
    in_flight: AtomicU32,
    /// Whether a request has started on the connection (its first head has been read).
    served: AtomicBool,
    /// Microseconds from the admission's epoch to when the connection last became idle:
    /// its admission, or the end of its last request.
    idle_since_us: AtomicU64,
    /// Set when the connection is chosen to make room; `wake` tells its server thread.
    evicted: AtomicBool,
    /// Wakes the connection's watchdog when it is evicted.
    wake: Notify,
}

impl Activity {
    fn new(now_us: u64) -> Activity {
        Activity {
            in_flight: AtomicU32::new(0),
            served: AtomicBool::new(false),
            idle_since_us: AtomicU64::new(now_us),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    /// Whether a request is being handled on the connection.
    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Whether the connection has been chosen to make room for a new one.
    pub fn evicted(&self) -> bool {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Completes when the connection is evicted (at once if it already was).
    pub async fn eviction(&self) {
        if !self.evicted() {
            self.wake.notified().await;
        }
    }
}

/// The clock activities measure idleness with: microseconds since the admission started.
#[derive(Debug, Clone, Copy)]
pub struct Epoch(Instant);

impl Epoch {
    fn now_us(self) -> u64 {
        u64::try_from(self.0.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// When a connection idle since `idle_since_us` on this clock has waited `allowed`.
    fn deadline(self, idle_since_us: u64, allowed: Duration) -> Instant {
        self.0 + Duration::from_micros(idle_since_us) + allowed
    }
}

/// One request in flight on a connection, from its head being read until its response is
/// produced; dropping it (also when the request is cancelled) marks the connection idle.
#[derive(Debug)]
pub struct InFlight {
    activity: Arc<Activity>,
    epoch: Epoch,
}

impl InFlight {
    /// Counts a request on `activity` as in flight.
    pub fn start(activity: &Arc<Activity>, epoch: Epoch) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        if !activity.served.load(Ordering::Relaxed) {
            activity.served.store(true, Ordering::Relaxed);
        }
        InFlight {
            activity: Arc::clone(activity),
            epoch,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity
            .idle_since_us
            .store(self.epoch.now_us(), Ordering::Relaxed);
        self.activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// When an idle connection must have brought its next request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// A request is in flight: no deadline now.
    Busy,
    /// The connection is closed if no request starts by then.
    At(Instant),
}

/// Admits connections within the limits and remembers every connection admitted, until its
/// [`Ticket`] is dropped. Locked once when a connection is admitted and once when it
/// closes, never per request.
#[derive(Debug)]
pub struct Admission {
    limits: ServerLimits,
    epoch: Epoch,
    state: Mutex<Admitted>,
}

#[derive(Debug, Default)]
struct Admitted {
    /// Open connections per client key.
    per_client: HashMap<IpAddr, usize>,
    /// Every admitted connection not yet closed, by ticket number.
    live: HashMap<u64, Arc<Activity>>,
    /// Evicted connections not yet closed.
    evicting: usize,
    next: u64,
}

impl Admission {
    /// An admission enforcing `limits`.
    pub fn new(limits: ServerLimits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            epoch: Epoch(Instant::now()),
            state: Mutex::new(Admitted::default()),
        })
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// The clock of its connections' activities.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    fn lock(&self) -> MutexGuard<'_, Admitted> {
        // The state stays consistent between statements: a panic elsewhere cannot leave it
        // half-changed, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a connection from `peer`, evicting the longest-idle connection without a
    /// request in flight when the node is full.
    ///
    /// # Errors
    /// The [`Refusal`] when it cannot be admitted.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Ticket, Refusal> {
        let client = client_key(peer.ip());
        let now_us = self.epoch.now_us();
        let mut state = self.lock();
        let from_client = state.per_client.get(&client).copied().unwrap_or(0);
        if from_client >= self.limits.max_connections_per_ip {
            return Err(Refusal::AddressLimit);
        }
        if state.live.len() - state.evicting >= self.limits.max_connections {
            if state.evicting >= MAX_EVICTING {
                return Err(Refusal::NodeFull);
            }
            let victim = state
                .live
                .values()
                .filter(|activity| !activity.busy() && !activity.evicted())
                .min_by_key(|activity| activity.idle_since_us.load(Ordering::Relaxed))
                .cloned();
            let Some(victim) = victim else {
                return Err(Refusal::NodeFull);
            };
            victim.evicted.store(true, Ordering::Relaxed);
            victim.wake.notify_one();
            state.evicting += 1;
        }
        let id = state.next;
        state.next += 1;
        let activity = Arc::new(Activity::new(now_us));
        state.live.insert(id, Arc::clone(&activity));
        *state.per_client.entry(client).or_insert(0) += 1;
        Ok(Ticket {
            admission: Arc::clone(self),
            id,
            client,
            activity,
        })
    }

    /// Connections admitted and not yet closed.
    pub fn open(&self) -> usize {
        self.lock().live.len()
    }

    /// When the connection of `activity` must have brought its next request head: the
    /// header-read timeout after its admission until its first request, then the idle
    /// timeout after each response.
    pub fn deadline(&self, activity: &Activity) -> Deadline {
        if activity.busy() {
            return Deadline::Busy;
        }
        let allowed = if activity.served.load(Ordering::Relaxed) {
            self.limits.idle_timeout
        } else {
            self.limits.header_read_timeout
        };
        Deadline::At(
            self.epoch
                .deadline(activity.idle_since_us.load(Ordering::Relaxed), allowed),
        )
    }
}

/// One admitted connection's place; dropping it (when the connection closes) frees it.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    client: IpAddr,
    activity: Arc<Activity>,
}

impl Ticket {
    /// What the server knows of the connection's requests.
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        if state.live.remove(&self.id).is_some() && self.activity.evicted() {
            state.evicting = state.evicting.saturating_sub(1);
        }
        if let Some(count) = state.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                state.per_client.remove(&self.client);
            }
        }
    }
}

/// Refused connections are logged at most once per this interval, with their counts.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Counts refused connections and logs them at most once per [`REFUSAL_LOG_INTERVAL`], so
/// a flood of refusals cannot flood the log.
#[derive(Debug, Default)]
pub struct RefusalLog {
    by_address: u64,
    node_full: u64,
    logged: Option<Instant>,
}

impl RefusalLog {
    /// Counts `refusal` of `peer`, and logs the counts when the interval has passed.
    pub fn note(&mut self, refusal: Refusal, peer: SocketAddr) {
        match refusal {
            Refusal::AddressLimit => self.by_address += 1,
            Refusal::NodeFull => self.node_full += 1,
        }
        if self
            .logged
            .is_some_and(|logged| logged.elapsed() < REFUSAL_LOG_INTERVAL)
        {
            return;
        }
        tracing::warn!(
            %peer,
            code = refusal.code(),
            per_address_limit = self.by_address,
            node_limit = self.node_full,
            "refused connections at the connection limits (counts since the last report)"
        );
        self.logged = Some(Instant::now());
        self.by_address = 0;
        self.node_full = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize, max_connections_per_ip: usize) -> ServerLimits {
        ServerLimits {
            max_connections,
            max_connections_per_ip,
            ..ServerLimits::default()
        }
    }

    fn peer(address: &str) -> SocketAddr {
        SocketAddr::new(address.parse().expect("an address"), 40000)
    }

    #[test]
    fn an_address_holds_at_most_its_limit() {
        let admission = Admission::new(limits(10, 2));
        let first = admission.admit(peer("127.0.0.2")).expect("admitted");
        let _second = admission.admit(peer("127.0.0.2")).expect("admitted");
        assert_eq!(
            admission.admit(peer("127.0.0.2")).err(),
            Some(Refusal::AddressLimit)
        );
        let _other = admission.admit(peer("127.0.0.3")).expect("another address");
        drop(first);
        let _third = admission
            .admit(peer("127.0.0.2"))
            .expect("a closed connection frees its place");
        assert_eq!(admission.open(), 3);
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let admission = Admission::new(limits(10, 1));
        let _first = admission.admit(peer("2001:db8:1:2::1")).expect("admitted");
        assert_eq!(
            admission.admit(peer("2001:db8:1:2:ffff::9")).err(),
            Some(Refusal::AddressLimit),
            "the same /64"
        );
        let _other = admission
            .admit(peer("2001:db8:1:3::1"))
            .expect("another /64");
        let _v4 = admission.admit(peer("192.0.2.1")).expect("admitted");
        assert_eq!(
            admission.admit(peer("::ffff:192.0.2.1")).err(),
            Some(Refusal::AddressLimit)
        );
    }

    #[test]
    fn a_full_node_evicts_the_longest_idle_connection_without_a_request() {
        let admission = Admission::new(limits(3, 10));
        let epoch = admission.epoch();
        let oldest = admission.admit(peer("127.0.0.2")).expect("admitted");
        let _request = InFlight::start(oldest.activity(), epoch);
        std::thread::sleep(Duration::from_millis(5));
        let middle = admission.admit(peer("127.0.0.3")).expect("admitted");
        std::thread::sleep(Duration::from_millis(5));
        let newest = admission.admit(peer("127.0.0.4")).expect("admitted");

        // The oldest has a request in flight: the middle one goes.
        let _admitted = admission.admit(peer("127.0.0.1")).expect("room is made");
        assert!(!oldest.activity().evicted());
        assert!(middle.activity().evicted());
        assert!(!newest.activity().evicted());
        assert_eq!(admission.open(), 4, "the evicted one is still closing");

        // Once it has closed, the node is full again and the next idle one goes.
        drop(middle);
        let _next = admission.admit(peer("127.0.0.1")).expect("room is made");
        assert!(newest.activity().evicted());
        assert!(!oldest.activity().evicted());
    }

    #[test]
    fn a_node_whose_connections_all_have_requests_refuses() {
        let admission = Admission::new(limits(2, 10));
        let epoch = admission.epoch();
        let first = admission.admit(peer("127.0.0.2")).expect("admitted");
        let second = admission.admit(peer("127.0.0.3")).expect("admitted");
        let _requests = [
            InFlight::start(first.activity(), epoch),
            InFlight::start(second.activity(), epoch),
        ];
        assert_eq!(
            admission.admit(peer("127.0.0.1")).err(),
            Some(Refusal::NodeFull)
        );
        drop(second);
        admission
            .admit(peer("127.0.0.1"))
            .expect("a closed connection frees its place");
    }

    #[test]
    fn at_most_max_evicting_connections_are_closing_at_once() {
        let admission = Admission::new(limits(1, usize::MAX));
        let mut tickets = vec![admission.admit(peer("127.0.0.2")).expect("admitted")];
        for _ in 0..MAX_EVICTING {
            tickets.push(admission.admit(peer("127.0.0.2")).expect("room is made"));
        }
        assert_eq!(
            admission.admit(peer("127.0.0.2")).err(),
            Some(Refusal::NodeFull)
        );
        // The evicted ones close: room again.
        let newest = tickets.pop().expect("a ticket");
        drop(tickets);
        assert_eq!(admission.open(), 1);
        admission.admit(peer("127.0.0.2")).expect("room is made");
        assert!(newest.activity().evicted());
    }

    #[test]
    fn the_first_request_has_the_header_read_timeout_later_ones_the_idle_timeout() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(50),
            ..ServerLimits::default()
        };
        let admission = Admission::new(limits);
        let ticket = admission.admit(peer("127.0.0.1")).expect("admitted");
        let activity = ticket.activity();
        let Deadline::At(first) = admission.deadline(activity) else {
            panic!("an idle connection has a deadline");
        };
        let waited = first.saturating_duration_since(Instant::now());
        assert!(waited <= Duration::from_secs(5) && waited > Duration::from_secs(4));
        let request = InFlight::start(activity, admission.epoch());
        assert_eq!(admission.deadline(activity), Deadline::Busy);
        drop(request);
        let Deadline::At(next) = admission.deadline(activity) else {
            panic!("an idle connection has a deadline");
        };
        let waited = next.saturating_duration_since(Instant::now());
        assert!(waited <= Duration::from_secs(50) && waited > Duration::from_secs(49));
    }

    #[test]
    fn limits_are_checked_against_the_descriptors() {
        let limits = limits(1000, 10);
        assert!(limits.check().is_ok());
        let needed = limits.descriptors_needed();
        assert!(limits.check_descriptors(needed).is_ok());
        let refused = limits.check_descriptors(needed - 1);
        assert!(
            matches!(refused, Err(LimitsError::Descriptors { .. })),
            "{refused:?}"
        );
        assert_eq!(ServerLimits::max_connections_within(needed), 1000);
        assert_eq!(ServerLimits::max_connections_within(10), 0);
        let zero = ServerLimits {
            idle_timeout: Duration::ZERO,
            ..limits
        };
        assert!(matches!(zero.check(), Err(LimitsError::Zero(_))));
    }

    #[test]
    fn the_refusals_are_whole_responses() {
        for refusal in [Refusal::AddressLimit, Refusal::NodeFull] {
            let text = std::str::from_utf8(refusal.response()).expect("text");
            let (head, body) = text.split_once("\r\n\r\n").expect("a head");
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|value| value.parse().ok())
                .expect("a length");
            assert_eq!(body.len(), length, "{text}");
            let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
            assert_eq!(json["code"], refusal.code());
        }
    }
}
