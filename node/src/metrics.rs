//! The node's Prometheus metrics: one [`Metrics`] per node, made at start and handed to the
//! parts that count (the HTTP layer, issuance, the sequencer, verification, federation
//! sync and the cosignature collector, the connection admission); `GET /metrics` renders
//! it in the Prometheus text format ([`Metrics::render`]).
//!
//! Counting costs atomics only: every labelled child is resolved once here, at start, so no
//! request looks a label up (the `prometheus` crate's label lookup takes a read lock), and a
//! histogram's observation is a few atomic additions (TiKV's `prometheus` crate, chosen for
//! that: `prometheus-client`'s histogram locks a mutex per observation). What is a state
//! rather than an event (each peer's mirror, the log's size) is read from its owner when
//! Prometheus scrapes ([`Metrics::render`] takes it as [`Snapshot`]), so nothing is kept
//! twice. Every label value comes from a closed list in this module or from the federation
//! configuration (peer ids): nothing a client sends becomes a label.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The content type of [`Metrics::render`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the metrics could not be made or rendered: a metric defined twice or with an invalid
/// name (a bug caught by the unit tests), or the encoder failing.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The `prometheus` crate refused a definition or the encoding.
    #[error("metrics: {0}")]
    Prometheus(#[from] prometheus::Error),
}

/// Every metric of one node, registered in its own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// HTTP responses by route group and status class.
    pub http: HttpMetrics,
    /// Credentials issued by the authority and delegated issuers.
    pub issuance: IssuanceMetrics,
    /// The sequencer's durable batches.
    pub log: LogMetrics,
    /// Verifications by outcome.
    pub verification: VerificationMetrics,
    /// Cosignatures on the own checkpoints, and the peers (set at each scrape).
    pub federation: FederationMetrics,
    /// Connections accepted, refused and open.
    pub connections: ConnectionMetrics,
    /// The own log's size, set at each scrape.
    log_entries: IntGauge,
    /// The own log's newest checkpoint with the witness quorum, set at each scrape.
    log_witnessed_entries: IntGauge,
}

/// What Prometheus reads from the node's state at a scrape, rather than from counters.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Entries in the own log.
    pub log_entries: u64,
    /// Size of the newest own checkpoint cosigned by the witness quorum.
    pub log_witnessed_entries: Option<u64>,
    /// Each peer's mirror (empty for a development node).
    pub peers: Vec<PeerSample>,
}

/// One peer's mirror at a scrape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSample {
    /// The peer's member id (from the federation configuration).
    pub peer: String,
    /// Where sync from it stands: one of [`PEER_STATES`].
    pub state: &'static str,
    /// Entries of its log verified and mirrored here.
    pub mirrored_entries: u64,
    /// Seconds since this node last saw the mirrored checkpoint as the peer's newest;
    /// `None` before the first such confirmation.
    pub age_seconds: Option<i64>,
    /// Evidence records of misbehaviour held against it.
    pub evidence: u64,
}

/// The states a peer's sync can be in (the federation status's `state`).
pub const PEER_STATES: [&str; 4] = ["syncing", "in-sync", "unreachable", "halted"];

impl Metrics {
    /// Defines and registers every metric.
    ///
    /// # Errors
    /// [`MetricsError`] for a definition the crate refuses (a bug: the names are fixed).
    pub fn new() -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let log_entries = IntGauge::new(
            "registry_log_entries",
            "Entries in this member's own transparency log.",
        )?;
        let log_witnessed_entries = IntGauge::new(
            "registry_log_witnessed_entries",
            "Size of this member's newest checkpoint cosigned by the witness quorum (0 before one).",
        )?;
        registry.register(Box::new(log_entries.clone()))?;
        registry.register(Box::new(log_witnessed_entries.clone()))?;
        Ok(Metrics {
            http: HttpMetrics::new(&registry)?,
            issuance: IssuanceMetrics::new(&registry)?,
            log: LogMetrics::new(&registry)?,
            verification: VerificationMetrics::new(&registry)?,
            federation: FederationMetrics::new(&registry)?,
            connections: ConnectionMetrics::new(&registry)?,
            log_entries,
            log_witnessed_entries,
            registry,
        })
    }

    /// Every metric in the Prometheus text format, the state-like ones set from `snapshot`.
    ///
    /// # Errors
    /// [`MetricsError`] when encoding fails.
    pub fn render(&self, snapshot: &Snapshot) -> Result<String, MetricsError> {
        self.log_entries.set(gauge_value(snapshot.log_entries));
        self.log_witnessed_entries
            .set(gauge_value(snapshot.log_witnessed_entries.unwrap_or(0)));
        self.federation.set_peers(&snapshot.peers);
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        // The encoder writes UTF-8 only; the lossy conversion never replaces anything.
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

/// A count as a gauge's `i64`, saturating.
fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Defines a counter with `labels`, registers it and resolves the child of each value
/// combination in `values`.
fn counter_children(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    values: &[&[&str]],
) -> Result<Vec<IntCounter>, MetricsError> {
    let family = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(family.clone()))?;
    Ok(values
        .iter()
        .map(|values| family.with_label_values(values))
        .collect())
}

