//! `mailwire-async-std`: mailwire on async-std — **legacy**.
//!
//! async-std is discontinued upstream; this shim stays small so existing
//! async-std applications can use mailwire. New code should use
//! `mailwire-smol` (async-std's successor) or `mailwire-tokio`.
//!
//! [`AsyncStd`] implements the driver's [`Runtime`] trait with
//! `async_std::net`, `async_io::Timer` (the reactor async-std runs on) and
//! `async_std::task::spawn`.
//!
//! # A server
//!
//! A server on an ephemeral port, greeted by a plain async-std socket,
//! then stopped:
//!
//! ```
//! use std::time::Duration;
//!
//! use async_std::io::BufReader;
//! use async_std::io::prelude::*;
//! use mailwire_async_std::AsyncStd;
//! use mailwire_async_std::server::{Context, HookResult, Mail, Server, ServerOptions, Session};
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
//! fn main() -> std::io::Result<()> {
//!     async_std::task::block_on(async {
//!         let server = Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Print::default());
//!         let running = server.bind(AsyncStd, ([127, 0, 0, 1], 0).into()).await?;
//!
//!         let stream = async_std::net::TcpStream::connect(running.local_addr()).await?;
//!         let mut reader = BufReader::new(stream.clone());
//!         let mut line = String::new();
//!         reader.read_line(&mut line).await?;
//!         assert!(line.starts_with("220 mx.example.org ESMTP"));
//!         (&stream).write_all(b"QUIT\r\n").await?;
//!         line.clear();
//!         reader.read_line(&mut line).await?;
//!         assert!(line.starts_with("221 "));
//!
//!         running.stop(Duration::from_secs(5)).await;
//!         Ok(())
//!     })
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
//! use mailwire_async_std::client::{SendOptions, ServerAddress};
//! use mailwire_async_std::server::{self, Context, HookResult, Mail, ServerOptions, Session};
//! use mailwire_async_std::{AsyncStd, send_message};
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
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     async_std::task::block_on(async {
//!         let running = server::Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Accept)
//!             .bind(AsyncStd, ([127, 0, 0, 1], 0).into())
//!             .await?;
//!         let message = "From: Alice <alice@example.org>\r\n\
//!                        To: Bob <bob@example.org>\r\n\
//!                        Subject: hello\r\n\r\nHi Bob!\r\n";
//!         let server = ServerAddress::new("127.0.0.1").with_port(running.local_addr().port());
//!         let report = send_message(AsyncStd, message, &SendOptions::new([server])).await?;
//!         assert!(report.is_sent());
//!         for recipient in &report.recipients {
//!             println!("{}: {:?}", recipient.path, recipient.status);
//!         }
//!
//!         running.stop(Duration::from_secs(5)).await;
//!         Ok(())
//!     })
//! }
//! ```

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

/// A TCP stream whose `close` shuts down the writing half, so the peer
/// sees the end of the stream (async-std's own `close` only flushes, which
/// would leave every graceful close waiting out its linger).
#[derive(Debug)]
pub struct Stream(TcpStream);

impl Stream {
    /// The async-std stream.
    pub fn get_ref(&self) -> &TcpStream {
        &self.0
    }
}

impl async_std::io::Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl async_std::io::Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.0).poll_flush(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(self.0.shutdown(std::net::Shutdown::Write)),
            other => other,
        }
    }
}

impl Runtime for AsyncStd {
    type Stream = Stream;
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
        Ok((Stream(stream), peer))
    }

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Self::Stream> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Stream(stream))
    }

    fn stream_addrs(stream: &Self::Stream) -> (Option<SocketAddr>, Option<SocketAddr>) {
        (stream.0.local_addr().ok(), stream.0.peer_addr().ok())
    }
}
