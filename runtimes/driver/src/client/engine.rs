//! The per-connection client loop: a [`ClientConnection`] over an [`Io`].
//!
//! It drains the core's actions (writes each `Send`, flushes before
//! `StartTls` and `Close`, runs the TLS handshake with SNI and the core's
//! deadline, answers the TLS policy question through the hook), feeds the
//! body with back-pressure and races reads against the core's one timer.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use mailwire_core::client::{
    ClientConfig, ClientConnection, ClientEvent, CloseReason, Envelope, PlaintextDecision,
    TlsPolicy, TransactionId, TransactionOutcome,
};
use mailwire_core::wire::ehlo::Capabilities;
use mailwire_core::wire::reply::Reply;
use mailwire_core::{Action, TlsInfo};
use rustls_pki_types::ServerName;

use super::ClientError;
use super::body::BodySource;
use super::trace::Tracer;
use crate::io::{Input, Io, feed, tls_within, until};
use crate::tls::ClientTls;
use crate::{Runtime, Transport};

/// Answers the TLS policy question (tcllib's `-tlspolicy`): called when an
/// opportunistic client's STARTTLS is refused (the reply is the server's
/// answer to STARTTLS). [`PlaintextDecision::Continue`] goes on in
/// plaintext; [`PlaintextDecision::Abandon`] quits this server (and
/// [`send_message`](super::send_message) tries the next one).
pub type TlsPolicyHook = Arc<dyn Fn(&Reply) -> PlaintextDecision + Send + Sync>;

/// One client connection being driven.
pub(crate) struct Engine<S, R> {
    pub(crate) conn: ClientConnection,
    pub(crate) io: Io<S, R>,
    config: Arc<ClientConfig>,
    tls: ClientTls,
    hook: Option<TlsPolicyHook>,
    server_name: String,
    linger: Duration,
    /// Events for the caller (Ready and Closed are kept in fields).
    pub(crate) events: VecDeque<ClientEvent>,
    pub(crate) ready: Option<Capabilities>,
    pub(crate) closed: Option<CloseReason>,
    /// Outcomes not yet taken, in the order they came (under PIPELINING
    /// a message's outcome may come while the next one is running).
    pub(crate) completed: VecDeque<TransactionOutcome>,
    /// What broke the transport or the TLS handshake, if anything did.
    pub(crate) transport_error: Option<String>,
    /// Writes failed: nothing more is written.
    broken: bool,
    /// The transport was shut down (after `Action::Close`).
    shut: bool,
    /// The protocol trace (observer and `tracing`).
    pub(crate) tracer: Tracer,
}

