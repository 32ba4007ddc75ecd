//! Background workers: the one contract every task the node runs beside its HTTP server
//! follows (the sequencer, sync from each peer, the cosignature collector).
//!
//! - **Started by one function**, [`Workers::spawn`], which hands the task its [`Worker`]:
//!   its stop signal, its backoff and the place it reports its health.
//! - **Stopped by a signal**: [`Workers::stop`] cancels every worker's stop signal at once
//!   ([`Worker::stopped`]). A worker then drains — finishes or drops the work in hand, as
//!   its own documentation says (the sequencer answers every submission it has queued) —
//!   and returns.
//! - **Within a deadline**: a worker still running when the deadline passes is aborted at
//!   its next await point. Every worker keeps its state on disk crash-safe, so an abort
//!   loses no acknowledged data; the [`Stopped`] report names who was cut off.
//! - **Its last error shown**: a worker records each failure ([`Worker::failed`]) and each
//!   success ([`Worker::succeeded`]); [`WorkerHealth`] tells the status endpoint the last
//!   error since the last success.
//! - **One backoff policy**: after a failure a worker waits [`Worker::failed`]'s delay:
//!   exponential from [`BackoffPolicy::first`], doubling up to [`BackoffPolicy::cap`],
//!   back to the first after a success.

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long [`Workers::stop`] waits by default for the workers to drain.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// The delays a worker waits between failed attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The delay after the first failure (and after any failure that follows a success).
    pub first: Duration,
    /// The longest delay: doubling stops here.
    pub cap: Duration,
    /// Whether each delay is stretched by a random part of itself (up to double), so
    /// members that lost the same peer do not all retry in the same instant.
    pub jitter: bool,
}

impl BackoffPolicy {
    /// The node's policy: one second first (what sync waited after a failed round before
    /// backoff existed), at most ten (twenty with the jitter), so a peer back from an
    /// outage is found within seconds even when nothing wakes its worker.
    pub const NODE: BackoffPolicy = BackoffPolicy {
        first: Duration::from_secs(1),
        cap: Duration::from_secs(10),
        jitter: true,
    };

    fn delays(self) -> ExponentialBackoff {
        let builder = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(self.first)
            .with_max_delay(self.cap.max(self.first))
            .without_max_times();
        if self.jitter {
            builder.with_jitter().build()
        } else {
            builder.build()
        }
    }
}

impl Default for BackoffPolicy {
    fn default() -> BackoffPolicy {
        BackoffPolicy::NODE
    }
}

/// The delays of one worker under a [`BackoffPolicy`]: each failure waits longer, up to
/// the cap; a success starts again from the first delay.
#[derive(Debug)]
pub struct Backoff {
    policy: BackoffPolicy,
    delays: ExponentialBackoff,
}

impl Backoff {
    /// A backoff at its first delay.
    pub fn new(policy: BackoffPolicy) -> Backoff {
        Backoff {
            policy,
            delays: policy.delays(),
        }
    }

    /// The delay to wait after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        // Never exhausted: the delays are built without a limit on attempts.
        self.delays.next().unwrap_or(self.policy.cap)
    }

    /// Starts again from the first delay (after a success).
    pub fn reset(&mut self) {
        self.delays = self.policy.delays();
    }
}

/// What a worker shows of itself while it runs: its name and its last error since its last
/// success. Shared between the worker and whoever reports on it.
#[derive(Debug)]
pub struct WorkerHealth {
    name: String,
    last_error: Mutex<Option<String>>,
}

impl WorkerHealth {
    fn new(name: String) -> WorkerHealth {
        WorkerHealth {
            name,
            last_error: Mutex::new(None),
        }
    }

    /// The worker's name (`sequencer`, `sync cq-sc`, `cosignatures`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last error the worker met, unless it has succeeded since.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_last_error(&self, error: Option<String>) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = error;
    }
}

/// A worker's side of the contract, handed to its task by [`Workers::spawn`].
#[derive(Debug)]
pub struct Worker {
    stop: CancellationToken,
    health: Arc<WorkerHealth>,
    backoff: Backoff,
}

/// How a [`Worker::pause`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// The delay passed.
    Elapsed,
    /// The wake-up came first.
    Woken,
    /// The worker was asked to stop: drain and return.
    Stopped,
}

impl Worker {
    /// The worker's name.
    pub fn name(&self) -> &str {
        self.health.name()
    }

    /// Whether the worker has been asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when the worker is asked to stop.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// Records a success: clears the last error and starts the backoff again from its
    /// first delay.
    pub fn succeeded(&mut self) {
        self.health.set_last_error(None);
        self.backoff.reset();
    }

    /// Records a failure as the worker's last error and returns how long to wait before
    /// trying again.
    pub fn failed(&mut self, error: &dyn Display) -> Duration {
        self.health.set_last_error(Some(error.to_string()));
        self.backoff.next_delay()
    }

