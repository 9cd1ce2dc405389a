//! Sessions and factories chosen at run time: [`BoxedSession`] and
//! [`BoxedFactory`], object-safe forms of [`Session`] and
//! [`SessionFactory`] for one delivery kind `M`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, TransactionEnd};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};

use super::context::Context;
use super::delivery::Delivery;
use super::error::HookResult;
use super::session::{Session, SessionEnd, SessionFactory};

/// A boxed future, as the object-safe traits return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Session`] for delivery kind `M`; every
/// session is one. Use it through [`BoxedSession`].
pub trait DynSession<M>: Send {
    /// [`Session::helo`].
    fn dyn_helo<'a>(
        &'a mut self,
        ctx: &'a Context,
        domain: &'a Domain,
        extended: bool,
    ) -> BoxFuture<'a, HookResult>;
    /// [`Session::mail`].
    fn dyn_mail<'a>(
        &'a mut self,
        ctx: &'a Context,
        from: &'a ReversePath,
        params: &'a MailParameters,
    ) -> BoxFuture<'a, HookResult>;
    /// [`Session::rcpt`].
    fn dyn_rcpt<'a>(
        &'a mut self,
        ctx: &'a Context,
        to: &'a ForwardPath,
        params: &'a RcptParameters,
    ) -> BoxFuture<'a, HookResult>;
    /// [`Session::auth`].
    fn dyn_auth<'a>(
        &'a mut self,
        ctx: &'a Context,
        mechanism: Mechanism,
        check: &'a AuthCheck,
    ) -> BoxFuture<'a, HookResult<Option<StoredSecret>>>;
    /// [`Session::deliver`].
    fn dyn_deliver<'a>(&'a mut self, ctx: &'a Context, message: M) -> BoxFuture<'a, HookResult>;
    /// [`Session::reset`].
    fn dyn_reset<'a>(&'a mut self, ctx: &'a Context, end: TransactionEnd) -> BoxFuture<'a, ()>;
    /// [`Session::end`].
    fn dyn_end<'a>(&'a mut self, ctx: &'a Context, end: SessionEnd) -> BoxFuture<'a, ()>;
    /// [`Session::share`].
    fn dyn_share(&self) -> Option<BoxedSession<M>>;
}

impl<S: Session> DynSession<S::Message> for S {
    fn dyn_share(&self) -> Option<BoxedSession<S::Message>> {
        self.share()
            .map(|s| Box::new(s) as BoxedSession<S::Message>)
    }

    fn dyn_helo<'a>(
        &'a mut self,
        ctx: &'a Context,
        domain: &'a Domain,
        extended: bool,
    ) -> BoxFuture<'a, HookResult> {
        Box::pin(self.helo(ctx, domain, extended))
    }

    fn dyn_mail<'a>(
        &'a mut self,
        ctx: &'a Context,
        from: &'a ReversePath,
        params: &'a MailParameters,
    ) -> BoxFuture<'a, HookResult> {
        Box::pin(self.mail(ctx, from, params))
    }

    fn dyn_rcpt<'a>(
        &'a mut self,
        ctx: &'a Context,
        to: &'a ForwardPath,
        params: &'a RcptParameters,
    ) -> BoxFuture<'a, HookResult> {
        Box::pin(self.rcpt(ctx, to, params))
    }

    fn dyn_auth<'a>(
        &'a mut self,
        ctx: &'a Context,
        mechanism: Mechanism,
        check: &'a AuthCheck,
    ) -> BoxFuture<'a, HookResult<Option<StoredSecret>>> {
        Box::pin(self.auth(ctx, mechanism, check))
    }

    fn dyn_deliver<'a>(
        &'a mut self,
        ctx: &'a Context,
        message: S::Message,
    ) -> BoxFuture<'a, HookResult> {
        Box::pin(self.deliver(ctx, message))
    }

    fn dyn_reset<'a>(&'a mut self, ctx: &'a Context, end: TransactionEnd) -> BoxFuture<'a, ()> {
        Box::pin(self.reset(ctx, end))
    }

    fn dyn_end<'a>(&'a mut self, ctx: &'a Context, end: SessionEnd) -> BoxFuture<'a, ()> {
        Box::pin(self.end(ctx, end))
    }
}

