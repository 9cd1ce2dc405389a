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

pub mod blocking;

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
    /// Another handle on `listener`'s socket (a duplicated descriptor),
    /// for one more thread of this process to accept on: turn it into that
    /// thread's listener with [`TcpListener::from_std`] inside the thread's
    /// runtime, and give it to
    /// [`RunningServer::add_listener`](server::RunningServer::add_listener).
    /// Every thread then takes connections from the one socket, which the
    /// first bind made exclusive: no other process (even one of the same
    /// user) can listen on the address while it is open, unlike
    /// `SO_REUSEPORT` listeners, which any process of the same user may
    /// join and split the connections with.
    ///
    /// ```
    /// use mailwire_tokio::Tokio;
    /// use mailwire_tokio::Runtime;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let main = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let (listener, shared) = main.block_on(async {
    ///     let listener = Tokio.bind(([127, 0, 0, 1], 0).into()).await?;
    ///     let shared = Tokio::share_listener(&listener)?;
    ///     Ok::<_, std::io::Error>((listener, shared))
    /// })?;
    /// let addr = listener.local_addr()?;
    /// let other = std::thread::spawn(move || {
    ///     let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    ///     rt.block_on(async move {
    ///         let listener = tokio::net::TcpListener::from_std(shared)?;
    ///         listener.local_addr()
    ///     })
    /// });
    /// assert_eq!(other.join().expect("thread")?, addr);
    /// // The address is taken for every other socket.
    /// assert!(std::net::TcpListener::bind(addr).is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The descriptor cannot be duplicated (the process is out of file
    /// descriptors).
    #[cfg(unix)]
    pub fn share_listener(listener: &TcpListener) -> std::io::Result<std::net::TcpListener> {
        use std::os::fd::AsFd;
        let fd = listener.as_fd().try_clone_to_owned()?;
        let shared = std::net::TcpListener::from(fd);
        // Shared with the original anyway (one open file); said for clarity.
        shared.set_nonblocking(true)?;
        Ok(shared)
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
