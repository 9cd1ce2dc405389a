//! Invariants that hold for any pair of correct connections, whatever the
//! applications decide and whatever the network does: run them on any
//! [`Transcript`].

use std::collections::{HashMap, VecDeque};
use std::fmt;

use mailwire_core::client::{
    self, ClientEvent, CloseKind, Outcome, RcptStatus, RecipientStatus, SendPolicy, TransactionId,
};
use mailwire_core::server::{ServerEvent, Token, Verdict};
use mailwire_core::wire::dot::normalize;
use mailwire_core::wire::params::BodyType;
use mailwire_core::wire::reply::{EnhancedCode, Reply};

use super::dialogue::Sent;
use super::transcript::{MessageEnd, Transcript, What};

/// A broken invariant, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(Violation(format!($($fmt)+)));
        }
    };
}

/// Every check of this module.
///
/// # Errors
///
/// The first [`Violation`] found.
pub fn all(t: &Transcript) -> Result<(), Violation> {
    round_trip(t)?;
    honest_outcomes(t)?;
    verdicts_line_up(t)?;
    send_policy_respected(t)?;
    Ok(())
}

/// The client's attempt body in progress at each entry: (message id,
/// octets, ended).
fn body_at(t: &Transcript, upto: usize) -> Option<(TransactionId, Vec<u8>, bool)> {
    let mut current: Option<(TransactionId, Vec<u8>, bool)> = None;
    for entry in t.entries.iter().take(upto) {
        match &entry.what {
            What::Client(ClientEvent::BodyRequested { transaction, .. }) => {
                current = Some((*transaction, Vec::new(), false));
            }
            What::BodySent {
                bytes,
                result: Ok(()),
            } => {
                if let Some((_, body, _)) = current.as_mut() {
                    body.extend_from_slice(bytes);
                }
            }
            What::BodyEnded { result: Ok(()) } => {
                if let Some((_, _, ended)) = current.as_mut() {
                    *ended = true;
                }
            }
            _ => {}
        }
    }
    current
}

/// The envelope of each message the client sent.
fn envelopes(t: &Transcript) -> HashMap<TransactionId, client::Envelope> {
    t.client_messages()
        .into_iter()
        .map(|m| (m.id, m.envelope))
        .collect()
}

/// Round trip: every message whose data reached the server intact (a
/// `MessageRequest`, whatever its verdict) is a body the client ended, with
/// exactly the envelope the client sent and the body's octets after the
/// documented normalisation (bare CR and LF to CRLF, a final CRLF added;
/// none for BINARYMIME) — the same for DATA and BDAT. A cut-off message is
/// never presented as complete.
///
/// # Errors
///
/// A [`Violation`] naming the message.
pub fn round_trip(t: &Transcript) -> Result<(), Violation> {
    let envelopes = envelopes(t);
    for message in t.server_messages() {
        let Some(ended) = message.ended else { continue };
        if matches!(message.end, MessageEnd::Aborted(_)) {
            continue;
        }
        let Some((id, raw, body_ended)) = body_at(t, ended) else {
            return Err(Violation(format!(
                "the server received a complete message (entry {ended}) the client never sent"
            )));
        };
        ensure!(
            body_ended,
            "the server received a complete message (entry {ended}) whose body the client \
             never ended ({} octets given so far)",
            raw.len()
        );
        let env = &message.envelope;
        let expected = if env.body == BodyType::BinaryMime {
            raw.clone()
        } else {
            normalize(&raw)
        };
        ensure!(
            message.body == expected,
            "message at entry {ended}: body differs\n server: {:?}\n client: {:?}\n raw: {:?}",
            String::from_utf8_lossy(&message.body),
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&raw)
        );
        ensure!(
            env.size == message.body.len() as u64,
            "message at entry {ended}: envelope size {} for {} octets",
            env.size,
            message.body.len()
        );
        let Some(sent) = envelopes.get(&id) else {
            return Err(Violation(format!("no envelope for {id}")));
        };
        ensure!(
            env.from == sent.reverse_path,
            "message at entry {ended}: from {} but the client sent {}",
            env.from,
            sent.reverse_path
        );
        for r in &env.recipients {
            ensure!(
                sent.recipients.iter().any(|s| s.path == r.to),
                "message at entry {ended}: recipient {} was not in the client's envelope",
                r.to
            );
        }
        ensure!(
            env.params.smtputf8 == sent.needs_smtputf8(),
            "message at entry {ended}: SMTPUTF8 {} but the envelope needs {}",
            env.params.smtputf8,
            sent.needs_smtputf8()
        );
        ensure!(
            env.body == sent.options.body,
            "message at entry {ended}: body type {:?} for a {:?} body",
            env.body,
            sent.options.body
        );
        ensure!(
            env.params.size.is_none() || env.params.size == sent.options.size,
            "message at entry {ended}: SIZE={:?} but the client declared {:?}",
            env.params.size,
            sent.options.size
        );
    }
    Ok(())
}

