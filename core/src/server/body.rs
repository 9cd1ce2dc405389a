//! Message data: the DATA body (dot-unstuffed, strictly framed) and BDAT
//! chunks (counted octets), streamed out as `Bytes` chunks.

use crate::wire::command::{Command, CommandError};
use crate::wire::dot::{BdatChecker, BdatReader, BodyPolicy};
use crate::wire::params::BodyType;
use crate::wire::reply::Reply;

use super::connection::{Chunk, Phase, ServerConnection};
use super::decision::Step;
use super::event::{AbortReason, CloseKind, ServerEvent, TransactionEnd, Transfer};
use super::pending_state::Waiting;
use super::replies;

impl ServerConnection {
    /// Feeds buffered input to the DATA unstuffer. Returns false when the
    /// input ran out before the end of the data.
    ///
    /// Only the literal `CRLF . CRLF` ends the data (see
    /// [`Unstuffer`](crate::wire::dot::Unstuffer)): this is the defence
    /// against SMTP smuggling.
    pub(crate) fn read_data(&mut self) -> bool {
        if self.inbuf.is_empty() {
            return false;
        }
        self.body_buf.reserve(self.inbuf.len());
        let fed = self.unstuffer.feed(&self.inbuf, &mut self.body_buf);
        self.consume(fed.consumed);
        let produced = u64::try_from(self.body_buf.len()).unwrap_or(u64::MAX);
        let limit = self.config.limits.max_message_size;
        let Some(txn) = self.txn.as_mut() else {
            // Unreachable: DATA is only entered with a transaction.
            self.body_buf.clear();
            self.phase = Phase::Command;
            return true;
        };
        let newly_exceeded = txn.add_size(produced, limit);
        if txn.exceeded {
            // Read to the end, deliver nothing more.
            self.body_buf.clear();
            if newly_exceeded {
                self.out.event(ServerEvent::MessageAborted {
                    reason: AbortReason::SizeExceeded,
                });
            }
        } else if !self.body_buf.is_empty() {
            let chunk = self.body_buf.split().freeze();
            self.out.event(ServerEvent::MessageData(chunk));
        }
        if fed.done {
            self.end_data();
        }
        true
    }

    /// The DATA terminator was read: refuse or ask for the final verdict.
    fn end_data(&mut self) {
        self.phase = Phase::Command;
        self.timers.end_transfer();
        let violations = self.unstuffer.violations();
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.transfer = None;
        if txn.exceeded {
            self.send(&replies::size_exceeded());
            self.end_transaction(TransactionEnd::Aborted(AbortReason::SizeExceeded));
        } else if violations.any() {
            self.out.event(ServerEvent::MessageAborted {
                reason: AbortReason::BodyRejected,
            });
            self.send(&replies::body_rejected());
            self.end_transaction(TransactionEnd::Aborted(AbortReason::BodyRejected));
        } else {
            let envelope = txn.envelope(Transfer::Data);
            self.request(Step::Message, Waiting::Message, |token| {
                ServerEvent::MessageRequest { token, envelope }
            });
        }
    }

    /// A BDAT command. Whatever happens to the chunk, exactly `size` octets
    /// that follow are read as its data, never as commands; a size that
    /// does not parse loses the framing, so the session ends.
    ///
    /// A refusal is answered after the chunk's octets (RFC 3030 §2), except
    /// that a chunk over the message size limit is answered `552` at once,
    /// so that a peer announcing an absurd size learns it without sending
    /// it; and a refused chunk larger than
    /// [`Limits::max_discard`](super::Limits::max_discard) is answered at
    /// once and then the session is closed, as those octets would only be
    /// thrown away.
    pub(crate) fn bdat(&mut self, parsed: Result<Command, CommandError>, refusal: Option<Reply>) {
        let Ok(Command::Bdat { size, last }) = parsed else {
            let reply = replies::syntax("Syntax: BDAT size [LAST]");
            self.send(&reply);
            self.close_with(CloseKind::FramingLost, Some(reply), None);
            return;
        };
        let refusal = refusal.or_else(|| self.bdat_refusal(size));
        if refusal.is_none() {
            self.bdat_accept(size);
        }
        let too_large = refusal.is_some() && self.over_discard_limit(size);
        let over_size = self.txn.as_ref().is_some_and(|t| t.failed.is_some());
        let answered = refusal.is_some() && (too_large || over_size);
        if let (true, Some(reply)) = (answered, refusal.as_ref()) {
            self.answer_refused_chunk(last, reply);
        }
        if too_large {
            self.close_discard_limit(&replies::chunk_past_discard_limit());
        }
        if self.is_closed() {
            return;
        }
        self.phase = Phase::Chunk(Chunk {
            reader: BdatReader::new(size),
            size,
            last,
            refused: refusal,
            answered,
        });
        // `BDAT 0` needs no data: finish at once.
        if size == 0 {
            self.finish_chunk();
        }
    }

