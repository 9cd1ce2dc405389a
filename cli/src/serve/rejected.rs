//! Counting refused messages for Mailpit's `SMTPRejected` statistic
//! (`GET /api/v1/info`): a wrapper around the whole session stack (the
//! catcher, mailwire's fault rules and Mailpit's chaos), so a refusal from
//! any of them counts.
//!
//! A message counts once when its transaction ends without delivery after
//! a refusal: MAIL refused, a recipient refused, or the end of its data
//! refused. A transaction that ends for another reason (RSET, a lost
//! connection) with nothing refused does not count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mailwire_catcher::index::Index;
use mailwire_driver::core::sasl::{Mechanism, StoredSecret};
use mailwire_driver::core::server::AuthCheck;
use mailwire_driver::core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_driver::core::wire::params::{MailParameters, RcptParameters};
use mailwire_driver::server::{
    Context, HookError, HookResult, Session, SessionEnd, SessionFactory, TransactionEnd,
};

/// Counts the messages the sessions of `inner` refuse into `index`.
#[derive(Debug)]
pub struct CountRejected<F> {
    inner: F,
    index: Option<Arc<Index>>,
}

impl<F> CountRejected<F> {
    /// Wraps `inner`; without an index (no `--http`) nothing is counted.
    pub fn new(inner: F, index: Option<Arc<Index>>) -> CountRejected<F> {
        CountRejected { inner, index }
    }
}

impl<F: SessionFactory> SessionFactory for CountRejected<F> {
    type Session = Counting<F::Session>;

    async fn new_session(&self, ctx: &Context) -> HookResult<Self::Session> {
        Ok(Counting {
            inner: self.inner.new_session(ctx).await?,
            index: self.index.clone(),
            refused: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// A session of [`CountRejected`].
#[derive(Debug)]
pub struct Counting<S> {
    inner: S,
    index: Option<Arc<Index>>,
    /// Something in the open transaction was refused (shared with the
    /// copies [`Session::share`] makes).
    refused: Arc<AtomicBool>,
}

/// Whether `result` is a refusal with a reply (a hang-up is not one).
fn is_refusal<T>(result: &HookResult<T>) -> bool {
    matches!(result, Err(HookError::Reply(_)))
}

impl<S> Counting<S> {
    fn count(&self) {
        if let Some(index) = &self.index {
            index.rejected();
        }
    }
}

impl<S: Session> Session for Counting<S> {
    type Message = S::Message;

    async fn helo(&mut self, ctx: &Context, domain: &Domain, extended: bool) -> HookResult {
        self.inner.helo(ctx, domain, extended).await
    }

    async fn mail(
        &mut self,
        ctx: &Context,
        from: &ReversePath,
        params: &MailParameters,
    ) -> HookResult {
        self.refused.store(false, Ordering::Relaxed);
        let result = self.inner.mail(ctx, from, params).await;
        if is_refusal(&result) {
            // No transaction opens, so no reset follows: count it now.
            self.count();
        }
        result
    }

    async fn rcpt(
        &mut self,
        ctx: &Context,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> HookResult {
        let result = self.inner.rcpt(ctx, to, params).await;
        if is_refusal(&result) {
            self.refused.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn auth(
        &mut self,
        ctx: &Context,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        self.inner.auth(ctx, mechanism, check).await
    }

    async fn deliver(&mut self, ctx: &Context, message: S::Message) -> HookResult {
        let result = self.inner.deliver(ctx, message).await;
        if result.is_ok() {
            // Delivered, even if some recipients were refused: the message
            // was not.
            self.refused.store(false, Ordering::Relaxed);
        }
        result
    }

    async fn reset(&mut self, ctx: &Context, end: TransactionEnd) {
        if end == TransactionEnd::Refused || self.refused.swap(false, Ordering::Relaxed) {
            self.count();
        }
        self.inner.reset(ctx, end).await;
    }

    async fn end(&mut self, ctx: &Context, end: SessionEnd) {
        self.inner.end(ctx, end).await;
    }

    fn share(&self) -> Option<Self> {
        Some(Counting {
            inner: self.inner.share()?,
            index: self.index.clone(),
            refused: self.refused.clone(),
        })
    }
}
