//! Host name resolution off the executor: the system resolver runs on a
//! short-lived thread and the task waits for its answer without blocking.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// The answer slot shared with the resolver thread.
#[derive(Default)]
struct Slot {
    answer: Option<io::Result<Vec<SocketAddr>>>,
    waker: Option<Waker>,
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    match slot.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Waits for the resolver thread.
struct Lookup(Arc<Mutex<Slot>>);

impl Future for Lookup {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.0);
        match slot.answer.take() {
            Some(answer) => Poll::Ready(answer),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The addresses of `host` (an IP address, with or without brackets, is
/// used as it is; a name goes to the system resolver on its own thread).
pub(crate) async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let slot = Arc::new(Mutex::new(Slot::default()));
    let shared = slot.clone();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("mailwire-resolve".into())
        .spawn(move || {
            let answer = (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>);
            let mut slot = lock(&shared);
            slot.answer = Some(answer);
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        })?;
    let addrs = Lookup(slot).await?;
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no address"));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_localhost_resolve() {
        futures_lite::future::block_on(async {
            let addrs = resolve("127.0.0.1", 25).await.expect("literal");
            assert_eq!(addrs, [SocketAddr::from(([127, 0, 0, 1], 25))]);
            let addrs = resolve("localhost", 587).await.expect("localhost");
            assert!(
                addrs
                    .iter()
                    .all(|a| a.ip().is_loopback() && a.port() == 587)
            );
        });
    }
}
