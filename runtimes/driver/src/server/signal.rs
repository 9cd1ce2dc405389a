//! A one-shot broadcast flag with wakers (no runtime needed): used for
//! "stop accepting", "shut down gracefully" and "cut now".
//!
//! Each waiter registers a [`Listener`] whose slot is removed when it is
//! dropped, so a server that runs for ever does not accumulate the wakers
//! of sessions long gone; polling touches only the listener's own slot.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[derive(Debug, Default)]
struct Slot {
    waker: Mutex<Option<Waker>>,
}

/// A flag that is raised once and wakes everyone waiting on it.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    raised: AtomicBool,
    next: AtomicU64,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
}

/// One waiter on a [`Signal`].
#[derive(Debug)]
pub(crate) struct Listener {
    signal: Arc<Signal>,
    id: u64,
    slot: Arc<Slot>,
}

impl Signal {
    pub(crate) fn new() -> Arc<Signal> {
        Arc::new(Signal::default())
    }

    pub(crate) fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for slot in slots {
            if let Some(w) = lock(&slot.waker).take() {
                w.wake();
            }
        }
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.raised.load(Ordering::Acquire)
    }

    /// A waiter (keep it for as long as you poll it).
    pub(crate) fn listen(self: &Arc<Self>) -> Listener {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot::default());
        lock(&self.slots).insert(id, slot.clone());
        Listener {
            signal: self.clone(),
            id,
            slot,
        }
    }

    /// Completes once raised.
    pub(crate) async fn raised(self: &Arc<Self>) {
        self.listen().wait().await;
    }
}

impl Listener {
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.is_raised() {
            return Poll::Ready(());
        }
        {
            let mut waker = lock(&self.slot.waker);
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        if self.signal.is_raised() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    pub(crate) async fn wait(&self) {
        poll_fn(|cx| self.poll(cx)).await;
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        lock(&self.signal.slots).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_removed_when_dropped() {
        let signal = Signal::new();
        for _ in 0..100 {
            let l = signal.listen();
            let waker = Waker::noop();
            assert!(l.poll(&mut Context::from_waker(waker)).is_pending());
        }
        assert!(lock(&signal.slots).is_empty());
        let l = signal.listen();
        signal.raise();
        assert!(l.poll(&mut Context::from_waker(Waker::noop())).is_ready());
    }
}
