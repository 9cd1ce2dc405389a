//! Bulk mode (`--repeat N --connections C`): C connection tasks, each one
//! [`Client`](mailwire_driver::client::Client) reused for message after
//! message (pipelined where the server offers PIPELINING), taking work
//! from a shared queue; a progress bar on a terminal; messages/s at the
//! end.
//!
//! The run finishes the job: a connection that is refused is tried again
//! with a growing pause (a task that keeps failing leaves the work to the
//! others; the last one gives up only after its tries), and a message the
//! connection lost before its 250 (a 421, a dropped connection, a refusal
//! while idle) goes back to the queue for a new connection — never one the
//! server accepted. Text and JSON print the same [`Tally`].

use std::collections::{BTreeMap, VecDeque};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mailwire_core::TlsInfo;
use mailwire_core::client::{
    CloseReason, MailOptions, NotSentReason, Outcome, TransactionId, TransactionOutcome,
};
use mailwire_core::message::{BuiltMessage, HeaderCharset, PreparedMessage};
use mailwire_driver::client::ClientError;
use serde::Serialize;

use super::compose::Draft;
use super::exit::{self, EXIT_PARTIAL, EXIT_PERMANENT, EXIT_SENT, EXIT_UNKNOWN};
use super::report::{
    JsonReply, JsonTls, classify, failure_text, final_reply, print_json, reached, reason_text,
    unknown_text,
};
use super::settings::{Plan, TokioClient};
use super::transfer::{connect_any, message_id_domain};
use crate::common::text::{escape_control as escape, label};

/// How many times in a row a task tries to connect before it leaves the
/// work to the other tasks (the last task gives up the run after them).
const CONNECT_TRIES: u32 = 5;
/// The first pause after a refused connection; doubled after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// How many times one message goes back to the queue after its
/// connection was lost before the server accepted it.
const MAX_RETRIES: u32 = 3;

/// What the connection tasks found, added up: the one source of both the
/// text and the JSON summary.
#[derive(Debug, Default)]
struct Tally {
    /// Accepted for every recipient.
    sent: u64,
    /// Accepted for some recipients.
    partial: u64,
    /// Refused (a reply said no), by the refusing reply's code (0: no reply,
    /// e.g. the send policy withheld it).
    refused: BTreeMap<u16, u64>,
    /// The outcome is unknown (the connection broke after the final dot).
    unknown: u64,
    /// Given up without a server ready for them (or lost again and again).
    failed: u64,
    /// Times a message went back to the queue for a new connection.
    retried: u64,
    /// Connections opened.
    connections_opened: u64,
    /// Connection attempts that failed.
    connect_failures: u64,
    worst: u8,
    server: Option<String>,
    tls: Option<TlsInfo>,
    last_reply: Option<JsonReply>,
    last_error: Option<String>,
}

impl Tally {
    fn not_sent(&self) -> u64 {
        self.refused.values().sum()
    }

    fn finished(&self) -> u64 {
        self.sent + self.partial + self.not_sent() + self.unknown + self.failed
    }

    fn worsen(&mut self, status: u8) {
        self.worst = self.worst.max(status);
    }
}

/// One message to send, and how often it went back to the queue.
#[derive(Debug, Clone, Copy)]
struct Job {
    index: u64,
    retries: u32,
}

struct Shared {
    plan: Plan,
    draft: Draft,
    total: u64,
    next: AtomicU64,
    /// Messages to send again (lost before their 250).
    again: Mutex<VecDeque<Job>>,
    /// Tasks still taking work.
    alive: AtomicU32,
    tally: Mutex<Tally>,
    progress: Option<indicatif::ProgressBar>,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn again(&self) -> MutexGuard<'_, VecDeque<Job>> {
        self.again.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next message: one to send again first, else a new one.
    fn take(&self) -> Option<Job> {
        if let Some(job) = self.again().pop_front() {
            return Some(job);
        }
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        (index < self.total).then_some(Job { index, retries: 0 })
    }

