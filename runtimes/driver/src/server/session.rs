//! The application side of a server: a [`SessionFactory`] makes one
//! [`Session`] per connection, whose hooks take `&mut self`.

use std::future::Future;
use std::sync::Arc;

use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, CloseReason, TransactionEnd, replies};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};

use super::context::Context;
use super::delivery::Delivery;
use super::error::{HookError, HookResult};

/// Why a session ended, as [`Session::end`] hears it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The protocol ended it: QUIT, the client closing, a timeout, a limit,
    /// a `421`, a graceful stop.
    Closed(CloseReason),
    /// Writing to or reading from the connection failed (the client went
    /// away without a word, a write stalled, the TLS handshake failed).
    ConnectionLost,
    /// A hook asked to drop the connection ([`HookError::Disconnect`]).
    Dropped,
    /// The server was stopped and the session did not end within the
    /// grace period.
    Killed,
}

/// One SMTP session's application logic: a value per connection, made by a
/// [`SessionFactory`], whose hooks run one at a time with `&mut self`.
///
/// Each hook sees the [`Context`]: addresses, TLS, greeting, AUTH, and the
/// mail transaction so far (in [`rcpt`](Self::rcpt), the sender and the
/// recipients accepted before this one). Every hook returns `Ok` to accept
/// or a [`HookError`]; a failure, a panic or a hook that does not answer
/// within the decision deadline is answered `451` ([`local_error`](mailwire_core::server::replies::local_error)), never `250`.
///
/// **Delivery follows from the type.** [`Message`](Self::Message) names
/// how messages arrive — [`Mail`](super::Mail) (whole),
/// [`MailStream`](super::MailStream) (streamed) or
/// [`ParsedMail`](super::ParsedMail) (parsed) — and
/// [`deliver`](Self::deliver), which has no default, receives that kind.
/// The driver delivers every message the client sees accepted to it: a
/// `250` at the end of data is the answer of `deliver`, nothing else.
///
/// **Every transaction ends once**: after an accepted MAIL, either
/// `deliver` returns `Ok` (the `250`) or [`reset`](Self::reset) is called
/// with how it ended (RSET, a new HELO/EHLO, a refused or cut-off
/// message, the end of the session). [`end`](Self::end) is called last,
/// however the session ended.
///
/// ```
/// use mailwire_driver::server::{Context, HookError, HookResult, Mail, Session};
/// use mailwire_driver::core::wire::address::{ForwardPath, ReversePath};
/// use mailwire_driver::core::wire::params::RcptParameters;
///
/// #[derive(Default)]
/// struct Inbox {
///     delivered: usize,
/// }
///
/// impl Session for Inbox {
///     type Message = Mail;
///
///     async fn rcpt(&mut self, ctx: &Context, to: &ForwardPath, _: &RcptParameters) -> HookResult {
///         // A bounce (null sender) goes to the postmaster only.
///         let bounce = ctx.transaction.as_ref().is_some_and(|t| t.from == ReversePath::Null);
///         if bounce && *to != ForwardPath::Postmaster {
///             return Err(HookError::refuse(550, "5.7.1", "Bounces go to postmaster only"));
///         }
///         Ok(())
///     }
///
///     async fn deliver(&mut self, _ctx: &Context, mail: Mail) -> HookResult {
///         self.delivered += 1;
///         println!("message {} of this session: {} octets", self.delivered, mail.data.len());
///         Ok(())
///     }
/// }
/// # let _ = Inbox::default();
/// ```
///
/// A session must say how it takes messages; one that does not, or whose
/// `deliver` takes another kind than it declares, does not compile:
///
/// ```compile_fail
/// use mailwire_driver::server::{Context, HookResult, Mail, ParsedMail, Session};
///
/// struct Confused;
///
/// impl Session for Confused {
///     type Message = Mail;
///     // Wants parsed messages but declared whole ones: rejected by the compiler.
///     async fn deliver(&mut self, _: &Context, _: ParsedMail) -> HookResult {
///         Ok(())
///     }
/// }
/// ```
///
/// ```compile_fail
/// use mailwire_driver::server::{Context, HookResult, MailStream, Session};
///
/// struct Forgetful;
///
/// // No `deliver`: rejected by the compiler (there is no default that
/// // could accept a message unseen).
/// impl Session for Forgetful {
///     type Message = MailStream;
/// }
/// ```
pub trait Session: Send + 'static {
    /// How messages reach [`deliver`](Self::deliver):
    /// [`Mail`](super::Mail), [`MailStream`](super::MailStream) or
    /// [`ParsedMail`](super::ParsedMail).
    type Message: Delivery;

    /// HELO or EHLO with this name (an accepted one resets the
    /// transaction first). Default: accept.
    fn helo(
        &mut self,
        ctx: &Context,
        domain: &Domain,
        extended: bool,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (ctx, domain, extended);
        async { Ok(()) }
    }

    /// MAIL FROM (tcllib smtpd's `validate_sender`). `<>` arrives as
    /// [`ReversePath::Null`], never as a missing argument. Default: accept.
    fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (ctx, from, params);
        async { Ok(()) }
    }

    /// RCPT TO (smtpd's `validate_recipient`); `ctx.transaction` holds the
    /// sender and the recipients accepted so far. The local postmaster is
    /// accepted by the core whatever this returns (RFC 5321 §4.5.1), except
    /// a `421`. Default: accept.
    fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (ctx, to, params);
        async { Ok(()) }
    }

    /// One AUTH step:
    ///
    /// * [`AuthCheck::VerifyPassword`] (PLAIN, LOGIN): `Ok(_)` accepts
    ///   (`235`), a refusal such as `535` ([`auth_failed`](mailwire_core::server::replies::auth_failed)) refuses;
    /// * [`AuthCheck::NeedSecret`] (CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256):
    ///   return the user's stored secret, `Ok(None)` for an unknown user;
    /// * [`AuthCheck::Authorize`]: may `username` act as `authzid`? `Ok(_)`
    ///   allows.
    ///
    /// The default refuses passwords and authorisations (`535` ([`auth_failed`](mailwire_core::server::replies::auth_failed))) and
    /// knows no secrets: a server that offers AUTH must say whom it knows.
    fn auth(
        &mut self,
        ctx: &Context,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> impl Future<Output = HookResult<Option<StoredSecret>>> + Send {
        let _ = (ctx, mechanism);
        let answer = refuse_auth(check);
        async move { answer }
    }

    /// The message, of the kind this session declared. `Ok` is the `250`;
    /// a [`HookError`] is the reply (a failure: `451` ([`local_error`](mailwire_core::server::replies::local_error))). A
    /// [`MailStream`](super::MailStream) hook runs while the body arrives
    /// and must read it to its end.
    fn deliver(
        &mut self,
        ctx: &Context,
        message: Self::Message,
    ) -> impl Future<Output = HookResult> + Send;

    /// The transaction in `ctx` ended without a delivery: RSET, a new
    /// HELO/EHLO, a message refused or cut off, or the end of the session
    /// with a transaction open ([`TransactionEnd`] says which). Called
    /// after the client's reply was queued. Default: nothing.
    fn reset(&mut self, ctx: &Context, end: TransactionEnd) -> impl Future<Output = ()> + Send {
        let _ = (ctx, end);
        async {}
    }

    /// The session is over, however it ended; the last hook called. It
    /// runs after the connection is closed. Default: nothing.
    fn end(&mut self, ctx: &Context, end: SessionEnd) -> impl Future<Output = ()> + Send {
        let _ = (ctx, end);
        async {}
    }

    /// For a session that keeps no state of its own (such as
    /// [`Shared`](super::Shared), one handler for every session): a copy
    /// for the next hook to run on, so a hook that hangs past its
    /// deadline does not hold up the next one. `None` (the default): hooks
    /// take turns on this value, and a hook that hangs past its deadline
    /// (answered `451` ([`local_error`](mailwire_core::server::replies::local_error))) keeps the next step waiting until it
    /// returns, each step bounded by its own deadline.
    fn share(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
}

/// The default answer to an AUTH step: no one is known.
pub(crate) fn refuse_auth(check: &AuthCheck) -> HookResult<Option<StoredSecret>> {
    match check {
        AuthCheck::NeedSecret { .. } => Ok(None),
        _ => Err(HookError::Reply(replies::auth_failed())),
    }
}

/// Makes one [`Session`] per connection (go-smtp's `Backend`, aiosmtpd's
/// handler factory).
///
/// [`new_session`](Self::new_session) is also the connection check (tcllib
/// smtpd's `validate_host`): an `Err` reply is sent instead of the
/// greeting, and no session exists for that connection.
///
/// A closure `Fn(&Context) -> S` is a factory that accepts every
/// connection; an `Arc` of a factory is one too, and
/// [`BoxedFactory`](super::BoxedFactory) is one chosen at run time.
///
/// ```
/// use mailwire_driver::server::{Context, HookError, HookResult, Mail, Session, SessionFactory};
///
/// struct Counter {
///     messages: u32,
/// }
///
/// impl Session for Counter {
///     type Message = Mail;
///     async fn deliver(&mut self, _: &Context, _: Mail) -> HookResult {
///         self.messages += 1;
///         Ok(())
///     }
/// }
///
/// struct LocalOnly;
///
/// impl SessionFactory for LocalOnly {
///     type Session = Counter;
///     async fn new_session(&self, ctx: &Context) -> HookResult<Counter> {
///         match ctx.peer {
///             Some(peer) if peer.ip().is_loopback() => Ok(Counter { messages: 0 }),
///             _ => Err(HookError::refuse(554, "5.7.1", "Local clients only")),
///         }
///     }
/// }
/// # let _ = LocalOnly;
/// ```
pub trait SessionFactory: Send + Sync + 'static {
    /// The sessions it makes.
    type Session: Session;

    /// A session for a new connection (`ctx` has its addresses and, for
    /// implicit TLS, its TLS facts), or the refusal to send instead of the
    /// greeting.
    fn new_session(&self, ctx: &Context) -> impl Future<Output = HookResult<Self::Session>> + Send;
}

impl<F, S> SessionFactory for F
where
    F: Fn(&Context) -> S + Send + Sync + 'static,
    S: Session,
{
    type Session = S;

    fn new_session(&self, ctx: &Context) -> impl Future<Output = HookResult<S>> + Send {
        let session = self(ctx);
        async move { Ok(session) }
    }
}

impl<F: SessionFactory + ?Sized> SessionFactory for Arc<F>
where
    Arc<F>: Send + Sync,
{
    type Session = F::Session;

    fn new_session(&self, ctx: &Context) -> impl Future<Output = HookResult<F::Session>> + Send {
        (**self).new_session(ctx)
    }
}
