//! Mail transactions: MAIL, one RCPT per recipient (pipelined or in
//! lock-step), the send policy, DATA, RSET, `452 4.5.3` deferral into
//! further transactions, and the outcome.

use std::collections::VecDeque;
use std::time::Instant;

use super::body::{BodyState, Encoder};
use super::close::Phase;
use super::connection::{ClientConnection, State};
use super::event::{ClientEvent, RcptStatus};
use super::mail_lines::{build_lines, local_reply};
use super::outcome::{
    AttemptResult, NotSentReason, Outcome, RecipientOutcome, RecipientStatus, TransactionId,
    TransactionOutcome, apply_result, finish,
};
use super::pending::PendingKind;
use crate::UsageError;
use crate::envelope::{Envelope, SendPolicy};
use crate::wire::params::BodyType;
use crate::wire::reply::{EnhancedCode, Reply, ReplyCode};

/// How the body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// DATA, dot-stuffed.
    Data,
    /// BDAT, line ends normalised (7bit, 8bit).
    Bdat,
    /// BDAT, raw (BINARYMIME).
    Binary,
}

/// Where one SMTP transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// MAIL and RCPT in flight.
    Envelope,
    /// DATA sent, waiting for 354.
    DataInit,
    /// The application streams the body.
    Body,
    /// The end of the data is sent (or about to be): waiting for replies.
    Final,
    /// RSET sent.
    Reset,
}

/// One message in progress.
pub(crate) struct Transaction {
    pub(crate) id: TransactionId,
    pub(crate) policy: SendPolicy,
    pub(crate) body_kind: BodyType,
    pub(crate) transfer: Transfer,
    pub(crate) pipelined: bool,
    pub(crate) mail_line: Vec<u8>,
    pub(crate) rcpt_lines: Vec<Vec<u8>>,
    pub(crate) recipients: Vec<RecipientOutcome>,
    /// Recipients not yet in a transaction, in envelope order.
    pub(crate) waiting: VecDeque<usize>,
    pub(crate) attempt: u32,
    pub(crate) batch: Vec<usize>,
    /// Lock-step: the next index into `batch` to send.
    pub(crate) next_rcpt: usize,
    pub(crate) rcpt_answered: usize,
    pub(crate) mail_ok: Option<bool>,
    pub(crate) accepted: Vec<usize>,
    pub(crate) refused_now: usize,
    pub(crate) refused_total: usize,
    pub(crate) deferred: Vec<usize>,
    pub(crate) data_in_group: bool,
    pub(crate) step: Step,
    pub(crate) failure: Option<(NotSentReason, Option<Reply>)>,
    pub(crate) final_sent: bool,
    pub(crate) final_reply: Option<Reply>,
    pub(crate) sent_reply: Option<Reply>,
    pub(crate) last_result: Option<AttemptResult>,
    pub(crate) body: BodyState,
    pub(crate) tls: Option<crate::TlsInfo>,
    /// Whether MAIL carries SMTPUTF8.
    pub(crate) smtputf8: bool,
    /// An envelope built step by step ([`ClientConnection::open_mail`]):
    /// `Some(true)` while recipients may still be added, `Some(false)`
    /// once it is closed; `None` for [`ClientConnection::send_mail`].
    pub(crate) open: Option<bool>,
}

impl Transaction {
    pub(crate) fn phase(&self) -> Phase {
        match self.step {
            Step::Envelope => Phase::Mail,
            Step::DataInit => Phase::DataInit,
            Step::Body => Phase::DataBlock,
            Step::Final => Phase::DataTermination,
            Step::Reset => Phase::Rset,
        }
    }

    /// The application's body deadline, while the connection waits for it.
    pub(crate) fn body_deadline(&self, conn: &ClientConnection) -> Option<Instant> {
        if self.step != Step::Body || self.failure.is_some() || conn.bdat_blocked(self) {
            return None;
        }
        self.body.deadline
    }
}

/// Whether a RCPT reply says "too many recipients" (RFC 5321 §4.5.3.1.10:
/// 452, and the historical 552, with `x.5.3` or no enhanced code).
fn too_many_recipients(reply: &Reply) -> bool {
    let code = reply.code().as_u16();
    let enhanced_ok = reply
        .enhanced()
        .is_none_or(|e| e.subject() == 5 && e.detail() == 3);
    (code == 452 && enhanced_ok) || (code == 552 && reply.enhanced() == EnhancedCode::new(5, 5, 3))
}