    /// Whether some message is not finished yet (taken by a task, or
    /// waiting to be sent again).
    fn unfinished(&self) -> bool {
        self.tally().finished() < self.total
    }

    fn progress(&self, count: u64) {
        if let Some(bar) = &self.progress {
            bar.inc(count);
        }
    }

    /// A message lost before its 250 goes back to the queue (or, after
    /// [`MAX_RETRIES`], is given up as failed).
    fn retry(&self, job: Job, error: String) {
        let mut tally = self.tally();
        tally.last_error = Some(error);
        if job.retries >= MAX_RETRIES {
            tally.failed += 1;
            tally.worsen(exit::EXIT_TEMPORARY);
            drop(tally);
            self.progress(1);
            return;
        }
        tally.retried += 1;
        drop(tally);
        self.again().push_back(Job {
            index: job.index,
            retries: job.retries + 1,
        });
    }

    /// Gives up `job` and every message not yet sent: no server is ready.
    fn give_up(&self, held: Job, status: u8) {
        debug_assert!(held.index < self.total);
        let before = self.next.fetch_max(self.total, Ordering::SeqCst);
        let waiting = {
            let mut again = self.again();
            let n = again.len() as u64;
            again.clear();
            n
        };
        let count = 1 + waiting + self.total.saturating_sub(before);
        let mut tally = self.tally();
        tally.failed += count;
        tally.worsen(status);
        drop(tally);
        self.progress(count);
    }

    /// Records the outcome of one transaction.
    fn record(&self, outcome: &TransactionOutcome, close_text: impl FnOnce() -> String) {
        let (_, status) = classify(outcome);
        let mut tally = self.tally();
        tally.worsen(status);
        match status {
            EXIT_SENT => tally.sent += 1,
            EXIT_PARTIAL => tally.partial += 1,
            EXIT_UNKNOWN => tally.unknown += 1,
            _ => {
                let code = refusing_code(outcome);
                *tally.refused.entry(code).or_default() += 1;
            }
        }
        if status != EXIT_SENT {
            tally.last_reply = final_reply(&outcome.outcome).map(JsonReply::from_reply);
            tally.last_error = Some(match &outcome.outcome {
                Outcome::NotSent { reason, .. } => reason_text(*reason).to_owned(),
                Outcome::Unknown => close_text(),
                _ => "some recipients were refused".to_owned(),
            });
        } else if tally.last_reply.is_none() || tally.worst == EXIT_SENT {
            tally.last_reply = final_reply(&outcome.outcome).map(JsonReply::from_reply);
        }
        drop(tally);
        self.progress(1);
    }
}

/// The code of the reply that refused a message: the final one, else the
/// first refused recipient's (0 when no reply refused it).
fn refusing_code(outcome: &TransactionOutcome) -> u16 {
    final_reply(&outcome.outcome)
        .or_else(|| {
            outcome
                .recipients
                .iter()
                .filter_map(|r| r.reply.as_ref())
                .find(|r| !r.code().is_positive())
        })
        .map_or(0, |r| r.code().as_u16())
}

/// Whether a message that was not sent should go to a new connection: the
/// connection was lost (or closing, 421) before the server accepted it.
fn lost_before_acceptance(outcome: &TransactionOutcome) -> bool {
    match &outcome.outcome {
        Outcome::NotSent {
            reason: NotSentReason::ConnectionClosed,
            ..
        } => true,
        Outcome::NotSent {
            reply: Some(reply), ..
        } => reply.code().as_u16() == 421,
        _ => false,
    }
}

/// The one JSON summary of a bulk run; the same counts as the text.
#[derive(Debug, Serialize)]
struct JsonSummary {
    outcome: &'static str,
    sent: bool,
    server: Option<String>,
    tls: Option<JsonTls>,
    messages: u64,
    sent_messages: u64,
    partial_messages: u64,
    not_sent_messages: u64,
    refused_by_code: BTreeMap<String, u64>,
    unknown_messages: u64,
    failed_messages: u64,
    retried_messages: u64,
    connections: u32,
    connections_opened: u64,
    connect_failures: u64,
    seconds: f64,
    messages_per_second: f64,
    reply: Option<JsonReply>,
    error: Option<String>,
    exit_code: u8,
    exit_meaning: &'static str,
}

