//! [`ClientConnection`]: the client role's state machine — its fields, the
//! getters, the inputs (bytes, end of stream, time), the output queue and
//! closing. Setup, AUTH, transactions and bodies live in sibling files.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::auth_state::AuthExchange;
use super::close::{CloseKind, CloseReason, Phase};
use super::config::{ClientConfig, ClientSession, TlsPolicy};
use super::deadline::{Deadline, Timers};
use super::event::{ClientEvent, PolicyToken};
use super::finishing::Finishing;
use super::outcome::TransactionId;
use super::pending::{Pending, PendingKind};
use super::transaction_state::{Step, Transaction};
use crate::output::Output;
use crate::sasl::Mechanism;
use crate::wire::ehlo::{Capabilities, EhloReply};
use crate::wire::reply::{Reply, ReplyCode, ReplyParser};
use crate::{Action, TlsInfo, UsageError};

/// Where the connection stands (internal; see [`ClientConnection::phase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Waiting for the greeting.
    Greeting,
    /// EHLO or HELO sent.
    Hello,
    /// STARTTLS sent.
    StartTls,
    /// `StartTls` emitted; waiting for `tls_established`.
    TlsHandshake,
    /// A `TlsPolicyRequest` is pending.
    PolicyDecision(PolicyToken),
    /// AUTH exchange.
    Auth,
    /// QUED sent.
    Queue,
    /// Idle: `send_mail` is welcome.
    Ready,
    /// A transaction is running.
    Transaction,
    /// QUIT sent.
    Quitting,
    /// `Closed` emitted.
    Closed,
}

/// The client side of one SMTP connection, as a sans-IO state machine.
///
/// See the [module documentation](super) for the run loop. In short: feed
/// it bytes ([`handle_input`](Self::handle_input)), end of stream
/// ([`handle_eof`](Self::handle_eof)), time
/// ([`handle_timeout`](Self::handle_timeout)) and the TLS switch
/// ([`tls_established`](Self::tls_established)); give it commands
/// ([`send_mail`](Self::send_mail), [`send_body`](Self::send_body),
/// [`end_body`](Self::end_body), [`quit`](Self::quit),
/// [`decide_plaintext`](Self::decide_plaintext)); after each call drain
/// [`poll_action`](Self::poll_action) until `None` and arm one timer for
/// [`poll_timeout`](Self::poll_timeout).
pub struct ClientConnection {
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) session: ClientSession,
    pub(crate) state: State,
    parser: ReplyParser,
    pub(crate) pending: VecDeque<Pending>,
    /// What the driver takes from `poll_action`, command lines and body
    /// octets gathered into one write.
    pub(crate) out: Output<ClientEvent, BytesMut>,
    /// Input octets received so far.
    pub(crate) received: u64,
    /// Input offset of the first octet of the reply being parsed.
    reply_start: u64,
    pub(crate) ehlo: Option<EhloReply>,
    pub(crate) capabilities: Option<Capabilities>,
    pub(crate) greeting: Option<Reply>,
    pub(crate) tls: Option<TlsInfo>,
    pub(crate) starttls_tried: bool,
    pub(crate) auth: Option<AuthExchange>,
    pub(crate) authenticated: Option<Mechanism>,
    pub(crate) txn: Option<Transaction>,
    /// A message whose end of data is written, under PIPELINING, awaiting
    /// its final reply while the next transaction may already run
    /// (RFC 2920 §3.1).
    pub(crate) finishing: Finishing,
    pub(crate) next_txn: u64,
    pub(crate) next_token: u64,
    /// The deadlines: the oldest command's reply, a wait that is not a
    /// command's (TLS handshake, policy decision).
    pub(crate) timers: Timers,
    /// Why the connection is quitting, when it quits after a failure.
    pub(crate) closing: Option<CloseReason>,
}

impl std::fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("server", &self.session.server_name)
            .field("state", &self.state)
            .field("phase", &self.phase())
            .field("tls", &self.tls)
            .field("authenticated", &self.authenticated)
            .finish_non_exhaustive()
    }
}

