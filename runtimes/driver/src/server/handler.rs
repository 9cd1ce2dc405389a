//! The application side of a server: the [`Handler`] trait, whose async
//! hooks mirror tcllib smtpd's callbacks, and what they are given.

use std::future::Future;
use std::net::SocketAddr;

use mail_parser::Message;
use mailwire_core::TlsInfo;
use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{AuthCheck, Envelope};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};
use mailwire_core::wire::params::{MailParameters, RcptParameters};
use mailwire_core::wire::reply::Reply;

use super::body::BodyReader;

/// Why a hook did not accept: a reply for the client, or a failure of the
/// hook itself.
///
/// A failure (and a panic inside a hook) is answered `451 4.3.0`, never
/// `250`. `?` works on [`std::io::Error`] (e.g. from a [`BodyReader`]) and
/// on any boxed error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// Answer the client with this reply (a 4xx or 5xx; a positive code
    /// here is treated as a failure and answered `451 4.3.0`).
    #[error("refused: {0:?}")]
    Reply(Reply),
    /// The hook failed (storage down, body cut off, …): `451 4.3.0`.
    #[error("hook failed: {0}")]
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl HookError {
    /// A refusal `code enhanced text`, e.g. `HookError::refuse(550, "5.1.1",
    /// "No such user")`. An invalid reply (CR/LF in the text, classes that
    /// disagree) becomes a [`HookError::Failed`] and is answered `451`.
    #[must_use]
    pub fn refuse(code: u16, enhanced: &str, text: &str) -> HookError {
        match Reply::simple(code, enhanced, text) {
            Ok(reply) => HookError::Reply(reply),
            Err(e) => HookError::Failed(Box::new(e)),
        }
    }

    /// A failure of the hook (answered `451 4.3.0`).
    pub fn failed(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> HookError {
        HookError::Failed(error.into())
    }
}

impl From<Reply> for HookError {
    fn from(reply: Reply) -> HookError {
        HookError::Reply(reply)
    }
}

impl From<std::io::Error> for HookError {
    fn from(error: std::io::Error) -> HookError {
        HookError::Failed(Box::new(error))
    }
}

/// What a hook returns: `Ok` to accept (with the core's default reply), or
/// a [`HookError`].
pub type HookResult<T = ()> = Result<T, HookError>;

/// The facts of the session a hook is called in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Session {
    /// The server's address of the connection, when known.
    pub local: Option<SocketAddr>,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// The TLS facts, once TLS is on (STARTTLS or implicit).
    pub tls: Option<TlsInfo>,
    /// The HELO/EHLO name the client gave, once accepted.
    pub helo: Option<Domain>,
    /// The authenticated identity, once AUTH succeeded.
    pub authenticated: Option<String>,
}

/// A received message with its envelope, as buffered and parsed delivery
/// see it (tcllib smtpd's `-deliver`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Mail {
    /// The envelope: sender, accepted recipients, parameters, size.
    pub envelope: Envelope,
    /// The message octets as received (dot-unstuffed, CRLF line ends),
    /// preceded by the server's `Received` header when
    /// [`ServerOptions::add_received`](super::ServerOptions::add_received)
    /// is on.
    pub data: Vec<u8>,
    /// The session it arrived in.
    pub session: Session,
}

/// Which delivery hook receives messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryMode {
    /// [`Handler::deliver_stream`]: the body as an `AsyncRead`, bounded
    /// memory for any size.
    Streaming,
    /// [`Handler::deliver`]: the whole message in memory (the default).
    #[default]
    Buffered,
    /// [`Handler::deliver_parsed`]: the whole message, parsed by
    /// mail-parser (tcllib smtpd's `-deliverMIME`).
    Parsed,
}