/// Connects, trying again with a growing pause; `None` when this task
/// should stop (it left its message to the others, or gave up the run).
async fn reconnect(shared: &Shared, job: Job) -> Option<TokioClient> {
    let mut pause = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        let mut failures = Vec::new();
        if let Some((client, server)) = connect_any(&shared.plan, &mut failures).await {
            let mut tally = shared.tally();
            tally.connections_opened += 1;
            if tally.server.is_none() {
                tally.server = Some(label(&server.host, server.port));
                tally.tls = client.tls_info().cloned();
            }
            return Some(client);
        }
        tries += 1;
        let status = exit::for_failures(failures.iter().map(|f| &f.error));
        {
            let mut tally = shared.tally();
            tally.connect_failures += 1;
            if let Some(last) = failures.last() {
                tally.last_error = Some(format!("{}: {}", last.server, failure_text(&last.error)));
            }
            if let Some(seen) = failures.iter().rev().find(|f| reached(f))
                && tally.server.is_none()
            {
                // A server answered: the JSON summary names it.
                tally.server = Some(seen.server.clone());
            }
        }
        if tries >= CONNECT_TRIES || status == EXIT_PERMANENT || status == exit::EXIT_USAGE {
            // Leave the work to a task whose connection works; the last
            // task gives the run up.
            let left = shared
                .alive
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n > 1).then(|| n - 1)
                })
                .is_ok();
            let temporary = status == exit::EXIT_TEMPORARY;
            if left && temporary {
                shared.again().push_front(job);
            } else {
                shared.give_up(job, status);
                if !left {
                    shared.alive.fetch_sub(1, Ordering::SeqCst);
                }
            }
            return None;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// How a message left: written with its outcome to come (PIPELINING),
/// or with its outcome in (a streamed file, which waits for it).
enum Submitted {
    InFlight(TransactionId),
    Done(TransactionOutcome),
}

/// What a message's outcome means for the run: recorded, or the message
/// goes back to the queue (lost before its 250).
fn settle(shared: &Shared, job: Job, outcome: &TransactionOutcome, closed: Option<&CloseReason>) {
    if lost_before_acceptance(outcome) {
        let text = closed.map_or_else(
            || "the connection was lost before the end of the data".to_owned(),
            ToString::to_string,
        );
        shared.retry(job, text);
    } else {
        shared.record(outcome, || unknown_text(closed.map(|c| &c.kind)));
    }
}

/// Settles the outcomes that are in (`wait`: every message in flight on
/// this connection, waiting for their replies).
async fn settle_in_flight(
    shared: &Shared,
    client: &mut TokioClient,
    in_flight: &mut VecDeque<(TransactionId, Job)>,
    wait: bool,
) {
    loop {
        let outcome = match client.take_outcome() {
            Some(outcome) => outcome,
            None if wait && !in_flight.is_empty() => match client.next_outcome().await {
                Some(outcome) => outcome,
                None => break,
            },
            None => break,
        };
        if let Some(pos) = in_flight.iter().position(|(id, _)| *id == outcome.id)
            && let Some((_, job)) = in_flight.remove(pos)
        {
            settle(shared, job, &outcome, client.close_reason());
        }
    }
    if wait {
        // Every written message gets its outcome; should one not, it is
        // counted as unknown, never as sent nor sent again.
        for _ in in_flight.drain(..) {
            let mut tally = shared.tally();
            tally.unknown += 1;
            tally.worsen(EXIT_UNKNOWN);
            tally.last_error = Some("the message's outcome never came".to_owned());
            drop(tally);
            shared.progress(1);
        }
    }
}

