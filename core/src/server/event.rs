//! [`ServerEvent`]: what a server connection tells its application.
//!
//! Request events (nouns: `MailRequest`, …) carry a [`Token`] and wait for
//! a decision; notices (past tense: `TlsUpgraded`, …) only inform.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::sasl::{Mechanism, SecretString};
use crate::tls::TlsInfo;
use crate::wire::address::{Domain, ForwardPath, ReversePath};
use crate::wire::params::{BodyType, MailParameters, RcptParameters};

use super::decision::Token;

/// The facts of a session known when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The server's address of the connection, if known.
    pub local: Option<SocketAddr>,
    /// The client's address, if known.
    pub peer: Option<SocketAddr>,
    /// `Some` for implicit TLS (port 465): TLS is on from the start, so
    /// STARTTLS is not offered and plaintext AUTH mechanisms are.
    pub tls: Option<TlsInfo>,
}

impl SessionInfo {
    /// A plaintext session between these addresses.
    #[must_use]
    pub fn new(local: Option<SocketAddr>, peer: Option<SocketAddr>) -> SessionInfo {
        SessionInfo {
            local,
            peer,
            tls: None,
        }
    }

    /// The same session with TLS on from the start (implicit TLS).
    #[must_use]
    pub fn with_tls(mut self, tls: TlsInfo) -> SessionInfo {
        self.tls = Some(tls);
        self
    }
}

/// What an [`ServerEvent::AuthRequest`] asks the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthCheck {
    /// PLAIN or LOGIN: check this password (compare in constant time, e.g.
    /// with [`SecretString::constant_time_eq`]) and whether `username` may
    /// act as `authzid`. Answer with
    /// [`decide`](super::ServerConnection::decide): `Accept` (235) or a
    /// refusal (`535 5.7.8`, `454 4.7.0`, `534 5.7.9`, …).
    VerifyPassword {
        /// The identity to act as, if the client asked for one.
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
        /// The password (`Debug` prints `<redacted>`).
        password: SecretString,
    },
    /// CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256: look up the user's stored
    /// secret and answer with
    /// [`supply_secret`](super::ServerConnection::supply_secret) — `None` for
    /// an unknown user (the client then sees the same `535 5.7.8` as for a
    /// wrong password). [`decide`](super::ServerConnection::decide) may
    /// only refuse it (e.g. `454 4.7.0` when the store is down).
    NeedSecret {
        /// The identity to act as, if the client asked for one.
        authzid: Option<String>,
        /// The authentication identity.
        username: String,
    },
    /// The client proved it knows `username`'s secret and asks to act as
    /// another identity: may it? Answer with
    /// [`decide`](super::ServerConnection::decide). (Not asked when
    /// `authzid` is absent or equals `username`.)
    Authorize {
        /// The identity to act as.
        authzid: String,
        /// The authenticated identity.
        username: String,
    },
}

/// How a message's data arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transfer {
    /// `DATA`: dot-unstuffed, bare line ends handled by the body policy.
    Data,
    /// `BDAT` chunks (RFC 3030).
    Bdat,
}

/// One recipient of a transaction, as received and accepted by the
/// application (the client's recipient to send to is
/// [`envelope::Recipient`](crate::envelope::Recipient)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptedRecipient {
    /// The forward path.
    pub to: ForwardPath,
    /// Its parameters (DSN `NOTIFY`/`ORCPT`, passed-through unknown ones).
    pub params: RcptParameters,
}

/// The envelope of a received message: the accepted sender and
/// recipients (the envelope a client sends is
/// [`envelope::Envelope`](crate::envelope::Envelope)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedEnvelope {
    /// The reverse path of MAIL.
    pub from: ReversePath,
    /// MAIL's parameters.
    pub params: MailParameters,
    /// The recipients the application accepted, in order.
    pub recipients: Vec<AcceptedRecipient>,
    /// `BODY=` as declared (7BIT when absent).
    pub body: BodyType,
    /// DATA or BDAT.
    pub transfer: Transfer,
    /// Octets of message data received so far (after dot-unstuffing and
    /// line-end normalisation for DATA; chunk octets for BDAT).
    pub size: u64,
}

