//! What the driver needs from an async runtime: a clock, timers, spawning,
//! and TCP. Each runtime crate implements [`Runtime`] in a few lines.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

/// The runtime services the driver uses.
///
/// Implemented by `mailwire-tokio`, `mailwire-smol` and `mailwire-async-std`;
/// implement it yourself to run mailwire on another executor or on a
/// simulated network.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A connected TCP stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A bound TCP listener.
    type Listener: Send + Sync + 'static;
    /// The future returned by [`Runtime::sleep_until`].
    type Sleep: Future<Output = ()> + Send + 'static;

    /// The current time (the only clock mailwire reads).
    fn now(&self) -> Instant;

    /// Completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Self::Sleep;

    /// Runs `task` in the background.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Binds a listener (port 0 picks a free port).
    fn bind(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// The address a listener is bound to.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// Accepts the next connection with its peer address.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// Opens a TCP connection.
    fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// The local and peer addresses of a connected stream, when known.
    fn stream_addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>);
}
