//! The state of one message in progress: what holds for the whole
//! message, the current SMTP transaction's [`Step`] with what only that
//! step has, and the body's encoding. The protocol that moves it on is in
//! `transaction.rs`, `open.rs` and `body.rs` (methods of
//! [`ClientConnection`](super::ClientConnection)); this file needs none of
//! them, so the connection holds it without an import circle.

use std::collections::VecDeque;
use std::time::Instant;

use super::close::Phase;
use super::outcome::{
    AttemptResult, NotSentReason, Outcome, RecipientOutcome, RecipientStatus, TransactionId,
    TransactionOutcome,
};
use crate::envelope::SendPolicy;
use crate::wire::dot::{LineNormalizer, Stuffer};
use crate::wire::params::BodyType;
use crate::wire::reply::Reply;

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

/// Where one SMTP transaction stands, with what only that step needs.
///
/// ```text
/// Envelope ──► DataInit ──► Body ──► Final ──► (outcome, or Envelope of
///    │  │          │         │         │        the next attempt)
///    │  └──────────┼─────────┴─► Reset ┘ (RSET after a failure)
///    └─────────────┴───────────────────┘
/// ```
///
/// BDAT goes from `Envelope` straight to `Body`; a pipelined DATA in the
/// MAIL/RCPT group goes to `DataInit` whatever the RCPT replies said.
#[derive(Debug)]
pub(crate) enum Step {
    /// MAIL and RCPT in flight.
    Envelope(EnvelopeStep),
    /// DATA sent, waiting for 354.
    DataInit,
    /// The application streams the body.
    Body(BodyState),
    /// The end of the data is sent (or about to be): waiting for replies.
    Final(FinalStep),
    /// RSET sent.
    Reset,
}

/// The envelope of one SMTP transaction while MAIL and RCPT are in
/// flight.
#[derive(Debug, Default)]
pub(crate) struct EnvelopeStep {
    /// This transaction's recipients (indices into the envelope), in order.
    pub(crate) batch: Vec<usize>,
    /// The next index into `batch` to send (all of them are sent at once
    /// under PIPELINING).
    pub(crate) next_rcpt: usize,
    /// RCPT replies received.
    pub(crate) rcpt_answered: usize,
    /// MAIL's answer: `None` until it comes, then whether it accepted.
    pub(crate) mail_ok: Option<bool>,
    /// Recipients refused in this transaction (the policy decides on it).
    pub(crate) refused_now: usize,
}

/// The end of one SMTP transaction's data, awaiting its reply.
#[derive(Debug)]
pub(crate) struct FinalStep {
    /// The body's encoder and BDAT chunks still in flight.
    pub(crate) body: BodyState,
    /// Whether the end of the data is written: false while `BDAT … LAST`
    /// waits for earlier chunks, and for the empty message that ends a
    /// pipelined DATA nothing may go through.
    pub(crate) sent: bool,
    /// The reply to the end of the data, when a closing server gave it.
    pub(crate) reply: Option<Reply>,
}

impl Step {
    /// The body's state, while it streams or its end is awaited.
    pub(crate) fn body(&self) -> Option<&BodyState> {
        match self {
            Step::Body(body) | Step::Final(FinalStep { body, .. }) => Some(body),
            _ => None,
        }
    }

    /// The body's state, mutable.
    pub(crate) fn body_mut(&mut self) -> Option<&mut BodyState> {
        match self {
            Step::Body(body) | Step::Final(FinalStep { body, .. }) => Some(body),
            _ => None,
        }
    }
}

/// One message in progress: what holds for the whole message (across the
/// SMTP transactions `452 4.5.3` deferrals or the recipient limit need),
/// then the current SMTP transaction's result so far and its [`Step`].
pub(crate) struct Transaction {
    pub(crate) id: TransactionId,
    pub(crate) policy: SendPolicy,
    pub(crate) body_type: BodyType,
    pub(crate) transfer: Transfer,
    pub(crate) pipelined: bool,
    pub(crate) mail_line: Vec<u8>,
    pub(crate) rcpt_lines: Vec<Vec<u8>>,
    pub(crate) recipients: Vec<RecipientOutcome>,
    /// Recipients not yet in a transaction, in envelope order.
    pub(crate) waiting: VecDeque<usize>,
    /// SMTP transactions started (1 for the first).
    pub(crate) attempt: u32,
    /// Recipients refused over all SMTP transactions.
    pub(crate) refused_total: usize,
    /// The reply of the last SMTP transaction that sent the message.
    pub(crate) sent_reply: Option<Reply>,
    pub(crate) last_result: Option<AttemptResult>,
    pub(crate) tls: Option<crate::TlsInfo>,
    /// Whether MAIL carries SMTPUTF8.
    pub(crate) smtputf8: bool,
    /// An envelope built step by step ([`open_mail`](super::ClientConnection::open_mail)):
    /// `Some(true)` while recipients may still be added, `Some(false)`
    /// once it is closed; `None` for [`send_mail`](super::ClientConnection::send_mail).
    pub(crate) open: Option<bool>,
    /// This SMTP transaction's accepted recipients.
    pub(crate) accepted: Vec<usize>,
    /// This SMTP transaction's recipients left for a further one.
    pub(crate) deferred: Vec<usize>,
    /// Why this SMTP transaction cannot send the message, once known.
    pub(crate) failure: Option<(NotSentReason, Option<Reply>)>,
    pub(crate) step: Step,
}

