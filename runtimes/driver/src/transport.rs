//! The connection's byte stream: plain, or TLS over it, switched in place
//! at STARTTLS.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use futures_rustls::{TlsAcceptor, TlsConnector, client, server};
use mailwire_core::TlsInfo;
use rustls_pki_types::ServerName;

/// A plain stream, or TLS over one.
///
/// The driver keeps no read buffer of its own: bytes read before the switch
/// went to the core (which discards what arrived after STARTTLS), and the
/// TLS session starts on the raw stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum Transport<S> {
    /// Cleartext.
    Plain(S),
    /// TLS, server side.
    TlsServer(Box<server::TlsStream<S>>),
    /// TLS, client side.
    TlsClient(Box<client::TlsStream<S>>),
    /// A handshake failed half-way; every I/O call fails.
    Broken,
}

impl<S> Transport<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Whether TLS is on.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::TlsServer(_) | Transport::TlsClient(_))
    }

    /// Runs the server side of a TLS handshake on the plain stream.
    ///
    /// On success the transport is TLS and the negotiated facts are
    /// returned; on failure the transport is [`Transport::Broken`].
    pub async fn accept_tls(&mut self, acceptor: &TlsAcceptor) -> io::Result<TlsInfo> {
        let Transport::Plain(stream) = std::mem::replace(self, Transport::Broken) else {
            return Err(io::Error::other("TLS is already on"));
        };
        let tls = acceptor.accept(stream).await?;
        let info = server_tls_info(tls.get_ref().1);
        *self = Transport::TlsServer(Box::new(tls));
        Ok(info)
    }

    /// Runs the client side of a TLS handshake on the plain stream.
    ///
    /// `verified` is what the certificate check concluded (the connector's
    /// verifier decides; an insecure verifier reports `false`).
    pub async fn connect_tls(
        &mut self,
        connector: &TlsConnector,
        server_name: ServerName<'static>,
        verified: impl FnOnce() -> bool,
    ) -> io::Result<TlsInfo> {
        let Transport::Plain(stream) = std::mem::replace(self, Transport::Broken) else {
            return Err(io::Error::other("TLS is already on"));
        };
        let sni = match &server_name {
            ServerName::DnsName(name) => Some(name.as_ref().to_owned()),
            _ => None,
        };
        let tls = connector.connect(server_name, stream).await?;
        let mut info = common_tls_info(tls.get_ref().1);
        info.sni = sni;
        info.peer_verified = verified();
        *self = Transport::TlsClient(Box::new(tls));
        Ok(info)
    }
}

fn common_tls_info(conn: &rustls::CommonState) -> TlsInfo {
    let version = conn
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS")
        .replace('_', ".");
    let cipher = conn
        .negotiated_cipher_suite()
        .and_then(|c| c.suite().as_str())
        .unwrap_or("unknown")
        .to_owned();
    TlsInfo::new(version, cipher)
}

fn server_tls_info(conn: &rustls::ServerConnection) -> TlsInfo {
    let mut info = common_tls_info(conn);
    info.sni = conn.server_name().map(str::to_owned);
    info.peer_verified = conn.peer_certificates().is_some_and(|c| !c.is_empty());
    info
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "TLS handshake failed")
}

impl<S> AsyncRead for Transport<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Broken => Poll::Ready(Err(broken())),
        }
    }
}

impl<S> AsyncWrite for Transport<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Broken => Poll::Ready(Err(broken())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Broken => Poll::Ready(Err(broken())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_close(cx),
            Transport::TlsServer(s) => Pin::new(s.as_mut()).poll_close(cx),
            Transport::TlsClient(s) => Pin::new(s.as_mut()).poll_close(cx),
            Transport::Broken => Poll::Ready(Ok(())),
        }
    }
}
