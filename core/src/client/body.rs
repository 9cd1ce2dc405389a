//! The message body: streaming with back-pressure, dot-stuffing for DATA,
//! line-end normalisation for BDAT, raw BDAT for BINARYMIME.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::connection::ClientConnection;
use super::pending::PendingKind;
use super::transaction_state::{Encoder, FinalStep, Step, Transaction, Transfer};
use crate::UsageError;
use crate::wire::dot::write_bdat_header;
use crate::wire::params::BodyType;

impl ClientConnection {
    /// Whether the connection wants body octets now: a body was requested
    /// ([`BodyRequested`](super::ClientEvent::BodyRequested)), it has not
    /// ended, no BDAT chunk was refused, less than
    /// [`body_buffer`](super::ClientConfig::body_buffer) octets wait for the
    /// driver, and (BDAT) not too many chunks await their reply.
    ///
    /// Drivers: after draining [`poll_action`](Self::poll_action), give the
    /// next chunk while this is true; otherwise wait for input (a BDAT
    /// reply) or for the writes to complete.
    #[must_use]
    pub fn wants_body(&self) -> bool {
        let Some(txn) = self.txn.as_ref() else {
            return false;
        };
        matches!(txn.step, Step::Body(_))
            && txn.failure.is_none()
            && self.queued_len() < self.config.body_buffer
            && !self.bdat_blocked(txn)
    }

    /// Whether BDAT chunks in flight hold the next one back.
    pub(crate) fn bdat_blocked(&self, txn: &Transaction) -> bool {
        let limit = if txn.pipelined {
            self.config.max_bdat_in_flight
        } else {
            1
        };
        let in_flight = txn.step.body().map_or(0, |body| body.in_flight);
        txn.transfer != Transfer::Data && in_flight >= limit
    }

    /// The next piece of the body (any size, any split: line ends may be
    /// cut between chunks).
    ///
    /// DATA: bare CR and LF become CRLF and line-start dots are doubled;
    /// BDAT: line ends are normalised the same way and the chunk goes as
    /// `BDAT n`; BINARYMIME: the octets go as they are (no copy). Long
    /// lines are never wrapped. Queues one or two `Send`s. Call again while
    /// [`wants_body`](Self::wants_body), then [`end_body`](Self::end_body).
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no body is wanted now (none was
    /// requested, it has ended, the transaction failed early — watch for
    /// `TransactionCompleted` — or `wants_body()` is false);
    /// [`UsageError::InvalidInput`] for an octet over 127 in a
    /// [`BodyType::SevenBit`] body, or a NUL in any body but
    /// [`BodyType::BinaryMime`]. Nothing is queued then.
    pub fn send_body(&mut self, now: Instant, chunk: Bytes) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let in_body = self
            .txn
            .as_ref()
            .is_some_and(|t| matches!(t.step, Step::Body(_)));
        if !in_body {
            return Err(UsageError::InvalidState("no body is wanted now"));
        }
        if !self.wants_body() {
            return Err(UsageError::InvalidState("wait until wants_body()"));
        }
        let data_block = self.config.timeouts.data_block;
        let Some(txn) = self.txn.as_mut() else {
            return Err(UsageError::InvalidState("no body is wanted now"));
        };
        if txn.body_type == BodyType::SevenBit && !chunk.is_ascii() {
            return Err(UsageError::InvalidInput("8-bit octet in a 7bit body"));
        }
        if txn.body_type != BodyType::BinaryMime && memchr::memchr(0, &chunk).is_some() {
            // RFC 5321 §2.4, RFC 6152 §3: only BINARYMIME carries NUL.
            return Err(UsageError::InvalidInput(
                "NUL in a 7bit or 8bit body: only BINARYMIME carries it",
            ));
        }
        let Step::Body(body) = &mut txn.step else {
            return Err(UsageError::InvalidState("no body is wanted now"));
        };
        body.deadline = now.checked_add(data_block);
        match &mut body.encoder {
            Encoder::Data(stuffer) => stuffer.feed(&chunk, self.out.buf()),
            Encoder::Bdat(normalizer) => {
                let mut wire = BytesMut::with_capacity(chunk.len() + chunk.len() / 16 + 2);
                normalizer.feed(&chunk, &mut wire);
                self.send_bdat(now, wire.freeze(), false);
            }
            Encoder::Binary => self.send_bdat(now, chunk, false),
        }
        self.flush();
        Ok(())
    }

