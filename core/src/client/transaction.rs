//! Mail transactions: MAIL, one RCPT per recipient (pipelined or in
//! lock-step), the send policy, DATA, RSET, `452 4.5.3` deferral into
//! further transactions, and the outcome.

use std::time::Instant;

use super::connection::{ClientConnection, State};
use super::event::{ClientEvent, RcptStatus};
use super::mail_lines::{build_lines, local_reply};
use super::outcome::{
    AttemptResult, NotSentReason, Outcome, RecipientOutcome, RecipientStatus, TransactionId,
    TransactionOutcome,
};
use super::pending::PendingKind;
use super::transaction_state::{
    BodyState, Encoder, EnvelopeStep, FinalStep, Step, Transaction, Transfer,
};
use crate::UsageError;
use crate::envelope::{Envelope, SendPolicy};
use crate::wire::params::BodyType;
use crate::wire::reply::{EnhancedCode, Reply, ReplyCode};

impl Transaction {
    /// The application's body deadline, while the connection waits for it.
    pub(crate) fn body_deadline(&self, conn: &ClientConnection) -> Option<Instant> {
        let Step::Body(body) = &self.step else {
            return None;
        };
        if self.failure.is_some() || conn.bdat_blocked(self) {
            return None;
        }
        body.deadline
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
        self.txn = Some(Transaction::new(
            id,
            options.policy,
            options.body,
            transfer,
            pipelined,
            mail_line,
            rcpt_lines,
            self.tls.clone(),
            envelope_smtputf8,
            None,
        ));
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
        let batch: Vec<usize> = txn.waiting.drain(..take).collect();
        txn.accepted.clear();
        txn.deferred.clear();
        txn.failure = None;
        let mut lines = vec![(PendingKind::Mail, txn.mail_line.clone())];
        let mut next_rcpt = 0;
        if txn.pipelined {
            for &index in &batch {
                let line = txn.rcpt_lines.get(index).cloned().unwrap_or_default();
                lines.push((PendingKind::Rcpt(index), line));
            }
            next_rcpt = batch.len();
            if txn.data_in_group() {
                lines.push((PendingKind::Data, b"DATA\r\n".to_vec()));
            }
        }
        txn.step = Step::Envelope(EnvelopeStep {
            batch,
            next_rcpt,
            ..EnvelopeStep::default()
        });
        for (kind, line) in lines {
            self.send_command(now, kind, &line, None);
        }
    }

    /// Sends the next RCPT in lock-step.
    pub(crate) fn send_next_rcpt(&mut self, now: Instant) -> bool {
        let Some(txn) = self.txn.as_mut() else {
            return false;
        };
        let Step::Envelope(envelope) = &mut txn.step else {
            return false;
        };
        let Some(&index) = envelope.batch.get(envelope.next_rcpt) else {
            return false;
        };
        envelope.next_rcpt += 1;
        let line = txn.rcpt_lines.get(index).cloned().unwrap_or_default();
        self.send_command(now, PendingKind::Rcpt(index), &line, None);
        true
    }