async fn worker(shared: Arc<Shared>) {
    let domain = message_id_domain(&shared.plan);
    let mut client: Option<TokioClient> = None;
    // Messages written on this connection whose outcome is still to come
    // (their final dot shares a write with the next message's envelope).
    let mut in_flight: VecDeque<(TransactionId, Job)> = VecDeque::new();
    let mut template: Option<PreparedMessage> = None;
    let mut built: Option<(HeaderCharset, BuiltMessage)> = None;
    loop {
        if let Some(open) = client.as_mut() {
            settle_in_flight(&shared, open, &mut in_flight, false).await;
        }
        let Some(job) = shared.take() else {
            // Nothing to take now; what this connection has in flight may
            // still come back, and so may a message from another one.
            if let Some(open) = client.as_mut() {
                settle_in_flight(&shared, open, &mut in_flight, true).await;
            }
            if shared.unfinished() && shared.alive.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            break;
        };
        let mut open = match client.take() {
            Some(c) if c.is_open() => c,
            lost => {
                if let Some(mut old) = lost {
                    settle_in_flight(&shared, &mut old, &mut in_flight, true).await;
                }
                match reconnect(&shared, job).await {
                    Some(c) => c,
                    None => return,
                }
            }
        };
        // Each message is a new one (its own Date and Message-ID): the
        // first is prepared (a composed one built for the connection's
        // server), the next ones renew its generated fields.
        let random = shared.plan.settings.random.as_ref();
        let sent = if shared.draft.compose.is_some() {
            let charset = open.header_charset();
            let renewed = match built.as_mut() {
                Some((made_for, message)) if *made_for == charset => {
                    shared.draft.renew(&mut message.prepared, random, &domain)
                }
                _ => false,
            };
            if !renewed {
                match shared.draft.build(charset, random, &domain) {
                    Ok(message) => built = Some((charset, message)),
                    Err(problem) => {
                        shared.tally().last_error = Some(problem);
                        shared.give_up(job, exit::EXIT_USAGE);
                        client = Some(open);
                        break;
                    }
                }
            }
            let Some((_, message)) = built.as_ref() else {
                break;
            };
            let options = MailOptions::default().with_policy(shared.plan.policy());
            open.submit_built(message, options)
                .await
                .map(Submitted::InFlight)
        } else {
            let renewed = match template.as_mut() {
                Some(t) => shared.draft.renew(t, random, &domain),
                None => false,
            };
            if !renewed {
                match shared.draft.prepare(random, &domain) {
                    Ok(prepared) => template = Some(prepared),
                    Err(problem) => {
                        shared.tally().last_error = Some(problem);
                        shared.give_up(job, exit::EXIT_USAGE);
                        client = Some(open);
                        break;
                    }
                }
            }
            let Some(prepared) = template.as_ref() else {
                break;
            };
            let mut envelope = shared.draft.envelope(prepared);
            envelope.options = envelope.options.with_policy(shared.plan.policy());
            let body = bytes::Bytes::copy_from_slice(&prepared.bytes);
            if shared.draft.stream.is_some() {
                // A streamed file is read as it goes: one at a time.
                shared
                    .draft
                    .transmit(&mut open, envelope, body)
                    .await
                    .map(Submitted::Done)
            } else {
                open.submit(envelope, body).await.map(Submitted::InFlight)
            }
        };
        match sent {
            Ok(Submitted::InFlight(id)) => in_flight.push_back((id, job)),
            Ok(Submitted::Done(outcome)) => {
                settle(&shared, job, &outcome, open.close_reason());
            }
            Err(ClientError::Usage(error)) => {
                let mut tally = shared.tally();
                tally.last_error = Some(error.to_string());
                *tally.refused.entry(0).or_default() += 1;
                tally.worsen(EXIT_PERMANENT);
                drop(tally);
                shared.progress(1);
            }
            Err(error) => {
                // Closed while idle (a 421, a dropped connection): a new
                // connection takes the message, once what this one had in
                // flight is settled.
                settle_in_flight(&shared, &mut open, &mut in_flight, true).await;
                shared.retry(job, failure_text(&error));
                continue;
            }
        }
        client = Some(open);
    }
    shared.alive.fetch_sub(1, Ordering::SeqCst);
    if let Some(mut c) = client {
        settle_in_flight(&shared, &mut c, &mut in_flight, true).await;
        if c.is_open() {
            let _ = c.quit().await;
        }
    }
}