/// The application's hooks, called by the session loop (tcllib smtpd's
/// callbacks, made async and typed).
///
/// Every hook returns `Ok` to accept or a [`HookError`]: a
/// [`HookError::Reply`] is sent to the client; a failure or a panic is
/// answered `451 4.3.0`. Hooks run inside their session's task while the
/// session waits (a slow hook stalls only its own session, and the
/// core's decision deadline answers `451 4.3.0` if it takes too long).
///
/// The defaults accept everything except AUTH: a server that offers AUTH
/// must say whom it knows ([`Handler::authenticate`] refuses by default).
///
/// ```
/// use mailwire_driver::server::{Handler, HookError, HookResult, Mail, Session};
/// use mailwire_driver::core::wire::address::ForwardPath;
/// use mailwire_driver::core::wire::params::RcptParameters;
///
/// struct Inbox;
///
/// impl Handler for Inbox {
///     async fn validate_recipient(
///         &self,
///         _session: &Session,
///         to: &ForwardPath,
///         _params: &RcptParameters,
///     ) -> HookResult {
///         if to.to_string().contains("nobody") {
///             return Err(HookError::refuse(550, "5.1.1", "No such user"));
///         }
///         Ok(())
///     }
///
///     async fn deliver(&self, mail: Mail) -> HookResult {
///         println!("{} octets for {} recipients", mail.data.len(), mail.envelope.recipients.len());
///         Ok(())
///     }
/// }
/// # let _ = Inbox;
/// ```
pub trait Handler: Send + Sync + 'static {
    /// May this client connect? (`ConnectRequest`; smtpd's
    /// `validate_host`.) A refusal is sent in place of the greeting.
    fn validate_host(&self, session: &Session) -> impl Future<Output = HookResult> + Send {
        let _ = session;
        async { Ok(()) }
    }

    /// HELO or EHLO with this name.
    fn helo(
        &self,
        session: &Session,
        domain: &Domain,
        extended: bool,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (session, domain, extended);
        async { Ok(()) }
    }

    /// MAIL FROM (smtpd's `validate_sender`). `<>` arrives as
    /// [`ReversePath::Null`], never as a missing argument.
    fn validate_sender(
        &self,
        session: &Session,
        from: &ReversePath,
        params: &MailParameters,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (session, from, params);
        async { Ok(()) }
    }

    /// RCPT TO (smtpd's `validate_recipient`). The local postmaster is
    /// accepted by the core whatever this returns (RFC 5321 §4.5.1).
    fn validate_recipient(
        &self,
        session: &Session,
        to: &ForwardPath,
        params: &RcptParameters,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (session, to, params);
        async { Ok(()) }
    }

    /// One AUTH step:
    ///
    /// * [`AuthCheck::VerifyPassword`] (PLAIN, LOGIN): `Ok(_)` accepts
    ///   (`235`), a refusal such as `535 5.7.8` refuses;
    /// * [`AuthCheck::NeedSecret`] (CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256):
    ///   return the user's stored secret, `Ok(None)` for an unknown user;
    /// * [`AuthCheck::Authorize`]: may `username` act as `authzid`? `Ok(_)`
    ///   allows.
    ///
    /// The default refuses passwords and authorisations (`535 5.7.8`) and
    /// knows no secrets.
    fn authenticate(
        &self,
        session: &Session,
        mechanism: Mechanism,
        check: &AuthCheck,
    ) -> impl Future<Output = HookResult<Option<StoredSecret>>> + Send {
        let _ = (session, mechanism);
        let answer = match check {
            AuthCheck::NeedSecret { .. } => Ok(None),
            _ => Err(HookError::refuse(
                535,
                "5.7.8",
                "Authentication credentials invalid",
            )),
        };
        async move { answer }
    }

    /// Streaming delivery ([`DeliveryMode::Streaming`]). Read the body from
    /// `body` while the session keeps receiving it; it ends with a clean
    /// end of file only when the message arrived whole. A cut-off message
    /// (size exceeded, RSET, EOF, timeout, shutdown) makes `body` return an
    /// error: do not keep such a message. `Ok` accepts the message
    /// (`250`) once its end has arrived.
    fn deliver_stream(
        &self,
        session: &Session,
        envelope: &Envelope,
        body: BodyReader,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (session, envelope);
        async move {
            let mut body = body;
            futures_lite::io::copy(&mut body, &mut futures_lite::io::sink()).await?;
            Ok(())
        }
    }

    /// Buffered delivery ([`DeliveryMode::Buffered`]; smtpd's `-deliver`).
    fn deliver(&self, mail: Mail) -> impl Future<Output = HookResult> + Send {
        let _ = mail;
        async { Ok(()) }
    }

    /// Parsed delivery ([`DeliveryMode::Parsed`]; smtpd's `-deliverMIME`):
    /// `message` is `mail.data` parsed by mail-parser (`None` when it has
    /// no header at all).
    fn deliver_parsed(
        &self,
        mail: &Mail,
        message: Option<&Message<'_>>,
    ) -> impl Future<Output = HookResult> + Send {
        let _ = (mail, message);
        async { Ok(()) }
    }
}
