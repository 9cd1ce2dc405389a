//! What happened in a simulation: every event, call, fault and byte, in the
//! order the harness saw them (a causal order: a cause always comes before
//! its effects), with views for the usual questions.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use mailwire_core::UsageError;
use mailwire_core::client::{self, ClientEvent, PlaintextDecision, TransactionId};
use mailwire_core::server::{self, AbortReason, ServerEvent, Token, Verdict};

use super::dialogue::{Exchange, dialogue};
use super::net::Direction;

/// Which connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The [`ClientConnection`](mailwire_core::client::ClientConnection).
    Client,
    /// The [`ServerConnection`](mailwire_core::server::ServerConnection).
    Server,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum What {
    /// The server connection emitted this event.
    Server(ServerEvent),
    /// The client connection emitted this event.
    Client(ClientEvent),
    /// The server application called `decide`.
    Decided {
        /// The request answered.
        token: Token,
        /// The answer.
        verdict: Verdict,
        /// What `decide` returned.
        result: Result<(), UsageError>,
    },
    /// The server application called `supply_secret`.
    SecretSupplied {
        /// The request answered.
        token: Token,
        /// Whether a secret was given (`false`: unknown user).
        known: bool,
        /// What `supply_secret` returned.
        result: Result<(), UsageError>,
    },
    /// The server application called `shutdown`.
    Shutdown,
    /// The server application dropped the connection without a reply
    /// (`hang_up`).
    HungUp,
    /// The client application called `send_mail`.
    MailSent {
        /// The envelope given.
        envelope: client::Envelope,
        /// What `send_mail` returned.
        result: Result<TransactionId, UsageError>,
    },
    /// The client application called `send_body`.
    BodySent {
        /// The chunk given.
        bytes: Bytes,
        /// What `send_body` returned.
        result: Result<(), UsageError>,
    },
    /// The client application called `end_body`.
    BodyEnded {
        /// What `end_body` returned.
        result: Result<(), UsageError>,
    },
    /// The client application called `quit`.
    Quit {
        /// What `quit` returned.
        result: Result<(), UsageError>,
    },
    /// The client application called `abort`.
    Aborted,
    /// The client application called `decide_plaintext`.
    PlaintextDecided {
        /// The decision.
        decision: PlaintextDecision,
        /// What `decide_plaintext` returned.
        result: Result<(), UsageError>,
    },
    /// A connection's deadline passed and `handle_timeout` was called.
    TimeoutDue(Side),
    /// The simulated TLS handshake completed on both sides; `discarded`
    /// bytes that were in flight (plaintext sent before the switch) were
    /// dropped, as a TLS layer would consume them.
    TlsSwitched {
        /// Bytes dropped client to server.
        discarded_to_server: usize,
        /// Bytes dropped server to client.
        discarded_to_client: usize,
    },
    /// Bytes a test injected into the stream (not written by a connection).
    Injected {
        /// Which way.
        direction: Direction,
        /// The bytes.
        bytes: Bytes,
    },
    /// A connection was given the end of the stream.
    Eof(Side),
    /// The connection broke (see [`Cut`](super::Cut)).
    ConnectionCut {
        /// Bytes delivered client to server before the break.
        to_server: u64,
        /// Bytes delivered server to client before the break.
        to_client: u64,
    },
}

/// One entry of a [`Transcript`]: when (virtual time since the start) and
/// what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Virtual time since the simulation started.
    pub at: Duration,
    /// What happened.
    pub what: What,
}

/// Every byte each way: as written by the connections (plus injections)
/// and as delivered to the other side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wire {
    /// Written by the client (and injected towards the server).
    pub client_sent: Vec<u8>,
    /// Given to the server's `handle_input`.
    pub server_received: Vec<u8>,
    /// Written by the server (and injected towards the client).
    pub server_sent: Vec<u8>,
    /// Given to the client's `handle_input`.
    pub client_received: Vec<u8>,
}

/// The record of one simulation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Everything, in causal order.
    pub entries: Vec<Entry>,
    /// Every byte.
    pub wire: Wire,
}

/// How a message the server received ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageEnd {
    /// The data ended intact ([`ServerEvent::MessageRequest`]) and the
    /// application accepted it (`decide` returned `Ok` with a positive
    /// verdict).
    Accepted,
    /// The data ended intact and the application refused it.
    Refused(Verdict),
    /// The data ended intact but the decision expired (`451 4.3.0`).
    Expired,
    /// The data ended intact and no decision was made.
    Undecided,
    /// [`ServerEvent::MessageAborted`]: never to be delivered.
    Aborted(AbortReason),
    /// The record ends inside the message.
    Unfinished,
}

