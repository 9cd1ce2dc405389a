//! The message that waits aside for its final reply under PIPELINING
//! (RFC 2920 §3.1): its end of data is written and the connection is
//! ready for the next message, whose envelope may already be in flight.

use super::outcome::{AttemptResult, NotSentReason, TransactionId, TransactionOutcome};
use super::transaction_state::{Step, Transaction};
use crate::wire::reply::{Reply, ReplyCode};

/// The slot for a message awaiting its reply to the final dot while the
/// next one runs.
///
/// Replies come in the order of the commands, and a message is parked
/// only when its own end of data is the last final reply awaited (the
/// slot is empty): so there is at most one, and the next reply to an end
/// of data is its reply. [`ClientConnection`](super::ClientConnection)
/// parks a message in [`end_body`](super::ClientConnection::end_body),
/// completes it on that reply, and abandons it — before the message
/// running behind it — when the connection ends.
#[derive(Default)]
pub(crate) struct Finishing {
    parked: Option<Transaction>,
}

impl Finishing {
    /// Whether no message waits aside.
    pub(crate) fn is_empty(&self) -> bool {
        self.parked.is_none()
    }

    /// The message waiting aside, if any.
    pub(crate) fn id(&self) -> Option<TransactionId> {
        self.parked.as_ref().map(|t| t.id)
    }

    /// Parks a message whose end of data is written (its step is
    /// [`Step::Final`]) and which has no further SMTP transaction to run.
    /// The slot must be empty.
    pub(crate) fn park(&mut self, txn: Transaction) {
        debug_assert!(self.parked.is_none(), "one message waits aside at most");
        debug_assert!(matches!(txn.step, Step::Final(_)));
        self.parked = Some(txn);
    }

    /// The reply to an end of data: the parked message's outcome, or the
    /// reply back when no message waits aside (it answers the running one).
    pub(crate) fn complete(&mut self, reply: Reply) -> Result<TransactionOutcome, Reply> {
        let Some(mut txn) = self.parked.take() else {
            return Err(reply);
        };
        let result = if reply.code().is_positive() {
            AttemptResult::Sent(reply)
        } else {
            AttemptResult::NotSent(NotSentReason::MessageRefused, Some(reply))
        };
        txn.apply_result(&result);
        txn.last_result = Some(result);
        Ok(txn.finish())
    }

    /// A 421 or 221 answered an end of data: when a message waits aside,
    /// it is the one answered (a 421 refuses it; after a 221 its outcome
    /// stays unknown), and this returns true. The connection closes next.
    pub(crate) fn note_service_closing(&mut self, reply: &Reply) -> bool {
        let Some(txn) = self.parked.as_mut() else {
            return false;
        };
        if reply.code() == ReplyCode::SERVICE_UNAVAILABLE
            && let Step::Final(end) = &mut txn.step
        {
            end.reply = Some(reply.clone());
        }
        true
    }

    /// Takes the parked message out (the connection ends: it is
    /// abandoned).
    pub(crate) fn take(&mut self) -> Option<Transaction> {
        self.parked.take()
    }
}
