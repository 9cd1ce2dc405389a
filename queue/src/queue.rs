//! The queue at work: accepts entries into a [`QueueStore`], runs the
//! schedule, delivers with a few workers, records each recipient's result
//! and queues the DSNs.
//!
//! ```text
//!   accept ──► store.enqueue (durable) ──► due now ─┐
//!   start  ──► store.entries: each due at its time ─┤
//!   retry request (queue retry) ──► due now ───────┤
//!                                                    ▼
//!            scheduler (one task): earliest due first, never one entry twice at once
//!                                                    │ work channel
//!                                                    ▼
//!   worker: load ─► Delivery::attempt ─► record (durable) ─► DSN queued ─► remove when done
//!                          └───────────── next due: now + schedule(attempts) ──┘
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use futures_lite::future;
use mailwire_driver::Runtime;
use mailwire_driver::client::{ClientSettings, ServerAddress};

use crate::QueueId;
use crate::control::{RetryRequest, take_retry_requests};
use crate::deliver::{Delivery, record_attempt};
use crate::dsn::{Failed, failure_report};
use crate::entry::{QueueEntry, QueuedEnvelope, RecipientStatus, unix_ms};
use crate::schedule::RetrySchedule;
use crate::store::{QueueError, QueueStore};

/// How often (ms) the scheduler looks for `mailwire queue flush`/`retry`
/// request files.
const REQUEST_CHECK_MS: u64 = 1000;

/// A line for the operator's log.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// How the queue delivers.
#[derive(Clone)]
pub struct QueueSettings {
    /// The next hops, in failover order.
    pub smarthosts: Vec<ServerAddress>,
    /// How to talk to them.
    pub client: ClientSettings,
    /// When deferred entries are tried again.
    pub schedule: RetrySchedule,
    /// The age at which open recipients fail (and get a DSN).
    pub max_age: Duration,
    /// Deliveries at once (each keeps its own connection).
    pub workers: usize,
    /// This host's name, for DSNs (`Reporting-MTA`).
    pub hostname: String,
    /// A local spool's directory, to take `queue retry` requests from
    /// (checked every second).
    pub retry_requests: Option<PathBuf>,
    /// Where log lines go.
    pub log: Log,
}

enum Wake {
    /// Due at this time (Unix ms).
    Due(QueueId, u64),
    /// A worker is done with it; the next attempt, if any.
    Done(QueueId, Option<u64>),
    Retry(RetryRequest),
}

/// A running queue: hand it accepted messages with [`accept`](Self::accept).
pub struct Queue<S: QueueStore> {
    store: Arc<S>,
    wake: smol::channel::Sender<Wake>,
    possible_duplicates: Arc<AtomicU64>,
    workers: Arc<Workers>,
}

/// What [`Queue::stop`] needs to know of the workers.
#[derive(Default)]
struct Workers {
    stopping: AtomicBool,
    busy: AtomicUsize,
}

impl<S: QueueStore> Queue<S> {
    /// Starts the scheduler and the workers on `runtime`; every entry
    /// already in the store is scheduled at its next attempt (those due
    /// are tried at once).
    ///
    /// # Errors
    ///
    /// The store cannot be read.
    pub async fn start<R: Runtime>(
        store: Arc<S>,
        runtime: R,
        settings: QueueSettings,
    ) -> Result<Queue<S>, QueueError> {
        let (wake, wakes) = smol::channel::unbounded();
        let (work, jobs) = smol::channel::unbounded::<QueueId>();
        let settings = Arc::new(settings);
        let mut due = Vec::new();
        for entry in store.entries().await? {
            due.push((entry.id.clone(), entry.state.next_attempt));
        }
        if !due.is_empty() {
            (settings.log)(&format!("{} messages in the queue at start", due.len()));
        }
        let possible_duplicates = Arc::new(AtomicU64::new(0));
        let workers = Arc::new(Workers::default());
        for _ in 0..settings.workers.max(1) {
            let worker = Worker {
                store: store.clone(),
                settings: settings.clone(),
                delivery: Delivery::new(
                    runtime.clone(),
                    settings.smarthosts.clone(),
                    settings.client.clone(),
                ),
                wake: wake.clone(),
                possible_duplicates: possible_duplicates.clone(),
                workers: workers.clone(),
            };
            let jobs = jobs.clone();
            runtime.spawn(worker.run(jobs));
        }
        let scheduler = Scheduler {
            runtime: runtime.clone(),
            due: BTreeSet::new(),
            when: HashMap::new(),
            busy: HashMap::new(),
            known: HashSet::new(),
            retry_requests: settings.retry_requests.clone(),
            next_request_check: 0,
        };
        for (id, at) in due {
            let _ = wake.try_send(Wake::Due(id, at));
        }
        runtime.spawn(scheduler.run(wakes, work));
        Ok(Queue {
            store,
            wake,
            possible_duplicates,
            workers,
        })
    }