fn counter(registry: &Registry, name: &str, help: &str) -> Result<IntCounter, MetricsError> {
    let counter = IntCounter::new(name, help)?;
    registry.register(Box::new(counter.clone()))?;
    Ok(counter)
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    buckets: &[f64],
) -> Result<Histogram, MetricsError> {
    let histogram = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))?;
    registry.register(Box::new(histogram.clone()))?;
    Ok(histogram)
}

/// The route groups HTTP responses are counted by: a closed list, so a client's paths never
/// become label values.
pub const ROUTE_GROUPS: [&str; 11] = [
    "verify",
    "credentials",
    "status_lists",
    "log",
    "federation",
    "wallets",
    "holder",
    "console",
    "meta",
    "metrics",
    "other",
];

/// The status classes HTTP responses are counted by.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The route group of a request path (see [`ROUTE_GROUPS`]).
pub fn route_group(path: &str) -> &'static str {
    let starts = |prefix: &str| path.starts_with(prefix);
    if path == "/api/v1/verify"
        || path == "/verify"
        || path == "/credentials/verify"
        || path == "/presentations/verify"
    {
        "verify"
    } else if starts("/api/v1/status-lists") || starts("/credentials/status-lists") {
        "status_lists"
    } else if path == "/log/add-checkpoint"
        || starts("/api/v1/federation/")
        || starts("/api/v1/members/")
    {
        "federation"
    } else if starts("/log/") {
        "log"
    } else if starts("/api/v1/credentials") || starts("/credentials/") {
        "credentials"
    } else if starts("/oid4vci/")
        || starts("/oid4vp/")
        || starts("/api/v1/presentation-requests")
        || starts("/.well-known/")
        || starts("/vct/")
    {
        "wallets"
    } else if starts("/api/v1/holder/") {
        "holder"
    } else if path == "/metrics" {
        "metrics"
    } else if path == "/healthz"
        || starts("/api/v1/member")
        || starts("/api/v1/statistics/")
        || starts("/schemas/")
        || starts("/ns/")
    {
        "meta"
    } else if path == "/"
        || starts("/console/")
        || starts("/assets/")
        || starts("/wallet/")
        || matches!(
            path,
            "/login" | "/logout" | "/federation" | "/statistics" | "/holder"
        )
    {
        "console"
    } else {
        "other"
    }
}

/// HTTP responses by route group and status class.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    /// `[group][class]`, in the order of [`ROUTE_GROUPS`] and [`STATUS_CLASSES`].
    responses: Vec<Vec<IntCounter>>,
}

impl HttpMetrics {
    fn new(registry: &Registry) -> Result<HttpMetrics, MetricsError> {
        let family = IntCounterVec::new(
            Opts::new(
                "registry_http_responses_total",
                "HTTP responses by route group and status class.",
            ),
            &["group", "class"],
        )?;
        registry.register(Box::new(family.clone()))?;
        let responses = ROUTE_GROUPS
            .iter()
            .map(|group| {
                STATUS_CLASSES
                    .iter()
                    .map(|class| family.with_label_values(&[group, class]))
                    .collect()
            })
            .collect();
        Ok(HttpMetrics { responses })
    }

    /// Counts one response of `group` (a [`ROUTE_GROUPS`] name) with `status`.
    pub fn count(&self, group: &str, status: u16) {
        let group = ROUTE_GROUPS
            .iter()
            .position(|name| *name == group)
            .unwrap_or(ROUTE_GROUPS.len() - 1);
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        if let Some(counter) = self.responses.get(group).and_then(|row| row.get(class)) {
            counter.inc();
        }
    }
}

/// Credentials issued: signed by the authority (`POST /api/v1/credentials[:batch]`, the
/// console, imports) or submitted signed by a delegated issuer, once durable.
#[derive(Debug, Clone)]
pub struct IssuanceMetrics {
    /// `[authority, submitted]`.
    issued: Vec<IntCounter>,
    /// `[issued, refused]`.
    requests: Vec<IntCounter>,
    duration: Histogram,
}

