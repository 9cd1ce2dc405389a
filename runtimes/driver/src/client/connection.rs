//! [`Client`]: one connection to one server, for many messages.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;
use mailwire_core::client::{
    BodyType, ClientConfig, ClientConnection, ClientSession, CloseKind, CloseReason, Envelope,
    MailOptions, Phase, TlsPolicy, TransactionId, TransactionOutcome,
};
use mailwire_core::message::PreparedMessage;
use mailwire_core::sasl::Mechanism;
use mailwire_core::wire::address::Domain;
use mailwire_core::wire::ehlo::Capabilities;
use mailwire_core::wire::reply::Reply;
use mailwire_core::{TlsInfo, UsageError};

use super::body::{MemoryBody, ReaderBody};
use super::engine::{Engine, tls_connect};
use super::resolve::resolve;
use super::trace::Tracer;
use super::{ClientError, ClientSettings, Security, ServerAddress, default_client_name};
use crate::Runtime;
use crate::io::Io;

/// One SMTP client connection, set up and ready for mail: send one message
/// after another on it ([`send`](Self::send)), then [`quit`](Self::quit).
///
/// [`Client::connect`] opens a TCP connection through the runtime;
/// [`Client::over_stream`] runs over any stream (an in-memory
/// [`PipeEnd`](crate::PipeEnd), a socket you opened yourself). Both return
/// once the greeting, EHLO, STARTTLS and AUTH are done, or fail with the
/// reason (a refused greeting, a refused EHLO, a TLS policy refusal, …).
pub struct Client<S, R> {
    pub(super) engine: Engine<S, R>,
    capabilities: Capabilities,
    peer: Option<SocketAddr>,
}

impl<S, R> std::fmt::Debug for Client<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.peer)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> Client<R::Stream, R> {
    /// Connects to `server` (within
    /// [`connect_timeout`](ClientSettings::connect_timeout), trying each
    /// address the host resolves to), and sets the session up.
    ///
    /// Host names are resolved with the system resolver on a thread of its
    /// own, within the connect timeout.
    ///
    /// # Errors
    ///
    /// [`ClientError::Resolve`], [`ClientError::Connect`],
    /// [`ClientError::Tls`] (implicit TLS), or [`ClientError::Closed`] when
    /// the server refused the session before it was ready.
    pub async fn connect(
        runtime: R,
        server: &ServerAddress,
        settings: &ClientSettings,
    ) -> Result<Self, ClientError> {
        let (mut stream, addr) = connect_tcp(&runtime, server, settings).await?;
        if let Some(observer) = &settings.observer {
            observer(&super::trace::TraceEvent::Connected { addr });
        }
        let (local, _) = R::stream_addrs(&stream);
        if let Some(plan) = &settings.proxy {
            let header = plan.bytes(local, Some(addr));
            super::trace::proxy_header(settings.observer.as_ref(), &header);
            futures_lite::AsyncWriteExt::write_all(&mut stream, &header)
                .await
                .map_err(|source| ClientError::Connect { addr, source })?;
        }
        let mut client =
            Client::start(stream, runtime, server, settings, local.map(|a| a.ip())).await?;
        client.peer = Some(addr);
        Ok(client)
    }
}