    pub(crate) fn on_mail(&mut self, now: Instant, reply: Reply) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        let ok = reply.code().is_positive();
        if let Step::Envelope(envelope) = &mut txn.step {
            envelope.mail_ok = Some(ok);
        }
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
        let Step::Envelope(envelope) = &mut txn.step else {
            return;
        };
        envelope.rcpt_answered += 1;
        let mut deferred = false;
        let open = txn.open.is_some();
        let mail_ok = envelope.mail_ok == Some(true);
        if mail_ok || open {
            let status = if reply.code().is_positive() && mail_ok {
                txn.accepted.push(index);
                RcptStatus::Accepted
            } else if too_many_recipients(&reply) && !open {
                txn.deferred.push(index);
                deferred = true;
                RcptStatus::Deferred
            } else {
                envelope.refused_now += 1;
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
        if open {
            self.open_next(now);
            return;
        }
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        let Step::Envelope(envelope) = &mut txn.step else {
            return;
        };
        if txn.pipelined {
            if envelope.rcpt_answered >= envelope.batch.len() {
                self.decide(now);
            }
            return;
        }
        if deferred {
            // Lock-step: the remaining recipients wait for a further
            // transaction.
            let rest = envelope.batch.get(envelope.next_rcpt..).unwrap_or_default();
            txn.deferred.extend_from_slice(rest);
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
            let refused_now = match &txn.step {
                Step::Envelope(envelope) => envelope.refused_now,
                _ => 0,
            };
            let accepted = txn.accepted.len();
            let go = accepted > 0 && (refused_now == 0 || txn.policy == SendPolicy::AtLeastOne);
            if !go {
                let reason = if accepted == 0 {
                    NotSentReason::NoRecipientAccepted
                } else {
                    NotSentReason::RecipientsRefused
                };
                txn.failure = Some((reason, None));
            }
        }
        if txn.data_in_group() {
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
            txn.step = Step::Final(FinalStep {
                body: BodyState::new(Encoder::for_transfer(txn.transfer)),
                sent: false,
                reply: None,
            });
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
        let mut body = BodyState::new(Encoder::for_transfer(txn.transfer));
        body.deadline = now.checked_add(data_block);
        txn.step = Step::Body(body);
        let (transaction, attempt) = (txn.id, txn.attempt);
        self.push_event(ClientEvent::BodyRequested {
            transaction,
            attempt,
        });
    }

    pub(crate) fn on_data_end(&mut self, now: Instant, reply: Reply) {
        // The message that waited aside (PIPELINING) gets its outcome
        // first, whatever the transaction behind it is doing.
        let reply = match self.finishing.complete(reply) {
            Ok(outcome) => {
                self.push_event(ClientEvent::TransactionCompleted(outcome));
                return;
            }
            Err(reply) => reply,
        };
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
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
        let (body, final_sent) = match &mut txn.step {
            Step::Body(body) => (body, false),
            Step::Final(end) => (&mut end.body, end.sent),
            _ => return,
        };
        body.in_flight = body.in_flight.saturating_sub(1);
        let ok = reply.code().is_positive();
        if !ok && txn.failure.is_none() {
            txn.failure = Some((NotSentReason::MessageRefused, Some(reply.clone())));
        }
        if last {
            if txn.failure.is_some() {
                self.reset(now);
            } else {
                self.end_attempt(now, AttemptResult::Sent(reply));
            }
            return;
        }
        body.deadline = now.checked_add(data_block);
        if body.in_flight == 0 {
            if txn.failure.is_some() {
                if !final_sent {
                    self.reset(now);
                }
            } else if body.end_waiting {
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
        txn.apply_result(&result);
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
            let outcome = txn.finish();
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
        } else if let Step::Final(FinalStep {
            sent: true, reply, ..
        }) = &txn.step
        {
            match reply.clone() {
                Some(r) if r.code().is_positive() => AttemptResult::Sent(r),
                Some(r) => AttemptResult::NotSent(NotSentReason::MessageRefused, Some(r)),
                None => AttemptResult::Unknown,
            }
        } else if txn.attempt == 0 {
            AttemptResult::NotSent(NotSentReason::ConnectionClosed, None)
        } else {
            AttemptResult::NotSent(NotSentReason::ConnectionClosed, reply.cloned())
        };
        txn.apply_result(&result);
        txn.last_result = Some(result);
        txn.finish()
    }

    /// Records what a 421 or a 221 answered before the connection closes.
    ///
    /// A 421 refuses what it answers. A 221 refuses nothing and accepts
    /// nothing: the server just closes. Before the end of the data the
    /// message is not sent (the connection closed); a 221 to the end of
    /// the data leaves the outcome unknown.
    pub(crate) fn note_service_closing(&mut self, kind: PendingKind, reply: &Reply) {
        if kind == PendingKind::DataEnd && self.finishing.note_service_closing(reply) {
            // It answers the message waiting aside; the one behind it
            // is lost with the connection (not sent).
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
                if let Step::Final(end) = &mut txn.step {
                    end.reply = Some(reply.clone());
                }
                None
            }
            PendingKind::Rcpt(index) => {
                if let Step::Envelope(envelope) = &txn.step
                    && envelope.mail_ok == Some(true)
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