impl ClientConnection {
    /// A connection that has just been opened, waiting for the greeting.
    ///
    /// `session` says which server this is (SNI, DIGEST-MD5) and whether
    /// TLS is already on (implicit TLS). Nothing is queued unless implicit
    /// TLS did not verify under [`TlsPolicy::Required`], in which case
    /// `Closed` and `Close` are queued at once.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidInput`] when the configured client name is not
    /// a valid ASCII domain or address literal, or a limit is zero.
    pub fn new(
        config: Arc<ClientConfig>,
        session: ClientSession,
        now: Instant,
    ) -> Result<ClientConnection, UsageError> {
        if config.client_name.validate().is_err() || config.client_name.is_utf8() {
            return Err(UsageError::InvalidInput("client name"));
        }
        if config.body_buffer == 0 || config.max_bdat_in_flight == 0 {
            return Err(UsageError::InvalidInput(
                "body_buffer and max_bdat_in_flight must be positive",
            ));
        }
        if config.max_recipients_per_transaction == Some(0) {
            return Err(UsageError::InvalidInput(
                "max_recipients_per_transaction is zero",
            ));
        }
        let tls = session.implicit_tls.clone();
        let mut conn = ClientConnection {
            parser: ReplyParser::new(config.reply_limits),
            config,
            session,
            state: State::Greeting,
            pending: VecDeque::new(),
            out: Output::default(),
            received: 0,
            reply_start: 0,
            ehlo: None,
            capabilities: None,
            greeting: None,
            tls,
            starttls_tried: false,
            auth: None,
            authenticated: None,
            txn: None,
            finishing: Finishing::default(),
            next_txn: 1,
            next_token: 1,
            timers: Timers::default(),
            closing: None,
        };
        if let (
            TlsPolicy::Required {
                accept_invalid_certs: false,
            },
            Some(info),
        ) = (conn.config.tls, &conn.tls)
            && !info.peer_verified
        {
            conn.close(CloseReason::new(
                CloseKind::CertificateNotVerified,
                Phase::Greeting,
            ));
            return Ok(conn);
        }
        conn.pending.push_back(Pending {
            kind: PendingKind::Greeting,
            command: "<connect>".to_owned(),
            sent_at: 0,
        });
        conn.timers.set_opt(
            Deadline::Reply,
            now.checked_add(conn.config.timeouts.greeting),
        );
        Ok(conn)
    }

    // -----------------------------------------------------------------
    // A. Getters.

    /// Whether the connection reads: `false` once closed and between
    /// [`Action::StartTls`] and [`tls_established`](Self::tls_established).
    #[must_use]
    pub fn wants_read(&self) -> bool {
        !matches!(self.state, State::Closed | State::TlsHandshake)
    }