    /// Sends the refusal of a chunk. A chunk of a message that failed (over
    /// the size limit) is not a protocol error, nor is `554` (no valid
    /// recipients, normal after refused pipelined recipients); with LAST
    /// the failed message ends.
    fn answer_refused_chunk(&mut self, last: bool, reply: &Reply) {
        let failed = self.txn.as_ref().is_some_and(|t| t.failed.is_some());
        if failed || reply.code().as_u16() == 554 {
            self.send(reply);
        } else {
            self.send_error(reply);
        }
        if last && failed {
            // The failed message ends here.
            let exceeded = self.txn.as_ref().is_some_and(|t| t.exceeded);
            self.end_transaction(if exceeded {
                TransactionEnd::Aborted(AbortReason::SizeExceeded)
            } else {
                TransactionEnd::Refused
            });
        }
    }

    /// Why this chunk is refused, if it is. Marks the transaction failed
    /// when the size limit is passed.
    fn bdat_refusal(&mut self, size: u64) -> Option<Reply> {
        let chunking = self.capabilities().is_some_and(|c| c.chunking);
        if self.helo.is_none() {
            return Some(replies::bad_sequence("Send EHLO first"));
        }
        if !chunking {
            return Some(replies::not_implemented("BDAT not available"));
        }
        let limit = self.config.limits.max_message_size;
        let Some(txn) = self.txn.as_mut() else {
            return Some(replies::bad_sequence("Need MAIL command"));
        };
        txn.bdat_used = true;
        if let Some(failed) = &txn.failed {
            return Some(failed.clone());
        }
        if txn.recipients.is_empty() {
            return Some(replies::no_valid_recipients());
        }
        if limit.is_some_and(|max| txn.size.saturating_add(size) > max) {
            let reply = replies::size_exceeded();
            txn.failed = Some(reply.clone());
            txn.size = txn.size.saturating_add(size);
            self.abort_message(AbortReason::SizeExceeded);
            if let Some(txn) = self.txn.as_mut() {
                txn.exceeded = true;
            }
            return Some(reply);
        }
        None
    }

    /// Counts an accepted chunk; the first one starts the message.
    fn bdat_accept(&mut self, size: u64) {
        let policy = BodyPolicy {
            max_line_len: None,
            ..self.config.body_policy
        };
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.size = txn.size.saturating_add(size);
        if txn.transfer.is_none() {
            txn.transfer = Some(Transfer::Bdat);
            txn.checker = (txn.body() != BodyType::BinaryMime).then(|| BdatChecker::new(policy));
            let mut envelope = txn.envelope(Transfer::Bdat);
            envelope.size = 0;
            self.timers.start_transfer(self.now, &self.config.timeouts);
            self.out.event(ServerEvent::MessageStarted { envelope });
        }
    }

    /// Reads buffered octets of the current chunk. Returns false when the
    /// input ran out before the end of the chunk.
    pub(crate) fn read_chunk(&mut self) -> bool {
        let Phase::Chunk(chunk) = &mut self.phase else {
            return false;
        };
        if self.inbuf.is_empty() {
            return false;
        }
        let remaining = chunk.reader.remaining();
        let taken = if chunk.refused.is_some() {
            // Drop the octets without copying them.
            let n =
                usize::try_from(remaining).map_or(self.inbuf.len(), |r| r.min(self.inbuf.len()));
            chunk.reader = BdatReader::new(remaining.saturating_sub(n as u64));
            n
        } else {
            self.body_buf.reserve(
                self.inbuf
                    .len()
                    .min(usize::try_from(remaining).unwrap_or(usize::MAX)),
            );
            match self.txn.as_mut().and_then(|t| t.checker.as_mut()) {
                Some(checker) => {
                    chunk
                        .reader
                        .feed_checked(&self.inbuf, checker, &mut self.body_buf)
                }
                None => chunk.reader.feed(&self.inbuf, &mut self.body_buf),
            }
        };
        let done = chunk.reader.is_done();
        self.consume(taken);
        self.emit_body();
        if done {
            self.finish_chunk();
        }
        true
    }

    /// Hands the message data gathered so far to the application.
    fn emit_body(&mut self) {
        if !self.body_buf.is_empty() {
            let chunk = self.body_buf.split().freeze();
            self.out.event(ServerEvent::MessageData(chunk));
        }
    }

    /// The chunk's octets are all read: answer it.
    fn finish_chunk(&mut self) {
        let Phase::Chunk(chunk) = std::mem::replace(&mut self.phase, Phase::Command) else {
            return;
        };
        if let Some(reply) = chunk.refused {
            if !chunk.answered {
                self.answer_refused_chunk(chunk.last, &reply);
            }
            return;
        }
        if !chunk.last {
            let text = format!("{} octets received", chunk.size);
            self.send(&replies::reply(250, (2, 0, 0), &text));
            return;
        }
        // LAST: end of the message.
        self.timers.end_transfer();
        let Some(txn) = self.txn.as_mut() else {
            return;
        };
        txn.transfer = None;
        let mut rejected = false;
        if let Some(checker) = txn.checker.as_mut() {
            checker.finish(&mut self.body_buf);
            rejected = checker.violations().any();
        }
        if rejected {
            self.body_buf.clear();
            self.out.event(ServerEvent::MessageAborted {
                reason: AbortReason::BodyRejected,
            });
            self.send(&replies::body_rejected());
            self.end_transaction(TransactionEnd::Aborted(AbortReason::BodyRejected));
            return;
        }
        let envelope = txn.envelope(Transfer::Bdat);
        self.emit_body();
        self.request(Step::Message, Waiting::Message, |token| {
            ServerEvent::MessageRequest { token, envelope }
        });
    }
}
