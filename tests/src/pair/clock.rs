//! [`PairClock`]: the Pair's virtual clock as a
//! [`Runtime`](mailwire_driver::Runtime), so that a session's hooks (and
//! wrappers such as the driver's fault injector) can sleep in virtual
//! time.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mailwire_driver::{PipeEnd, Runtime};

/// A task given to [`Runtime::spawn`].
type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

struct State {
    now: Instant,
    timers: Vec<(Instant, Waker)>,
    tasks: Vec<Task>,
}

/// Virtual time for the hooks of a [`SessionApp`](super::SessionApp): its
/// [`sleep_until`](Runtime::sleep_until) ends when the harness's clock
/// reaches the deadline (the session app asks the harness to wake it
/// then), and it never reads the wall clock. Clones share the clock.
///
/// It is a [`Runtime`] for what sessions use of one (the time, sleeping,
/// spawning: spawned tasks are polled with the session's hooks); it has no
/// network, so binding, accepting and connecting fail with
/// [`io::ErrorKind::Unsupported`].
///
/// ```
/// use std::time::Duration;
/// use mailwire_driver::Runtime;
/// use mailwire_tests::pair::PairClock;
///
/// let clock = PairClock::new();
/// let start = clock.now();
/// let mut sleep = std::pin::pin!(clock.sleep_until(start + Duration::from_secs(30)));
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(clock.next_timer(), Some(start + Duration::from_secs(30)));
/// clock.advance_to(start + Duration::from_secs(30));
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// ```
#[derive(Clone)]
pub struct PairClock {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for PairClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("PairClock")
            .field("now", &s.now)
            .field("timers", &s.timers.len())
            .field("tasks", &s.tasks.len())
            .finish()
    }
}

impl Default for PairClock {
    fn default() -> Self {
        PairClock::new()
    }
}

impl PairClock {
    /// A clock at the current instant; the session app sets it to the
    /// harness's virtual time before it runs any hook.
    #[must_use]
    pub fn new() -> PairClock {
        PairClock {
            state: Arc::new(Mutex::new(State {
                now: Instant::now(),
                timers: Vec::new(),
                tasks: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sleeps for `duration` of virtual time.
    #[must_use]
    pub fn sleep(&self, duration: Duration) -> PairSleep {
        self.sleep_until(self.now() + duration)
    }

    /// The earliest deadline a sleep waits for.
    #[must_use]
    pub fn next_timer(&self) -> Option<Instant> {
        self.lock().timers.iter().map(|(at, _)| *at).min()
    }

    /// Moves the clock to `now` (never back) and wakes the sleeps that
    /// are due.
    pub fn advance_to(&self, now: Instant) {
        let due: Vec<Waker> = {
            let mut s = self.lock();
            s.now = s.now.max(now);
            let now = s.now;
            let (due, waiting) = std::mem::take(&mut s.timers)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            s.timers = waiting;
            due.into_iter().map(|(_, w)| w).collect()
        };
        for waker in due {
            waker.wake();
        }
    }

    /// Polls the spawned tasks with `cx`, dropping those that finished.
    pub fn poll_tasks(&self, cx: &mut Context<'_>) {
        let mut tasks = std::mem::take(&mut self.lock().tasks);
        if tasks.is_empty() {
            return;
        }
        tasks.retain_mut(|t| t.as_mut().poll(cx).is_pending());
        let mut s = self.lock();
        tasks.append(&mut s.tasks);
        s.tasks = tasks;
    }
}

/// A [`PairClock`] sleep.
#[derive(Debug)]
pub struct PairSleep {
    clock: PairClock,
    at: Instant,
}

impl Future for PairSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.clock.lock();
        if s.now >= self.at {
            return Poll::Ready(());
        }
        let at = self.at;
        s.timers
            .retain(|(t, w)| !(*t == at && w.will_wake(cx.waker())));
        s.timers.push((at, cx.waker().clone()));
        Poll::Pending
    }
}

fn no_network() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "the Pair clock has no network")
}

impl Runtime for PairClock {
    type Stream = PipeEnd;
    type Listener = ();
    type Sleep = PairSleep;

    fn now(&self) -> Instant {
        self.lock().now
    }

    fn sleep_until(&self, deadline: Instant) -> PairSleep {
        PairSleep {
            clock: self.clone(),
            at: deadline,
        }
    }

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.lock().tasks.push(Box::pin(task));
    }

    async fn bind(&self, _: SocketAddr) -> io::Result<()> {
        Err(no_network())
    }

    fn local_addr((): &()) -> io::Result<SocketAddr> {
        Err(no_network())
    }

    async fn accept((): &()) -> io::Result<(PipeEnd, SocketAddr)> {
        Err(no_network())
    }

    async fn connect(&self, _: SocketAddr) -> io::Result<PipeEnd> {
        Err(no_network())
    }

    fn stream_addrs(_: &PipeEnd) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (None, None)
    }
}