/// Why a message in progress was abandoned. Its data so far must not be
/// delivered: it is not a complete message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// RSET, EHLO/HELO or STARTTLS between BDAT chunks.
    Reset,
    /// The peer closed the connection.
    PeerClosed,
    /// A timer ran out (data wait, transfer cap, session cap).
    Timeout,
    /// The data grew past [`Limits::max_message_size`](super::Limits::max_message_size);
    /// the rest is read and discarded, and the message is answered
    /// `552 5.3.4`.
    SizeExceeded,
    /// The body broke the [`BodyPolicy`](crate::wire::dot::BodyPolicy)
    /// (bare LF/CR refused, over-long line); answered `550 5.6.0`.
    BodyRejected,
    /// [`shutdown`](super::ServerConnection::shutdown).
    Shutdown,
    /// The session ended for another reason (error limit, a failed chunk
    /// framing, a 421 verdict).
    SessionClosed,
}

/// How a mail transaction ended ([`ServerEvent::TransactionEnded`]).
///
/// Every transaction that began with an accepted MAIL ends exactly once:
/// either its message was accepted ([`Delivered`](Self::Delivered)) or it
/// ended in one of the other ways, and then nothing of it was delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionEnd {
    /// The message was accepted (`250` at the end of its data).
    Delivered,
    /// The message arrived whole but was not accepted: the end-of-data
    /// verdict refused it, or its decision ran out of time (`451 4.3.0`).
    Refused,
    /// The message data was cut off (its
    /// [`ServerEvent::MessageAborted`] came first).
    Aborted(AbortReason),
    /// RSET.
    Reset,
    /// A new HELO or EHLO (RFC 5321 §4.1.4).
    Helo,
    /// The session ended while the transaction was open (no message data
    /// was being received).
    Closed,
}

/// A mail transaction as it stood: the accepted sender and the recipients
/// accepted so far.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailTransaction {
    /// The reverse path of MAIL.
    pub from: ReversePath,
    /// MAIL's parameters.
    pub params: MailParameters,
    /// The recipients the application accepted, in order.
    pub recipients: Vec<AcceptedRecipient>,
}

impl MailTransaction {
    /// A transaction with this sender and these recipients.
    #[must_use]
    pub fn new(
        from: ReversePath,
        params: MailParameters,
        recipients: Vec<AcceptedRecipient>,
    ) -> MailTransaction {
        MailTransaction {
            from,
            params,
            recipients,
        }
    }
}

/// Which timer ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// No command within [`ServerTimeouts::command`](super::ServerTimeouts::command).
    Command,
    /// No data within [`ServerTimeouts::data`](super::ServerTimeouts::data).
    Data,
    /// A message transfer took longer than [`ServerTimeouts::transfer`](super::ServerTimeouts::transfer).
    Transfer,
    /// The session lasted longer than [`ServerTimeouts::session`](super::ServerTimeouts::session).
    Session,
    /// The TLS handshake did not finish in time.
    TlsHandshake,
    /// The application did not decide on the connecting host in time.
    ConnectDecision,
}

/// Why a session ended ([`ServerEvent::Closed`]): the kind, the reply the
/// server sent last and the command concerned (the shape both roles share,
/// [`crate::close::CloseReason`]; a server reports no phase).
pub type CloseReason = crate::close::CloseReason<CloseKind>;

impl From<CloseKind> for CloseReason {
    /// A reason with no reply and no command (for a driver that ends a
    /// session on its own).
    fn from(kind: CloseKind) -> CloseReason {
        CloseReason::new(kind, ())
    }
}

impl CloseReason {
    /// `true` when the client quit.
    #[must_use]
    pub fn is_normal(&self) -> bool {
        self.kind == CloseKind::Quit
    }
}

