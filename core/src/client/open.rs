//! Envelopes built step by step, for proxies: MAIL first
//! ([`ClientConnection::open_mail`]), then one recipient at a time
//! ([`ClientConnection::add_recipient`]), each answered before the
//! caller decides what to tell its own client, then the body
//! ([`ClientConnection::close_envelope`]) or RSET
//! ([`ClientConnection::cancel_mail`]).

use std::time::Instant;

use super::connection::{ClientConnection, State};
use super::mail_lines::{mail_line, rcpt_line};
use super::outcome::{NotSentReason, RecipientOutcome, RecipientStatus, TransactionId};
use super::transaction_state::{Step, Transaction, Transfer};
use crate::UsageError;
use crate::envelope::{MailOptions, Recipient, SendPolicy};
use crate::wire::address::ReversePath;
use crate::wire::params::BodyType;

impl ClientConnection {
    /// Starts a message whose recipients come one at a time: queues MAIL
    /// alone. [`ClientEvent::MailResult`](super::ClientEvent::MailResult)
    /// gives its reply; after a refusal the transaction completes (not
    /// sent). Then add recipients with
    /// [`add_recipient`](Self::add_recipient), each answered by a
    /// [`ClientEvent::RecipientResult`](super::ClientEvent::RecipientResult)
    /// (RCPTs go one at a time, in order; a `452` is a refusal here, not a
    /// deferral: the caller passes it on), and end with
    /// [`close_envelope`](Self::close_envelope) (the body follows when a
    /// recipient was accepted) or [`cancel_mail`](Self::cancel_mail).
    ///
    /// The transaction sends to the accepted recipients whatever the
    /// others got (the policy is [`SendPolicy::AtLeastOne`]).
    /// `options.smtputf8` must be set when a recipient may need SMTPUTF8.
    ///
    /// # Errors
    ///
    /// As [`send_mail`](Self::send_mail) (not ready, a missing extension,
    /// an invalid line); nothing is written then.
    pub fn open_mail(
        &mut self,
        now: Instant,
        from: ReversePath,
        options: MailOptions,
    ) -> Result<TransactionId, UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if self.state != State::Ready {
            return Err(UsageError::InvalidState(
                "open_mail before Ready or during a transaction",
            ));
        }
        let caps = self.capabilities.clone().unwrap_or_default();
        let line = mail_line(&from, &options, false, false, &caps)?;
        let id = TransactionId(self.next_txn);
        self.next_txn += 1;
        let transfer = match options.body {
            BodyType::BinaryMime => Transfer::Binary,
            _ if self.config.chunking && caps.chunking => Transfer::Bdat,
            _ => Transfer::Data,
        };
        self.txn = Some(Transaction::new(
            id,
            SendPolicy::AtLeastOne,
            options.body,
            transfer,
            false,
            line,
            Vec::new(),
            self.tls.clone(),
            options.smtputf8 || from.is_utf8(),
            Some(true),
        ));
        self.state = State::Transaction;
        self.start_attempt(now);
        self.flush();
        Ok(id)
    }

    /// Adds a recipient to the envelope [`open_mail`](Self::open_mail)
    /// started, and returns its index (as `RecipientResult` and the
    /// outcome name it). Its RCPT is written once MAIL and the RCPTs
    /// before it are answered.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no envelope is open (none was
    /// opened, it was closed or cancelled, or MAIL was refused);
    /// [`UsageError::MissingExtension`] for DSN parameters the server does
    /// not offer, or a non-ASCII path without SMTPUTF8 in MAIL;
    /// [`UsageError::InvalidInput`] for an invalid line. Nothing is written
    /// then.
    pub fn add_recipient(
        &mut self,
        now: Instant,
        recipient: Recipient,
    ) -> Result<usize, UsageError> {
        let caps = self.capabilities.clone().unwrap_or_default();
        let Some(txn) = self.txn.as_mut() else {
            return Err(UsageError::InvalidState("no envelope is open"));
        };
        if txn.open != Some(true) || txn.failure.is_some() {
            return Err(UsageError::InvalidState("no envelope is open"));
        }
        let Step::Envelope(envelope) = &mut txn.step else {
            return Err(UsageError::InvalidState("no envelope is open"));
        };
        if envelope.mail_ok == Some(false) {
            return Err(UsageError::InvalidState("no envelope is open"));
        }
        if recipient.path.is_utf8() && !txn.smtputf8 {
            return Err(UsageError::MissingExtension("SMTPUTF8"));
        }
        let line = rcpt_line(&recipient, &caps)?;
        let index = txn.recipients.len();
        txn.rcpt_lines.push(line);
        txn.recipients.push(RecipientOutcome {
            status: RecipientStatus::NotSent,
            reply: None,
        });
        envelope.batch.push(index);
        self.open_next(now);
        self.flush();
        Ok(index)
    }

    /// No more recipients: once every RCPT is answered, the body is asked
    /// for when one was accepted (`BodyRequested`), otherwise the
    /// transaction completes, not sent.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no envelope is open.
    pub fn close_envelope(&mut self, now: Instant) -> Result<(), UsageError> {
        let Some(txn) = self.txn.as_mut() else {
            return Err(UsageError::InvalidState("no envelope is open"));
        };
        if txn.open != Some(true) {
            return Err(UsageError::InvalidState("no envelope is open"));
        }
        txn.open = Some(false);
        self.open_next(now);
        self.flush();
        Ok(())
    }

    /// Abandons an open envelope: RSET once the commands in flight are
    /// answered; the transaction completes not sent
    /// ([`NotSentReason::Cancelled`]). The connection stays usable.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no envelope is open (after
    /// [`close_envelope`](Self::close_envelope) the body is under way:
    /// use [`abort`](Self::abort)).
    pub fn cancel_mail(&mut self, now: Instant) -> Result<(), UsageError> {
        let Some(txn) = self.txn.as_mut() else {
            return Err(UsageError::InvalidState("no envelope is open"));
        };
        if txn.open != Some(true) {
            return Err(UsageError::InvalidState("no envelope is open"));
        }
        txn.open = Some(false);
        if txn.failure.is_none() {
            txn.failure = Some((NotSentReason::Cancelled, None));
        }
        self.open_next(now);
        self.flush();
        Ok(())
    }

    /// What an open envelope does next: the next RCPT once nothing is in
    /// flight, and the decision once it is closed (or MAIL was refused)
    /// and every command is answered.
    pub(crate) fn open_next(&mut self, now: Instant) {
        let Some(txn) = self.txn.as_ref() else {
            return;
        };
        let Step::Envelope(envelope) = &txn.step else {
            return;
        };
        let Some(mail_ok) = envelope.mail_ok else {
            return;
        };
        let idle = envelope.rcpt_answered == envelope.next_rcpt;
        if !idle {
            return;
        }
        if mail_ok && txn.failure.is_none() && envelope.next_rcpt < envelope.batch.len() {
            self.send_next_rcpt(now);
            return;
        }
        if !mail_ok || txn.open == Some(false) {
            self.decide(now);
        }
    }
}
