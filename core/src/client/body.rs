//! The message body: streaming with back-pressure, dot-stuffing for DATA,
//! line-end normalisation for BDAT, raw BDAT for BINARYMIME.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::connection::ClientConnection;
use super::envelope::BodyKind;
use super::pending::PendingKind;
use super::transaction::{Step, Transaction, Transfer};
use crate::UsageError;
use crate::wire::dot::{LineNormalizer, Stuffer, write_bdat_header};

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
#[derive(Debug, Clone)]
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
        txn.step == Step::Body
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
        txn.transfer != Transfer::Data && txn.body.in_flight >= limit
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
    /// [`BodyKind::SevenBit`] body, or a NUL in any body but
    /// [`BodyKind::Binary`]. Nothing is queued then.
    pub fn send_body(&mut self, now: Instant, chunk: Bytes) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let in_body = self.txn.as_ref().is_some_and(|t| t.step == Step::Body);
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
        if txn.body_kind == BodyKind::SevenBit && !chunk.is_ascii() {
            return Err(UsageError::InvalidInput("8-bit octet in a 7bit body"));
        }
        if txn.body_kind != BodyKind::Binary && memchr::memchr(0, &chunk).is_some() {
            // RFC 5321 §2.4, RFC 6152 §3: only BINARYMIME carries NUL.
            return Err(UsageError::InvalidInput(
                "NUL in a 7bit or 8bit body: only BINARYMIME carries it",
            ));
        }
        txn.body.deadline = now.checked_add(data_block);
        match &mut txn.body.encoder {
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
        let Some(txn) = self.txn.as_mut().filter(|t| t.step == Step::Body) else {
            return Err(UsageError::InvalidState("no body is being sent"));
        };
        txn.step = Step::Final;
        txn.body.deadline = None;
        match &mut txn.body.encoder {
            Encoder::Data(stuffer) => {
                stuffer.finish(self.out.buf());
                txn.final_sent = true;
                // Under PIPELINING the message waits for its final reply
                // aside, and the connection is ready for the next one at
                // once (RFC 2920 §3.1) — when this is its last transaction
                // (no recipients left for a further one).
                let park = txn.pipelined
                    && txn.failure.is_none()
                    && txn.open.is_none()
                    && txn.waiting.is_empty()
                    && txn.deferred.is_empty()
                    && self.finishing.is_none();
                self.expect_reply(now, PendingKind::DataEnd, ".".to_owned());
                if park {
                    self.finishing = self.txn.take();
                    self.state = super::connection::State::Ready;
                }
            }
            Encoder::Bdat(_) | Encoder::Binary => {
                // After a refused chunk nothing more goes (RFC 3030 §3):
                // the transaction is reset once the chunks in flight are
                // answered.
                if txn.failure.is_some() || (!txn.pipelined && txn.body.in_flight > 0) {
                    txn.body.end_waiting = true;
                } else {
                    self.send_last_chunk(now);
                }
            }
        }
        self.flush();
        Ok(())
    }

    /// Sends `BDAT n LAST` with what the normaliser still holds.
    pub(crate) fn send_last_chunk(&mut self, now: Instant) {
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.body.end_waiting = false;
        txn.final_sent = true;
        let mut wire = BytesMut::new();
        if let Encoder::Bdat(normalizer) = &mut txn.body.encoder {
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
        if let Some(txn) = self.txn.as_mut() {
            txn.body.in_flight += 1;
        }
        self.expect_reply(now, PendingKind::Bdat { last }, command);
        self.push_send(data);
    }
}
