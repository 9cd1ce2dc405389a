//! [`ServerConnection`]: the server side of one SMTP session, as a sans-IO
//! state machine. The public API lives here; the command handlers, the
//! body readers and AUTH are in sibling modules.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BytesMut};

use crate::action::{Action, UsageError};
use crate::sasl::{ServerMechanism, StoredSecret};
use crate::tls::TlsInfo;
use crate::wire::address::{Domain, ReversePath};
use crate::wire::dot::{BdatReader, Unstuffer};
use crate::wire::ehlo::Capabilities;
use crate::wire::line::LineFramer;
use crate::wire::params::MailParameters;
use crate::wire::reply::Reply;

use super::auth_state::Authentication;
use super::config::ServerConfig;
use super::decision::{Step, Token, Verdict};
use super::event::{
    AbortReason, AcceptedRecipient, CloseKind, CloseReason, MailTransaction, ServerEvent,
    SessionInfo, TimeoutKind, TransactionEnd,
};
use super::output::Output;
use super::pending_state::{Pending, Waiting};
use super::replies;
use super::timers::{Expired, Timers};
use super::transaction::Transaction;

/// What the connection reads next.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Waiting for the decision on the connecting host.
    Greeting,
    /// Command lines (and SASL responses while `sasl` is set).
    Command,
    /// A DATA body.
    Data,
    /// The octets of one BDAT chunk.
    Chunk(Chunk),
    /// Between `StartTls` and `tls_established`.
    TlsHandshake,
    /// Closed: nothing more happens.
    Closed,
}

/// One BDAT chunk being read.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) reader: BdatReader,
    /// The chunk's announced size.
    pub(crate) size: u64,
    pub(crate) last: bool,
    /// The reply for a refused chunk (its octets are read and dropped).
    pub(crate) refused: Option<Reply>,
    /// The refusal was sent when the chunk was announced, not after it.
    pub(crate) answered: bool,
}

/// The session's HELO/EHLO state.
#[derive(Debug, Clone)]
pub(crate) struct Helo {
    pub(crate) domain: Domain,
    /// What EHLO advertised; `None` after HELO.
    pub(crate) caps: Option<Capabilities>,
}

/// The server side of one SMTP session.
///
/// A pure state machine (see the [module documentation](super) for the run
/// loop): feed it bytes, end of stream, time and the TLS switch (the
/// `handle_*` inputs and [`tls_established`](Self::tls_established)),
/// answer its requests ([`decide`](Self::decide),
/// [`supply_secret`](Self::supply_secret)), and after **every** such call
/// drain [`poll_action`](Self::poll_action) until `None`, then arm one
/// timer for [`poll_timeout`](Self::poll_timeout).
///
/// Nothing a peer sends can make it panic or grow without bound: input is
/// buffered up to one line limit plus one input slice
/// ([`buffered_len`](Self::buffered_len)), and message data streams out as
/// [`ServerEvent::MessageData`] chunks.
#[derive(Debug)]
pub struct ServerConnection {
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) session: SessionInfo,
    /// The latest time given by an input.
    pub(crate) now: Instant,
    pub(crate) inbuf: BytesMut,
    pub(crate) framer: LineFramer,
    pub(crate) body_buf: BytesMut,
    pub(crate) unstuffer: Unstuffer,
    pub(crate) out: Output,
    pub(crate) timers: Timers,
    pub(crate) phase: Phase,
    pub(crate) pending: Option<Pending>,
    pub(crate) seq: u64,
    pub(crate) tls: Option<TlsInfo>,
    pub(crate) helo: Option<Helo>,
    pub(crate) auth: Option<Authentication>,
    pub(crate) sasl: Option<ServerMechanism>,
    pub(crate) txn: Option<Transaction>,
    /// `Some(n)`: the host was refused and `n` commands were answered 503.
    pub(crate) refused_host: Option<u32>,
    /// Protocol errors since the session started or a message was accepted.
    pub(crate) errors: u32,
    /// Senders and recipients refused, counted the same way.
    pub(crate) refusals: u32,
    pub(crate) auth_failures: u32,
    pub(crate) shutting_down: bool,
    pub(crate) eof: bool,
    /// The line being framed is an AUTH command line or a SASL response
    /// (12,288-octet limit).
    pub(crate) framing_auth: bool,
    /// The over-long line being discarded was answered already:
    /// `Some(drop_rest)`, where `drop_rest` says that what follows its end
    /// is dropped too (an AUTH command line ends a pipelined group).
    pub(crate) line_answered: Option<bool>,
    /// A whole line was taken since the last input began: the server is
    /// ready for a new command, so the command timer starts afresh.
    pub(crate) line_done: bool,
}