impl fmt::Display for crate::close::CloseReason<CloseKind> {
    /// `KIND (command "COMMAND"): the server answered REPLY`, the kind in
    /// words ([`CloseKind`]'s `Display`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(command) = &self.command {
            write!(f, " (command \"{command}\")")?;
        }
        if let Some(reply) = &self.reply {
            write!(f, ": the server answered {reply}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CloseKind {
    /// What happened, in words for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            CloseKind::Quit => "the client quit",
            CloseKind::PeerClosed => "the client closed the connection",
            CloseKind::Timeout(kind) => {
                let what = match kind {
                    TimeoutKind::Command => "waiting for a command",
                    TimeoutKind::Data => "waiting for message data",
                    TimeoutKind::Transfer => "the message transfer took too long",
                    TimeoutKind::Session => "the session lasted too long",
                    TimeoutKind::TlsHandshake => "the TLS handshake did not finish",
                    TimeoutKind::ConnectDecision => {
                        "the application did not decide on the connecting host"
                    }
                };
                return write!(f, "timed out: {what}");
            }
            CloseKind::TooManyErrors => "too many errors or refusals",
            CloseKind::TooManyAuthFailures => "too many failed authentications",
            CloseKind::HostRefused => "the connecting host was refused",
            CloseKind::ServiceClosing => "the application closed the service",
            CloseKind::Shutdown => "the server is shutting down",
            CloseKind::FramingLost => "a BDAT size did not parse: the data framing is lost",
            CloseKind::DiscardLimit => "too much input would have had to be thrown away",
        };
        f.write_str(text)
    }
}

/// What ended a server session ([`CloseReason::kind`](crate::close::CloseReason::kind)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseKind {
    /// The client sent QUIT (answered `221`).
    Quit,
    /// The client closed the connection.
    PeerClosed,
    /// A timer ran out (answered `421 4.4.2` where the protocol allowed).
    Timeout(TimeoutKind),
    /// Too many protocol errors, or too many senders and recipients
    /// refused by the application (`421 4.7.0`; see
    /// [`Limits::max_errors`](super::Limits::max_errors) and
    /// [`Limits::max_refusals`](super::Limits::max_refusals)).
    TooManyErrors,
    /// Too many failed AUTH exchanges (`421 4.7.0`).
    TooManyAuthFailures,
    /// The connecting host was refused and kept sending commands, or a
    /// `421` verdict answered the connection request.
    HostRefused,
    /// The application answered a step with `421`.
    ServiceClosing,
    /// [`shutdown`](super::ServerConnection::shutdown) (`421 4.3.2`).
    Shutdown,
    /// A BDAT size that does not parse: the data framing is lost (`501`).
    FramingLost,
    /// More input than [`Limits::max_discard`](super::Limits::max_discard)
    /// would have had to be thrown away: an over-long line that went on, or
    /// a refused BDAT chunk announced too large (`421 4.7.0` after the
    /// line's or the chunk's reply).
    DiscardLimit,
}