/// A session chosen at run time, taking messages of kind `M`.
pub type BoxedSession<M> = Box<dyn DynSession<M>>;

impl<M: Delivery> Session for BoxedSession<M> {
    type Message = M;

    async fn helo(&mut self, ctx: &Context, domain: &Domain, extended: bool) -> HookResult {
        (**self).dyn_helo(ctx, domain, extended).await
    }

    async fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> HookResult {
        (**self).dyn_mail(ctx, from, params).await
    }

    async fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> HookResult {
        (**self).dyn_rcpt(ctx, to, params).await
    }

    async fn auth(
        &mut self,
        ctx: &Context,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        (**self).dyn_auth(ctx, mechanism, check).await
    }

    async fn deliver(&mut self, ctx: &Context, message: M) -> HookResult {
        (**self).dyn_deliver(ctx, message).await
    }

    async fn reset(&mut self, ctx: &Context, end: TransactionEnd) {
        (**self).dyn_reset(ctx, end).await;
    }

    async fn end(&mut self, ctx: &Context, end: SessionEnd) {
        (**self).dyn_end(ctx, end).await;
    }

    fn share(&self) -> Option<Self> {
        (**self).dyn_share()
    }
}

/// The object-safe form of [`SessionFactory`], making boxed sessions of
/// kind `M`; every factory is one. Use it through [`BoxedFactory`].
pub trait DynSessionFactory<M>: Send + Sync {
    /// [`SessionFactory::new_session`], boxed.
    fn dyn_new_session<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> BoxFuture<'a, HookResult<BoxedSession<M>>>;
}

impl<F: SessionFactory> DynSessionFactory<<F::Session as Session>::Message> for F {
    fn dyn_new_session<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> BoxFuture<'a, HookResult<BoxedSession<<F::Session as Session>::Message>>> {
        Box::pin(async move {
            let session = self.new_session(ctx).await?;
            Ok(Box::new(session) as BoxedSession<_>)
        })
    }
}

/// A factory chosen at run time (one of several implementations, a
/// plug-in), making sessions that take messages of kind `M`.
///
/// ```
/// use std::sync::Arc;
///
/// use mailwire_driver::server::{BoxedFactory, Context, HookResult, MailStream, Session};
///
/// struct Discard;
/// impl Session for Discard {
///     type Message = MailStream;
///     async fn deliver(&mut self, _: &Context, mut mail: MailStream) -> HookResult {
///         while mail.body.next_chunk().await?.is_some() {}
///         Ok(())
///     }
/// }
///
/// struct Keep(Vec<u8>);
/// impl Session for Keep {
///     type Message = MailStream;
///     async fn deliver(&mut self, _: &Context, mut mail: MailStream) -> HookResult {
///         while let Some(chunk) = mail.body.next_chunk().await? {
///             self.0.extend_from_slice(&chunk);
///         }
///         Ok(())
///     }
/// }
///
/// let discard = std::env::args().any(|a| a == "--discard");
/// let factory: BoxedFactory<MailStream> = if discard {
///     Arc::new(|_: &Context| Discard)
/// } else {
///     Arc::new(|_: &Context| Keep(Vec::new()))
/// };
/// # let _ = factory;
/// ```
pub type BoxedFactory<M> = Arc<dyn DynSessionFactory<M>>;

impl<M: Delivery> SessionFactory for dyn DynSessionFactory<M> {
    type Session = BoxedSession<M>;

    async fn new_session(&self, ctx: &Context) -> HookResult<BoxedSession<M>> {
        self.dyn_new_session(ctx).await
    }
}