impl ServerConnection {
    /// A new session. Queues the first event,
    /// [`ServerEvent::ConnectRequest`]: drain [`poll_action`](Self::poll_action)
    /// and answer it with [`decide`](Self::decide) before anything else
    /// happens (until then [`wants_read`](Self::wants_read) is false).
    #[must_use]
    pub fn new(config: Arc<ServerConfig>, session: SessionInfo, now: Instant) -> ServerConnection {
        let timers = Timers::new(now, &config.timeouts);
        let framer = LineFramer::new(config.limits.max_line.max(3));
        let unstuffer = Unstuffer::new(config.body_policy);
        let tls = session.tls.clone();
        let mut conn = ServerConnection {
            config,
            session: session.clone(),
            now,
            inbuf: BytesMut::new(),
            framer,
            body_buf: BytesMut::new(),
            unstuffer,
            out: Output::default(),
            timers,
            phase: Phase::Greeting,
            pending: None,
            seq: 0,
            tls,
            helo: None,
            auth: None,
            sasl: None,
            txn: None,
            refused_host: None,
            errors: 0,
            refusals: 0,
            auth_failures: 0,
            shutting_down: false,
            eof: false,
            framing_auth: false,
            line_answered: None,
            line_done: false,
        };
        conn.request(Step::Connect, Waiting::Connect, |token| {
            ServerEvent::ConnectRequest { token, session }
        });
        conn
    }

    // -----------------------------------------------------------------
    // A. Getters.

    /// Whether the driver should read from the peer and call
    /// [`handle_input`](Self::handle_input). False while a decision is
    /// pending, during the TLS handshake, after end of stream and once
    /// closed.
    #[must_use]
    pub fn wants_read(&self) -> bool {
        self.pending.is_none()
            && !self.eof
            && matches!(self.phase, Phase::Command | Phase::Data | Phase::Chunk(_))
    }