    /// Whether `Closed` has been emitted.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Whether the connection is idle and set up: `send_mail` is welcome.
    ///
    /// Under PIPELINING this is true again as soon as a message's end of
    /// data is queued ([`end_body`](Self::end_body)): the next
    /// transaction's commands may follow the final dot in the same write
    /// (RFC 2920 §3.1) while that message's outcome is still to come.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// The earliest deadline; call [`handle_timeout`](Self::handle_timeout)
    /// when it passes. `None` when nothing is awaited (idle, closed).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_deadline().map(|(at, _, _)| at)
    }

    /// The capabilities of the last EHLO reply (empty after HELO); `None`
    /// before the hello is done, and again between STARTTLS and the EHLO
    /// that follows it.
    #[must_use]
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.capabilities.as_ref()
    }

    /// The last EHLO reply, parsed (`None` before it and in HELO mode).
    #[must_use]
    pub fn ehlo(&self) -> Option<&EhloReply> {
        self.ehlo.as_ref()
    }

    /// The server's greeting.
    #[must_use]
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }

    /// The TLS session's facts, once TLS is on.
    #[must_use]
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// The mechanism AUTH succeeded with.
    #[must_use]
    pub fn authenticated(&self) -> Option<Mechanism> {
        self.authenticated
    }

    /// The message in progress, if any.
    #[must_use]
    pub fn transaction_id(&self) -> Option<TransactionId> {
        self.txn.as_ref().map(|t| t.id)
    }

    /// The message whose end of data is sent and whose final reply is
    /// still awaited while the connection is ready for the next one
    /// (PIPELINING only; see [`is_ready`](Self::is_ready)).
    #[must_use]
    pub fn finishing_id(&self) -> Option<TransactionId> {
        self.finishing.id()
    }

    /// The step the connection is in.
    #[must_use]
    pub fn phase(&self) -> Phase {
        if let Some(head) = self.pending.front() {
            return head.kind.phase();
        }
        match self.state {
            State::Greeting => Phase::Greeting,
            State::Hello => Phase::Ehlo,
            State::StartTls => Phase::StartTls,
            State::TlsHandshake => Phase::TlsHandshake,
            State::PolicyDecision(_) => Phase::PolicyDecision,
            State::Auth => Phase::Auth,
            State::Queue => Phase::Queue,
            State::Transaction => self.txn.as_ref().map_or(Phase::Idle, Transaction::phase),
            State::Quitting => Phase::Quit,
            State::Ready | State::Closed => Phase::Idle,
        }
    }

    /// Reply octets held while a reply is incomplete. Never more than the
    /// configured [`ReplyLimits::max_total`](crate::wire::reply::ReplyLimits::max_total).
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.parser.buffered_len()
    }

    /// Octets queued in `Send` actions that the driver has not taken yet.
    #[must_use]
    pub fn queued_len(&self) -> usize {
        self.out.queued_len()
    }

    // -----------------------------------------------------------------
    // B. Inputs.

    /// Bytes from the server.
    ///
    /// Replies are parsed incrementally across any chunking; each complete
    /// reply moves the session on and may queue commands, events, a
    /// `StartTls` or the close. Bytes that follow the `220` to STARTTLS in
    /// the same chunk are discarded, never read as replies. A reply that
    /// starts before the command it would answer was sent, or that nothing
    /// awaits, ends the connection (`421` and `221` as
    /// [`CloseKind::ServiceClosing`]), and so does a `421` or `221` to any
    /// command but QUIT.
    ///
    /// # Errors
    ///
    /// [`UsageError::Closed`] after the close, [`UsageError::NotReading`]
    /// while [`wants_read`](Self::wants_read) is false; nothing changes.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if !self.wants_read() {
            return Err(UsageError::NotReading);
        }
        let base = self.received;
        self.received = self.received.saturating_add(input.len() as u64);
        let mut pos = 0usize;
        while let Some(rest) = input.get(pos..).filter(|rest| !rest.is_empty()) {
            if !self.wants_read() {
                // After the 220 to STARTTLS, or closed: the rest is dropped.
                break;
            }
            if self.parser.is_idle() {
                self.reply_start = base.saturating_add(pos as u64);
            }
            let (used, result) = self.parser.feed(rest);
            pos = pos.saturating_add(used);
            match result {
                None => {
                    if used == 0 {
                        break;
                    }
                }
                Some(Ok(reply)) => self.on_reply(now, reply),
                Some(Err(error)) => {
                    let phase = self.phase();
                    let command = self.pending.front().map(|p| p.command.clone());
                    self.close(
                        CloseReason::new(CloseKind::MalformedReply(error), phase)
                            .with_command(command),
                    );
                }
            }
        }
        self.flush();
        Ok(())
    }

    /// The server closed its side (or the transport failed, or the TLS
    /// handshake failed). Queues the outcome of a running transaction
    /// ([`Outcome::Unknown`](super::Outcome::Unknown) if the end of its data
    /// was sent and not answered), `Closed` and `Close`. Nothing happens
    /// once closed. A deadline that had passed by `now` counts first (the
    /// connection closes as timed out, as
    /// [`handle_timeout`](Self::handle_timeout) would have closed it).
    pub fn handle_eof(&mut self, now: Instant) {
        self.handle_timeout(now);
        if self.is_closed() {
            return;
        }
        // QUIT may follow a final dot still unanswered (PIPELINING): an
        // end of stream before that reply is a lost connection, not a quit.
        let quitting = self.state == State::Quitting
            && self
                .pending
                .front()
                .is_none_or(|p| p.kind == PendingKind::Quit);
        let reason = match self.closing.take() {
            Some(reason) if quitting => reason,
            _ if quitting => {
                CloseReason::new(CloseKind::Quit, Phase::Quit).with_command(Some("QUIT".into()))
            }
            _ => {
                let command = self.pending.front().map(|p| p.command.clone());
                CloseReason::new(CloseKind::ConnectionLost, self.phase()).with_command(command)
            }
        };
        self.close(reason);
    }

    /// The TLS handshake after [`Action::StartTls`] finished. Queues
    /// `TlsUpgraded` and EHLO (capabilities and AUTH state are forgotten,
    /// RFC 3207 §4.2) — or, under [`TlsPolicy::Required`] with an
    /// unverified certificate, `Closed` and `Close`.
    ///
    /// If the handshake failed, call [`handle_eof`](Self::handle_eof)
    /// instead.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] when no handshake was asked for.
    pub fn tls_established(&mut self, now: Instant, info: TlsInfo) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        if self.state != State::TlsHandshake {
            return Err(UsageError::InvalidState("no TLS handshake was asked for"));
        }
        self.on_tls_established(now, info);
        self.flush();
        Ok(())
    }

    /// Ends the connection at once, without QUIT: queues the outcome of a
    /// running transaction (not sent, or unknown if its data was
    /// complete), `Closed` ([`CloseKind::Aborted`]) and `Close`. Nothing
    /// happens once closed.
    pub fn abort(&mut self, now: Instant) {
        let _ = now;
        if self.is_closed() {
            return;
        }
        let command = self.pending.front().map(|p| p.command.clone());
        self.close(CloseReason::new(CloseKind::Aborted, self.phase()).with_command(command));
    }

    /// Sends QUIT. The connection closes when the server answers (or the
    /// QUIT times out, or the server closes) with `Closed`
    /// ([`CloseKind::Quit`]) and `Close`.
    ///
    /// # Errors
    ///
    /// [`UsageError::InvalidState`] unless [`is_ready`](Self::is_ready),
    /// or an envelope built step by step
    /// ([`open_mail`](Self::open_mail)) is open with every command
    /// answered — it is then abandoned (not sent,
    /// [`NotSentReason::Cancelled`](super::NotSentReason::Cancelled)) and
    /// QUIT goes at once, as swaks' `--quit-after mail` or `rcpt` (use
    /// [`abort`](Self::abort) to stop in the middle).
    pub fn quit(&mut self, now: Instant) -> Result<(), UsageError> {
        if self.is_closed() {
            return Err(UsageError::Closed);
        }
        let open_and_answered = self.state == State::Transaction
            && self.pending.is_empty()
            && self.txn.as_ref().is_some_and(|t| {
                t.open == Some(true) && matches!(&t.step, Step::Envelope(e) if e.mail_ok.is_some())
            });
        if open_and_answered && let Some(mut txn) = self.txn.take() {
            if txn.failure.is_none() {
                txn.failure = Some((super::NotSentReason::Cancelled, None));
            }
            let outcome = self.abandon_transaction(txn, None);
            self.push_event(ClientEvent::TransactionCompleted(outcome));
            self.state = State::Ready;
        }
        if self.state != State::Ready {
            return Err(UsageError::InvalidState("quit when ready (or abort)"));
        }
        self.send_quit(now, None);
        self.flush();
        Ok(())
    }

    // -----------------------------------------------------------------
    // D. Output.

    /// The next thing for the driver to do, in order; `None` when there is
    /// nothing. Drain it after every input or command.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action<ClientEvent>> {
        self.out.poll()
    }

    // -----------------------------------------------------------------
    // Internals shared by the sibling files.

    /// Sends QUIT; `reason` is what `Closed` will say (a normal quit when
    /// `None`).
    pub(crate) fn send_quit(&mut self, now: Instant, reason: Option<CloseReason>) {
        self.closing = reason;
        self.state = State::Quitting;
        self.timers.clear(Deadline::WAIT);
        self.send_command(now, PendingKind::Quit, b"QUIT\r\n", None);
    }

    /// Quits politely after a failure during setup.
    pub(crate) fn quit_after(&mut self, now: Instant, reason: CloseReason) {
        self.send_quit(now, Some(reason));
    }

    /// Ends the connection: the running transaction's outcome, `Closed`,
    /// `Close`.
    pub(crate) fn close(&mut self, reason: CloseReason) {
        if self.is_closed() {
            return;
        }
        self.flush();
        // The oldest first: the message awaiting its final reply, then the
        // one running behind it (which never got its end of data in).
        if let Some(txn) = self.finishing.take() {
            let outcome = self.abandon_transaction(txn, reason.reply.as_ref());
            self.push_event(ClientEvent::TransactionCompleted(outcome));
        }
        if let Some(txn) = self.txn.take() {
            let outcome = self.abandon_transaction(txn, reason.reply.as_ref());
            self.push_event(ClientEvent::TransactionCompleted(outcome));
        }
        self.push_event(ClientEvent::Closed(reason));
        self.out.close();
        self.state = State::Closed;
        self.pending.clear();
        self.parser.reset();
        self.timers.clear_all();
        self.closing = None;
        self.auth = None;
    }

    /// One complete reply: match it with the oldest command awaiting one.
    fn on_reply(&mut self, now: Instant, reply: Reply) {
        let Some(head) = self.pending.pop_front() else {
            self.on_unsolicited(reply);
            return;
        };
        if self.reply_start < head.sent_at {
            let reason = CloseReason::new(
                CloseKind::ProtocolViolation("reply sent before its command"),
                head.kind.phase(),
            )
            .with_reply(Some(reply))
            .with_command(Some(head.command));
            self.close(reason);
            return;
        }
        let next = self
            .pending
            .front()
            .and_then(|next| now.checked_add(next.kind.timeout(&self.config.timeouts)));
        self.timers.set_opt(Deadline::Reply, next);
        // RFC 5321 §3.8: 421 and 221 both say the server is closing the
        // channel. Neither is ever an answer to go on with (a 221 to EHLO
        // or STARTTLS is not a success); only QUIT expects one, and the
        // greeting has its own rule.
        let closing = matches!(
            reply.code(),
            ReplyCode::SERVICE_UNAVAILABLE | ReplyCode::CLOSING
        );
        if closing && !matches!(head.kind, PendingKind::Greeting | PendingKind::Quit) {
            self.note_service_closing(head.kind, &reply);
            let reason = CloseReason::new(CloseKind::ServiceClosing, head.kind.phase())
                .with_reply(Some(reply))
                .with_command(Some(head.command));
            self.close(reason);
            return;
        }
        match head.kind {
            PendingKind::Greeting => self.on_greeting(now, reply, head.command),
            PendingKind::Ehlo => self.on_ehlo(now, reply, head.command),
            PendingKind::Helo => self.on_helo(now, reply, head.command),
            PendingKind::StartTls => self.on_starttls(now, reply, head.command),
            PendingKind::Auth => self.on_auth(now, reply, head.command),
            PendingKind::Queue => self.on_queue(now),
            PendingKind::Mail => self.on_mail(now, reply),
            PendingKind::Rcpt(index) => self.on_rcpt(now, index, reply),
            PendingKind::Data => self.on_data(now, reply),
            PendingKind::DataEnd => self.on_data_end(now, reply),
            PendingKind::Bdat { last } => self.on_bdat(now, last, reply),
            PendingKind::Rset => self.on_rset(now),
            PendingKind::Quit => {
                let reason = self.closing.take().unwrap_or_else(|| {
                    CloseReason::new(CloseKind::Quit, Phase::Quit)
                        .with_reply(Some(reply))
                        .with_command(Some(head.command))
                });
                self.close(reason);
            }
        }
    }

    /// A reply nothing awaits: `421` or `221` closes as the server asks;
    /// anything else breaks the protocol.
    fn on_unsolicited(&mut self, reply: Reply) {
        let phase = self.phase();
        let kind = if matches!(
            reply.code(),
            ReplyCode::SERVICE_UNAVAILABLE | ReplyCode::CLOSING
        ) {
            CloseKind::ServiceClosing
        } else {
            CloseKind::ProtocolViolation("unsolicited reply")
        };
        self.close(CloseReason::new(kind, phase).with_reply(Some(reply)));
    }
}
