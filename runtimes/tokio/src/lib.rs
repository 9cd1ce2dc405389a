//! `mailwire-tokio`: mailwire on the tokio runtime.
//!
//! [`Tokio`] implements the driver's [`Runtime`] trait with tokio's TCP,
//! timers and spawn; tokio streams enter the driver through
//! `tokio_util::compat`. Everything else is re-exported from
//! `mailwire-driver`.
//!
//! The clock is tokio's, so tests with a paused tokio clock
//! (`tokio::time::pause`) drive mailwire's timeouts too.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

pub use mailwire_driver::*;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// The tokio runtime, as the driver sees it. Must be used from inside a
/// tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    type Stream = Compat<TcpStream>;
    type Listener = TcpListener;
    type Sleep = tokio::time::Sleep;

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> Self::Sleep {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }

    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(task));
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
        Ok((stream.compat(), peer))
    }

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Self::Stream> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream.compat())
    }

    fn stream_addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
        let s = stream.get_ref();
        (s.local_addr().ok(), s.peer_addr().ok())
    }
}