    /// Whether the connection has ended (`Closed` and `Close` are queued or
    /// taken). Every input is then refused with [`UsageError::Closed`].
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The one deadline to arm: when it passes, call
    /// [`handle_timeout`](Self::handle_timeout). `None` once closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            None
        } else {
            self.timers.next()
        }
    }

    /// Whether TLS is on (implicit, or after STARTTLS).
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS facts, when TLS is on.
    #[must_use]
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The session facts given to [`new`](Self::new).
    #[must_use]
    pub fn session(&self) -> &SessionInfo {
        &self.session
    }

    /// The authenticated identity, after a successful AUTH.
    #[must_use]
    pub fn authenticated(&self) -> Option<&Authentication> {
        self.auth.as_ref()
    }

    /// The name the client gave in its accepted HELO/EHLO.
    #[must_use]
    pub fn helo_domain(&self) -> Option<&Domain> {
        self.helo.as_ref().map(|h| &h.domain)
    }

    /// Whether the client greeted with EHLO (and was accepted).
    #[must_use]
    pub fn is_extended(&self) -> bool {
        self.helo.as_ref().is_some_and(|h| h.caps.is_some())
    }

    /// The extensions advertised in the accepted EHLO reply of this session
    /// (`None` before EHLO, after HELO, and after STARTTLS until the next
    /// EHLO).
    #[must_use]
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.helo.as_ref().and_then(|h| h.caps.as_ref())
    }

    /// The open mail transaction's sender and MAIL parameters (after an
    /// accepted MAIL, until the transaction ends).
    #[must_use]
    pub fn mail_from(&self) -> Option<(&ReversePath, &MailParameters)> {
        self.txn.as_ref().map(|t| (&t.from, &t.params))
    }

    /// The recipients accepted so far in the open transaction, in order
    /// (empty when none is open).
    #[must_use]
    pub fn recipients(&self) -> &[AcceptedRecipient] {
        self.txn.as_ref().map_or(&[], |t| t.recipients.as_slice())
    }

    /// Whether a message is being received (between `354`/first BDAT and
    /// its end).
    #[must_use]
    pub fn is_receiving_message(&self) -> bool {
        self.txn.as_ref().is_some_and(Transaction::in_message)
    }

    /// Octets of peer input held by the connection. Never more than the
    /// current line limit (12,288 during SASL) plus the last input slice.
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.inbuf.len()
    }

    // -----------------------------------------------------------------
    // B. Inputs.

    /// Takes bytes read from the peer. May queue replies, events (requests,
    /// message data), `StartTls` or `Close`; drain
    /// [`poll_action`](Self::poll_action) afterwards.
    ///
    /// # Errors
    ///
    /// [`UsageError::Closed`] once closed; [`UsageError::NotReading`] when
    /// [`wants_read`](Self::wants_read) is false. Nothing is taken then.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if !self.wants_read() {
            return Err(UsageError::NotReading);
        }
        self.now = now;
        if input.is_empty() {
            return Ok(());
        }
        self.inbuf.extend_from_slice(input);
        self.line_done = false;
        self.process();
        // Input that completed no line leaves the command timer running.
        self.arm_idle(self.line_done);
        Ok(())
    }

    /// The peer closed its side. Buffered commands are still answered
    /// (a decision still pending is still awaited); then a message in
    /// progress is reported [`ServerEvent::MessageAborted`] and the session
    /// closes with [`CloseKind::PeerClosed`]. Drain
    /// [`poll_action`](Self::poll_action) afterwards. Ignored once closed.
    pub fn handle_eof(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.now = now;
        self.eof = true;
        match self.phase {
            Phase::Greeting | Phase::TlsHandshake => {
                self.pending = None;
                self.close(CloseKind::PeerClosed);
            }
            _ => self.process(),
        }
    }

    /// Time passed: call when [`poll_timeout`](Self::poll_timeout) is due
    /// (an early call does nothing but note the time). An expired decision
    /// is answered `451 4.3.0` ([`ServerEvent::DecisionExpired`]) and the
    /// session goes on; an expired peer timer or cap answers `421 4.4.2`
    /// and closes. Drain [`poll_action`](Self::poll_action) afterwards.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.now = now;
        match self.timers.expired(now) {
            None => {}
            Some(Expired::Decision) => self.expire_decision(),
            Some(Expired::Handshake) => {
                self.timers.end_handshake();
                self.close(CloseKind::Timeout(TimeoutKind::TlsHandshake));
            }
            Some(Expired::Peer(kind)) => {
                self.abort_message(AbortReason::Timeout);
                let reply = replies::timeout();
                self.out.reply(&reply, self.esc());
                self.close_with(CloseKind::Timeout(kind), Some(reply), None);
            }
        }
    }

    /// The TLS handshake that [`Action::StartTls`] asked for succeeded.
    /// The session starts over as just greeted (RFC 3207 §4.2): EHLO is
    /// needed again, and MAIL, RCPT and AUTH state is forgotten. Queues
    /// [`ServerEvent::TlsUpgraded`].
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no handshake was asked for;
    /// [`UsageError::Closed`] once closed.
    pub fn tls_established(&mut self, now: Instant, info: TlsInfo) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if !matches!(self.phase, Phase::TlsHandshake) {
            return Err(UsageError::InvalidState("no TLS handshake was requested"));
        }
        self.now = now;
        self.timers.end_handshake();
        self.tls = Some(info.clone());
        self.helo = None;
        self.auth = None;
        self.sasl = None;
        // STARTTLS is refused during a transaction; nothing to end here.
        self.txn = None;
        self.inbuf.clear();
        self.phase = Phase::Command;
        self.out.event(ServerEvent::TlsUpgraded(info));
        self.process();
        self.arm_idle(true);
        Ok(())
    }

    // -----------------------------------------------------------------
    // C. Commands.

    /// Answers the pending request named by `token`. The reply is queued
    /// and buffered (pipelined) input is processed, which may queue more
    /// replies and the next request: drain
    /// [`poll_action`](Self::poll_action) afterwards.
    ///
    /// `now` is the time of the decision: whatever was due by then happens
    /// first, as [`handle_timeout`](Self::handle_timeout) would do it (a
    /// decision whose deadline has passed was answered `451` and its token
    /// is gone).
    ///
    /// # Errors
    ///
    /// * [`UsageError::UnknownToken`]: not the pending request (answered,
    ///   expired, or never issued);
    /// * [`UsageError::InvalidReply`]: the reply does not fit the step (a
    ///   3xx; a positive code other than the step's: 220 connect, 250
    ///   HELO/EHLO/MAIL/message, 250/251 RCPT, 235 AUTH; `Accept` for a
    ///   secret request);
    /// * [`UsageError::Closed`] once closed.
    ///
    /// Apart from the time, the connection is unchanged after an error.
    pub fn decide(
        &mut self,
        now: Instant,
        token: Token,
        verdict: Verdict,
    ) -> Result<(), UsageError> {
        self.handle_timeout(now);
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let Some(pending) = self.pending.as_ref().filter(|p| p.token == token) else {
            return Err(UsageError::UnknownToken);
        };
        let reply = match verdict {
            Verdict::Accept if pending.step == Step::AuthSecret => {
                return Err(UsageError::InvalidReply(
                    "a secret request is answered with supply_secret; decide may only refuse it",
                ));
            }
            Verdict::Accept => None,
            Verdict::Reply(reply) => {
                pending.step.validate(&reply)?;
                Some(reply)
            }
        };
        let Some(pending) = self.pending.take() else {
            return Err(UsageError::UnknownToken);
        };
        self.timers.end_decision();
        self.apply(pending, reply);
        self.resume();
        Ok(())
    }

    /// Answers an [`AuthCheck::NeedSecret`](super::AuthCheck::NeedSecret)
    /// request: the user's stored secret, or `None` for an unknown user
    /// (the exchange then fails as a wrong password does, without telling
    /// the client the user does not exist). Drain
    /// [`poll_action`](Self::poll_action) afterwards.
    ///
    /// # Errors
    ///
    /// [`UsageError::UnknownToken`] when `token` is not a pending secret
    /// request (the decision deadline passed by `now`); [`UsageError::Closed`]
    /// once closed.
    pub fn supply_secret(
        &mut self,
        now: Instant,
        token: Token,
        secret: Option<StoredSecret>,
    ) -> Result<(), UsageError> {
        self.handle_timeout(now);
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let matches = self
            .pending
            .as_ref()
            .is_some_and(|p| p.token == token && p.step == Step::AuthSecret);
        if !matches {
            return Err(UsageError::UnknownToken);
        }
        let Some(pending) = self.pending.take() else {
            return Err(UsageError::UnknownToken);
        };
        self.timers.end_decision();
        if let Waiting::Auth(wait) = pending.waiting {
            self.auth_supply(wait, secret);
        }
        self.resume();
        Ok(())
    }

    /// Ends the session gracefully: `421 4.3.2` at the next command
    /// boundary, at once when the connection is waiting for a command. A
    /// DATA body in progress is received and decided first; a BDAT
    /// message between chunks is aborted. Drain
    /// [`poll_action`](Self::poll_action) afterwards.
    pub fn shutdown(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.now = now;
        self.shutting_down = true;
        match self.phase {
            Phase::Greeting => {
                self.pending = None;
                self.timers.end_decision();
                let reply = replies::shutting_down();
                self.out.reply(&reply, false);
                self.close_with(CloseKind::Shutdown, Some(reply), None);
            }
            _ => self.process(),
        }
    }

    /// Ends the session now, wherever it stands: a message in progress is
    /// aborted ([`ServerEvent::MessageAborted`] with
    /// [`AbortReason::Shutdown`]; never deliver it), a pending decision is
    /// dropped, and `421 4.3.2` is queued before the close (RFC 5321 §3.8:
    /// a server that must stop says so, even in the middle of a
    /// transfer). For the end of a stop's grace period, after
    /// [`shutdown`](Self::shutdown) did not end the session. Drain
    /// [`poll_action`](Self::poll_action) afterwards.
    pub fn shutdown_now(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        self.now = now;
        self.shutting_down = true;
        let esc = self.esc() && !matches!(self.phase, Phase::Greeting);
        let reply = replies::shutting_down();
        self.out.reply(&reply, esc);
        self.close_with(CloseKind::Shutdown, Some(reply), None);
    }

    // -----------------------------------------------------------------
    // D. Output.

    /// The next thing to do, in order: send bytes, start TLS, hand an event
    /// to the application, or close. Call until `None` after every input
    /// or command.
    ///
    /// Replies are gathered and come out as one [`Action::Send`] once the
    /// actions queued before them are taken, so all the replies of one
    /// drain — including those produced by decisions made while draining —
    /// are coalesced into one write (RFC 2920). Events can therefore come
    /// out ahead of replies produced before them: always drain to `None`
    /// (writing every `Send`) before waiting on the application. Pending
    /// replies are always queued ahead of [`Action::StartTls`],
    /// [`ServerEvent::Closed`] and [`Action::Close`].
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action<ServerEvent>> {
        self.out.poll()
    }

    // -----------------------------------------------------------------
    // Internals shared by the sibling modules.

    /// Whether replies carry enhanced status codes: configured and
    /// advertised in this session's EHLO reply.
    pub(crate) fn esc(&self) -> bool {
        self.capabilities().is_some_and(|c| c.enhanced_status_codes)
    }

    /// Queues a reply. With enhanced status codes in use, a 2xx/4xx/5xx
    /// reply without one gets `X.0.0`; otherwise any is stripped.
    pub(crate) fn send(&mut self, reply: &Reply) {
        let esc = self.esc();
        if esc && reply.enhanced().is_none() && !reply.code().is_intermediate() {
            let completed = replies::with_enhanced(reply.clone(), (0, 0, 0));
            self.out.reply(&completed, esc);
        } else {
            self.out.reply(reply, esc);
        }
    }

    /// Queues a reply without its enhanced code (greeting, HELO/EHLO).
    pub(crate) fn send_plain(&mut self, reply: &Reply) {
        self.out.reply(reply, false);
    }

    /// Ends the session with no reply involved (see
    /// [`close_with`](Self::close_with)).
    pub(crate) fn close(&mut self, kind: CloseKind) {
        self.close_with(kind, None, None);
    }

    /// Ends the session: reports an unfinished message as aborted, queues
    /// the pending replies, `Closed(reason)` and `Close`. `reply` is the
    /// one just queued that ends it, `command` the command concerned.
    pub(crate) fn close_with(
        &mut self,
        kind: CloseKind,
        reply: Option<Reply>,
        command: Option<String>,
    ) {
        if self.is_closed() {
            return;
        }
        let abort = match kind {
            CloseKind::PeerClosed => AbortReason::PeerClosed,
            CloseKind::Timeout(_) => AbortReason::Timeout,
            CloseKind::Shutdown => AbortReason::Shutdown,
            _ => AbortReason::SessionClosed,
        };
        let reason = CloseReason::new(kind, ())
            .with_reply(reply)
            .with_command(command);
        let end = if self.abort_message(abort) {
            TransactionEnd::Aborted(abort)
        } else if matches!(
            self.pending.as_ref().map(|p| &p.waiting),
            Some(Waiting::Message)
        ) {
            // The message arrived whole; its verdict never came.
            TransactionEnd::Refused
        } else {
            TransactionEnd::Closed
        };
        self.end_transaction(end);
        self.pending = None;
        self.timers.end_decision();
        self.sasl = None;
        self.inbuf = BytesMut::new();
        self.body_buf = BytesMut::new();
        self.phase = Phase::Closed;
        self.out.ordered_event(ServerEvent::Closed(reason));
        self.out.close();
    }

    /// Reports the message in progress as aborted (once). Returns whether
    /// a message was in progress.
    pub(crate) fn abort_message(&mut self, reason: AbortReason) -> bool {
        if let Some(txn) = self.txn.as_mut()
            && txn.transfer.take().is_some()
        {
            self.timers.end_transfer();
            if !txn.exceeded {
                self.out.event(ServerEvent::MessageAborted { reason });
            }
            true
        } else {
            false
        }
    }

    /// Forgets the transaction (RSET, HELO/EHLO, shutdown), reporting a
    /// message in progress aborted with `reason`; otherwise the
    /// transaction ends as `end`.
    pub(crate) fn reset_transaction(&mut self, reason: AbortReason, end: TransactionEnd) {
        let end = if self.abort_message(reason) {
            TransactionEnd::Aborted(reason)
        } else if self.txn.as_ref().is_some_and(|t| t.exceeded) {
            // A BDAT message already cut off at the size limit: it ends
            // as it would have at its LAST chunk, whether or not the client
            // sent LAST before it saw the 552 (the end must not depend on
            // how the replies and commands crossed).
            TransactionEnd::Aborted(AbortReason::SizeExceeded)
        } else {
            end
        };
        self.end_transaction(end);
    }

    /// Forgets the transaction, if one is open, and tells the application
    /// how it ended ([`ServerEvent::TransactionEnded`]).
    pub(crate) fn end_transaction(&mut self, end: TransactionEnd) {
        if let Some(txn) = self.txn.take() {
            let transaction = MailTransaction {
                from: txn.from,
                params: txn.params,
                recipients: txn.recipients,
            };
            self.out
                .event(ServerEvent::TransactionEnded { end, transaction });
        }
    }

    /// Drops all buffered input (a command that ends a pipelined group).
    pub(crate) fn discard_input(&mut self) {
        self.inbuf.clear();
    }

    /// After a decision: the peer timer restarts and buffered input runs.
    pub(crate) fn resume(&mut self) {
        if self.is_closed() {
            return;
        }
        self.process();
        self.arm_idle(true);
    }

    /// Runs buffered input until it runs out, a decision is needed, or the
    /// session stops reading.
    pub(crate) fn process(&mut self) {
        loop {
            if self.pending.is_some() {
                return;
            }
            let progressed = match self.phase {
                Phase::Greeting | Phase::TlsHandshake | Phase::Closed => return,
                Phase::Data => self.read_data(),
                Phase::Chunk(_) => self.read_chunk(),
                Phase::Command => {
                    if self.shutting_down {
                        self.reset_transaction(AbortReason::Shutdown, TransactionEnd::Closed);
                        let reply = replies::shutting_down();
                        self.send(&reply);
                        self.close_with(CloseKind::Shutdown, Some(reply), None);
                        return;
                    }
                    self.next_line()
                }
            };
            if !progressed {
                break;
            }
        }
        if self.eof && self.pending.is_none() && !self.is_closed() {
            self.close(CloseKind::PeerClosed);
        }
    }

    /// Takes `n` octets from the front of the input buffer.
    pub(crate) fn consume(&mut self, n: usize) {
        self.inbuf.advance(n.min(self.inbuf.len()));
    }
}

impl ServerConnection {
    /// Sets the wait for the peer after input or a decision: the data
    /// timer restarts; the command timer only when `fresh` (the server is
    /// ready for a new command) or when it was not running.
    pub(crate) fn arm_idle(&mut self, fresh: bool) {
        if self.is_closed() {
            return;
        }
        let timeouts = &self.config.timeouts;
        if matches!(self.phase, Phase::Data | Phase::Chunk(_)) {
            self.timers.wait_for_data(self.now, timeouts);
        } else {
            self.timers.wait_for_command(self.now, timeouts, fresh);
        }
    }
}