    /// Stops delivering: no attempt starts any more, and this waits (at
    /// most `grace`) for the attempts under way to be recorded, so that a
    /// stop does not leave a delivered recipient unrecorded. Returns the
    /// number still under way when the grace ran out.
    pub async fn stop(&self, grace: Duration) -> usize {
        self.workers.stopping.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + grace;
        loop {
            let busy = self.workers.busy.load(Ordering::SeqCst);
            if busy == 0 || std::time::Instant::now() >= deadline {
                return busy;
            }
            smol::Timer::after(Duration::from_millis(20)).await;
        }
    }

    /// Queues an accepted message; returns once it is durable (give the
    /// `250` then) and schedules it at once.
    ///
    /// # Errors
    ///
    /// The store could not make it durable ([`QueueError::Full`]: no room).
    pub async fn accept(
        &self,
        envelope: QueuedEnvelope,
        message: Vec<u8>,
    ) -> Result<QueueId, QueueError> {
        let arrival = envelope.arrival;
        let id = self.store.enqueue(envelope, message).await?;
        let _ = self.wake.try_send(Wake::Due(id.clone(), arrival));
        Ok(id)
    }

    /// Makes entries due now (`queue retry`).
    pub fn retry(&self, request: RetryRequest) {
        let _ = self.wake.try_send(Wake::Retry(request));
    }