/// Who signed what was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// The member's authority key (the node signed).
    Authority,
    /// A delegated issuer (the node logged what it signed).
    Submitted,
}

impl IssuanceMetrics {
    fn new(registry: &Registry) -> Result<IssuanceMetrics, MetricsError> {
        Ok(IssuanceMetrics {
            issued: counter_children(
                registry,
                "registry_credentials_issued_total",
                "Credentials durably logged, by who signed them (authority or submitted).",
                &["signer"],
                &[&["authority"], &["submitted"]],
            )?,
            requests: counter_children(
                registry,
                "registry_issuance_requests_total",
                "Issuance requests (single or batch) by outcome (issued or refused).",
                &["outcome"],
                &[&["issued"], &["refused"]],
            )?,
            duration: histogram(
                registry,
                "registry_issuance_duration_seconds",
                "Time from an issuance request's start to its credentials being durable (issued requests).",
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )?,
        })
    }

    /// Counts a request that issued `credentials` signed by `signer` in `seconds`.
    pub fn issued(&self, signer: Signer, credentials: usize, seconds: f64) {
        let index = usize::from(signer == Signer::Submitted);
        if let Some(counter) = self.issued.get(index) {
            counter.inc_by(credentials as u64);
        }
        if let Some(counter) = self.requests.first() {
            counter.inc();
        }
        self.duration.observe(seconds);
    }

    /// Counts a request that issued nothing.
    pub fn refused(&self) {
        if let Some(counter) = self.requests.get(1) {
            counter.inc();
        }
    }
}

/// The sequencer's durable batches.
#[derive(Debug, Clone)]
pub struct LogMetrics {
    batch_entries: Histogram,
    commit_seconds: Histogram,
    failed: IntCounter,
}

impl LogMetrics {
    fn new(registry: &Registry) -> Result<LogMetrics, MetricsError> {
        Ok(LogMetrics {
            batch_entries: histogram(
                registry,
                "registry_sequencer_batch_entries",
                "Entries per durable batch the sequencer committed.",
                &[
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
                    4096.0,
                ],
            )?,
            commit_seconds: histogram(
                registry,
                "registry_sequencer_commit_seconds",
                "Time to write one batch as a synced RocksDB write batch (the fsync dominates).",
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            )?,
            failed: counter(
                registry,
                "registry_sequencer_failed_batches_total",
                "Batches whose commit failed (nothing of them was acknowledged).",
            )?,
        })
    }

    /// Counts a committed batch of `entries` whose synced write took `seconds`.
    pub fn committed(&self, entries: usize, seconds: f64) {
        self.batch_entries.observe(entries as f64);
        self.commit_seconds.observe(seconds);
    }

    /// Counts a batch that failed.
    pub fn failed(&self) {
        self.failed.inc();
    }
}

/// How a verification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed.
    Verified,
    /// A verdict with a failed check.
    NotVerified,
    /// No verdict: the evidence could not be read.
    Error,
}

/// Verifications (`POST /api/v1/verify`, the VC-API, the console) by outcome.
#[derive(Debug, Clone)]
pub struct VerificationMetrics {
    /// `[verified, not_verified, error]`.
    outcomes: Vec<IntCounter>,
}

impl VerificationMetrics {
    fn new(registry: &Registry) -> Result<VerificationMetrics, MetricsError> {
        Ok(VerificationMetrics {
            outcomes: counter_children(
                registry,
                "registry_verifications_total",
                "Registry credentials verified at this node, by outcome (verified, not_verified, error).",
                &["outcome"],
                &[&["verified"], &["not_verified"], &["error"]],
            )?,
        })
    }

    /// Counts one verification.
    pub fn count(&self, outcome: Outcome) {
        let index = match outcome {
            Outcome::Verified => 0,
            Outcome::NotVerified => 1,
            Outcome::Error => 2,
        };
        if let Some(counter) = self.outcomes.get(index) {
            counter.inc();
        }
    }
}

/// Cosignatures this member collected on its checkpoints, and each peer's mirror.
#[derive(Debug, Clone)]
pub struct FederationMetrics {
    cosignatures_collected: IntCounter,
    cosignature_refusals: IntCounter,
    peer_entries: IntGaugeVec,
    peer_age: IntGaugeVec,
    peer_state: IntGaugeVec,
    peer_evidence: IntGaugeVec,
}

