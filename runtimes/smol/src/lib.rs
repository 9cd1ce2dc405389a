//! `mailwire-smol`: mailwire on the smol runtime.
//!
//! [`Smol`] implements the driver's [`Runtime`] trait with `smol::net`,
//! `async_io::Timer` and `smol::spawn`. Everything else is re-exported from
//! `mailwire-driver`.
//!
//! # A server
//!
//! A server on an ephemeral port, greeted by a plain smol socket, then
//! stopped:
//!
//! ```
//! use std::time::Duration;
//!
//! use mailwire_smol::Smol;
//! use mailwire_smol::server::{Context, HookResult, Mail, Server, ServerOptions, Session};
//! use smol::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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
//!     smol::block_on(async {
//!         let server = Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Print::default());
//!         let running = server.bind(Smol, ([127, 0, 0, 1], 0).into()).await?;
//!
//!         let stream = smol::net::TcpStream::connect(running.local_addr()).await?;
//!         let mut stream = BufReader::new(stream);
//!         let mut line = String::new();
//!         stream.read_line(&mut line).await?;
//!         assert!(line.starts_with("220 mx.example.org ESMTP"));
//!         stream.get_mut().write_all(b"QUIT\r\n").await?;
//!         line.clear();
//!         stream.read_line(&mut line).await?;
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
//! use mailwire_smol::client::{Client, ClientSettings, ServerAddress};
//! use mailwire_smol::core::client::Envelope;
//! use mailwire_smol::core::wire::address::{ForwardPath, ReversePath};
//! use mailwire_smol::server::{self, Context, HookResult, Mail, ServerOptions, Session};
//! use mailwire_smol::Smol;
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
//!     smol::block_on(async {
//!         let running = server::Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Accept)
//!             .bind(Smol, ([127, 0, 0, 1], 0).into())
//!             .await?;
//!
//!         // One connection for several messages: `Client`.
//!         let server = ServerAddress::new("127.0.0.1").with_port(running.local_addr().port());
//!         let mut client = Client::connect(Smol, &server, &ClientSettings::default()).await?;
//!         for n in 1..=2 {
//!             let envelope = Envelope::new(
//!                 "<alice@example.org>".parse::<ReversePath>()?,
//!                 ["<bob@example.org>".parse::<ForwardPath>()?],
//!             );
//!             let body = format!("Subject: message {n}\r\n\r\nHi Bob!\r\n");
//!             let outcome = client.send(envelope, body).await?;
//!             assert!(outcome.outcome.is_sent());
//!         }
//!         client.quit().await;
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

pub use mailwire_driver::*;
use smol::net::{TcpListener, TcpStream};

/// The smol runtime, as the driver sees it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Smol;

/// A timer that completes at a deadline.
#[derive(Debug)]
pub struct Sleep(async_io::Timer);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl Runtime for Smol {
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
        smol::spawn(task).detach();
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