    /// Attempts since start after which a recipient may have got a
    /// second copy (the connection broke after the final dot).
    #[must_use]
    pub fn possible_duplicates(&self) -> u64 {
        self.possible_duplicates.load(Ordering::Relaxed)
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

struct Scheduler<R: Runtime> {
    runtime: R,
    due: BTreeSet<(u64, QueueId)>,
    when: HashMap<QueueId, u64>,
    /// Entries with a worker, and when they are wanted again meanwhile.
    busy: HashMap<QueueId, Option<u64>>,
    /// Every entry scheduled or busy.
    known: HashSet<QueueId>,
    retry_requests: Option<PathBuf>,
    /// When (Unix ms) the retry request files are looked at next: once a
    /// second, on whichever loop turn comes first after that, so a stream
    /// of wakes cannot postpone it.
    next_request_check: u64,
}

impl<R: Runtime> Scheduler<R> {
    fn schedule(&mut self, id: QueueId, at: u64) {
        self.known.insert(id.clone());
        if let Some(again) = self.busy.get_mut(&id) {
            *again = Some(again.map_or(at, |a| a.min(at)));
            return;
        }
        if let Some(old) = self.when.insert(id.clone(), at) {
            self.due.remove(&(old, id.clone()));
        }
        self.due.insert((at, id));
    }

    fn retry(&mut self, request: RetryRequest, now: u64) {
        let ids: Vec<QueueId> = match request {
            RetryRequest::All => self.known.iter().cloned().collect(),
            RetryRequest::Ids(ids) => ids,
        };
        for id in ids {
            self.schedule(id, now);
        }
    }

    async fn run(
        mut self,
        wakes: smol::channel::Receiver<Wake>,
        work: smol::channel::Sender<QueueId>,
    ) {
        loop {
            let now = unix_ms(SystemTime::now());
            if let Some(root) = &self.retry_requests
                && now >= self.next_request_check
            {
                self.next_request_check = now + REQUEST_CHECK_MS;
                if let Some(request) = take_retry_requests(root) {
                    self.retry(request, now);
                }
            }
            while let Some((at, id)) = self.due.first().cloned() {
                if at > now {
                    break;
                }
                self.due.pop_first();
                self.when.remove(&id);
                self.busy.insert(id.clone(), None);
                if work.send(id).await.is_err() {
                    return;
                }
            }
            let mut wait = self
                .due
                .first()
                .map_or(Duration::from_secs(3600), |(at, _)| {
                    Duration::from_millis(at.saturating_sub(now))
                });
            if self.retry_requests.is_some() {
                let check = self.next_request_check.saturating_sub(now);
                wait = wait.min(Duration::from_millis(check));
            }
            let deadline = self.runtime.now() + wait;
            let sleep = self.runtime.sleep_until(deadline);
            let event = future::or(async { wakes.recv().await.ok().map(Some) }, async {
                sleep.await;
                Some(None)
            })
            .await;
            let now = unix_ms(SystemTime::now());
            match event {
                None => return,
                // Time passed: the loop's top looks at what is due.
                Some(None) => {}
                Some(Some(Wake::Due(id, at))) => self.schedule(id, at),
                Some(Some(Wake::Retry(request))) => self.retry(request, now),
                Some(Some(Wake::Done(id, next))) => {
                    let again = self.busy.remove(&id).flatten();
                    let next = match (next, again) {
                        (Some(n), Some(a)) => Some(n.min(a)),
                        (n, None) => n,
                        // Done for good: a request meanwhile is moot.
                        (None, Some(_)) => None,
                    };
                    match next {
                        Some(at) => self.schedule(id, at),
                        None => {
                            self.known.remove(&id);
                        }
                    }
                }
            }
        }
    }
}

struct Worker<S: QueueStore, R: Runtime> {
    store: Arc<S>,
    settings: Arc<QueueSettings>,
    delivery: Delivery<R>,
    wake: smol::channel::Sender<Wake>,
    possible_duplicates: Arc<AtomicU64>,
    workers: Arc<Workers>,
}

impl<S: QueueStore, R: Runtime> Worker<S, R> {
    async fn run(mut self, jobs: smol::channel::Receiver<QueueId>) {
        while let Ok(id) = jobs.recv().await {
            self.workers.busy.fetch_add(1, Ordering::SeqCst);
            if self.workers.stopping.load(Ordering::SeqCst) {
                // Stopping: the entry stays in the store for the next start.
                self.workers.busy.fetch_sub(1, Ordering::SeqCst);
                self.delivery.close().await;
                return;
            }
            // Keep the connection only while there is more to do at once.
            let next = self.handle(&id).await;
            self.workers.busy.fetch_sub(1, Ordering::SeqCst);
            if jobs.is_empty() {
                self.delivery.close().await;
            }
            let _ = self.wake.try_send(Wake::Done(id, next));
        }
    }

    fn log(&self, line: &str) {
        (self.settings.log)(line);
    }

    /// One turn for an entry; the time of its next attempt, `None` when it
    /// is gone.
    async fn handle(&mut self, id: &QueueId) -> Option<u64> {
        let entry = match self.store.load(id).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return None,
            Err(e) => {
                self.log(&format!(
                    "{id}: cannot read the entry: {e}; trying again in 5m"
                ));
                return Some(unix_ms(SystemTime::now()) + 300_000);
            }
        };
        let mut entry = entry;
        let now = SystemTime::now();
        if entry.state.recipients.iter().any(|r| r.status.is_open()) {
            let message = match self.store.message(id).await {
                Ok(m) => m,
                Err(e) => {
                    self.log(&format!(
                        "{id}: cannot read the message: {e}; trying again in 5m"
                    ));
                    return Some(unix_ms(now) + 300_000);
                }
            };
            self.deliver(&mut entry, &message, now).await;
            if entry.state.is_done()
                && !entry
                    .state
                    .recipients
                    .iter()
                    .any(|r| r.status == RecipientStatus::Failed)
            {
                // Delivered to every recipient: the durable removal is the
                // record (one flush instead of two).
                return match self.store.remove(id).await {
                    Ok(()) => {
                        self.log(&format!("{id}: removed"));
                        None
                    }
                    Err(e) => {
                        self.log(&format!("{id}: cannot remove the entry: {e}"));
                        // Recorded instead: the next turn only removes it.
                        if let Err(e) = self.store.record(id, &entry.state).await {
                            self.log(&format!("{id}: cannot record the attempt: {e}"));
                        }
                        Some(unix_ms(SystemTime::now()) + 60_000)
                    }
                };
            }
            if let Err(e) = self.store.record(id, &entry.state).await {
                // Not recorded: the next turn tries again what this one
                // did (a recipient delivered now may get it twice).
                self.log(&format!("{id}: cannot record the attempt: {e}"));
                return Some(unix_ms(now) + 60_000);
            }
            self.report(&mut entry, &message).await;
        } else if entry
            .state
            .recipients
            .iter()
            .any(|r| r.status == RecipientStatus::Failed && !r.reported)
        {
            match self.store.message(id).await {
                Ok(message) => self.report(&mut entry, &message).await,
                Err(e) => self.log(&format!("{id}: cannot read the message: {e}")),
            }
        }
        if entry.state.is_done()
            && entry
                .state
                .recipients
                .iter()
                .all(|r| r.status != RecipientStatus::Failed || r.reported)
        {
            if let Err(e) = self.store.remove(id).await {
                self.log(&format!("{id}: cannot remove the entry: {e}"));
            } else {
                self.log(&format!("{id}: removed"));
            }
            return None;
        }
        if entry.state.is_done() {
            // A report could not be queued: again in a minute.
            return Some(unix_ms(SystemTime::now()) + 60_000);
        }
        Some(entry.state.next_attempt)
    }

    /// One attempt, applied to the entry's state.
    async fn deliver(&mut self, entry: &mut QueueEntry, message: &[u8], now: SystemTime) {
        let id = entry.id.clone();
        let results = self.delivery.attempt(entry, message).await;
        record_attempt(entry, &results, now, &self.possible_duplicates, &|line| {
            self.log(line)
        });
        let state = &mut entry.state;
        if state.is_done() {
            return;
        }
        let age = now
            .duration_since(crate::entry::from_unix_ms(entry.envelope.arrival))
            .unwrap_or_default();
        if age >= self.settings.max_age {
            for (i, r) in state.recipients.iter_mut().enumerate() {
                if r.status.is_open() {
                    let last = r.reply.clone().unwrap_or_else(|| "never tried".to_owned());
                    r.status = RecipientStatus::Failed;
                    r.reply = Some(format!(
                        "message expired after {}: {last}",
                        crate::schedule::format_duration(self.settings.max_age)
                    ));
                    r.reported = false;
                    self.log(&format!(
                        "{id}: to={}, status=expired ({last})",
                        entry.envelope.recipients[i].to
                    ));
                }
            }
            return;
        }
        let wait = self.settings.schedule.after_attempt(state.attempts);
        state.next_attempt = unix_ms(now + wait);
    }

    /// Queues the DSN for failures not yet reported, then records them as
    /// reported.
    async fn report(&mut self, entry: &mut QueueEntry, message: &[u8]) {
        let id = entry.id.clone();
        let open: Vec<usize> = (0..entry.state.recipients.len())
            .filter(|&i| {
                let r = &entry.state.recipients[i];
                r.status == RecipientStatus::Failed && !r.reported
            })
            .collect();
        if open.is_empty() {
            return;
        }
        let wanted: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| {
                !entry.envelope.is_null_sender()
                    && entry.envelope.recipients[i].wants_failure_report()
            })
            .collect();
        if !wanted.is_empty() {
            let replies: Vec<(String, String, Option<String>)> = wanted
                .iter()
                .map(|&i| {
                    let r = &entry.state.recipients[i];
                    let reply = r.reply.clone().unwrap_or_default();
                    let status = status_of(&reply);
                    (reply, status, r.remote.clone())
                })
                .collect();
            let failed: Vec<Failed<'_>> = wanted
                .iter()
                .zip(&replies)
                .map(|(&i, (reply, status, remote))| Failed {
                    recipient: &entry.envelope.recipients[i],
                    status,
                    diagnostic: reply,
                    remote: remote.as_deref(),
                })
                .collect();
            let (envelope, octets) = failure_report(
                &self.settings.hostname,
                &entry.envelope,
                &failed,
                message,
                id.as_str(),
            );
            let arrival = envelope.arrival;
            match self.store.enqueue(envelope, octets).await {
                Ok(dsn) => {
                    self.log(&format!("{id}: sender non-delivery notification: {dsn}"));
                    let _ = self.wake.try_send(Wake::Due(dsn, arrival));
                }
                Err(e) => {
                    self.log(&format!(
                        "{id}: cannot queue the non-delivery notification: {e}"
                    ));
                    return;
                }
            }
        } else {
            self.log(&format!(
                "{id}: no notification for {} failed recipients ({})",
                open.len(),
                if entry.envelope.is_null_sender() {
                    "the sender is <>"
                } else {
                    "NOTIFY says not to"
                }
            ));
        }
        for i in open {
            entry.state.recipients[i].reported = true;
        }
        if !entry.state.is_done()
            && let Err(e) = self.store.record(&id, &entry.state).await
        {
            self.log(&format!("{id}: cannot record the notification: {e}"));
        }
    }
}

/// The enhanced status of a recorded reply (`550 5.1.1 …` → `5.1.1`); a
/// reply without one gets the class's `X.0.0`, an expiry `4.4.7`.
pub(crate) fn status_of(reply: &str) -> String {
    if reply.starts_with("message expired") {
        // RFC 3463: 4.4.7, delivery time expired; reported as a failure.
        return "4.4.7".to_owned();
    }
    let mut words = reply.split_whitespace();
    let code = words.next().unwrap_or("");
    if let Some(e) = words.next()
        && e.split('.').count() == 3
        && e.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return e.to_owned();
    }
    match code.chars().next() {
        Some('4') => "4.0.0".to_owned(),
        _ => "5.0.0".to_owned(),
    }
}