impl ClientConnection {
    /// Starts a message: validates the envelope against the server's
    /// capabilities, then queues MAIL and the RCPTs (in one write under
    /// PIPELINING, otherwise one at a time as replies come). Events follow
    /// as replies arrive: a `RecipientResult` per recipient,
    /// `BodyRequested` when the body is wanted, and exactly one
    /// `TransactionCompleted`.
    ///
    /// When REQUIRETLS is asked for and the session is not verified TLS to
    /// a server offering it, or the declared size is over the server's
    /// limit, nothing is written and `TransactionCompleted` (not sent,
    /// `5.7.30` or `5.3.4`) is queued at once.
    ///
    /// # Errors
    ///
    /// Nothing is written when this fails:
    /// [`UsageError::InvalidState`] unless [`is_ready`](Self::is_ready);
    /// [`UsageError::InvalidInput`] for no recipients, an invalid `ENVID`
    /// or `ORCPT`, or a command line with a control character or over the
    /// length limit; [`UsageError::MissingExtension`] when the message
    /// needs SMTPUTF8 (a non-ASCII path), 8BITMIME, CHUNKING and
    /// BINARYMIME, or DSN and the server does not offer it.
    pub fn send_mail(
        &mut self,
        now: Instant,
        envelope: Envelope,
    ) -> Result<TransactionId, UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if self.state != State::Ready {
            return Err(UsageError::InvalidState(
                "send_mail before Ready or during a transaction",
            ));
        }
        let caps = self.capabilities.clone().unwrap_or_default();
        let (mail_line, rcpt_lines) = build_lines(&envelope, &caps)?;
        let envelope_smtputf8 = envelope.needs_smtputf8();
        let id = TransactionId(self.next_txn);
        self.next_txn += 1;
        let options = &envelope.options;
        let count = envelope.recipients.len();
        let nobody = || {
            vec![
                RecipientOutcome {
                    status: RecipientStatus::NotSent,
                    reply: None,
                };
                count
            ]
        };
        let verified = self.tls.as_ref().is_some_and(|t| t.peer_verified);
        if options.requiretls && !(verified && caps.requiretls) {
            let reply = local_reply(550, "5.7.30", "REQUIRETLS support required");
            self.push_event(ClientEvent::TransactionCompleted(TransactionOutcome {
                id,
                outcome: Outcome::NotSent {
                    reason: NotSentReason::RequireTlsUnavailable,
                    reply,
                },
                recipients: nobody(),
                tls: self.tls.clone(),
                attempts: 0,
            }));
            return Ok(id);
        }
        if let (Some(limit), Some(size)) = (caps.size, options.size)
            && limit > 0
            && size > limit
        {
            let reply = local_reply(
                552,
                "5.3.4",
                "Message size exceeds fixed maximum message size",
            );
            self.push_event(ClientEvent::TransactionCompleted(TransactionOutcome {
                id,
                outcome: Outcome::NotSent {
                    reason: NotSentReason::TooLarge,
                    reply,
                },
                recipients: nobody(),
                tls: self.tls.clone(),
                attempts: 0,
            }));
            return Ok(id);
        }
        let transfer = match options.body {
            BodyType::BinaryMime => Transfer::Binary,
            _ if self.config.chunking && caps.chunking => Transfer::Bdat,
            _ => Transfer::Data,
        };
        let pipelined = self.config.pipelining && caps.pipelining;
        // DATA joins the MAIL/RCPT group when the body goes whatever the
        // RCPT replies say, as long as one recipient is accepted: under
        // AtLeastOne, and with a single recipient (where "all accepted" and
        // "one accepted" are the same). One round trip fewer per message.
        let data_in_group = pipelined
            && transfer == Transfer::Data
            && (options.policy == SendPolicy::AtLeastOne || count == 1);
        self.txn = Some(Transaction {
            id,
            policy: options.policy,
            body_kind: options.body,
            transfer,
            pipelined,
            mail_line,
            rcpt_lines,
            recipients: nobody(),
            waiting: (0..count).collect(),
            attempt: 0,
            batch: Vec::new(),
            next_rcpt: 0,
            rcpt_answered: 0,
            mail_ok: None,
            accepted: Vec::new(),
            refused_now: 0,
            refused_total: 0,
            deferred: Vec::new(),
            data_in_group,
            step: Step::Envelope,
            failure: None,
            final_sent: false,
            final_reply: None,
            sent_reply: None,
            last_result: None,
            body: BodyState::new(Encoder::for_transfer(transfer)),
            tls: self.tls.clone(),
            smtputf8: envelope_smtputf8,
            open: None,
        });
        self.state = State::Transaction;
        self.start_attempt(now);
        self.flush();
        Ok(id)
    }

    /// Starts one SMTP transaction for the next batch of waiting
    /// recipients.
    pub(crate) fn start_attempt(&mut self, now: Instant) {
        let max = self
            .config
            .max_recipients_per_transaction
            .unwrap_or(usize::MAX);
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.attempt += 1;
        let take = txn.waiting.len().min(max);
        txn.batch = txn.waiting.drain(..take).collect();
        txn.next_rcpt = 0;
        txn.rcpt_answered = 0;
        txn.mail_ok = None;
        txn.accepted.clear();
        txn.refused_now = 0;
        txn.deferred.clear();
        txn.step = Step::Envelope;
        txn.failure = None;
        txn.final_sent = false;
        txn.final_reply = None;
        txn.body = BodyState::new(Encoder::for_transfer(txn.transfer));
        let mut lines = vec![(PendingKind::Mail, txn.mail_line.clone())];
        if txn.pipelined {
            for &index in &txn.batch {
                let line = txn.rcpt_lines.get(index).cloned().unwrap_or_default();
                lines.push((PendingKind::Rcpt(index), line));
            }
            txn.next_rcpt = txn.batch.len();
            if txn.data_in_group {
                lines.push((PendingKind::Data, b"DATA\r\n".to_vec()));
            }
        }
        for (kind, line) in lines {
            self.send_command(now, kind, &line, None);
        }
    }

    /// Sends the next RCPT in lock-step.
    pub(crate) fn send_next_rcpt(&mut self, now: Instant) -> bool {
        let Some(txn) = self.txn.as_mut() else {
            return false;
        };
        let Some(&index) = txn.batch.get(txn.next_rcpt) else {
            return false;
        };
        txn.next_rcpt += 1;
        let line = txn.rcpt_lines.get(index).cloned().unwrap_or_default();
        self.send_command(now, PendingKind::Rcpt(index), &line, None);
        true
    }

    pub(crate) fn on_mail(&mut self, now: Instant, reply: Reply) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        let ok = reply.code().is_positive();
        txn.mail_ok = Some(ok);
        if txn.open.is_some() {
            let transaction = txn.id;
            if !ok {
                txn.failure = Some((NotSentReason::MailRefused, Some(reply.clone())));
            }
            self.push_event(ClientEvent::MailResult { transaction, reply });
            self.open_next(now);
            return;
        }
        if !ok {
            txn.failure = Some((NotSentReason::MailRefused, Some(reply)));
        }
        if txn.pipelined {
            return;
        }
        if !ok || !self.send_next_rcpt(now) {
            self.decide(now);
        }
    }

    pub(crate) fn on_rcpt(&mut self, now: Instant, index: usize, reply: Reply) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.rcpt_answered += 1;
        let mut deferred = false;
        let open = txn.open.is_some();
        if txn.mail_ok == Some(true) || open {
            let status = if reply.code().is_positive() && txn.mail_ok == Some(true) {
                txn.accepted.push(index);
                RcptStatus::Accepted
            } else if too_many_recipients(&reply) && !open {
                txn.deferred.push(index);
                deferred = true;
                RcptStatus::Deferred
            } else {
                txn.refused_now += 1;
                txn.refused_total += 1;
                if let Some(r) = txn.recipients.get_mut(index) {
                    r.status = RecipientStatus::Refused;
                }
                RcptStatus::Refused
            };
            if let Some(r) = txn.recipients.get_mut(index) {
                r.reply = Some(reply.clone());
            }
            let transaction = txn.id;
            self.push_event(ClientEvent::RecipientResult {
                transaction,
                recipient: index,
                reply,
                status,
            });
        }
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if open {
            self.open_next(now);
            return;
        }
        if txn.pipelined {
            if txn.rcpt_answered >= txn.batch.len() {
                self.decide(now);
            }
            return;
        }
        if deferred {
            // Lock-step: the remaining recipients wait for a further
            // transaction.
            let rest: Vec<usize> = txn.batch.get(txn.next_rcpt..).unwrap_or_default().to_vec();
            txn.deferred.extend(rest);
            txn.batch.truncate(txn.next_rcpt);
            self.decide(now);
        } else if !self.send_next_rcpt(now) {
            self.decide(now);
        }
    }

    /// Every RCPT of this transaction is answered: send the body, or
    /// abandon the transaction.
    pub(crate) fn decide(&mut self, now: Instant) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if txn.failure.is_none() {
            let accepted = txn.accepted.len();
            let go = accepted > 0 && (txn.refused_now == 0 || txn.policy == SendPolicy::AtLeastOne);
            if !go {
                let reason = if accepted == 0 {
                    NotSentReason::NoRecipientAccepted
                } else {
                    NotSentReason::RecipientsRefused
                };
                txn.failure = Some((reason, None));
            }
        }
        if txn.data_in_group {
            // The DATA reply is on its way.
            txn.step = Step::DataInit;
            return;
        }
        if txn.failure.is_some() {
            self.reset(now);
            return;
        }
        match txn.transfer {
            Transfer::Data => {
                txn.step = Step::DataInit;
                self.send_command(now, PendingKind::Data, b"DATA\r\n", None);
            }
            Transfer::Bdat | Transfer::Binary => self.start_body(now),
        }
    }

    pub(crate) fn on_data(&mut self, now: Instant, reply: Reply) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if reply.code().as_u16() != 354 {
            if txn.failure.is_none() {
                txn.failure = Some((NotSentReason::DataRefused, Some(reply)));
            }
            self.reset(now);
            return;
        }
        if txn.failure.is_some() {
            // A pipelined DATA got 354 although nothing may be sent
            // (RFC 2920 §3.1): end an empty message; its reply is ignored.
            txn.step = Step::Final;
            self.send_command(now, PendingKind::DataEnd, b".\r\n", Some(".".into()));
            return;
        }
        self.start_body(now);
    }

    /// The body is wanted now.
    fn start_body(&mut self, now: Instant) {
        let data_block = self.config.timeouts.data_block;
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.step = Step::Body;
        txn.body.deadline = now.checked_add(data_block);
        let (transaction, attempt) = (txn.id, txn.attempt);
        self.push_event(ClientEvent::BodyRequested {
            transaction,
            attempt,
        });
    }

    pub(crate) fn on_data_end(&mut self, now: Instant, reply: Reply) {
        if let Some(mut txn) = self.finishing.take() {
            // The message that waited aside (PIPELINING): its outcome,
            // whatever the transaction behind it is doing.
            txn.final_reply = Some(reply.clone());
            let result = if reply.code().is_positive() {
                AttemptResult::Sent(reply)
            } else {
                AttemptResult::NotSent(NotSentReason::MessageRefused, Some(reply))
            };
            apply_result(&mut txn, &result);
            txn.last_result = Some(result);
            let outcome = finish(txn);
            self.push_event(ClientEvent::TransactionCompleted(outcome));
            return;
        }
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.final_reply = Some(reply.clone());
        let result = if let Some((reason, reply)) = txn.failure.clone() {
            AttemptResult::NotSent(reason, reply)
        } else if reply.code().is_positive() {
            AttemptResult::Sent(reply)
        } else {
            AttemptResult::NotSent(NotSentReason::MessageRefused, Some(reply))
        };
        self.end_attempt(now, result);
    }

    pub(crate) fn on_bdat(&mut self, now: Instant, last: bool, reply: Reply) {
        let data_block = self.config.timeouts.data_block;
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.body.in_flight = txn.body.in_flight.saturating_sub(1);
        let ok = reply.code().is_positive();
        if !ok && txn.failure.is_none() {
            txn.failure = Some((NotSentReason::MessageRefused, Some(reply.clone())));
        }
        if last {
            txn.final_reply = Some(reply.clone());
            if txn.failure.is_some() {
                self.reset(now);
            } else {
                self.end_attempt(now, AttemptResult::Sent(reply));
            }
            return;
        }
        txn.body.deadline = now.checked_add(data_block);
        if txn.body.in_flight == 0 {
            if txn.failure.is_some() {
                if !txn.final_sent {
                    self.reset(now);
                }
            } else if txn.body.end_waiting {
                self.send_last_chunk(now);
            }
        }
    }

    /// Abandons the transaction with RSET.
    fn reset(&mut self, now: Instant) {
        if let Some(txn) = self.txn.as_mut() {
            txn.step = Step::Reset;
        }
        self.send_command(now, PendingKind::Rset, b"RSET\r\n", None);
    }

    pub(crate) fn on_rset(&mut self, now: Instant) {
        let Some(txn) = self.txn.as_ref() else {
            return;
        };
        let (reason, reply) = txn
            .failure
            .clone()
            .unwrap_or((NotSentReason::ConnectionClosed, None));
        self.end_attempt(now, AttemptResult::NotSent(reason, reply));
    }

    /// One SMTP transaction is over: record it, then go on with deferred
    /// recipients or complete the message.
    fn end_attempt(&mut self, now: Instant, result: AttemptResult) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        apply_result(txn, &result);
        let more = !txn.deferred.is_empty() || !txn.waiting.is_empty();
        let go_on = matches!(result, AttemptResult::Sent(_))
            && more
            && (txn.policy == SendPolicy::AtLeastOne || txn.refused_total == 0);
        let deferred = std::mem::take(&mut txn.deferred);
        for index in deferred.into_iter().rev() {
            txn.waiting.push_front(index);
        }
        txn.last_result = Some(result);
        if go_on {
            self.start_attempt(now);
            return;
        }
        if let Some(txn) = self.txn.take() {
            self.state = State::Ready;
            let outcome = finish(txn);
            self.push_event(ClientEvent::TransactionCompleted(outcome));
        }
    }

    /// The outcome of a transaction cut short by the end of the
    /// connection; `reply` is the one that ended it, if any.
    pub(crate) fn abandon_transaction(
        &mut self,
        mut txn: Transaction,
        reply: Option<&Reply>,
    ) -> TransactionOutcome {
        let result = if let Some((reason, reply)) = txn.failure.clone() {
            AttemptResult::NotSent(reason, reply)
        } else if txn.final_sent {
            match txn.final_reply.clone() {
                Some(r) if r.code().is_positive() => AttemptResult::Sent(r),
                Some(r) => AttemptResult::NotSent(NotSentReason::MessageRefused, Some(r)),
                None => AttemptResult::Unknown,
            }
        } else if txn.attempt == 0 {
            AttemptResult::NotSent(NotSentReason::ConnectionClosed, None)
        } else {
            AttemptResult::NotSent(NotSentReason::ConnectionClosed, reply.cloned())
        };
        apply_result(&mut txn, &result);
        txn.last_result = Some(result);
        finish(txn)
    }

    /// Records what a 421 or a 221 answered before the connection closes.
    ///
    /// A 421 refuses what it answers. A 221 refuses nothing and accepts
    /// nothing: the server just closes. Before the end of the data the
    /// message is not sent (the connection closed); a 221 to the end of
    /// the data leaves the outcome unknown.
    pub(crate) fn note_service_closing(&mut self, kind: PendingKind, reply: &Reply) {
        if kind == PendingKind::DataEnd
            && let Some(txn) = self.finishing.as_mut()
        {
            // It answers the message waiting aside; the one behind it
            // is lost with the connection (not sent).
            if reply.code() == ReplyCode::SERVICE_UNAVAILABLE {
                txn.final_reply = Some(reply.clone());
            }
            return;
        }
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        if reply.code() != ReplyCode::SERVICE_UNAVAILABLE {
            if kind == (PendingKind::Bdat { last: false }) && txn.failure.is_none() {
                // The last chunk may be written already: without this the
                // outcome would be unknown.
                txn.failure = Some((NotSentReason::ConnectionClosed, Some(reply.clone())));
            }
            return;
        }
        let failure = match kind {
            PendingKind::Mail => Some(NotSentReason::MailRefused),
            PendingKind::Data => Some(NotSentReason::DataRefused),
            PendingKind::Bdat { last: false } => Some(NotSentReason::MessageRefused),
            PendingKind::DataEnd | PendingKind::Bdat { last: true } => {
                txn.final_reply = Some(reply.clone());
                None
            }
            PendingKind::Rcpt(index) => {
                if txn.mail_ok == Some(true)
                    && let Some(r) = txn.recipients.get_mut(index)
                {
                    r.status = RecipientStatus::Refused;
                    r.reply = Some(reply.clone());
                }
                None
            }
            _ => None,
        };
        if let Some(reason) = failure
            && txn.failure.is_none()
        {
            txn.failure = Some((reason, Some(reply.clone())));
        }
    }
}
