//! The simple case: one [`Handler`] object for every session, with
//! tcllib smtpd's callbacks as `&self` hooks, made into sessions by
//! [`Shared`].

use std::future::Future;
use std::sync::Arc;

use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::AuthCheck;
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};

use super::context::Context;
use super::delivery::Delivery;
use super::error::HookResult;
use super::session::{Session, SessionFactory, refuse_auth};

/// tcllib smtpd's callbacks as one shared object: `validate_host`,
/// `validate_sender`, `validate_recipient`, authentication, and the
/// delivery of [`Message`](Self::Message) (`-deliver` is
/// [`Mail`](super::Mail), `-deliverMIME` is
/// [`ParsedMail`](super::ParsedMail); [`MailStream`](super::MailStream)
/// streams).
///
/// Hooks take `&self` and keep no state per session; for that, implement
/// [`Session`] and [`SessionFactory`] instead. A handler becomes a
/// factory with [`Shared`] (or [`Server::with_handler`](super::Server::with_handler)).
/// Its hooks see the same [`Context`] as a session's.
///
/// ```
/// use mailwire_driver::server::{Context, Handler, HookError, HookResult, ParsedMail};
/// use mailwire_driver::core::wire::address::ForwardPath;
/// use mailwire_driver::core::wire::params::RcptParameters;
///
/// struct Inbox;
///
/// impl Handler for Inbox {
///     type Message = ParsedMail;
///
///     async fn validate_recipient(
///         &self,
///         _ctx: &Context,
///         to: &ForwardPath,
///         _params: &RcptParameters,
///     ) -> HookResult {
///         if to.to_string().contains("nobody") {
///             return Err(HookError::refuse(550, "5.1.1", "No such user"));
///         }
///         Ok(())
///     }
///
///     async fn deliver(&self, _ctx: &Context, mail: ParsedMail) -> HookResult {
///         let subject = mail.message().and_then(|m| m.subject()).unwrap_or("(none)");
///         println!("{subject} for {} recipients", mail.envelope.recipients.len());
///         Ok(())
///     }
/// }
/// # let _ = Inbox;
/// ```
pub trait Handler: Send + Sync + 'static {
    /// How messages reach [`deliver`](Self::deliver).
    type Message: Delivery;

    /// May this client connect? (smtpd's `validate_host`.) A refusal is
    /// sent in place of the greeting. Default: accept.
    fn validate_host(&self, ctx: &Context) -> impl Future<Output = HookResult> + Send {
        let _ = ctx;
        async { Ok(()) }
    }

    /// HELO or EHLO with this name. Default: accept.
    fn helo(
        &self,
        ctx: &Context,
        domain: &Domain,
        extended: bool,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (ctx, domain, extended);
        async { Ok(()) }
    }

    /// MAIL FROM (smtpd's `validate_sender`). Default: accept.
    fn validate_sender(
        &self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (ctx, from, params);
        async { Ok(()) }
    }

    /// RCPT TO (smtpd's `validate_recipient`). Default: accept.
    fn validate_recipient(
        &self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (ctx, to, params);
        async { Ok(()) }
    }

    /// One AUTH step (see [`Session::auth`]). Default: no one is known.
    fn authenticate(
        &self,
        ctx: &Context,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> impl Future<Output = HookResult<Option<StoredSecret>>> + Send {
        let _ = (ctx, mechanism);
        let answer = refuse_auth(check);
        async move { answer }
    }

    /// The message (see [`Session::deliver`]); no default.
    fn deliver(
        &self,
        ctx: &Context,
        message: Self::Message,
    ) -> impl Future<Output = HookResult> + Send;
}

/// A [`Handler`] shared by every session: the factory, and each session.
#[derive(Debug)]
pub struct Shared<H>(pub Arc<H>);

impl<H> Shared<H> {
    /// Shares `handler`.
    pub fn new(handler: H) -> Shared<H> {
        Shared(Arc::new(handler))
    }
}

impl<H> Clone for Shared<H> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<H: Handler> SessionFactory for Shared<H> {
    type Session = Shared<H>;

    async fn new_session(&self, ctx: &Context) -> HookResult<Shared<H>> {
        self.0.validate_host(ctx).await?;
        Ok(self.clone())
    }
}

impl<H: Handler> Session for Shared<H> {
    type Message = H::Message;

    fn helo(
        &mut self,
        ctx: &Context,
        domain: &Domain,
        extended: bool,
    ) -> impl Future<Output = HookResult> + Send {
        self.0.helo(ctx, domain, extended)
    }

    fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> impl Future<Output = HookResult> + Send {
        self.0.validate_sender(ctx, from, params)
    }

    fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> impl Future<Output = HookResult> + Send {
        self.0.validate_recipient(ctx, to, params)
    }

    fn auth(
        &mut self,
        ctx: &Context,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> impl Future<Output = HookResult<Option<StoredSecret>>> + Send {
        self.0.authenticate(ctx, mechanism, check)
    }

    fn deliver(
        &mut self,
        ctx: &Context,
        message: H::Message,
    ) -> impl Future<Output = HookResult> + Send {
        self.0.deliver(ctx, message)
    }

    fn share(&self) -> Option<Self> {
        Some(self.clone())
    }
}