impl<S, R> Engine<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        conn: ClientConnection,
        io: Io<S, R>,
        config: Arc<ClientConfig>,
        tls: ClientTls,
        hook: Option<TlsPolicyHook>,
        server_name: String,
        linger: Duration,
        tracer: Tracer,
    ) -> Self {
        Engine {
            conn,
            io,
            config,
            tls,
            hook,
            server_name,
            linger,
            events: VecDeque::new(),
            ready: None,
            closed: None,
            completed: VecDeque::new(),
            transport_error: None,
            broken: false,
            shut: false,
            tracer,
        }
    }

    /// Carries out every queued action, then flushes (a failed flush ends
    /// the connection, whose last actions are carried out too).
    pub(crate) async fn drain(&mut self) {
        loop {
            self.drain_once().await;
            if self.broken || self.shut {
                return;
            }
            match self.io.flush().await {
                Ok(()) => return,
                Err(e) => self.fail(e),
            }
        }
    }

    async fn drain_once(&mut self) {
        loop {
            // Consecutive `Send`s leave in one write.
            let writing = !(self.broken || self.shut);
            let tracer = &mut self.tracer;
            let (action, written) = self
                .io
                .next_action(&mut self.conn, writing, |parts, conn| {
                    tracer.sent(parts, conn.phase());
                })
                .await;
            if let Err(e) = written {
                self.fail(e);
            }
            let Some(action) = action else {
                return;
            };
            match action {
                Action::Send(_) => {}
                Action::StartTls => self.handshake().await,
                Action::Event(ClientEvent::TlsPolicyRequest { token, reply }) => {
                    let decision = match &self.hook {
                        Some(hook) => hook(&reply),
                        // No hook: as tcllib without `-tlspolicy`, go on in
                        // plaintext (the core only asks under an
                        // opportunistic policy).
                        None => PlaintextDecision::Continue,
                    };
                    let now = self.io.runtime.now();
                    if self.conn.decide_plaintext(now, token, decision).is_err() {
                        self.conn.abort(now);
                    }
                }
                Action::Event(ClientEvent::Ready { capabilities }) => {
                    self.ready = Some(capabilities);
                }
                Action::Event(ClientEvent::Closed(reason)) => self.closed = Some(reason),
                Action::Event(ClientEvent::TransactionCompleted(outcome)) => {
                    self.completed.push_back(outcome);
                }
                Action::Event(event) => self.events.push_back(event),
                Action::Close if !self.shut => {
                    self.shut = true;
                    self.io.close(self.linger).await;
                }
                _ => {}
            }
        }
    }

    /// The transport broke: the core learns it as the end of the stream.
    fn fail(&mut self, error: io::Error) {
        self.broken = true;
        if self.transport_error.is_none() {
            self.transport_error = Some(error.to_string());
        }
        let now = self.io.runtime.now();
        self.conn.handle_eof(now);
    }

    /// Flushes, runs the client side of the TLS handshake within the core's
    /// deadline, and reports the result to the core.
    async fn handshake(&mut self) {
        if self.broken {
            return;
        }
        if let Err(e) = self.io.flush().await {
            self.fail(e);
            return;
        }
        let accept_invalid = match self.config.tls {
            TlsPolicy::Required {
                accept_invalid_certs,
            } => accept_invalid_certs,
            // RFC 7435: encrypt even when the certificate does not verify;
            // the core records `peer_verified = false`.
            TlsPolicy::Opportunistic { .. } => true,
            _ => false,
        };
        let deadline = self.conn.poll_timeout();
        let result = tls_connect(
            &mut self.io,
            &self.tls,
            accept_invalid,
            &self.server_name,
            deadline,
        )
        .await;
        let now = self.io.runtime.now();
        match result {
            Ok(info) => {
                self.tracer.tls_started(&info);
                if self.conn.tls_established(now, info).is_err() {
                    self.conn.abort(now);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                self.transport_error = Some(e.to_string());
                self.broken = true;
                self.conn.handle_timeout(now);
                if !self.conn.is_closed() {
                    self.conn.abort(now);
                }
            }
            Err(e) => {
                tracing::debug!(server = %self.server_name, error = %e, "TLS handshake failed");
                self.broken = true;
                self.transport_error = Some(e.to_string());
                self.conn.handle_eof(now);
            }
        }
    }

    /// Waits for input or for the core's deadline, and feeds it in.
    pub(crate) async fn wait_input(&mut self) {
        if self.conn.is_closed() {
            return;
        }
        let deadline = self.conn.poll_timeout();
        if self.broken || !self.conn.wants_read() {
            let now = self.io.runtime.now();
            match deadline {
                Some(at) => {
                    self.io.runtime.sleep_until(at).await;
                    self.conn.handle_timeout(self.io.runtime.now());
                }
                None if self.broken => self.conn.handle_eof(now),
                None => self.conn.abort(now),
            }
            return;
        }
        let input = self.io.read(deadline).await;
        if let Input::Data(n) = input {
            self.tracer.received(self.io.read_buf(n));
        }
        if feed(&mut self.conn, &self.io, &input).is_err() {
            self.conn.abort(self.io.runtime.now());
        }
        if matches!(input, Input::Eof) && self.transport_error.is_none() {
            self.transport_error = Some("the server closed the connection".into());
        }
    }

    /// Runs until the connection is ready for mail (`Ok`) or closed
    /// (`Err` with the reason).
    pub(crate) async fn until_ready(&mut self) -> Result<Capabilities, CloseReason> {
        loop {
            self.drain().await;
            if let Some(caps) = self.ready.clone() {
                return Ok(caps);
            }
            if let Some(reason) = &self.closed {
                return Err(reason.clone());
            }
            self.wait_input().await;
        }
    }

    /// Sends one message: `send_mail`, the body with back-pressure (again
    /// from its start when the core asks for a further attempt; a body
    /// that cannot start again ends the connection), until its outcome.
    /// Waiting for the body counts against the core's data-block timeout.
    pub(crate) async fn transaction<B: BodySource>(
        &mut self,
        envelope: Envelope,
        body: &mut B,
    ) -> Result<TransactionOutcome, ClientError> {
        if let Some(reason) = &self.closed {
            return Err(ClientError::Closed(reason.clone()));
        }
        let now = self.io.runtime.now();
        let id = self.conn.send_mail(now, envelope)?;
        self.outcome(id, body).await
    }

    /// Starts one message and returns once its body is handed over: at
    /// once under PIPELINING (the final dot is queued, not yet written, so
    /// the next message's commands join it in one write; RFC 2920 §3.1),
    /// otherwise when its outcome is in. Outcomes are taken with
    /// [`next_outcome`](Self::next_outcome) (or `completed`).
    pub(crate) async fn submit<B: BodySource>(
        &mut self,
        envelope: Envelope,
        body: &mut B,
    ) -> Result<TransactionId, ClientError> {
        if let Some(reason) = &self.closed {
            return Err(ClientError::Closed(reason.clone()));
        }
        let now = self.io.runtime.now();
        let id = self.conn.send_mail(now, envelope)?;
        if let Some(outcome) = self.drive(id, body, true).await? {
            self.completed.push_back(outcome);
        }
        Ok(id)
    }

    /// The oldest outcome not yet taken, waiting for it while a message is
    /// in flight; `None` when nothing is (or the connection closed and
    /// every outcome was taken).
    pub(crate) async fn next_outcome(&mut self) -> Option<TransactionOutcome> {
        loop {
            self.drain().await;
            if let Some(outcome) = self.completed.pop_front() {
                return Some(outcome);
            }
            let in_flight =
                self.conn.finishing_id().is_some() || self.conn.transaction_id().is_some();
            if !in_flight || self.closed.is_some() || self.conn.wants_body() {
                return None;
            }
            self.wait_input().await;
        }
    }

    /// Runs transaction `id` to its outcome, feeding `body` when the core
    /// asks for it.
    pub(crate) async fn outcome<B: BodySource>(
        &mut self,
        id: TransactionId,
        body: &mut B,
    ) -> Result<TransactionOutcome, ClientError> {
        match self.drive(id, body, false).await? {
            Some(outcome) => Ok(outcome),
            None => Err(ClientError::Usage(mailwire_core::UsageError::InvalidState(
                "the message's outcome is still to come",
            ))),
        }
    }

    /// Feeds `body` to transaction `id` until its outcome (`Some`), or,
    /// with `park`, until its end of data is queued and the connection is
    /// ready for the next message (`None`). An error means the message has
    /// no outcome to report (the connection was ended).
    async fn drive<B: BodySource>(
        &mut self,
        id: TransactionId,
        body: &mut B,
        park: bool,
    ) -> Result<Option<TransactionOutcome>, ClientError> {
        let result = self.drive_inner(id, body, park).await;
        if result.is_err() {
            self.completed.retain(|o| o.id != id);
        }
        result
    }

    async fn drive_inner<B: BodySource>(
        &mut self,
        id: TransactionId,
        body: &mut B,
        park: bool,
    ) -> Result<Option<TransactionOutcome>, ClientError> {
        loop {
            self.drain().await;
            while let Some(event) = self.events.pop_front() {
                if matches!(event, ClientEvent::BodyRequested { .. }) && !body.rewind() {
                    self.conn.abort(self.io.runtime.now());
                }
            }
            if let Some(pos) = self.completed.iter().position(|o| o.id == id) {
                return Ok(self.completed.remove(pos));
            }
            if let Some(reason) = &self.closed {
                return Err(ClientError::Closed(reason.clone()));
            }
            if self.conn.wants_body() {
                let mut piece = self.next_piece(body).await;
                // Pieces that are ready at once (a body in memory, the end)
                // are handed over before anything is written, so they
                // leave in one write with the end of the data.
                loop {
                    let now = self.io.runtime.now();
                    let ended = matches!(piece, Some(Ok(None)));
                    let given = match piece {
                        None => {
                            self.conn.handle_timeout(now);
                            break;
                        }
                        Some(Ok(Some(chunk))) if chunk.is_empty() => Ok(()),
                        Some(Ok(Some(chunk))) => self.conn.send_body(now, chunk),
                        Some(Ok(None)) => self.conn.end_body(now),
                        Some(Err(error)) => {
                            self.conn.abort(now);
                            self.drain().await;
                            return Err(ClientError::Body(error));
                        }
                    };
                    if let Err(error) = given {
                        // The transaction cannot go on: end the connection
                        // (its outcome is "not sent") and say why.
                        self.conn.abort(now);
                        self.drain().await;
                        return Err(error.into());
                    }
                    if ended && park && self.conn.finishing_id() == Some(id) {
                        // Not drained: the next message's commands join
                        // the final dot in one write.
                        return Ok(None);
                    }
                    if ended || !self.conn.wants_body() {
                        break;
                    }
                    match futures_lite::future::poll_once(body.next_chunk()).await {
                        Some(next) => piece = Some(next),
                        None => break,
                    }
                }
                continue;
            }
            self.wait_input().await;
        }
    }

    /// Runs until an event `pick` takes (events it leaves are kept for
    /// later), or the connection closes.
    pub(crate) async fn until_event<T>(
        &mut self,
        mut pick: impl FnMut(&ClientEvent) -> Option<T>,
    ) -> Result<T, ClientError> {
        loop {
            self.drain().await;
            if let Some(pos) = self.events.iter().position(|e| pick(e).is_some()) {
                let event = self.events.remove(pos);
                if let Some(found) = event.as_ref().and_then(&mut pick) {
                    return Ok(found);
                }
            }
            if let Some(reason) = &self.closed {
                return Err(ClientError::Closed(reason.clone()));
            }
            self.wait_input().await;
        }
    }

    /// The next piece of the body, or `None` when the core's deadline
    /// passes first.
    async fn next_piece<B: BodySource>(
        &mut self,
        body: &mut B,
    ) -> Option<io::Result<Option<Bytes>>> {
        let next = async { Some(body.next_chunk().await) };
        match self.conn.poll_timeout() {
            None => next.await,
            Some(at) => until(&self.io.runtime, at, next, || None).await,
        }
    }

    /// QUIT (or abort when not ready), then runs to the close (bounded by
    /// the core's QUIT deadline and the close linger).
    pub(crate) async fn finish(&mut self) -> Option<CloseReason> {
        let now = self.io.runtime.now();
        if !self.conn.is_closed() && self.conn.quit(now).is_err() {
            self.conn.abort(now);
        }
        while !self.conn.is_closed() {
            self.drain().await;
            if self.conn.is_closed() {
                break;
            }
            self.wait_input().await;
        }
        // Carries out the final `Close`.
        self.drain().await;
        self.closed.clone()
    }
}

/// The client side of a TLS handshake on a plain transport, bounded by
/// `deadline`: SNI is `server_name` (an IP address sends none), and the
/// certificate is checked by `tls` (`accept_invalid` lets an unverifiable
/// one through, recorded as `peer_verified = false`).
pub(crate) async fn tls_connect<S, R>(
    io: &mut Io<S, R>,
    tls: &ClientTls,
    accept_invalid: bool,
    server_name: &str,
    deadline: Option<std::time::Instant>,
) -> io::Result<TlsInfo>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    let (connector, record) = tls
        .connector(accept_invalid)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("server name {server_name:?}: {e}"),
        )
    })?;
    let transport: &mut Transport<S> = &mut io.transport;
    let handshake = transport.connect_tls(&connector, name, move || record.verified());
    let result = tls_within(&io.runtime, deadline, handshake).await;
    // The error in words (why the certificate did not verify), keeping
    // its kind.
    result.map_err(|e| io::Error::new(e.kind(), crate::tls_error::explain(&e)))
}
