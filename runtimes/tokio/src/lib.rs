//! `mailwire-tokio`: mailwire on the tokio runtime.
//!
//! [`Tokio`] implements the driver's [`Runtime`] trait with tokio's TCP,
//! timers and spawn; tokio streams enter the driver through
//! `tokio_util::compat`. Everything else is re-exported from
//! `mailwire-driver`.
//!
//! The clock is tokio's, so tests with a paused tokio clock
//! (`tokio::time::pause`) drive mailwire's timeouts too.
//!
//! # A server
//!
//! A server on an ephemeral port, greeted by a plain tokio socket, then
//! stopped:
//!
//! ```
//! use std::time::Duration;
//!
//! use mailwire_tokio::Tokio;
//! use mailwire_tokio::server::{Context, HookResult, Mail, Server, ServerOptions, Session};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! /// One per connection: counts the messages of its session.
//! #[derive(Default)]
//! struct Print {
//!     messages: usize,
//! }
//!
//! impl Session for Print {
//!     type Message = Mail;
//!
//!     async fn deliver(&mut self, _ctx: &Context, mail: Mail) -> HookResult {
//!         self.messages += 1;
//!         let from = &mail.envelope.from;
//!         println!("message {} from {from}: {} octets", self.messages, mail.data.len());
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     let server = Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Print::default());
//!     let running = server.bind(Tokio, ([127, 0, 0, 1], 0).into()).await?;
//!
//!     let stream = tokio::net::TcpStream::connect(running.local_addr()).await?;
//!     let mut stream = BufReader::new(stream);
//!     let mut line = String::new();
//!     stream.read_line(&mut line).await?;
//!     assert!(line.starts_with("220 mx.example.org ESMTP"));
//!     stream.get_mut().write_all(b"QUIT\r\n").await?;
//!     line.clear();
//!     stream.read_line(&mut line).await?;
//!     assert!(line.starts_with("221 "));
//!
//!     running.stop(Duration::from_secs(5)).await;
//!     Ok(())
//! }
//! ```
//!
//! # A client
//!
//! `send_message` (tcllib's `smtp::sendmessage`) to a local mailwire
//! server on an ephemeral port: the envelope comes from the headers, the
//! report says plainly whether the message was sent. (Port 25 is the
//! default; `ServerAddress::submission` is port 587 with STARTTLS,
//! `ServerAddress::implicit_tls` port 465.)
//!
//! ```
//! use std::time::Duration;
//!
//! use mailwire_tokio::client::{SendOptions, ServerAddress};
//! use mailwire_tokio::server::{self, Context, HookResult, Mail, ServerOptions, Session};
//! use mailwire_tokio::{Tokio, send_message};
//!
//! /// Accepts every message.
//! struct Accept;
//! impl Session for Accept {
//!     type Message = Mail;
//!     async fn deliver(&mut self, _: &Context, _: Mail) -> HookResult {
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let running = server::Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Accept)
//!         .bind(Tokio, ([127, 0, 0, 1], 0).into())
//!         .await?;
//!     let message = "From: Alice <alice@example.org>\r\n\
//!                    To: Bob <bob@example.org>\r\n\
//!                    Subject: hello\r\n\r\nHi Bob!\r\n";
//!     let server = ServerAddress::new("127.0.0.1").with_port(running.local_addr().port());
//!     let report = send_message(Tokio, message, &SendOptions::new([server])).await?;
//!     assert!(report.is_sent());
//!     for recipient in &report.recipients {
//!         println!("{}: {:?}", recipient.path, recipient.status);
//!     }
//!
//!     running.stop(Duration::from_secs(5)).await;
//!     Ok(())
//! }
//! ```

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

impl Tokio {
    /// A listener on `addr` with `SO_REUSEPORT` (and `SO_REUSEADDR`), for
    /// one listener per thread on the same address: the kernel spreads new
    /// connections over them. Give each to
    /// [`Server::listen`](server::Server::listen) or
    /// [`RunningServer::add_listener`](server::RunningServer::add_listener)
    /// from the thread that should serve them. Must be called inside a
    /// tokio runtime (the listener registers with its reactor).
    ///
    /// # Errors
    ///
    /// The socket cannot be made, bound or listened on.
    pub fn bind_reuse_port(&self, addr: SocketAddr) -> std::io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    }
}

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
