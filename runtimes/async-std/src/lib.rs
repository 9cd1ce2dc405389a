//! `mailwire-async-std`: mailwire on async-std — **legacy**.
//!
//! async-std is discontinued upstream; this shim stays small so existing
//! async-std applications can use mailwire. New code should use
//! `mailwire-smol` (async-std's successor) or `mailwire-tokio`.
//!
//! [`AsyncStd`] implements the driver's [`Runtime`] trait with
//! `async_std::net`, `async_io::Timer` (the reactor async-std runs on) and
//! `async_std::task::spawn`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_std::net::{TcpListener, TcpStream};
pub use mailwire_driver::*;

/// The async-std runtime, as the driver sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

/// A timer that completes at a deadline.
#[derive(Debug)]
pub struct Sleep(async_io::Timer);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl Runtime for AsyncStd {
    type Stream = TcpStream;
    type Listener = TcpListener;
    type Sleep = Sleep;

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        Sleep(async_io::Timer::at(deadline))
    }

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(async_std::task::spawn(task));
    }

    async fn bind(&self, addr: SocketAddr) -> std::io::Result<Self::Listener> {
        TcpListener::bind(addr).await
    }

    fn local_addr(listener: &Self::Listener) -> std::io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> std::io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Self::Stream> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn stream_addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (stream.local_addr().ok(), stream.peer_addr().ok())
    }
}