/// What a server connection tells the application, taken from
/// [`poll_action`](super::ServerConnection::poll_action) as
/// [`Action::Event`](crate::Action::Event).
///
/// Each request (`…Request`) waits for
/// [`decide`](super::ServerConnection::decide) (or, for
/// [`AuthCheck::NeedSecret`],
/// [`supply_secret`](super::ServerConnection::supply_secret)); meanwhile the
/// connection reads nothing. At most one request is pending at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The first event: may this host connect (tcllib's `validate_host`)?
    /// Accept → `220 <domain> ESMTP <banner>`; a refusal (e.g. 554) is sent
    /// instead of the greeting, after which every command but QUIT gets
    /// `503 5.5.1` and the session ends with `421` after a few.
    #[non_exhaustive]
    ConnectRequest {
        /// Answer with `decide`.
        token: Token,
        /// Addresses and implicit TLS.
        session: SessionInfo,
    },
    /// HELO or EHLO. Accept → `250` (EHLO: with the extensions). The
    /// transaction was already reset when this was asked.
    #[non_exhaustive]
    HeloRequest {
        /// Answer with `decide`.
        token: Token,
        /// The client's name (or address literal).
        domain: Domain,
        /// EHLO (`true`) or HELO.
        extended: bool,
    },
    /// MAIL FROM, its parameters already checked against what was
    /// advertised. Accept → `250 2.1.0`.
    #[non_exhaustive]
    MailRequest {
        /// Answer with `decide`.
        token: Token,
        /// The reverse path.
        from: ReversePath,
        /// The parameters (SIZE within the limit, BODY/SMTPUTF8/DSN/AUTH/
        /// REQUIRETLS only when advertised).
        params: MailParameters,
    },
    /// RCPT TO. Accept → `250 2.1.5` (a 251 reply is allowed too).
    ///
    /// When `is_local_postmaster` is true (the bare `<Postmaster>`, or
    /// postmaster at one of [`local_domains`](super::ServerConfig::local_domains)),
    /// the core accepts the recipient **whatever the verdict** (RFC 5321
    /// §4.5.1), except a `421`, which still closes the session.
    #[non_exhaustive]
    RcptRequest {
        /// Answer with `decide`.
        token: Token,
        /// The forward path.
        to: ForwardPath,
        /// The parameters.
        params: RcptParameters,
        /// The local postmaster: accepted even if refused.
        is_local_postmaster: bool,
    },
    /// One step of an AUTH exchange that needs the application.
    #[non_exhaustive]
    AuthRequest {
        /// Answer with `decide` or `supply_secret` (see [`AuthCheck`]).
        token: Token,
        /// The SASL mechanism in use.
        mechanism: Mechanism,
        /// What to check.
        check: AuthCheck,
    },
    /// A message's data starts (DATA answered `354`, or the first BDAT
    /// chunk accepted). [`MessageData`](Self::MessageData) chunks follow,
    /// then [`MessageRequest`](Self::MessageRequest) or
    /// [`MessageAborted`](Self::MessageAborted).
    #[non_exhaustive]
    MessageStarted {
        /// The envelope (`size` 0).
        envelope: ReceivedEnvelope,
    },
    /// The next piece of the message (DATA: dot-unstuffed).
    MessageData(Bytes),
    /// The data ended intact: the final verdict. Nothing has been answered
    /// `250` before this is accepted. Accept → `250 2.0.0`.
    #[non_exhaustive]
    MessageRequest {
        /// Answer with `decide`.
        token: Token,
        /// The envelope with the final size.
        envelope: ReceivedEnvelope,
    },
    /// The message in progress was abandoned; never deliver what was
    /// received of it.
    #[non_exhaustive]
    MessageAborted {
        /// Why.
        reason: AbortReason,
    },
    /// The application did not decide in time: the step was answered
    /// `451 4.3.0` (a connection request: `421`) and `token` is now stale.
    /// For a message this means it was **not** accepted: do not deliver.
    #[non_exhaustive]
    DecisionExpired {
        /// The expired token.
        token: Token,
    },
    /// The mail transaction ended (after the final reply to its message,
    /// RSET, a new HELO/EHLO, a cut-off message or the end of the
    /// session). For every accepted MAIL this comes exactly once; anything
    /// but [`TransactionEnd::Delivered`] means nothing of it was
    /// delivered.
    #[non_exhaustive]
    TransactionEnded {
        /// How it ended.
        end: TransactionEnd,
        /// The transaction as it stood.
        transaction: MailTransaction,
    },
    /// STARTTLS completed; the session starts over (EHLO needed again).
    TlsUpgraded(TlsInfo),
    /// AUTH succeeded (`235 2.7.0` sent).
    #[non_exhaustive]
    Authenticated {
        /// The mechanism used.
        mechanism: Mechanism,
        /// The authenticated identity.
        username: String,
        /// The identity the client acts as, when it asked for one.
        authzid: Option<String>,
    },
    /// The last event; [`Action::Close`](crate::Action::Close) follows.
    Closed(CloseReason),
}

impl ServerEvent {
    /// The token of a request event, `None` for notices.
    #[must_use]
    pub fn token(&self) -> Option<Token> {
        match self {
            ServerEvent::ConnectRequest { token, .. }
            | ServerEvent::HeloRequest { token, .. }
            | ServerEvent::MailRequest { token, .. }
            | ServerEvent::RcptRequest { token, .. }
            | ServerEvent::AuthRequest { token, .. }
            | ServerEvent::MessageRequest { token, .. } => Some(*token),
            _ => None,
        }
    }
}
