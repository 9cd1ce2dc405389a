//! One node's delivery worker: pulls an entry from the shared consumer,
//! reads its per-recipient state from the key-value bucket, delivers to
//! the open recipients (sending in-progress acknowledgements meanwhile),
//! records the outcome, and only then acknowledges, or negatively
//! acknowledges with the retry schedule's delay.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::{AckKind, Message};
use futures_lite::StreamExt;
use mailwire_driver::Runtime;
use tokio::io::AsyncReadExt;

use super::record::{Head, decode};
use super::shared::Shared;
use crate::deliver::{Delivery, record_attempt};
use crate::dsn::{Failed, failure_report};
use crate::entry::{QueueEntry, QueueState, RecipientStatus, from_unix_ms, unix_ms};
use crate::queue::status_of;
use crate::schedule::format_duration;

pub(crate) struct Worker<R: Runtime> {
    pub shared: Arc<Shared>,
    pub delivery: Delivery<R>,
}

/// What a turn ends with.
enum End {
    /// Done with for good: acknowledge, then clean up.
    Done,
    /// Again after this wait.
    Later(Duration),
}

impl<R: Runtime> Worker<R> {
    pub(crate) async fn run(mut self) {
        while !self.shared.stopping.load(Ordering::SeqCst) {
            let messages = self
                .shared
                .res
                .consumer
                .stream()
                .max_messages_per_batch(1)
                .messages()
                .await;
            let mut messages = match messages {
                Ok(m) => m,
                Err(e) => {
                    self.shared
                        .log(&format!("cannot pull from JetStream: {e}; trying again"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            while let Some(next) = messages.next().await {
                match next {
                    Ok(message) => {
                        if self.shared.stopping.load(Ordering::SeqCst) {
                            // Not started: another node takes it after the
                            // acknowledgement wait.
                            return;
                        }
                        self.shared.busy.fetch_add(1, Ordering::SeqCst);
                        self.handle(&message).await;
                        self.shared.busy.fetch_sub(1, Ordering::SeqCst);
                        self.delivery.close().await;
                    }
                    Err(e) => {
                        self.shared.log(&format!("JetStream: {e}; pulling again"));
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        break;
                    }
                }
                if self.shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
            }
        }
    }

    async fn handle(&mut self, message: &Message) {
        let shared = self.shared.clone();
        let delivered = message.info().map_or(1, |i| i.delivered);
        let (head, inline) = match decode(&message.payload) {
            Ok(decoded) => decoded,
            Err(e) => {
                shared.log(&format!("{e}: removed from the stream"));
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
        };
        let Some(id) = head.queue_id() else {
            shared.log("a queue entry without a valid id: removed from the stream");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        let key = id.to_string();
        let (state, revision) = match read_state(&shared, &key).await {
            Ok(Some((Some(value), revision))) => match serde_json::from_slice::<QueueState>(&value)
            {
                Ok(state) => (state, Some(revision)),
                Err(e) => {
                    shared.log(&format!("{id}: unreadable state ({e}): starting over"));
                    (QueueState::new(&head.envelope), Some(revision))
                }
            },
            Ok(Some((None, revision))) => (QueueState::new(&head.envelope), Some(revision)),
            Ok(None) => (QueueState::new(&head.envelope), None),
            Err(e) => {
                shared.log(&format!(
                    "{id}: cannot read the state: {e}; trying again in 5s"
                ));
                nak(message, Duration::from_secs(5)).await;
                return;
            }
        };
        let mut entry = QueueEntry {
            id: id.clone(),
            envelope: head.envelope.clone(),
            state,
            size: head.size,
        };
        let mut revision = revision;
        match self
            .turn(message, &head, inline, &mut entry, &mut revision, delivered)
            .await
        {
            End::Done => {
                // Acknowledged once recorded; state and body go after.
                if let Err(e) = message.double_ack().await {
                    shared.log(&format!(
                        "{id}: the acknowledgement was not confirmed ({e}): the next delivery only cleans up"
                    ));
                    return;
                }
                if revision.is_some() {
                    // Kept a while: an acknowledgement lost in a failover
                    // brings the entry back, and its state must say done.
                    let later = shared.clone();
                    let wait = shared.ack_wait * 2 + Duration::from_secs(30);
                    tokio::spawn(async move {
                        tokio::time::sleep(wait).await;
                        let _ = later.res.state.purge(key.as_str()).await;
                    });
                }
                if let Some(name) = &head.object
                    && let Err(e) = shared.res.bodies.delete(name).await
                {
                    shared.log(&format!(
                        "{id}: cannot remove the body from the object store: {e}"
                    ));
                }
                shared.log(&format!("{id}: removed"));
            }
            End::Later(wait) => nak(message, wait).await,
        }
    }

    /// One turn; what to do with the entry afterwards.
    async fn turn(
        &mut self,
        message: &Message,
        head: &Head,
        inline: &[u8],
        entry: &mut QueueEntry,
        revision: &mut Option<u64>,
        delivered: i64,
    ) -> End {
        let shared = self.shared.clone();
        let id = entry.id.clone();
        let open = entry.state.recipients.iter().any(|r| r.status.is_open());
        if !open && !unreported(entry) {
            // Recorded by a delivery that did not get to acknowledge.
            return End::Done;
        }
        let body = match Self::body(&shared, head, inline).await {
            Ok(body) => body,
            Err(e) => {
                shared.log(&format!(
                    "{id}: cannot read the message: {e}; trying again in 1m"
                ));
                return End::Later(Duration::from_secs(60));
            }
        };
        if open {
            if u64::try_from(delivered).unwrap_or(0) > u64::from(entry.state.attempts) + 1 {
                // A delivery before this one recorded nothing: it may have
                // been cut short after the next hop took the message.
                let total = shared.possible_duplicates.fetch_add(1, Ordering::Relaxed) + 1;
                entry.state.possible_duplicates += 1;
                shared.log(&format!(
                    "{id}: delivery {delivered} follows one that recorded nothing (a node stopped mid-delivery?): a recipient may get a second copy (possible duplicates since start: {total})"
                ));
            }
            let now = SystemTime::now();
            let last = delivered >= shared.max_deliver;
            self.deliver(message, entry, &body, now, last).await;
            if let Err(e) = Self::record(&shared, entry, revision).await {
                // Not recorded: the next delivery tries again what this
                // one did (a recipient delivered now may get it twice).
                shared.log(&format!(
                    "{id}: cannot record the attempt: {e}; trying again in 5s"
                ));
                return End::Later(Duration::from_secs(5));
            }
        }
        if unreported(entry) {
            if let Err(e) = Self::report(&shared, entry, &body).await {
                shared.log(&format!(
                    "{id}: cannot queue the non-delivery notification: {e}"
                ));
                return End::Later(Duration::from_secs(60));
            }
            if let Err(e) = Self::record(&shared, entry, revision).await {
                shared.log(&format!("{id}: cannot record the notification: {e}"));
            }
        }
        if entry.state.is_done() {
            return End::Done;
        }
        let now = unix_ms(SystemTime::now());
        End::Later(Duration::from_millis(
            entry.state.next_attempt.saturating_sub(now),
        ))
    }

    /// The message octets: inline, or from the object store.
    async fn body(shared: &Shared, head: &Head, inline: &[u8]) -> Result<Vec<u8>, String> {
        let Some(name) = &head.object else {
            return Ok(inline.to_vec());
        };
        let mut object = shared
            .res
            .bodies
            .get(name)
            .await
            .map_err(|e| format!("the object store has no body {name}: {e}"))?;
        let mut body = Vec::with_capacity(usize::try_from(head.size).unwrap_or(0));
        object
            .read_to_end(&mut body)
            .await
            .map_err(|e| format!("cannot read the body {name}: {e}"))?;
        shared.log(&format!(
            "{}: body of {} octets read from the object store",
            head.id,
            body.len()
        ));
        Ok(body)
    }

    /// One attempt, applied to the entry's state; in-progress
    /// acknowledgements go out every third of the acknowledgement wait
    /// while it runs. `last`: the consumer's last allowed delivery, so
    /// the open recipients fail now (and get a DSN) whatever their age.
    async fn deliver(
        &mut self,
        message: &Message,
        entry: &mut QueueEntry,
        body: &[u8],
        now: SystemTime,
        last: bool,
    ) {
        let shared = self.shared.clone();
        let id = entry.id.clone();
        let every = (shared.ack_wait / 3).max(Duration::from_millis(100));
        let progress = async {
            loop {
                tokio::time::sleep(every).await;
                let _ = message.ack_with(AckKind::Progress).await;
            }
        };
        let results = futures_lite::future::or(self.delivery.attempt(entry, body), progress).await;
        record_attempt(entry, &results, now, &shared.possible_duplicates, &|line| {
            shared.log(line)
        });
        let state = &mut entry.state;
        if state.is_done() {
            return;
        }
        let age = now
            .duration_since(from_unix_ms(entry.envelope.arrival))
            .unwrap_or_default();
        let max_age = shared.settings.max_age;
        if age >= max_age || last {
            for (i, r) in state.recipients.iter_mut().enumerate() {
                if r.status.is_open() {
                    let before = r.reply.clone().unwrap_or_else(|| "never tried".to_owned());
                    r.status = RecipientStatus::Failed;
                    r.reply = Some(if last && age < max_age {
                        format!(
                            "message expired after {delivered_n} deliveries: {before}",
                            delivered_n = state.attempts
                        )
                    } else {
                        format!(
                            "message expired after {}: {before}",
                            format_duration(max_age)
                        )
                    });
                    r.reported = false;
                    shared.log(&format!(
                        "{id}: to={}, status=expired ({before})",
                        entry.envelope.recipients[i].to
                    ));
                }
            }
            return;
        }
        let wait = shared.settings.schedule.after_attempt(state.attempts);
        state.next_attempt = unix_ms(now + wait);
    }

    /// Writes the state to the key-value bucket, expecting the revision it
    /// was read at; when another node wrote meanwhile, the two are merged
    /// (a recipient settled in either stays settled).
    async fn record(
        shared: &Shared,
        entry: &mut QueueEntry,
        revision: &mut Option<u64>,
    ) -> Result<(), String> {
        let kv = &shared.res.state;
        let key = entry.id.to_string();
        for _ in 0..3 {
            let value = bytes::Bytes::from(
                serde_json::to_vec(&entry.state).expect("a queue state serializes"),
            );
            let written = match *revision {
                Some(r) => kv
                    .update(key.as_str(), value, r)
                    .await
                    .map_err(|e| e.to_string()),
                None => kv
                    .create(key.as_str(), value)
                    .await
                    .map_err(|e| e.to_string()),
            };
            match written {
                Ok(r) => {
                    *revision = Some(r);
                    return Ok(());
                }
                Err(e) => {
                    let Ok(Some((value, at))) = read_state(shared, &key).await else {
                        return Err(e);
                    };
                    *revision = Some(at);
                    if let Some(theirs) =
                        value.and_then(|v| serde_json::from_slice::<QueueState>(&v).ok())
                    {
                        merge(&mut entry.state, &theirs);
                    }
                }
            }
        }
        Err("the state kept changing under this node".into())
    }

    /// Queues the DSN for failures not yet reported and marks them
    /// reported.
    async fn report(shared: &Shared, entry: &mut QueueEntry, message: &[u8]) -> Result<(), String> {
        let id = entry.id.clone();
        let open: Vec<usize> = (0..entry.state.recipients.len())
            .filter(|&i| {
                let r = &entry.state.recipients[i];
                r.status == RecipientStatus::Failed && !r.reported
            })
            .collect();
        let wanted: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| {
                !entry.envelope.is_null_sender()
                    && entry.envelope.recipients[i].wants_failure_report()
            })
            .collect();
        if wanted.is_empty() {
            shared.log(&format!(
                "{id}: no notification for {} failed recipients ({})",
                open.len(),
                if entry.envelope.is_null_sender() {
                    "the sender is <>"
                } else {
                    "NOTIFY says not to"
                }
            ));
        } else {
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
                &shared.settings.hostname,
                &entry.envelope,
                &failed,
                message,
                id.as_str(),
            );
            let dsn = shared
                .publish(envelope, octets)
                .await
                .map_err(|e| e.to_string())?;
            shared.log(&format!("{id}: sender non-delivery notification: {dsn}"));
        }
        for i in open {
            entry.state.recipients[i].reported = true;
        }
        Ok(())
    }
}

/// The entry's state as last written (through the bucket's leader): the
/// value (`None` when deleted) and its revision; `None` when never
/// written.
async fn read_state(shared: &Shared, key: &str) -> Result<Option<(Option<Vec<u8>>, u64)>, String> {
    use async_nats::jetstream::stream::LastRawMessageErrorKind;
    let subject = format!("{}{key}", shared.res.state.prefix);
    match shared
        .res
        .state_stream
        .get_last_raw_message_by_subject(&subject)
        .await
    {
        Ok(m) => {
            let removed = m.headers.get("KV-Operation").is_some()
                || m.headers.get("Nats-Marker-Reason").is_some();
            Ok(Some(((!removed).then(|| m.payload.to_vec()), m.sequence)))
        }
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether a failure is not reported yet.
fn unreported(entry: &QueueEntry) -> bool {
    entry
        .state
        .recipients
        .iter()
        .any(|r| r.status == RecipientStatus::Failed && !r.reported)
}

/// Another node's state folded into ours: a recipient open here but
/// settled there takes the settled state.
fn merge(ours: &mut QueueState, theirs: &QueueState) {
    ours.attempts = ours.attempts.max(theirs.attempts);
    ours.possible_duplicates = ours.possible_duplicates.max(theirs.possible_duplicates);
    for (mine, other) in ours.recipients.iter_mut().zip(&theirs.recipients) {
        if mine.status.is_open() && !other.status.is_open() {
            *mine = other.clone();
        } else if other.reported {
            mine.reported = true;
        }
    }
}

async fn nak(message: &Message, wait: Duration) {
    let _ = message.ack_with(AckKind::Nak(Some(wait))).await;
}
