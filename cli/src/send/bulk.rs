//! Bulk mode (`--repeat N --connections C`): C connection tasks, each one
//! [`Client`](mailwire_driver::client::Client) reused for message after
//! message (pipelined where the server offers PIPELINING), taking work
//! from a shared counter; a progress bar on a terminal; messages/s at the
//! end.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mailwire_core::TlsInfo;
use mailwire_core::client::{MailOptions, SendPolicy};
use mailwire_core::message::{BuiltMessage, HeaderCharset, PreparedMessage};
use mailwire_driver::client::ClientError;
use serde::Serialize;

use super::compose::Draft;
use super::report::{
    JsonReply, JsonTls, classify, final_reply, print_json, reached, reason_text, unknown_text,
};
use super::settings::Plan;
use super::transfer::{TokioClient, connect_any, label, message_id_domain};
use super::{EXIT_FAILURE, EXIT_NOT_SENT, EXIT_PARTIAL, EXIT_UNKNOWN};
use crate::common::text::escape_control as escape;

/// The send policy the options ask for.
#[must_use]
pub fn policy(plan: &Plan) -> SendPolicy {
    if plan.at_least_one {
        SendPolicy::AtLeastOne
    } else {
        SendPolicy::AllOrNothing
    }
}

/// What the connection tasks found, added up.
#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    partial: u64,
    not_sent: u64,
    unknown: u64,
    failed: u64,
    worst: u8,
    server: Option<String>,
    tls: Option<TlsInfo>,
    last_reply: Option<JsonReply>,
    last_error: Option<String>,
}

impl Tally {
    fn add(&mut self, status: u8, count: u64) {
        match status {
            0 => self.sent += count,
            EXIT_PARTIAL => self.partial += count,
            EXIT_NOT_SENT => self.not_sent += count,
            EXIT_UNKNOWN => self.unknown += count,
            _ => self.failed += count,
        }
        self.worst = self.worst.max(status);
    }
}

struct Shared {
    plan: Plan,
    draft: Draft,
    total: u64,
    next: AtomicU64,
    tally: Mutex<Tally>,
    progress: Option<indicatif::ProgressBar>,
}

impl Shared {
    fn tally(&self) -> MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn done(&self, status: u8, count: u64) {
        self.tally().add(status, count);
        if let Some(bar) = &self.progress {
            bar.inc(count);
        }
    }

    fn error(&self, error: String) {
        self.tally().last_error = Some(error);
    }

    /// Claims every message not yet taken; returns how many.
    fn claim_rest(&self) -> u64 {
        let before = self.next.fetch_max(self.total, Ordering::SeqCst);
        self.total.saturating_sub(before)
    }
}

/// The one JSON summary of a bulk run.
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
    unknown_messages: u64,
    failed_messages: u64,
    connections: u32,
    seconds: f64,
    messages_per_second: f64,
    reply: Option<JsonReply>,
    error: Option<String>,
}