    /// Waits `delay`, or until `wake` resolves, or until the worker is asked to stop,
    /// whichever comes first.
    pub async fn pause(&self, delay: Duration, wake: impl Future<Output = ()>) -> Pause {
        tokio::select! {
            biased;
            () = self.stop.cancelled() => Pause::Stopped,
            () = wake => Pause::Woken,
            () = tokio::time::sleep(delay) => Pause::Elapsed,
        }
    }
}

/// A worker as its supervisor holds it.
#[derive(Debug)]
struct Running {
    health: Arc<WorkerHealth>,
    task: JoinHandle<()>,
}

/// The node's running workers: starts them, and stops them all within a deadline.
#[derive(Debug)]
pub struct Workers {
    stop: CancellationToken,
    policy: BackoffPolicy,
    running: Vec<Running>,
}

/// What [`Workers::stop`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Workers that returned by the deadline.
    pub drained: Vec<String>,
    /// Workers still running at the deadline, aborted.
    pub aborted: Vec<String>,
    /// Workers that panicked (their panic was logged by the runtime).
    pub panicked: Vec<String>,
}

impl Workers {
    /// No workers yet; those started will back off by `policy`.
    pub fn new(policy: BackoffPolicy) -> Workers {
        Workers {
            stop: CancellationToken::new(),
            policy,
            running: Vec::new(),
        }
    }

    /// Starts `task` as the worker `name` on the current Tokio runtime; returns its health.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn<F, T>(&mut self, name: impl Into<String>, task: F) -> Arc<WorkerHealth>
    where
        F: FnOnce(Worker) -> T,
        T: Future<Output = ()> + Send + 'static,
    {
        let health = Arc::new(WorkerHealth::new(name.into()));
        let worker = Worker {
            stop: self.stop.child_token(),
            health: Arc::clone(&health),
            backoff: Backoff::new(self.policy),
        };
        let task = tokio::spawn(task(worker));
        self.running.push(Running {
            health: Arc::clone(&health),
            task,
        });
        health
    }

    /// The health of every worker started, in start order.
    pub fn health(&self) -> Vec<Arc<WorkerHealth>> {
        self.running
            .iter()
            .map(|running| Arc::clone(&running.health))
            .collect()
    }

