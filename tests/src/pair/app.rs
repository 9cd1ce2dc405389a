//! The two applications a [`Pair`](super::Pair) drives: yours (or the
//! scripted ones), each seeing its connection's events and acting on it
//! through a context that records every call.

use std::time::{Duration, Instant};

use bytes::Bytes;
use mailwire_core::UsageError;
use mailwire_core::client::{
    ClientConnection, ClientEvent, Envelope, PlaintextDecision, PolicyToken, TransactionId,
};
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{ServerConnection, ServerEvent, Token, Verdict};

use super::transcript::{Entry, What};

/// The server side's application: what your handler decides, driven by the
/// server connection's events.
///
/// Requests ([`ServerEvent::token`] is `Some`) may be answered at once
/// (call [`ServerCx::decide`] inside [`on_event`](Self::on_event)) or later:
/// remember the token, return a time from [`next_wake`](Self::next_wake),
/// and decide in [`on_wake`](Self::on_wake). Virtual time only moves when
/// nothing else can, so a decision made "later" is exactly as late as you
/// say.
///
/// An application that runs futures (as [`SessionApp`](super::SessionApp)
/// does) says when one was woken with [`wants_poll`](Self::wants_poll) and
/// is then called in [`on_poll`](Self::on_poll) on the next loop step, at
/// the same virtual time; it may pause the network's reads into the server
/// connection with [`wants_read`](Self::wants_read) (a full body queue).
pub trait ServerApp {
    /// An event from the server connection, in order.
    fn on_event(&mut self, cx: &mut ServerCx<'_>, event: &ServerEvent);

    /// When this application wants [`on_wake`](Self::on_wake) called.
    /// Asked after every step; `None` (the default) for never.
    fn next_wake(&self) -> Option<Instant> {
        None
    }

    /// The time from [`next_wake`](Self::next_wake) has come.
    fn on_wake(&mut self, cx: &mut ServerCx<'_>) {
        let _ = cx;
    }

    /// Whether the application has work to do now, without an event or
    /// a wake-up time (a future it runs was woken). Asked at every loop
    /// step, also after the server connection has closed (so that work
    /// left at the end can finish while the client is still running);
    /// when `true`, [`on_poll`](Self::on_poll) is called and the step
    /// counts as progress (an application that always wants polling is a
    /// [`PairError::Livelock`](super::PairError::Livelock)). Default:
    /// `false`.
    fn wants_poll(&self) -> bool {
        false
    }

    /// Called when [`wants_poll`](Self::wants_poll) said so.
    fn on_poll(&mut self, cx: &mut ServerCx<'_>) {
        let _ = cx;
    }

    /// Whether the server connection may be given what the network
    /// holds for it now (bytes, or the end of the stream); `false` pauses
    /// reading, as a driver does while a streaming body's queue is full.
    /// Default: `true`.
    fn wants_read(&self) -> bool {
        true
    }
}

/// The client side's application: what your code sends, driven by the
/// client connection's events.
pub trait ClientApp {
    /// An event from the client connection, in order. Start messages on
    /// [`ClientEvent::Ready`] and after each
    /// [`ClientEvent::TransactionCompleted`].
    fn on_event(&mut self, cx: &mut ClientCx<'_>, event: &ClientEvent);

    /// The connection wants body octets
    /// ([`wants_body`](ClientConnection::wants_body) is true): call
    /// [`ClientCx::send_body`] or [`ClientCx::end_body`], or nothing to
    /// wait (then return a [`next_wake`](Self::next_wake)). Called again
    /// while it stays true and the previous call did something.
    fn on_body_wanted(&mut self, cx: &mut ClientCx<'_>) {
        let _ = cx;
    }

    /// When this application wants [`on_wake`](Self::on_wake) called.
    fn next_wake(&self) -> Option<Instant> {
        None
    }

    /// The time from [`next_wake`](Self::next_wake) has come.
    fn on_wake(&mut self, cx: &mut ClientCx<'_>) {
        let _ = cx;
    }
}

/// What the server application may do, recorded in the transcript.
pub struct ServerCx<'a> {
    pub(crate) conn: &'a mut ServerConnection,
    pub(crate) now: Instant,
    pub(crate) start: Instant,
    pub(crate) log: &'a mut Vec<Entry>,
    /// Set by [`hang_up`](ServerCx::hang_up).
    pub(crate) hung_up: bool,
}

impl ServerCx<'_> {
    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The virtual time since the simulation started.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The connection, for its getters.
    #[must_use]
    pub fn conn(&self) -> &ServerConnection {
        self.conn
    }