fn key(path: &impl fmt::Display) -> String {
    path.to_string()
}

/// `small ⊆ big` as multisets.
fn sub_multiset(small: &[String], big: &[String]) -> bool {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for s in big {
        *counts.entry(s).or_default() += 1;
    }
    small.iter().all(|s| {
        let c = counts.entry(s).or_default();
        *c -= 1;
        *c >= 0
    })
}

/// Honest outcomes: every message the client reports *sent* was accepted by
/// the server application (and each recipient reported sent is in an
/// accepted message), every message reported *not sent* was not accepted,
/// and *unknown* occurs only when the connection ended after the end of the
/// data was sent and before its reply. Every successful `send_mail` gets
/// exactly one outcome once the client has closed.
///
/// # Errors
///
/// A [`Violation`] naming the message.
pub fn honest_outcomes(t: &Transcript) -> Result<(), Violation> {
    let messages = t.client_messages();
    let server = t.server_messages();
    let closed = t.client_closed();
    for (k, m) in messages.iter().enumerate() {
        let completions = t
            .client_events()
            .filter(|(_, e)| matches!(e, ClientEvent::TransactionCompleted(o) if o.id == m.id))
            .count();
        if closed.is_some() {
            ensure!(
                completions == 1,
                "{}: {completions} outcomes after the close",
                m.id
            );
        }
        let Some(outcome) = &m.outcome else { continue };
        // Its server transactions end after its MAIL and before the next
        // message's — which, under PIPELINING, may be sent before this
        // one's outcome is in (the server ends transactions in order, and
        // the next one's data goes only after this one's final reply).
        let completed_at = |id| {
            t.client_events().find_map(|(i, e)| {
                matches!(e, ClientEvent::TransactionCompleted(o) if o.id == id).then_some(i)
            })
        };
        // ... and after every earlier message's outcome (its data goes
        // only after their final replies).
        let window_start = messages
            .iter()
            .take(k)
            .filter_map(|p| completed_at(p.id))
            .fold(m.index, usize::max);
        let window_end = messages
            .get(k + 1)
            .map_or(usize::MAX, |n| n.index.max(completed_at(m.id).unwrap_or(0)));
        let accepted: Vec<_> = server
            .iter()
            .filter(|s| s.is_accepted())
            .filter(|s| s.ended.is_some_and(|e| e > window_start && e < window_end))
            .collect();
        let delivered: Vec<String> = accepted
            .iter()
            .flat_map(|s| s.envelope.recipients.iter().map(|r| key(&r.to)))
            .collect();
        let with_status = |wanted: &[RecipientStatus]| -> Vec<String> {
            outcome
                .recipients
                .iter()
                .zip(&m.envelope.recipients)
                .filter(|(o, _)| wanted.contains(&o.status))
                .map(|(_, r)| key(&r.path))
                .collect()
        };
        let sent = with_status(&[RecipientStatus::Sent]);
        let maybe = with_status(&[RecipientStatus::Sent, RecipientStatus::Unknown]);
        ensure!(
            sub_multiset(&sent, &delivered),
            "{}: recipients {sent:?} reported sent, the server accepted {delivered:?}",
            m.id
        );
        ensure!(
            sub_multiset(&delivered, &maybe),
            "{}: the server accepted {delivered:?}, the client reports only {maybe:?} \
             sent or unknown",
            m.id
        );
        match &outcome.outcome {
            Outcome::Sent { .. } => ensure!(
                !accepted.is_empty(),
                "{}: reported sent but the server accepted nothing",
                m.id
            ),
            Outcome::NotSent { .. } => ensure!(
                accepted.is_empty(),
                "{}: reported not sent but the server accepted it",
                m.id
            ),
            Outcome::Unknown => {
                let kind = closed.map(|c| &c.kind);
                ensure!(
                    matches!(
                        kind,
                        Some(
                            CloseKind::ConnectionLost
                                | CloseKind::Timeout
                                | CloseKind::Aborted
                                | CloseKind::MalformedReply(_)
                                | CloseKind::ProtocolViolation(_)
                        )
                    ),
                    "{}: unknown outcome but the connection ended with {kind:?}",
                    m.id
                );
                ensure!(
                    m.bodies.last().is_some_and(|(_, ended)| *ended),
                    "{}: unknown outcome before the end of the data was sent",
                    m.id
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// The client's rule for "too many recipients" (RFC 5321 §4.5.3.1.10).
fn is_deferral(reply: &Reply) -> bool {
    let code = reply.code().as_u16();
    let enhanced_ok = reply
        .enhanced()
        .is_none_or(|e| e.subject() == 5 && e.detail() == 3);
    (code == 452 && enhanced_ok) || (code == 552 && reply.enhanced() == EnhancedCode::new(5, 5, 3))
}

/// The code the server sends for a decided RCPT request.
fn effective_code(verdict: &Verdict, local_postmaster: bool) -> u16 {
    match verdict {
        Verdict::Reply(r) => {
            let code = r.code().as_u16();
            if !r.code().is_positive() && local_postmaster && code != 421 {
                250
            } else {
                code
            }
        }
        _ => 250,
    }
}

/// Verdicts line up: each recipient result the client reports carries the
/// code the server application decided for that RCPT (451 when the decision
/// expired); a result without a request is a refusal the server core made
/// itself (never an acceptance); statuses agree with codes; the final
/// outcome of each recipient follows its last result; and after a
/// recipient is deferred with `452` in a transaction that was sent, a
/// further transaction is started (unless the policy or the end of the
/// connection stopped the message).
///
/// # Errors
///
/// A [`Violation`] naming the recipient.
#[allow(clippy::too_many_lines)]
pub fn verdicts_line_up(t: &Transcript) -> Result<(), Violation> {
    let envelopes = envelopes(t);
    let server = t.server_messages();
    let mut requests: HashMap<Token, (String, bool)> = HashMap::new();
    let mut answers: VecDeque<(String, u16)> = VecDeque::new();
    // (message, recipient) -> entry index of its last deferral.
    let mut deferred: HashMap<(TransactionId, usize), usize> = HashMap::new();
    let mut refused_in: HashMap<TransactionId, bool> = HashMap::new();
    let mut last: HashMap<(TransactionId, usize), RcptStatus> = HashMap::new();
    for (i, entry) in t.entries.iter().enumerate() {
        match &entry.what {
            What::Server(ServerEvent::RcptRequest {
                token,
                to,
                is_local_postmaster,
                ..
            }) => {
                requests.insert(*token, (key(to), *is_local_postmaster));
            }
            What::Server(ServerEvent::MailRequest { .. }) => {
                ensure!(
                    answers.is_empty(),
                    "entry {i}: RCPT verdicts {answers:?} never reached the client"
                );
                // A further transaction: deferred recipients go first in
                // it (whether or not its MAIL is accepted).
                deferred.clear();
            }
            What::Decided {
                token,
                verdict,
                result: Ok(()),
            } => {
                if let Some((path, postmaster)) = requests.get(token) {
                    answers.push_back((path.clone(), effective_code(verdict, *postmaster)));
                }
            }
            What::Server(ServerEvent::DecisionExpired { token, .. }) => {
                if let Some((path, _)) = requests.get(token) {
                    answers.push_back((path.clone(), 451));
                }
            }
            What::Client(ClientEvent::RecipientResult {
                transaction,
                recipient,
                reply,
                status,
            }) => {
                let Some(path) = envelopes
                    .get(transaction)
                    .and_then(|e| e.recipients.get(*recipient))
                    .map(|r| key(&r.path))
                else {
                    return Err(Violation(format!(
                        "entry {i}: a result for an unknown recipient {transaction} #{recipient}"
                    )));
                };
                let code = reply.code().as_u16();
                if answers.front().is_some_and(|(p, _)| *p == path) {
                    let (_, decided) = answers.pop_front().unwrap_or_default();
                    ensure!(
                        code == decided,
                        "entry {i}: {path} got {code} but the server decided {decided}"
                    );
                } else {
                    ensure!(
                        !reply.code().is_positive(),
                        "entry {i}: {path} accepted ({code}) without the server's verdict"
                    );
                }
                let consistent = match status {
                    RcptStatus::Accepted => reply.code().is_positive(),
                    RcptStatus::Deferred => is_deferral(reply),
                    _ => !reply.code().is_positive() && !is_deferral(reply),
                };
                ensure!(
                    consistent,
                    "entry {i}: {path} reported {status:?} for {reply}"
                );
                last.insert((*transaction, *recipient), *status);
                match status {
                    RcptStatus::Deferred => {
                        deferred.insert((*transaction, *recipient), i);
                    }
                    RcptStatus::Refused => {
                        refused_in.insert(*transaction, true);
                        deferred.remove(&(*transaction, *recipient));
                    }
                    _ => {
                        deferred.remove(&(*transaction, *recipient));
                    }
                }
            }
            What::Client(ClientEvent::TransactionCompleted(outcome)) => {
                let policy = envelopes
                    .get(&outcome.id)
                    .map(|e| e.options.policy)
                    .unwrap_or_default();
                let stopped_by_policy = policy == SendPolicy::AllOrNothing
                    && refused_in.get(&outcome.id).copied().unwrap_or(false);
                // Completed by the end of the connection (not by a reply)?
                let closing = t
                    .client_events()
                    .find(|(j, _)| *j > i)
                    .is_some_and(|(_, e)| matches!(e, ClientEvent::Closed(r) if !r.is_normal()));
                for ((id, index), at) in &deferred {
                    if *id != outcome.id {
                        continue;
                    }
                    // Was the transaction of the deferral sent? Then the
                    // recipient had to be tried again.
                    let sent_after = server
                        .iter()
                        .any(|s| s.is_accepted() && s.ended.is_some_and(|e| e > *at && e < i));
                    ensure!(
                        !sent_after || stopped_by_policy || closing,
                        "{id}: recipient #{index} deferred at entry {at} and never retried"
                    );
                    ensure!(
                        outcome
                            .recipients
                            .get(*index)
                            .is_some_and(|r| r.status != RecipientStatus::Sent),
                        "{id}: recipient #{index} deferred last but reported sent"
                    );
                }
                deferred.retain(|(id, _), _| *id != outcome.id);
                for (index, r) in outcome.recipients.iter().enumerate() {
                    let latest = last.get(&(outcome.id, index));
                    let fits = match r.status {
                        RecipientStatus::Sent | RecipientStatus::Unknown => {
                            latest == Some(&RcptStatus::Accepted)
                        }
                        RecipientStatus::Refused => latest != Some(&RcptStatus::Accepted),
                        _ => true,
                    };
                    ensure!(
                        fits,
                        "{}: recipient #{index} ends {:?} after its last result {latest:?}",
                        outcome.id,
                        r.status
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The send policy is respected, on the wire as the server saw it: in a
/// transaction whose RCPT replies say not to send (any refusal under
/// all-or-nothing, or no acceptance at all), no BDAT chunk and no DATA body
/// reaches the server; a DATA command may only be the one pipelined after
/// the RCPTs (RFC 2920) under at-least-one or for a single recipient (where
/// all-or-nothing means the same), refused by the server.
///
/// # Errors
///
/// A [`Violation`] naming the transaction.
pub fn send_policy_respected(t: &Transcript) -> Result<(), Violation> {
    // The client message of each MAIL command, in order.
    let mut owners: Vec<SendPolicy> = Vec::new();
    for m in t.client_messages() {
        let attempts = m.outcome.as_ref().map_or(1, |o| o.attempts);
        for _ in 0..attempts {
            owners.push(m.envelope.options.policy);
        }
    }
    let mut mails = 0usize;
    // (policy, accepted, refused, RCPTs) of the open transaction.
    let mut txn: Option<(SendPolicy, usize, usize, usize)> = None;
    for (n, exchange) in t.server_dialogue().iter().enumerate() {
        let positive = exchange
            .reply
            .as_ref()
            .is_some_and(|r| r.code().is_positive());
        let verb = exchange.sent.verb();
        match verb.as_str() {
            "MAIL" => {
                let policy = owners.get(mails).copied().unwrap_or_default();
                mails += 1;
                txn = positive.then_some((policy, 0, 0, 0));
            }
            "RCPT" => {
                if let (Some((_, accepted, refused, rcpts)), Some(reply)) =
                    (txn.as_mut(), exchange.reply.as_ref())
                {
                    *rcpts += 1;
                    if reply.code().is_positive() {
                        *accepted += 1;
                    } else if !is_deferral(reply) {
                        *refused += 1;
                    }
                }
            }
            "RSET" | "EHLO" | "HELO" | "QUIT" => txn = None,
            "DATA" | "BDAT" => {
                let Some((policy, accepted, refused, rcpts)) = txn else {
                    continue;
                };
                let sendable = accepted > 0 && (policy == SendPolicy::AtLeastOne || refused == 0);
                let go_ahead = exchange
                    .reply
                    .as_ref()
                    .is_some_and(|r| r.code().as_u16() == 354);
                let pipelined_data_allowed = policy == SendPolicy::AtLeastOne || rcpts == 1;
                let allowed = sendable || (verb == "DATA" && !go_ahead && pipelined_data_allowed);
                ensure!(
                    allowed,
                    "exchange {n}: {verb} under {policy:?} with {accepted} accepted and \
                     {refused} refused recipients ({exchange})"
                );
                if matches!(exchange.sent, Sent::Bdat { .. }) && !sendable {
                    return Err(Violation(format!("exchange {n}: a BDAT chunk not to send")));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