impl Transaction {
    /// A message about to start its first SMTP transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: TransactionId,
        policy: SendPolicy,
        body_type: BodyType,
        transfer: Transfer,
        pipelined: bool,
        mail_line: Vec<u8>,
        rcpt_lines: Vec<Vec<u8>>,
        tls: Option<crate::TlsInfo>,
        smtputf8: bool,
        open: Option<bool>,
    ) -> Transaction {
        let count = rcpt_lines.len();
        Transaction {
            id,
            policy,
            body_type,
            transfer,
            pipelined,
            mail_line,
            rcpt_lines,
            recipients: vec![
                RecipientOutcome {
                    status: RecipientStatus::NotSent,
                    reply: None,
                };
                count
            ],
            waiting: (0..count).collect(),
            attempt: 0,
            refused_total: 0,
            sent_reply: None,
            last_result: None,
            tls,
            smtputf8,
            open,
            accepted: Vec::new(),
            deferred: Vec::new(),
            failure: None,
            step: Step::Envelope(EnvelopeStep::default()),
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        match self.step {
            Step::Envelope(_) => Phase::Mail,
            Step::DataInit => Phase::DataInit,
            Step::Body(_) => Phase::DataBlock,
            Step::Final(_) => Phase::DataTermination,
            Step::Reset => Phase::Rset,
        }
    }

    /// Whether DATA joins the MAIL/RCPT group: when the body goes whatever
    /// the RCPT replies say, as long as one recipient is accepted — under
    /// AtLeastOne, and with a single recipient (where "all accepted" and
    /// "one accepted" are the same). One round trip fewer per message.
    pub(crate) fn data_in_group(&self) -> bool {
        self.pipelined
            && self.transfer == Transfer::Data
            && (self.policy == SendPolicy::AtLeastOne || self.recipients.len() == 1)
    }

    /// Marks this transaction's accepted recipients with its result.
    pub(crate) fn apply_result(&mut self, result: &AttemptResult) {
        let status = match result {
            AttemptResult::Sent(reply) => {
                self.sent_reply = Some(reply.clone());
                RecipientStatus::Sent
            }
            AttemptResult::NotSent(..) => RecipientStatus::NotSent,
            AttemptResult::Unknown => RecipientStatus::Unknown,
        };
        for &index in &self.accepted {
            if let Some(r) = self.recipients.get_mut(index) {
                r.status = status;
            }
        }
        self.accepted.clear();
    }

    /// The outcome of a finished message.
    pub(crate) fn finish(self) -> TransactionOutcome {
        let any_sent = self
            .recipients
            .iter()
            .any(|r| r.status == RecipientStatus::Sent);
        let outcome = match (&self.sent_reply, self.last_result) {
            (Some(reply), _) if any_sent => Outcome::Sent {
                reply: reply.clone(),
            },
            (_, Some(AttemptResult::Unknown)) => Outcome::Unknown,
            (_, Some(AttemptResult::NotSent(reason, reply))) => Outcome::NotSent { reason, reply },
            (_, _) => Outcome::NotSent {
                reason: NotSentReason::ConnectionClosed,
                reply: None,
            },
        };
        TransactionOutcome {
            id: self.id,
            outcome,
            recipients: self.recipients,
            tls: self.tls,
            attempts: self.attempt,
        }
    }
}

/// How body octets are turned into wire octets.
#[derive(Debug, Clone)]
pub(crate) enum Encoder {
    /// DATA: normalise line ends, dot-stuff, terminate.
    Data(Stuffer),
    /// BDAT for 7bit and 8bit: normalise line ends.
    Bdat(LineNormalizer),
    /// BDAT for BINARYMIME: as is.
    Binary,
}

impl Encoder {
    pub(crate) fn for_transfer(transfer: Transfer) -> Encoder {
        match transfer {
            Transfer::Data => Encoder::Data(Stuffer::new()),
            Transfer::Bdat => Encoder::Bdat(LineNormalizer::new()),
            Transfer::Binary => Encoder::Binary,
        }
    }
}

/// The body of the current SMTP transaction.
#[derive(Debug)]
pub(crate) struct BodyState {
    pub(crate) encoder: Encoder,
    /// BDAT chunks awaiting their reply.
    pub(crate) in_flight: usize,
    /// `end_body` was called but `BDAT … LAST` waits for earlier replies
    /// (no PIPELINING).
    pub(crate) end_waiting: bool,
    /// When the application's next chunk is due.
    pub(crate) deadline: Option<Instant>,
}

impl BodyState {
    pub(crate) fn new(encoder: Encoder) -> BodyState {
        BodyState {
            encoder,
            in_flight: 0,
            end_waiting: false,
            deadline: None,
        }
    }
}
