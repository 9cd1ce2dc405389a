//! One delivery attempt: an entry's open recipients at the next hop, with
//! a result for each.

use mailwire_core::client::{BodyType, Outcome};
use mailwire_core::wire::reply::Reply;
use mailwire_driver::Runtime;
use mailwire_driver::client::{Client, ClientError, ClientSettings, ServerAddress, connect_first};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::entry::{QueueEntry, RecipientStatus, unix_ms};

/// What one attempt did to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The recipient's index in the envelope.
    pub index: usize,
    /// Its new status: delivered, deferred or failed.
    pub status: RecipientStatus,
    /// The reply, as one line (`550 5.1.1 No such user`), the next hop's
    /// or ours when it could not be reached.
    pub reply: String,
    /// The enhanced status for a DSN (`5.1.1`).
    pub enhanced: String,
    /// The connection broke after the final dot: the next hop may have the
    /// message (the recipient is deferred; a retry may duplicate it).
    pub unknown: bool,
    /// The next hop that answered, `host:port`, when one did.
    pub remote: Option<String>,
}

/// Writes the results of one attempt made at `now` into the entry's state
/// and logs a line per recipient; a connection broken after the final dot
/// counts one possible duplicate, in the entry and in `duplicates` (the
/// process's total). The spool's workers and JetStream's share it.
pub(crate) fn record_attempt(
    entry: &mut QueueEntry,
    results: &[Attempt],
    now: SystemTime,
    duplicates: &AtomicU64,
    log: &dyn Fn(&str),
) {
    let id = &entry.id;
    let state = &mut entry.state;
    state.attempts += 1;
    state.last_attempt = Some(unix_ms(now));
    let mut unknown = false;
    for a in results {
        let r = &mut state.recipients[a.index];
        r.status = a.status;
        r.reply = Some(a.reply.clone());
        r.unknown = a.unknown;
        r.reported = false;
        r.remote.clone_from(&a.remote);
        unknown |= a.unknown;
        let to = &entry.envelope.recipients[a.index].to;
        let word = match a.status {
            RecipientStatus::Delivered => "sent",
            RecipientStatus::Failed => "bounced",
            _ => "deferred",
        };
        log(&format!(
            "{id}: to={to}, attempt={}, status={word} ({})",
            state.attempts, a.reply
        ));
    }
    if unknown {
        state.possible_duplicates += 1;
        let total = duplicates.fetch_add(1, Ordering::Relaxed) + 1;
        log(&format!(
            "{id}: the connection broke after the end of data: the next attempt may duplicate the message (possible duplicates since start: {total})"
        ));
    }
}

/// Delivers queue entries to the first next hop that answers, keeping the
/// connection for the next entry while it stays open.
pub struct Delivery<R: Runtime> {
    runtime: R,
    smarthosts: Vec<ServerAddress>,
    settings: ClientSettings,
    client: Option<(Client<R::Stream, R>, String)>,
}

impl<R: Runtime> Delivery<R> {
    /// A delivery agent for these next hops (tried in order).
    #[must_use]
    pub fn new(runtime: R, smarthosts: Vec<ServerAddress>, settings: ClientSettings) -> Self {
        Delivery {
            runtime,
            smarthosts,
            settings,
            client: None,
        }
    }

    /// Ends the kept connection, if any (QUIT).
    pub async fn close(&mut self) {
        if let Some((client, _)) = self.client.take()
            && client.is_open()
        {
            let _ = client.quit().await;
        }
    }

