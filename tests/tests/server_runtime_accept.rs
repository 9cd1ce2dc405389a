//! Accept errors (EMFILE and the like) back off instead of spinning: a
//! runtime wrapper makes the first accepts fail, on each runtime.

mod server_runtime_support;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailwire_driver::Runtime;
use mailwire_driver::server::Server;
use server_runtime_support::*;

const FAILURES: usize = 6;

/// A runtime whose listener fails its first accepts.
#[derive(Debug, Clone)]
struct Flaky<R> {
    inner: R,
    fails: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Instant>>>,
}

struct FlakyListener<L> {
    inner: L,
    fails: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<Instant>>>,
}

impl<R: Runtime> Runtime for Flaky<R> {
    type Stream = R::Stream;
    type Listener = FlakyListener<R::Listener>;
    type Sleep = R::Sleep;

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        self.inner.sleep_until(deadline)
    }

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner.spawn(task);
    }

    async fn bind(&self, addr: SocketAddr) -> io::Result<Self::Listener> {
        Ok(FlakyListener {
            inner: self.inner.bind(addr).await?,
            fails: self.fails.clone(),
            log: self.log.clone(),
        })
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        R::local_addr(&listener.inner)
    }

    async fn accept(listener: &Self::Listener) -> io::Result<(Self::Stream, SocketAddr)> {
        listener.log.lock().unwrap().push(Instant::now());
        let failing = listener
            .fails
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(io::Error::other("too many open files (simulated)"));
        }
        R::accept(&listener.inner).await
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<Self::Stream> {
        self.inner.connect(addr).await
    }

    fn stream_addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
        R::stream_addrs(stream)
    }
}

async fn accept_errors_back_off<R: Runtime>(rt: R) {
    let flaky = Flaky {
        inner: rt.clone(),
        fails: Arc::new(AtomicUsize::new(FAILURES)),
        log: Arc::default(),
    };
    let server = Server::with_handler(
        options(DeliveryMode::Buffered).server,
        Whole(Recorder::default()),
    );
    let running = server
        .bind(flaky.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut c = connect(&rt, running.local_addr()).await;
    let greeting = c.reply().await;
    assert_eq!(greeting.0, 220, "{greeting:?}");
    let log = flaky.log.lock().unwrap().clone();
    assert!(log.len() > FAILURES, "{} accepts", log.len());
    // 10, 20, 40, 80, 160, 320 ms between the failing accepts (a little
    // slack for timer granularity): no spinning.
    let gaps: Vec<Duration> = log.windows(2).map(|w| w[1] - w[0]).collect();
    let mut expected = Duration::from_millis(10);
    for gap in &gaps[..FAILURES] {
        assert!(*gap + Duration::from_millis(2) >= expected, "gaps {gaps:?}");
        expected *= 2;
    }
    drop(c);
    running.stop(Duration::from_secs(5)).await;
}

on_all_runtimes!(accept_errors_back_off);