    /// Asks every worker to stop and waits until all have returned or `deadline` has
    /// passed; those still running then are aborted.
    pub async fn stop(self, deadline: Duration) -> Stopped {
        self.stop.cancel();
        let until = tokio::time::Instant::now() + deadline;
        let mut stopped = Stopped::default();
        for Running { health, mut task } in self.running {
            let name = health.name().to_owned();
            match tokio::time::timeout_at(until, &mut task).await {
                Ok(Ok(())) => stopped.drained.push(name),
                Ok(Err(error)) if error.is_panic() => stopped.panicked.push(name),
                Ok(Err(_)) => stopped.aborted.push(name),
                Err(_) => {
                    task.abort();
                    // Wait for the abort to take effect so nothing of it runs on after
                    // the report; an aborted task ends at its next await point.
                    let _ = task.await;
                    stopped.aborted.push(name);
                }
            }
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A delay in whole milliseconds, rounded: the crate computes delays in `f32`.
    fn millis(delay: Duration) -> u64 {
        (delay.as_secs_f64() * 1000.0).round() as u64
    }

    const EXACT: BackoffPolicy = BackoffPolicy {
        first: Duration::from_millis(100),
        cap: Duration::from_millis(700),
        jitter: false,
    };

    #[test]
    fn backoff_doubles_up_to_its_cap_and_starts_again_after_a_success() {
        let mut backoff = Backoff::new(EXACT);
        let delays: Vec<u64> = (0..6).map(|_| millis(backoff.next_delay())).collect();
        assert_eq!(delays, [100, 200, 400, 700, 700, 700]);
        backoff.reset();
        assert_eq!(millis(backoff.next_delay()), 100);
        // Many failures later, still the cap.
        for _ in 0..1000 {
            assert!(millis(backoff.next_delay()) <= 700);
        }
    }

    #[test]
    fn jitter_stretches_a_delay_by_at_most_itself() {
        let mut backoff = Backoff::new(BackoffPolicy {
            jitter: true,
            ..EXACT
        });
        for base in [100, 200, 400, 700, 700] {
            let delay = backoff.next_delay();
            let delay_ms = millis(delay);
            assert!(
                delay_ms >= base && delay_ms <= 2 * base,
                "{delay:?} for {base} ms"
            );
        }
    }

    #[tokio::test]
    async fn the_last_error_is_shown_until_a_success_and_failures_back_off() {
        let mut workers = Workers::new(EXACT);
        let (report, mut reported) = tokio::sync::mpsc::unbounded_channel();
        let (next, mut go) = tokio::sync::mpsc::unbounded_channel::<()>();
        let health = workers.spawn("flaky", move |mut worker| async move {
            let first = worker.failed(&"peer unreachable");
            let second = worker.failed(&"peer still unreachable");
            let _ = report.send((first, second));
            go.recv().await;
            worker.succeeded();
            let third = worker.failed(&"once more");
            let _ = report.send((third, Duration::ZERO));
            go.recv().await;
            worker.succeeded();
            let _ = report.send((Duration::ZERO, Duration::ZERO));
            worker.stopped().await;
        });
        assert_eq!(health.name(), "flaky");
        let (first, second) = reported.recv().await.expect("reported");
        assert_eq!((millis(first), millis(second)), (100, 200));
        assert_eq!(
            health.last_error().as_deref(),
            Some("peer still unreachable")
        );
        next.send(()).expect("sent");
        let (third, _) = reported.recv().await.expect("reported");
        assert_eq!(millis(third), 100, "a success resets the backoff");
        assert_eq!(health.last_error().as_deref(), Some("once more"));
        next.send(()).expect("sent");
        reported.recv().await.expect("reported");
        assert_eq!(health.last_error(), None, "a success clears the last error");
        let stopped = workers.stop(Duration::from_secs(5)).await;
        assert_eq!(stopped.drained, ["flaky"]);
    }

    #[tokio::test]
    async fn stop_lets_a_worker_drain_its_work_before_it_returns() {
        let drained = Arc::new(AtomicUsize::new(0));
        let mut workers = Workers::new(EXACT);
        let (queued, mut queue) = tokio::sync::mpsc::unbounded_channel::<usize>();
        for item in 0..5 {
            queued.send(item).expect("queued");
        }
        let counted = Arc::clone(&drained);
        workers.spawn("queue", move |worker| async move {
            // Waits for the stop, then answers everything queued, slowly.
            worker.stopped().await;
            queue.close();
            while let Some(_item) = queue.recv().await {
                tokio::time::sleep(Duration::from_millis(20)).await;
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let stopped = workers.stop(Duration::from_secs(5)).await;
        assert_eq!(
            drained.load(Ordering::SeqCst),
            5,
            "every queued item answered"
        );
        assert_eq!(stopped.drained, ["queue"]);
        assert!(stopped.aborted.is_empty());
        assert!(queued.send(9).is_err(), "nothing is queued after the stop");
    }

    #[tokio::test]
    async fn a_worker_past_the_deadline_is_aborted_and_named() {
        let mut workers = Workers::new(EXACT);
        let finished = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&finished);
        workers.spawn("stubborn", move |_worker| async move {
            // Ignores its stop signal.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            counted.fetch_add(1, Ordering::SeqCst);
        });
        workers.spawn("prompt", |worker| async move { worker.stopped().await });
        let started = tokio::time::Instant::now();
        let stopped = workers.stop(Duration::from_millis(200)).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert_eq!(stopped.aborted, ["stubborn"]);
        assert_eq!(stopped.drained, ["prompt"]);
        assert_eq!(finished.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_pause_ends_at_its_delay_at_a_wake_up_or_at_the_stop() {
        let mut workers = Workers::new(EXACT);
        let (report, mut reported) = tokio::sync::mpsc::unbounded_channel();
        let wake = Arc::new(tokio::sync::Notify::new());
        let woken = Arc::clone(&wake);
        workers.spawn("pausing", move |worker| async move {
            let pending = std::future::pending::<()>;
            let _ = report.send(worker.pause(Duration::from_millis(10), pending()).await);
            let _ = report.send(
                worker
                    .pause(Duration::from_secs(3600), woken.notified())
                    .await,
            );
            let _ = report.send(worker.pause(Duration::from_secs(3600), pending()).await);
            let _ = report.send(worker.pause(Duration::ZERO, pending()).await);
        });
        assert_eq!(reported.recv().await, Some(Pause::Elapsed));
        wake.notify_one();
        assert_eq!(reported.recv().await, Some(Pause::Woken));
        let stopping = tokio::spawn(workers.stop(Duration::from_secs(5)));
        assert_eq!(reported.recv().await, Some(Pause::Stopped));
        assert_eq!(
            reported.recv().await,
            Some(Pause::Stopped),
            "once stopping, every pause ends at once"
        );
        let stopped = stopping.await.expect("stopped");
        assert_eq!(stopped.drained, ["pausing"]);
    }

    #[tokio::test]
    async fn a_panicking_worker_is_reported_and_does_not_stop_the_others() {
        let mut workers = Workers::new(EXACT);
        workers.spawn("broken", |_worker| async move { panic!("on purpose") });
        workers.spawn("fine", |worker| async move { worker.stopped().await });
        tokio::task::yield_now().await;
        let stopped = workers.stop(Duration::from_secs(5)).await;
        assert_eq!(stopped.panicked, ["broken"]);
        assert_eq!(stopped.drained, ["fine"]);
    }
}