    /// Tries `entry`'s open recipients with `message`; one [`Attempt`]
    /// per open recipient (the others are left alone: a delivered one is
    /// never sent again).
    pub async fn attempt(&mut self, entry: &QueueEntry, message: &[u8]) -> Vec<Attempt> {
        let open: Vec<usize> = (0..entry.state.recipients.len())
            .filter(|&i| entry.state.recipients[i].status.is_open())
            .collect();
        if open.is_empty() {
            return Vec::new();
        }
        let mut reused = self.client.as_ref().is_some_and(|(c, _)| c.is_open());
        loop {
            if !reused {
                self.client = None;
                match connect_first(self.runtime.clone(), &self.smarthosts, &self.settings).await {
                    Ok((client, server)) => {
                        let name = format!("{}:{}", server.host, server.port);
                        self.client = Some((client, name));
                    }
                    Err(failures) => {
                        let why: Vec<String> = failures
                            .iter()
                            .map(|f| format!("{}:{}: {}", f.host, f.port, f.error))
                            .collect();
                        let text =
                            format!("451 4.4.1 No next hop is reachable ({})", why.join("; "));
                        return all(&open, RecipientStatus::Deferred, &text, "4.4.1", None);
                    }
                }
            }
            match self.transaction(entry, message, &open).await {
                Some(results) => return results,
                // The kept connection had been closed by the other side
                // before MAIL: once more on a new one.
                None if reused => reused = false,
                None => {
                    return all(
                        &open,
                        RecipientStatus::Deferred,
                        "451 4.4.2 The connection to the next hop was lost before MAIL",
                        "4.4.2",
                        None,
                    );
                }
            }
        }
    }

    /// One transaction on the current connection; `None` when it broke
    /// before MAIL was answered (nothing was sent).
    async fn transaction(
        &mut self,
        entry: &QueueEntry,
        message: &[u8],
        open: &[usize],
    ) -> Option<Vec<Attempt>> {
        let (client, remote) = self.client.as_mut()?;
        let remote = Some(remote.clone());
        let caps = client.capabilities().clone();
        let envelope = &entry.envelope;

        // What the next hop cannot take now is a permanent failure (a DSN),
        // never a silently altered message.
        let size = message.len() as u64;
        let mut options = envelope.mail_options(size, caps.dsn);
        let has_8bit = message.iter().any(|&b| b >= 0x80);
        if options.body == BodyType::SevenBit && has_8bit {
            options.body = BodyType::EightBitMime;
        }
        let refusal = if let Some(limit) = caps.size.filter(|&l| l > 0 && size > l) {
            Some((
                format!("552 5.3.4 Message size exceeds the next hop's limit of {limit} octets"),
                "5.3.4",
            ))
        } else if options.body == BodyType::EightBitMime && !caps.eight_bit_mime {
            Some((
                "554 5.6.3 The message has 8-bit content and the next hop does not take 8BITMIME"
                    .to_owned(),
                "5.6.3",
            ))
        } else if options.body == BodyType::BinaryMime && !(caps.binary_mime && caps.chunking) {
            Some((
                "554 5.6.3 The message is BINARYMIME and the next hop does not take it".to_owned(),
                "5.6.3",
            ))
        } else if envelope.smtputf8 && !caps.smtputf8 {
            Some((
                "553 5.6.7 The message needs SMTPUTF8 and the next hop does not take it".to_owned(),
                "5.6.7",
            ))
        } else {
            None
        };
        if let Some((text, enhanced)) = refusal {
            return Some(all(open, RecipientStatus::Failed, &text, enhanced, remote));
        }

        let from = match envelope.reverse_path() {
            Ok(from) => from,
            Err(e) => {
                let text = format!("554 5.6.0 {e}");
                return Some(all(open, RecipientStatus::Failed, &text, "5.6.0", None));
            }
        };
        let reply = match client.open_mail(from, options).await {
            Ok(reply) => reply,
            Err(_) => return None,
        };
        if !reply.code().is_positive() {
            let (status, enhanced) = verdict(&reply);
            return Some(all(open, status, &line(&reply), &enhanced, remote));
        }
        let mut results = Vec::with_capacity(open.len());
        let mut accepted = Vec::new();
        for &index in open {
            let rcpt = match envelope.recipients[index].for_rcpt(caps.dsn) {
                Ok(rcpt) => rcpt,
                Err(e) => {
                    results.push(attempt(
                        index,
                        RecipientStatus::Failed,
                        &format!("553 5.1.3 {e}"),
                        "5.1.3",
                        None,
                    ));
                    continue;
                }
            };
            match client.add_recipient(rcpt).await {
                Ok(reply) if reply.code().is_positive() => accepted.push(index),
                Ok(reply) => {
                    let (status, enhanced) = verdict(&reply);
                    results.push(attempt(
                        index,
                        status,
                        &line(&reply),
                        &enhanced,
                        remote.clone(),
                    ));
                }
                Err(e) => {
                    self.client = None;
                    let text = format!("451 4.4.2 The connection to the next hop was lost: {e}");
                    let done: Vec<usize> = results.iter().map(|r: &Attempt| r.index).collect();
                    for &i in open.iter().filter(|i| !done.contains(i)) {
                        results.push(attempt(
                            i,
                            RecipientStatus::Deferred,
                            &text,
                            "4.4.2",
                            remote.clone(),
                        ));
                    }
                    return Some(results);
                }
            }
        }
        if accepted.is_empty() {
            let _ = client.cancel_mail().await;
            return Some(results);
        }
        let outcome = client.finish_mail(message).await;
        let push = |results: &mut Vec<Attempt>, status, text: &str, enhanced: &str, unknown| {
            for &i in &accepted {
                let mut a = attempt(i, status, text, enhanced, remote.clone());
                a.unknown = unknown;
                results.push(a);
            }
        };
        match outcome {
            Ok(outcome) => match outcome.outcome {
                Outcome::Sent { reply } => {
                    let enhanced = enhanced_of(&reply);
                    push(
                        &mut results,
                        RecipientStatus::Delivered,
                        &line(&reply),
                        &enhanced,
                        false,
                    );
                }
                Outcome::NotSent {
                    reply: Some(reply), ..
                } => {
                    let (status, enhanced) = verdict(&reply);
                    push(&mut results, status, &line(&reply), &enhanced, false);
                }
                Outcome::Unknown => push(
                    &mut results,
                    RecipientStatus::Deferred,
                    "451 4.4.2 The connection broke after the end of data, before the reply: the next hop may have the message",
                    "4.4.2",
                    true,
                ),
                _ => push(
                    &mut results,
                    RecipientStatus::Deferred,
                    "451 4.4.2 The next hop did not take the message",
                    "4.4.2",
                    false,
                ),
            },
            Err(ClientError::Usage(e)) => {
                let text = format!("554 5.6.0 The message cannot be sent as it is: {e}");
                push(&mut results, RecipientStatus::Failed, &text, "5.6.0", false);
            }
            Err(e) => {
                let text = format!("451 4.4.2 The connection to the next hop was lost: {e}");
                push(
                    &mut results,
                    RecipientStatus::Deferred,
                    &text,
                    "4.4.2",
                    false,
                );
            }
        }
        if !self.client.as_ref().is_some_and(|(c, _)| c.is_open()) {
            self.client = None;
        }
        results.sort_by_key(|a| a.index);
        Some(results)
    }
}