    fn record(&mut self, what: What) {
        let at = self.now - self.start;
        self.log.push(Entry { at, what });
    }

    /// [`ServerConnection::decide`] at the harness's current time.
    ///
    /// # Errors
    ///
    /// As [`ServerConnection::decide`] (a stale token after the decision
    /// expired, a reply that does not fit the step).
    pub fn decide(&mut self, token: Token, verdict: Verdict) -> Result<(), UsageError> {
        let result = self.conn.decide(self.now, token, verdict.clone());
        self.record(What::Decided {
            token,
            verdict,
            result: result.clone(),
        });
        result
    }

    /// [`ServerConnection::supply_secret`].
    ///
    /// # Errors
    ///
    /// As [`ServerConnection::supply_secret`].
    pub fn supply_secret(
        &mut self,
        token: Token,
        secret: Option<StoredSecret>,
    ) -> Result<(), UsageError> {
        let known = secret.is_some();
        let result = self.conn.supply_secret(self.now, token, secret);
        self.record(What::SecretSupplied {
            token,
            known,
            result: result.clone(),
        });
        result
    }

    /// [`ServerConnection::shutdown`].
    pub fn shutdown(&mut self) {
        self.conn.shutdown(self.now);
        self.record(What::Shutdown);
    }

    /// Drops the connection without a word, as a driver does for a hook
    /// that asks to disconnect: once the current call returns, the server
    /// connection is neither read nor drained any more (what it would
    /// still send is lost), and the client gets the end of the stream
    /// after what was already written.
    pub fn hang_up(&mut self) {
        if !self.hung_up {
            self.hung_up = true;
            self.record(What::HungUp);
        }
    }
}

/// What the client application may do, recorded in the transcript.
pub struct ClientCx<'a> {
    pub(crate) conn: &'a mut ClientConnection,
    pub(crate) now: Instant,
    pub(crate) start: Instant,
    pub(crate) log: &'a mut Vec<Entry>,
    /// Set by every call that may change the connection.
    pub(crate) acted: bool,
}

impl ClientCx<'_> {
    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The virtual time since the simulation started.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The connection, for its getters.
    #[must_use]
    pub fn conn(&self) -> &ClientConnection {
        self.conn
    }

    fn record(&mut self, what: What) {
        self.acted = true;
        let at = self.now - self.start;
        self.log.push(Entry { at, what });
    }

    /// [`ClientConnection::send_mail`].
    ///
    /// # Errors
    ///
    /// As [`ClientConnection::send_mail`].
    pub fn send_mail(&mut self, envelope: Envelope) -> Result<TransactionId, UsageError> {
        let result = self.conn.send_mail(self.now, envelope.clone());
        self.record(What::MailSent {
            envelope,
            result: result.clone(),
        });
        result
    }

    /// [`ClientConnection::send_body`].
    ///
    /// # Errors
    ///
    /// As [`ClientConnection::send_body`].
    pub fn send_body(&mut self, chunk: Bytes) -> Result<(), UsageError> {
        let result = self.conn.send_body(self.now, chunk.clone());
        self.record(What::BodySent {
            bytes: chunk,
            result: result.clone(),
        });
        result
    }

    /// [`ClientConnection::end_body`].
    ///
    /// # Errors
    ///
    /// As [`ClientConnection::end_body`].
    pub fn end_body(&mut self) -> Result<(), UsageError> {
        let result = self.conn.end_body(self.now);
        self.record(What::BodyEnded {
            result: result.clone(),
        });
        result
    }

    /// [`ClientConnection::quit`].
    ///
    /// # Errors
    ///
    /// As [`ClientConnection::quit`].
    pub fn quit(&mut self) -> Result<(), UsageError> {
        let result = self.conn.quit(self.now);
        self.record(What::Quit {
            result: result.clone(),
        });
        result
    }

    /// [`ClientConnection::abort`].
    pub fn abort(&mut self) {
        self.conn.abort(self.now);
        self.record(What::Aborted);
    }

    /// [`ClientConnection::decide_plaintext`].
    ///
    /// # Errors
    ///
    /// As [`ClientConnection::decide_plaintext`].
    pub fn decide_plaintext(
        &mut self,
        token: PolicyToken,
        decision: PlaintextDecision,
    ) -> Result<(), UsageError> {
        let result = self.conn.decide_plaintext(self.now, token, decision);
        self.record(What::PlaintextDecided {
            decision,
            result: result.clone(),
        });
        result
    }
}