/// A message as the server application saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMessage {
    /// Index of the [`ServerEvent::MessageStarted`] entry.
    pub started: usize,
    /// Index of the entry that ended it (request or abort), if any.
    pub ended: Option<usize>,
    /// The envelope: the final one of the request, else the one at the
    /// start.
    pub envelope: server::ReceivedEnvelope,
    /// Every [`ServerEvent::MessageData`] chunk, joined.
    pub body: Vec<u8>,
    /// How it ended.
    pub end: MessageEnd,
    /// The request's token, when the data ended intact.
    pub token: Option<Token>,
}

impl ServerMessage {
    /// Whether the application accepted it for delivery.
    #[must_use]
    pub fn is_accepted(&self) -> bool {
        self.end == MessageEnd::Accepted
    }
}

/// A message as the client application sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessage {
    /// Index of the `send_mail` entry.
    pub index: usize,
    /// The id `send_mail` returned.
    pub id: TransactionId,
    /// The envelope given to `send_mail`.
    pub envelope: client::Envelope,
    /// The body of each SMTP transaction whose body was requested
    /// (`attempt` 1, 2, …): the chunks accepted by `send_body`, joined,
    /// and whether `end_body` was called.
    pub bodies: Vec<(Vec<u8>, bool)>,
    /// The outcome, once `TransactionCompleted` came.
    pub outcome: Option<client::TransactionOutcome>,
    /// Index of the `TransactionCompleted` entry.
    pub completed: Option<usize>,
}

