//! Running a session's hooks: each hook future owns the session value
//! while it runs and gives it back when done (so hooks take `&mut self`,
//! run one at a time and in order, and a slow or expired hook never loses
//! the session), with panics caught.

use std::future::Future;
use std::pin::Pin;

use super::error::{HookError, HookResult};

/// A hook deciding a request: gives back the session (if it had one) and
/// its answer.
pub(crate) type HookFuture<S, T> = Pin<Box<dyn Future<Output = (Option<S>, HookResult<T>)> + Send>>;

/// A hook nobody waits for (a notice, an expired decision): gives back the
/// session when done.
pub(crate) type SessionFuture<S> = Pin<Box<dyn Future<Output = Option<S>> + Send>>;

/// The session, lent to the next hook.
pub(crate) enum Lend<S> {
    /// Idle: the hook starts at once.
    Here(S),
    /// Held by an earlier hook: the next one starts when it is done.
    Wait(SessionFuture<S>),
    /// There is none (refused connection, or lost to a hook that never
    /// returned).
    Gone,
}

impl<S> Lend<S> {
    /// The session, once available.
    pub(crate) async fn get(self) -> Option<S> {
        match self {
            Lend::Here(s) => Some(s),
            Lend::Wait(fut) => fut.await,
            Lend::Gone => None,
        }
    }
}

/// The answer when no session is there to ask.
pub(crate) fn gone<T>() -> HookResult<T> {
    Err(HookError::failed(
        "the session is gone (its factory refused, or an earlier hook never returned)",
    ))
}

/// The answer for a hook that panicked.
pub(crate) fn panicked<T>() -> HookResult<T> {
    Err(HookError::failed("hook panicked"))
}

/// A [`HookFuture`]: `call!(lend, ctx, |s, ctx| body)` runs `body` (an
/// expression that may `.await`, with `s` the session and `ctx` the
/// context) once the session is lent, catching a panic.
macro_rules! call {
    ($lend:expr, $ctx:expr, |$s:ident, $c:ident| $body:expr) => {{
        let lend = $lend;
        let $c = $ctx;
        let fut: $crate::server::hooks::HookFuture<_, _> = Box::pin(async move {
            let Some(mut $s) = lend.get().await else {
                return (None, $crate::server::hooks::gone());
            };
            let result =
                futures_lite::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
                    $body
                }))
                .await
                .unwrap_or_else(|_| $crate::server::hooks::panicked());
            (Some($s), result)
        });
        fut
    }};
}

/// A [`SessionFuture`]: `notice!(lend, ctx, |s, ctx| body)` runs `body`
/// (returning `()`) once the session is lent, catching a panic, and gives
/// the session back.
macro_rules! notice {
    ($lend:expr, $ctx:expr, |$s:ident, $c:ident| $body:expr) => {{
        let lend = $lend;
        let $c = $ctx;
        let fut: $crate::server::hooks::SessionFuture<_> = Box::pin(async move {
            let mut $s = lend.get().await?;
            let _ = futures_lite::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async {
                $body
            }))
            .await;
            Some($s)
        });
        fut
    }};
}

pub(crate) use {call, notice};