fn attempt(
    index: usize,
    status: RecipientStatus,
    text: &str,
    enhanced: &str,
    remote: Option<String>,
) -> Attempt {
    Attempt {
        index,
        status,
        reply: text.to_owned(),
        enhanced: enhanced.to_owned(),
        unknown: false,
        remote,
    }
}

fn all(
    open: &[usize],
    status: RecipientStatus,
    text: &str,
    enhanced: &str,
    remote: Option<String>,
) -> Vec<Attempt> {
    open.iter()
        .map(|&i| attempt(i, status, text, enhanced, remote.clone()))
        .collect()
}

/// A refusal's effect: 5xx fails, anything else defers.
fn verdict(reply: &Reply) -> (RecipientStatus, String) {
    let status = if reply.code().is_permanent() {
        RecipientStatus::Failed
    } else {
        RecipientStatus::Deferred
    };
    (status, enhanced_of(reply))
}

/// The reply's enhanced status, or the one its class implies.
fn enhanced_of(reply: &Reply) -> String {
    reply.enhanced().map_or_else(
        || format!("{}.0.0", reply.code().as_u16() / 100),
        |e| e.to_string(),
    )
}

/// A reply as one printable line.
fn line(reply: &Reply) -> String {
    let mut text = reply.code().as_u16().to_string();
    if let Some(e) = reply.enhanced() {
        text.push(' ');
        text.push_str(&e.to_string());
    }
    for l in reply.lines() {
        text.push(' ');
        text.extend(l.chars().filter(|c| !c.is_control()));
    }
    text.chars().take(500).collect()
}