impl<S, R> Client<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    /// Runs a session over an open stream to `server` (its host is the TLS
    /// server name; its port is not used), and sets it up.
    ///
    /// # Errors
    ///
    /// As [`Client::connect`], without the TCP errors.
    pub async fn over_stream(
        stream: S,
        runtime: R,
        server: &ServerAddress,
        settings: &ClientSettings,
    ) -> Result<Self, ClientError> {
        Client::start(stream, runtime, server, settings, None).await
    }

    async fn start(
        stream: S,
        runtime: R,
        server: &ServerAddress,
        settings: &ClientSettings,
        local_ip: Option<IpAddr>,
    ) -> Result<Self, ClientError> {
        let config = Arc::new(core_config(settings, server, local_ip));
        let server_name = tls_name(&server.host);
        let mut io = Io::new(stream, runtime, settings.write_stall);
        let mut session = ClientSession::new(server_name.clone());
        let mut tracer = Tracer::new(settings.observer.clone(), false);
        if server.security == Security::Implicit {
            let accept_invalid = match settings.tls_policy {
                TlsPolicy::Required {
                    accept_invalid_certs,
                } => accept_invalid_certs,
                _ => true,
            };
            let deadline = io.runtime.now().checked_add(settings.connect_timeout);
            let info = tls_connect(
                &mut io,
                &settings.tls,
                accept_invalid,
                &server_name,
                deadline,
            )
            .await
            .map_err(|source| ClientError::Tls {
                server: server.host.clone(),
                source,
            })?;
            tracer.tls_started(&info);
            session = session.with_implicit_tls(info);
        }
        let now = io.runtime.now();
        let conn = ClientConnection::new(config.clone(), session, now)?;
        let mut engine = Engine::new(
            conn,
            io,
            config,
            settings.tls.clone(),
            settings.tls_policy_hook.clone(),
            server_name,
            settings.linger,
            tracer,
        );
        match engine.until_ready().await {
            Ok(capabilities) => Ok(Client {
                engine,
                capabilities,
                peer: None,
            }),
            Err(reason) => {
                // Carry out the close (QUIT was already sent by the core
                // where it is polite to).
                engine.drain().await;
                let tls_failed = reason.phase == Phase::TlsHandshake
                    && matches!(reason.kind, CloseKind::ConnectionLost | CloseKind::Timeout);
                match engine.transport_error.take() {
                    Some(error) if tls_failed => Err(ClientError::Tls {
                        server: server.host.clone(),
                        source: io::Error::other(error),
                    }),
                    _ => Err(ClientError::Closed(reason)),
                }
            }
        }
    }

    /// Sends one message: the envelope, then `body` (the message as it is
    /// to be transmitted: dot-stuffing and line-end normalisation are done
    /// here), streamed with back-pressure. Returns its outcome: sent, not
    /// sent or unknown, with every recipient's reply.
    ///
    /// # Errors
    ///
    /// [`ClientError::Usage`] when the message cannot go on this
    /// connection (an extension it needs is not offered; nothing was
    /// written); [`ClientError::Closed`] when the connection is already
    /// closed.
    pub async fn send(
        &mut self,
        envelope: Envelope,
        body: impl Into<Bytes>,
    ) -> Result<TransactionOutcome, ClientError> {
        let mut body = MemoryBody::new(body.into());
        if envelope.options.body == BodyType::SevenBit && body.has_8bit() {
            // Refused before anything is written.
            return Err(ClientError::Usage(UsageError::InvalidInput(
                "8-bit octet in a 7bit body: declare BodyType::EightBitMime",
            )));
        }
        self.engine.transaction(envelope, &mut body).await
    }

    /// Starts one message and returns its id as soon as its body is
    /// handed over, without waiting for its outcome when the server
    /// offers PIPELINING: the next message's MAIL, RCPT and DATA then
    /// leave in the same write as this one's final dot (RFC 2920 §3.1),
    /// one round trip fewer per message. Without PIPELINING it returns
    /// once the outcome is in. Take outcomes with
    /// [`next_outcome`](Self::next_outcome), each naming its message
    /// ([`TransactionOutcome::id`]); a refusal of a final dot belongs to
    /// its own message, and a connection that ends while a dot is
    /// unanswered leaves that message unknown and the next not sent.
    /// Take every outcome before [`quit`](Self::quit).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); after an error this message has no
    /// outcome to take.
    pub async fn submit(
        &mut self,
        envelope: Envelope,
        body: impl Into<Bytes>,
    ) -> Result<TransactionId, ClientError> {
        let mut body = MemoryBody::new(body.into());
        if envelope.options.body == BodyType::SevenBit && body.has_8bit() {
            return Err(ClientError::Usage(UsageError::InvalidInput(
                "8-bit octet in a 7bit body: declare BodyType::EightBitMime",
            )));
        }
        self.engine.submit(envelope, &mut body).await
    }

    /// The oldest outcome of a [`submit`](Self::submit)ted message not
    /// yet taken, waiting for it while one is in flight. `None` when no
    /// message is in flight (or the connection closed and every outcome
    /// was taken).
    pub async fn next_outcome(&mut self) -> Option<TransactionOutcome> {
        self.engine.next_outcome().await
    }

    /// The oldest outcome of a [`submit`](Self::submit)ted message that is
    /// already in, without waiting.
    pub fn take_outcome(&mut self) -> Option<TransactionOutcome> {
        self.engine.completed.pop_front()
    }

    /// Sends one message whose body is read from `reader` as it goes
    /// (bounded memory for any size), streamed with back-pressure.
    /// Otherwise as [`send`](Self::send); a body that cannot be read again
    /// (the server deferred some recipients to a further transaction) ends
    /// the connection, and the outcome says which recipients got it.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), and [`ClientError::Body`] when reading
    /// fails (the connection is ended; nothing is reported sent that the
    /// server did not accept).
    pub async fn send_reader<Rd>(
        &mut self,
        envelope: Envelope,
        reader: &mut Rd,
    ) -> Result<TransactionOutcome, ClientError>
    where
        Rd: AsyncRead + Unpin + Send,
    {
        let mut body = ReaderBody::new(reader);
        self.engine.transaction(envelope, &mut body).await
    }

    /// Sends a message made by [`prepare`](mailwire_core::message::prepare)
    /// with its envelope, and `options` (DSN, REQUIRETLS, send policy)
    /// merged over the body type and size it needs.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn send_prepared(
        &mut self,
        prepared: &PreparedMessage,
        options: MailOptions,
    ) -> Result<TransactionOutcome, ClientError> {
        let envelope = prepared.envelope().with_merged_options(options);
        self.send(envelope, Bytes::from(prepared.bytes.clone()))
            .await
    }

    /// What the server offered in its last EHLO reply (empty after HELO).
    #[must_use]
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The TLS session's facts (`None`: plaintext).
    #[must_use]
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.engine.conn.tls_info()
    }

    /// The server's greeting.
    #[must_use]
    pub fn greeting(&self) -> Option<&Reply> {
        self.engine.conn.greeting()
    }

    /// The SASL mechanism the session authenticated with.
    #[must_use]
    pub fn authenticated(&self) -> Option<Mechanism> {
        self.engine.conn.authenticated()
    }

    /// The address connected to ([`Client::connect`] only).
    #[must_use]
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Whether the connection is still open (a message may be sent).
    #[must_use]
    pub fn is_open(&self) -> bool {
        !self.engine.conn.is_closed()
    }

    /// Why the connection closed, once it has.
    #[must_use]
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.engine.closed.as_ref()
    }

    /// What broke the transport, if something did (a write error, the TLS
    /// handshake, the server closing).
    #[must_use]
    pub fn transport_error(&self) -> Option<&str> {
        self.engine.transport_error.as_deref()
    }

    /// Sends QUIT, waits for its reply (bounded by the QUIT timeout), shuts
    /// the connection down and returns how it ended.
    pub async fn quit(mut self) -> Option<CloseReason> {
        self.engine.finish().await
    }
}