async fn worker(shared: Arc<Shared>) {
    let domain = message_id_domain(&shared.plan);
    let mut client: Option<TokioClient> = None;
    let mut template: Option<PreparedMessage> = None;
    let mut built: Option<(HeaderCharset, BuiltMessage)> = None;
    loop {
        let index = shared.next.fetch_add(1, Ordering::SeqCst);
        if index >= shared.total {
            break;
        }
        let mut open = match client.take() {
            Some(c) if c.is_open() => c,
            _ => {
                let mut failures = Vec::new();
                match connect_any(&shared.plan, &mut failures).await {
                    Some((c, server)) => {
                        let mut tally = shared.tally();
                        if tally.server.is_none() {
                            tally.server = Some(label(&server.host, server.port));
                            tally.tls = c.tls_info().cloned();
                        }
                        c
                    }
                    None => {
                        if let Some(last) = failures.last() {
                            shared.error(format!("{}: {}", last.server, last.error));
                        }
                        if let Some(seen) = failures.iter().rev().find(|f| reached(f)) {
                            // A server answered: the JSON summary names it.
                            let mut tally = shared.tally();
                            if tally.server.is_none() {
                                tally.server = Some(seen.server.clone());
                            }
                        }
                        // No server is ready: give up this message and
                        // every one not yet taken.
                        shared.done(EXIT_FAILURE, 1 + shared.claim_rest());
                        break;
                    }
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
                        shared.error(problem);
                        shared.done(EXIT_FAILURE, 1 + shared.claim_rest());
                        break;
                    }
                }
            }
            let Some((_, message)) = built.as_ref() else {
                break;
            };
            let options = MailOptions::default().with_policy(policy(&shared.plan));
            open.send_built(message, options).await
        } else {
            let renewed = match template.as_mut() {
                Some(t) => shared.draft.renew(t, random, &domain),
                None => false,
            };
            if !renewed {
                match shared.draft.prepare(random, &domain) {
                    Ok(prepared) => template = Some(prepared),
                    Err(problem) => {
                        shared.error(problem);
                        shared.done(EXIT_FAILURE, 1 + shared.claim_rest());
                        break;
                    }
                }
            }
            let Some(prepared) = template.as_ref() else {
                break;
            };
            let mut envelope = shared.draft.envelope(prepared);
            envelope.options = envelope.options.with_policy(policy(&shared.plan));
            let body = bytes::Bytes::copy_from_slice(&prepared.bytes);
            shared.draft.transmit(&mut open, envelope, body).await
        };
        match sent {
            Ok(outcome) => {
                let (_, status) = classify(&outcome);
                if status != 0 {
                    let mut tally = shared.tally();
                    tally.last_reply = final_reply(&outcome.outcome).map(JsonReply::from_reply);
                    tally.last_error = Some(match &outcome.outcome {
                        mailwire_core::client::Outcome::NotSent { reason, .. } => {
                            reason_text(*reason).to_owned()
                        }
                        mailwire_core::client::Outcome::Unknown => {
                            unknown_text(open.close_reason().map(|c| &c.kind))
                        }
                        _ => "some recipients were refused".to_owned(),
                    });
                } else if index + 1 == shared.total {
                    shared.tally().last_reply =
                        final_reply(&outcome.outcome).map(JsonReply::from_reply);
                }
                shared.done(status, 1);
            }
            Err(ClientError::Usage(error)) => {
                shared.error(error.to_string());
                shared.done(EXIT_NOT_SENT, 1);
            }
            Err(error) => {
                shared.error(error.to_string());
                shared.done(EXIT_FAILURE, 1);
                continue; // reconnect for the next message
            }
        }
        client = Some(open);
    }
    if let Some(c) = client
        && c.is_open()
    {
        let _ = c.quit().await;
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
        tally: Mutex::new(Tally::default()),
        progress,
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(shared.clone())))
        .collect();
    for task in tasks {
        if let Err(e) = task.await {
            shared.error(format!("a connection task failed: {e}"));
            shared.done(EXIT_FAILURE, 0);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(bar) = &shared.progress {
        bar.finish_and_clear();
    }
    let tally = std::mem::take(&mut *shared.tally());
    // Messages a crashed task had taken but not finished.
    let accounted = tally.sent + tally.partial + tally.not_sent + tally.unknown + tally.failed;
    let mut tally = tally;
    if accounted < count {
        tally.add(EXIT_FAILURE, count - accounted);
    }
    let delivered = tally.sent + tally.partial;
    #[allow(clippy::cast_precision_loss)]
    let rate = if seconds > 0.0 {
        delivered as f64 / seconds
    } else {
        0.0
    };
    let status = tally.worst;
    if let Some(error) = &tally.last_error {
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
                not_sent_messages: tally.not_sent,
                unknown_messages: tally.unknown,
                failed_messages: tally.failed,
                connections,
                seconds,
                messages_per_second: rate,
                reply: tally.last_reply,
                error: tally.last_error,
            });
        }
    } else {
        println!(
            "sent {delivered} of {count} messages over {connections} connection(s) in {seconds:.3} s: \
             {rate:.1} messages/s"
        );
        if delivered < count || tally.partial > 0 {
            println!(
                "  partial {}, not sent {}, unknown {}, failed {}",
                tally.partial, tally.not_sent, tally.unknown, tally.failed
            );
        }
    }
    status
}