impl Transcript {
    /// Server events, with their entry index.
    pub fn server_events(&self) -> impl Iterator<Item = (usize, &ServerEvent)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.what {
                What::Server(event) => Some((i, event)),
                _ => None,
            })
    }

    /// Client events, with their entry index.
    pub fn client_events(&self) -> impl Iterator<Item = (usize, &ClientEvent)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.what {
                What::Client(event) => Some((i, event)),
                _ => None,
            })
    }

    /// The successful `decide` call for `token`, if any.
    #[must_use]
    pub fn verdict_for(&self, token: Token) -> Option<&Verdict> {
        self.entries.iter().find_map(|e| match &e.what {
            What::Decided {
                token: t,
                verdict,
                result: Ok(()),
            } if *t == token => Some(verdict),
            _ => None,
        })
    }

    /// Whether the decision for `token` expired.
    #[must_use]
    pub fn expired(&self, token: Token) -> bool {
        self.server_events()
            .any(|(_, e)| matches!(e, ServerEvent::DecisionExpired { token: t, .. } if *t == token))
    }

    /// Every message the server started to receive, in order.
    #[must_use]
    pub fn server_messages(&self) -> Vec<ServerMessage> {
        let mut out: Vec<ServerMessage> = Vec::new();
        let mut open: Option<ServerMessage> = None;
        for (i, event) in self.server_events() {
            match event {
                ServerEvent::MessageStarted { envelope, .. } => {
                    if let Some(m) = open.take() {
                        out.push(m);
                    }
                    open = Some(ServerMessage {
                        started: i,
                        ended: None,
                        envelope: envelope.clone(),
                        body: Vec::new(),
                        end: MessageEnd::Unfinished,
                        token: None,
                    });
                }
                ServerEvent::MessageData(chunk) => {
                    if let Some(m) = open.as_mut() {
                        m.body.extend_from_slice(chunk);
                    }
                }
                ServerEvent::MessageRequest {
                    token, envelope, ..
                } => {
                    if let Some(mut m) = open.take() {
                        m.ended = Some(i);
                        m.envelope = envelope.clone();
                        m.token = Some(*token);
                        m.end = match self.verdict_for(*token) {
                            Some(Verdict::Accept) => MessageEnd::Accepted,
                            Some(Verdict::Reply(r)) if r.code().is_positive() => {
                                MessageEnd::Accepted
                            }
                            Some(v) => MessageEnd::Refused(v.clone()),
                            None if self.expired(*token) => MessageEnd::Expired,
                            None => MessageEnd::Undecided,
                        };
                        out.push(m);
                    }
                }
                ServerEvent::MessageAborted { reason, .. } => {
                    if let Some(mut m) = open.take() {
                        m.ended = Some(i);
                        m.end = MessageEnd::Aborted(*reason);
                        out.push(m);
                    }
                }
                _ => {}
            }
        }
        out.extend(open);
        out
    }

    /// Every message the client application handed to a successful
    /// `send_mail`, in order.
    #[must_use]
    pub fn client_messages(&self) -> Vec<ClientMessage> {
        let mut out: Vec<ClientMessage> = Vec::new();
        // The message whose body is being written.
        let mut body_of: Option<TransactionId> = None;
        for (i, entry) in self.entries.iter().enumerate() {
            match &entry.what {
                What::MailSent {
                    envelope,
                    result: Ok(id),
                } => out.push(ClientMessage {
                    index: i,
                    id: *id,
                    envelope: envelope.clone(),
                    bodies: Vec::new(),
                    outcome: None,
                    completed: None,
                }),
                What::Client(ClientEvent::BodyRequested { transaction, .. }) => {
                    body_of = Some(*transaction);
                    if let Some(m) = out.iter_mut().find(|m| m.id == *transaction) {
                        m.bodies.push((Vec::new(), false));
                    }
                }
                What::BodySent {
                    bytes,
                    result: Ok(()),
                } => {
                    let m = out.iter_mut().find(|m| Some(m.id) == body_of);
                    if let Some((body, _)) = m.and_then(|m| m.bodies.last_mut()) {
                        body.extend_from_slice(bytes);
                    }
                }
                What::BodyEnded { result: Ok(()) } => {
                    let m = out.iter_mut().find(|m| Some(m.id) == body_of);
                    if let Some((_, ended)) = m.and_then(|m| m.bodies.last_mut()) {
                        *ended = true;
                    }
                }
                What::Client(ClientEvent::TransactionCompleted(outcome)) => {
                    if let Some(m) = out.iter_mut().find(|m| m.id == outcome.id) {
                        m.outcome = Some(outcome.clone());
                        m.completed = Some(i);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// How the client connection ended, if it did.
    #[must_use]
    pub fn client_closed(&self) -> Option<&client::CloseReason> {
        self.client_events().find_map(|(_, e)| match e {
            ClientEvent::Closed(reason) => Some(reason),
            _ => None,
        })
    }

    /// How the server connection ended, if it did.
    #[must_use]
    pub fn server_closed(&self) -> Option<server::CloseReason> {
        self.server_events().find_map(|(_, e)| match e {
            ServerEvent::Closed(reason) => Some(reason.clone()),
            _ => None,
        })
    }

    /// What one side was told and did, in order: for the server its
    /// events, the application's decisions, its timeouts and its end of
    /// stream; for the client its events, the application's calls, its
    /// timeouts and its end of stream. Consecutive
    /// [`ServerEvent::MessageData`] chunks are joined, so two runs that
    /// differ only in how the network cut the bytes compare equal.
    #[must_use]
    pub fn side(&self, side: Side) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for entry in &self.entries {
            let mine = match &entry.what {
                What::Server(_)
                | What::Decided { .. }
                | What::SecretSupplied { .. }
                | What::Shutdown
                | What::HungUp => side == Side::Server,
                What::Client(_)
                | What::MailSent { .. }
                | What::BodySent { .. }
                | What::BodyEnded { .. }
                | What::Quit { .. }
                | What::Aborted
                | What::PlaintextDecided { .. } => side == Side::Client,
                What::TimeoutDue(s) | What::Eof(s) => *s == side,
                _ => false,
            };
            if !mine {
                continue;
            }
            if let (
                What::Server(ServerEvent::MessageData(more)),
                Some(Entry {
                    what: What::Server(ServerEvent::MessageData(data)),
                    ..
                }),
            ) = (&entry.what, out.last_mut())
            {
                let mut joined = data.to_vec();
                joined.extend_from_slice(more);
                *data = Bytes::from(joined);
                continue;
            }
            out.push(entry.clone());
        }
        out
    }

    /// The conversation as the server saw it: each command (or message
    /// data) it received, paired with the reply it sent (see
    /// [`dialogue`]).
    #[must_use]
    pub fn server_dialogue(&self) -> Vec<Exchange> {
        dialogue(&self.wire.server_received, &self.wire.server_sent)
    }

    /// The conversation as the client saw it: what it wrote, paired with
    /// the replies it received.
    #[must_use]
    pub fn client_dialogue(&self) -> Vec<Exchange> {
        dialogue(&self.wire.client_sent, &self.wire.client_received)
    }
}

impl fmt::Display for Transcript {
    /// A readable log: one line per entry, then the server's dialogue.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in &self.entries {
            let what = match &entry.what {
                What::Server(ServerEvent::MessageData(b)) => {
                    format!("server: MessageData({} octets)", b.len())
                }
                What::BodySent { bytes, result } => {
                    format!(
                        "client app: send_body({} octets) -> {result:?}",
                        bytes.len()
                    )
                }
                What::Server(e) => format!("server: {e:?}"),
                What::Client(e) => format!("client: {e:?}"),
                other => format!("{other:?}"),
            };
            writeln!(f, "{:>10.3}s  {what}", entry.at.as_secs_f64())?;
        }
        writeln!(f, "-- as the server saw it --")?;
        for exchange in self.server_dialogue() {
            writeln!(f, "{exchange}")?;
        }
        Ok(())
    }
}