/// Sends the message `count` times over `connections` connections and
/// reports; returns the exit status (0 only if every message was sent,
/// else the highest status seen).
pub async fn run(plan: &Plan, draft: &Draft, count: u64, connections: u32, json: bool) -> u8 {
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(count);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} messages, {per_sec}, eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        draft: draft.clone(),
        total: count,
        next: AtomicU64::new(0),
        again: Mutex::new(VecDeque::new()),
        alive: AtomicU32::new(connections),
        tally: Mutex::new(Tally::default()),
        progress,
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(shared.clone())))
        .collect();
    for task in tasks {
        if let Err(e) = task.await {
            shared.tally().last_error = Some(format!("a connection task failed: {e}"));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = &shared.progress {
        bar.finish_and_clear();
    }
    let mut tally = std::mem::take(&mut *shared.tally());
    // Messages a crashed task had taken but not finished.
    let finished = tally.finished();
    if finished < count {
        tally.failed += count - finished;
        tally.worsen(exit::EXIT_TEMPORARY);
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = if seconds > 0.0 {
        (tally.sent + tally.partial) as f64 / seconds
    } else {
        0.0
    };
    let status = tally.worst;
    if let Some(error) = &tally.last_error
        && status != EXIT_SENT
    {
        eprintln!("mailwire send: {}", escape(error));
    }
    if json {
        if tally.server.is_some() {
            let outcome = match status {
                0 => "sent",
                EXIT_PARTIAL => "partial",
                EXIT_UNKNOWN => "unknown",
                _ => "not_sent",
            };
            print_json(&JsonSummary {
                outcome,
                sent: status == 0,
                server: tally.server.clone(),
                tls: tally.tls.as_ref().map(JsonTls::from_info),
                messages: count,
                sent_messages: tally.sent,
                partial_messages: tally.partial,
                not_sent_messages: tally.not_sent(),
                refused_by_code: tally
                    .refused
                    .iter()
                    .map(|(code, n)| (code.to_string(), *n))
                    .collect(),
                unknown_messages: tally.unknown,
                failed_messages: tally.failed,
                retried_messages: tally.retried,
                connections,
                connections_opened: tally.connections_opened,
                connect_failures: tally.connect_failures,
                seconds,
                messages_per_second: rate,
                reply: tally.last_reply,
                error: tally.last_error,
                exit_code: status,
                exit_meaning: exit::meaning(status),
            });
        }
    } else {
        print!(
            "{}",
            summary_text(&tally, count, connections, seconds, rate)
        );
    }
    status
}

/// The text summary: the same counts as the JSON one.
fn summary_text(tally: &Tally, count: u64, connections: u32, seconds: f64, rate: f64) -> String {
    let mut text = format!(
        "sent {} of {count} messages over {connections} connection(s) in {seconds:.3} s: \
         {rate:.1} messages/s\n",
        tally.sent
    );
    if tally.sent < count || tally.retried > 0 {
        let refused = if tally.refused.is_empty() {
            String::new()
        } else {
            let codes: Vec<String> = tally
                .refused
                .iter()
                .map(|(code, n)| {
                    if *code == 0 {
                        format!("no reply {n}")
                    } else {
                        format!("{code} {n}")
                    }
                })
                .collect();
            format!(" ({})", codes.join(", "))
        };
        text.push_str(&format!(
            "  partial {}, not sent {}{refused}, unknown {}, failed {}, retried {}\n",
            tally.partial,
            tally.not_sent(),
            tally.unknown,
            tally.failed,
            tally.retried
        ));
    }
    text
}