impl FederationMetrics {
    fn new(registry: &Registry) -> Result<FederationMetrics, MetricsError> {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let family = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            Ok::<_, MetricsError>(family)
        };
        Ok(FederationMetrics {
            cosignatures_collected: counter(
                registry,
                "registry_cosignatures_collected_total",
                "New cosignatures peers' witnesses gave on this member's checkpoints.",
            )?,
            cosignature_refusals: counter(
                registry,
                "registry_cosignature_refusals_total",
                "Requests for a cosignature a peer's witness refused or did not answer.",
            )?,
            peer_entries: gauge(
                "registry_peer_mirrored_entries",
                "Entries of the peer's log verified and mirrored here.",
                &["peer"],
            )?,
            peer_age: gauge(
                "registry_peer_mirror_age_seconds",
                "Seconds since this node last saw its mirror's checkpoint as the peer's newest (the mirror's lag).",
                &["peer"],
            )?,
            peer_state: gauge(
                "registry_peer_state",
                "1 for the state sync from the peer is in (syncing, in-sync, unreachable, halted), 0 for the others.",
                &["peer", "state"],
            )?,
            peer_evidence: gauge(
                "registry_peer_evidence_records",
                "Evidence records of misbehaviour held against the peer.",
                &["peer"],
            )?,
        })
    }

    /// Counts a collection round that gained `collected` cosignatures and saw `refused`
    /// refusals.
    pub fn collected(&self, collected: usize, refused: usize) {
        self.cosignatures_collected.inc_by(collected as u64);
        self.cosignature_refusals.inc_by(refused as u64);
    }

    fn set_peers(&self, peers: &[PeerSample]) {
        for sample in peers {
            let peer = sample.peer.as_str();
            self.peer_entries
                .with_label_values(&[peer])
                .set(gauge_value(sample.mirrored_entries));
            if let Some(age) = sample.age_seconds {
                self.peer_age.with_label_values(&[peer]).set(age.max(0));
            }
            for state in PEER_STATES {
                self.peer_state
                    .with_label_values(&[peer, state])
                    .set(i64::from(state == sample.state));
            }
            self.peer_evidence
                .with_label_values(&[peer])
                .set(gauge_value(sample.evidence));
        }
    }
}

/// Connections accepted, refused and open.
#[derive(Debug, Clone)]
pub struct ConnectionMetrics {
    accepted: IntCounter,
    /// `[per_address, node_full]`.
    refused: Vec<IntCounter>,
    open: IntGauge,
}

/// Why a connection was refused, for [`ConnectionMetrics::refused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// The client's address held its limit.
    PerAddress,
    /// The node was full of busy connections.
    NodeFull,
}

impl ConnectionMetrics {
    fn new(registry: &Registry) -> Result<ConnectionMetrics, MetricsError> {
        let open = IntGauge::new(
            "registry_connections_open",
            "Connections admitted and not yet closed.",
        )?;
        registry.register(Box::new(open.clone()))?;
        Ok(ConnectionMetrics {
            accepted: counter(
                registry,
                "registry_connections_accepted_total",
                "Connections admitted within the connection limits.",
            )?,
            refused: counter_children(
                registry,
                "registry_connections_refused_total",
                "Connections refused at the connection limits, by limit (per_address, node_full).",
                &["limit"],
                &[&["per_address"], &["node_full"]],
            )?,
            open,
        })
    }

    /// Counts an admitted connection; it counts as open until the guard is dropped.
    pub fn accepted(&self) -> OpenConnectionGuard {
        self.accepted.inc();
        self.open.inc();
        OpenConnectionGuard(self.open.clone())
    }

    /// Counts a refused connection.
    pub fn refused(&self, by: RefusedBy) {
        let index = usize::from(by == RefusedBy::NodeFull);
        if let Some(counter) = self.refused.get(index) {
            counter.inc();
        }
    }
}

/// Counts one connection as open until dropped.
#[derive(Debug)]
pub struct OpenConnectionGuard(IntGauge);

