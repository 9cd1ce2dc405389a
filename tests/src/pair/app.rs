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

    /// [`ServerConnection::decide`]. A decision made after the request
    /// first tells the connection the time (as a driver must).
    ///
    /// # Errors
    ///
    /// As [`ServerConnection::decide`] (a stale token after the decision
    /// expired, a reply that does not fit the step).
    pub fn decide(&mut self, token: Token, verdict: Verdict) -> Result<(), UsageError> {
        self.conn.handle_timeout(self.now);
        let result = self.conn.decide(token, verdict.clone());
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
        self.conn.handle_timeout(self.now);
        let known = secret.is_some();
        let result = self.conn.supply_secret(token, secret);
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