/// The core configuration for one connection to `server`.
pub(crate) fn core_config(
    settings: &ClientSettings,
    server: &ServerAddress,
    local_ip: Option<IpAddr>,
) -> ClientConfig {
    let name = settings.client_name.clone().unwrap_or_else(|| {
        if server.is_localhost() {
            Domain::Name("localhost".into())
        } else {
            default_client_name().unwrap_or_else(|| match local_ip {
                Some(IpAddr::V4(ip)) => Domain::Ipv4(ip),
                Some(IpAddr::V6(ip)) => Domain::Ipv6(ip),
                None => Domain::Name("localhost".into()),
            })
        }
    });
    let mut config = ClientConfig::new(name, settings.random.clone()).with_tls(settings.tls_policy);
    config.credentials = settings.credentials.clone();
    config.auth_security = settings.auth_security;
    config.queue = settings.queue;
    config.pipelining = settings.pipelining;
    config.timeouts = settings.timeouts;
    config.stop_after = settings.stop_after;
    if let Some(mechanisms) = &settings.auth_mechanisms {
        config.auth_mechanisms.clone_from(mechanisms);
    }
    config
}

/// The TLS server name for a host: without the brackets of an IPv6
/// literal.
fn tls_name(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// Opens TCP to the first address of `server` that answers, within the
/// connect timeout.
async fn connect_tcp<R: Runtime>(
    runtime: &R,
    server: &ServerAddress,
    settings: &ClientSettings,
) -> Result<(R::Stream, SocketAddr), ClientError> {
    let deadline = runtime.now().checked_add(settings.connect_timeout);
    let host = tls_name(&server.host);
    let lookup = resolve(&host, server.port);
    let resolved = match deadline {
        Some(at) => {
            let sleep = runtime.sleep_until(at);
            lookup
                .or(async {
                    sleep.await;
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "resolution timed out",
                    ))
                })
                .await
        }
        None => lookup.await,
    };
    let addrs = resolved.map_err(|source| ClientError::Resolve {
        host: server.host.clone(),
        source,
    })?;
    let mut last = None;
    for addr in addrs {
        let attempt = runtime.connect(addr);
        let result = match deadline {
            Some(at) => {
                let sleep = runtime.sleep_until(at);
                attempt
                    .or(async {
                        sleep.await;
                        Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
                    })
                    .await
            }
            None => attempt.await,
        };
        match result {
            Ok(stream) => return Ok((stream, addr)),
            Err(source) => {
                let timed_out = source.kind() == io::ErrorKind::TimedOut;
                last = Some(ClientError::Connect { addr, source });
                if timed_out {
                    break;
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| ClientError::Resolve {
        host: server.host.clone(),
        source: io::Error::new(io::ErrorKind::NotFound, "no address"),
    }))
}