impl Drop for OpenConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line starting with `series` (name and labels) in `text`.
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    }

    #[test]
    fn every_metric_renders_with_its_counts() {
        let metrics = Metrics::new().expect("metrics");
        metrics.http.count("verify", 200);
        metrics.http.count("verify", 200);
        metrics.http.count("other", 404);
        metrics.http.count("not a group", 503);
        metrics.issuance.issued(Signer::Authority, 3, 0.02);
        metrics.issuance.issued(Signer::Submitted, 1, 0.004);
        metrics.issuance.refused();
        metrics.log.committed(4, 0.003);
        metrics.log.failed();
        metrics.verification.count(Outcome::Verified);
        metrics.verification.count(Outcome::NotVerified);
        metrics.federation.collected(2, 1);
        metrics.connections.refused(RefusedBy::PerAddress);
        let open = metrics.connections.accepted();
        let snapshot = Snapshot {
            log_entries: 7,
            log_witnessed_entries: Some(5),
            peers: vec![PeerSample {
                peer: "cq-hrss".into(),
                state: "halted",
                mirrored_entries: 12,
                age_seconds: Some(3),
                evidence: 1,
            }],
        };
        let text = metrics.render(&snapshot).expect("renders");
        let expected = [
            (
                r#"registry_http_responses_total{class="2xx",group="verify"}"#,
                2.0,
            ),
            (
                r#"registry_http_responses_total{class="4xx",group="other"}"#,
                1.0,
            ),
            (
                r#"registry_http_responses_total{class="5xx",group="other"}"#,
                1.0,
            ),
            (
                r#"registry_credentials_issued_total{signer="authority"}"#,
                3.0,
            ),
            (
                r#"registry_credentials_issued_total{signer="submitted"}"#,
                1.0,
            ),
            (r#"registry_issuance_requests_total{outcome="issued"}"#, 2.0),
            (
                r#"registry_issuance_requests_total{outcome="refused"}"#,
                1.0,
            ),
            ("registry_issuance_duration_seconds_count", 2.0),
            (
                r#"registry_issuance_duration_seconds_bucket{le="0.005"}"#,
                1.0,
            ),
            ("registry_sequencer_batch_entries_sum", 4.0),
            ("registry_sequencer_commit_seconds_count", 1.0),
            ("registry_sequencer_failed_batches_total", 1.0),
            (r#"registry_verifications_total{outcome="verified"}"#, 1.0),
            (
                r#"registry_verifications_total{outcome="not_verified"}"#,
                1.0,
            ),
            (r#"registry_verifications_total{outcome="error"}"#, 0.0),
            ("registry_cosignatures_collected_total", 2.0),
            ("registry_cosignature_refusals_total", 1.0),
            (
                r#"registry_connections_refused_total{limit="per_address"}"#,
                1.0,
            ),
            ("registry_connections_accepted_total", 1.0),
            ("registry_connections_open", 1.0),
            ("registry_log_entries", 7.0),
            ("registry_log_witnessed_entries", 5.0),
            (r#"registry_peer_mirrored_entries{peer="cq-hrss"}"#, 12.0),
            (r#"registry_peer_mirror_age_seconds{peer="cq-hrss"}"#, 3.0),
            (r#"registry_peer_state{peer="cq-hrss",state="halted"}"#, 1.0),
            (
                r#"registry_peer_state{peer="cq-hrss",state="in-sync"}"#,
                0.0,
            ),
            (r#"registry_peer_evidence_records{peer="cq-hrss"}"#, 1.0),
        ];
        for (series, count) in expected {
            assert_eq!(value(&text, series), Some(count), "{series} in\n{text}");
        }
        drop(open);
        let text = metrics.render(&Snapshot::default()).expect("renders");
        assert_eq!(value(&text, "registry_connections_open"), Some(0.0));
    }

    #[test]
    fn paths_fall_into_a_closed_list_of_groups() {
        let cases = [
            ("/api/v1/verify", "verify"),
            ("/verify", "verify"),
            ("/credentials/verify", "verify"),
            ("/api/v1/credentials", "credentials"),
            ("/api/v1/credentials:batch", "credentials"),
            ("/api/v1/credentials/urn:uuid:1/bundle", "credentials"),
            ("/credentials/issue", "credentials"),
            ("/credentials/status-lists/open/0", "status_lists"),
            ("/api/v1/status-lists/revocation/0", "status_lists"),
            ("/log/checkpoint", "log"),
            ("/log/tile/0/000", "log"),
            ("/log/add-checkpoint", "federation"),
            ("/api/v1/federation/status", "federation"),
            ("/oid4vci/token", "wallets"),
            ("/api/v1/holder/queries", "holder"),
            ("/console/issue", "console"),
            ("/", "console"),
            ("/healthz", "meta"),
            ("/metrics", "metrics"),
            ("/api/v1/member", "meta"),
            ("/anything/a/client/makes/up", "other"),
            ("/verify/more", "other"),
        ];
        for (path, group) in cases {
            assert_eq!(route_group(path), group, "{path}");
            assert!(ROUTE_GROUPS.contains(&group));
        }
    }
}