    /// The body is complete. DATA: queues the CRLF (if the body did not
    /// end with a line end) and `.` CRLF; BDAT: queues the last chunk
    /// `BDAT n LAST` (held back until earlier chunks are answered when the
    /// server does not pipeline). The outcome follows as
    /// `TransactionCompleted` when the server answers — or as
    /// [`Outcome::Unknown`](super::Outcome::Unknown) if the connection
    /// breaks first.
    ///
    /// Under PIPELINING with DATA, the connection is
    /// [ready](Self::is_ready) again at once: the next message may be
    /// started before this one's outcome arrives, and its commands leave
    /// in the same write as the final dot (RFC 2920 §3.1). Each
    /// `TransactionCompleted` names its message; a refusal of the dot is
    /// this message's, and a close before its reply leaves it
    /// [`Outcome::Unknown`](super::Outcome::Unknown) and the next one not
    /// sent.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no body is being sent.
    pub fn end_body(&mut self, now: Instant) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let Some(txn) = self
            .txn
            .as_mut()
            .filter(|t| matches!(t.step, Step::Body(_)))
        else {
            return Err(UsageError::InvalidState("no body is being sent"));
        };
        let Step::Body(mut body) = std::mem::replace(&mut txn.step, Step::Reset) else {
            return Err(UsageError::InvalidState("no body is being sent"));
        };
        body.deadline = None;
        match &mut body.encoder {
            Encoder::Data(stuffer) => {
                stuffer.finish(self.out.buf());
                txn.step = Step::Final(FinalStep {
                    body,
                    sent: true,
                    reply: None,
                });
                // Under PIPELINING the message waits for its final reply
                // aside, and the connection is ready for the next one at
                // once (RFC 2920 §3.1) — when this is its last transaction
                // (no recipients left for a further one).
                let park = txn.pipelined
                    && txn.failure.is_none()
                    && txn.open.is_none()
                    && txn.waiting.is_empty()
                    && txn.deferred.is_empty()
                    && self.finishing.is_empty();
                self.expect_reply(now, PendingKind::DataEnd, ".".to_owned());
                if park && let Some(txn) = self.txn.take() {
                    self.finishing.park(txn);
                    self.state = super::connection::State::Ready;
                }
            }
            Encoder::Bdat(_) | Encoder::Binary => {
                // After a refused chunk nothing more goes (RFC 3030 §3):
                // the transaction is reset once the chunks in flight are
                // answered.
                let hold = txn.failure.is_some() || (!txn.pipelined && body.in_flight > 0);
                body.end_waiting = hold;
                txn.step = Step::Final(FinalStep {
                    body,
                    sent: false,
                    reply: None,
                });
                if !hold {
                    self.send_last_chunk(now);
                }
            }
        }
        self.flush();
        Ok(())
    }

    /// Sends `BDAT n LAST` with what the normaliser still holds.
    pub(crate) fn send_last_chunk(&mut self, now: Instant) {
        let Some(Step::Final(end)) = self.txn.as_mut().map(|t| &mut t.step) else {
            return;
        };
        end.body.end_waiting = false;
        end.sent = true;
        let mut wire = BytesMut::new();
        if let Encoder::Bdat(normalizer) = &mut end.body.encoder {
            normalizer.finish(&mut wire);
        }
        self.send_bdat(now, wire.freeze(), true);
    }

    /// Queues `BDAT n [LAST]` and the chunk.
    fn send_bdat(&mut self, now: Instant, data: Bytes, last: bool) {
        if data.is_empty() && !last {
            return;
        }
        let start = self.out.buf().len();
        write_bdat_header(data.len() as u64, last, self.out.buf());
        let header = self.out.buf().get(start..).unwrap_or_default();
        let text = header.strip_suffix(b"\r\n").unwrap_or(header);
        let command = String::from_utf8_lossy(text).into_owned();
        if let Some(body) = self.txn.as_mut().and_then(|t| t.step.body_mut()) {
            body.in_flight += 1;
        }
        self.expect_reply(now, PendingKind::Bdat { last }, command);
        self.push_send(data);
    }
}
