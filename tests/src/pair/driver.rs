//! [`Pair`]: the drive loop that connects a client and a server connection
//! through the simulated network, under a virtual clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mailwire_core::client::{ClientConfig, ClientConnection, ClientSession};
use mailwire_core::server::{ServerConfig, ServerConnection, SessionInfo};
use mailwire_core::{Action, UsageError};

use super::app::{ClientApp, ClientCx, ServerApp, ServerCx};
use super::net::{Direction, Link, Network, SimRng};
use super::options::{Injection, PairError, TlsSim};
use super::transcript::{Entry, Side, Transcript, What};

/// A client and a server connection talking through a simulated network
/// under a virtual clock, each driven by an application.
///
/// See the [module documentation](super) for the loop and an example.
pub struct Pair<S, C> {
    server_config: Arc<ServerConfig>,
    client_config: Arc<ClientConfig>,
    server: ServerConnection,
    client: ClientConnection,
    server_app: S,
    client_app: C,
    start: Instant,
    now: Instant,
    to_server: Link,
    to_client: Link,
    network: Network,
    scheduler: Option<SimRng>,
    injection: Injection,
    tls: TlsSim,
    server_handshake: bool,
    client_handshake: bool,
    server_closed: bool,
    client_closed: bool,
    cut_done: bool,
    steps: u64,
    max_steps: u64,
    time_limit: Duration,
    transcript: Transcript,
}

impl<S: ServerApp, C: ClientApp> Pair<S, C> {
    /// A new pair: a plaintext connection (unless
    /// [`with_implicit_tls`](Self::with_implicit_tls)) over a network that
    /// delivers every write at once and whole. Nothing runs until
    /// [`run`](Self::run).
    ///
    /// # Errors
    ///
    /// What [`ClientConnection::new`] refuses (an invalid client config).
    pub fn new(
        server_config: Arc<ServerConfig>,
        client_config: Arc<ClientConfig>,
        server_app: S,
        client_app: C,
    ) -> Result<Pair<S, C>, UsageError> {
        // The virtual clock's origin: the only clock read of a simulation.
        let start = Instant::now();
        let server_name = server_config.domain.clone();
        let server =
            ServerConnection::new(Arc::clone(&server_config), SessionInfo::default(), start);
        let client = ClientConnection::new(
            Arc::clone(&client_config),
            ClientSession::new(server_name),
            start,
        )?;
        let network = Network::default();
        Ok(Pair {
            server_config,
            client_config,
            server,
            client,
            server_app,
            client_app,
            start,
            now: start,
            to_server: Link::new(network.client_to_server.clone()),
            to_client: Link::new(network.server_to_client.clone()),
            network,
            scheduler: None,
            injection: Injection::default(),
            tls: TlsSim::default(),
            server_handshake: false,
            client_handshake: false,
            server_closed: false,
            client_closed: false,
            cut_done: false,
            steps: 0,
            max_steps: 2_000_000,
            time_limit: Duration::from_secs(7 * 24 * 3600),
            transcript: Transcript::default(),
        })
    }

    /// Both connections start inside TLS (port 465): the server is given
    /// the [`TlsSim`]'s `server` facts as its session's TLS, the client its
    /// `client` facts as implicit TLS. Call before [`run`](Self::run) (and
    /// after [`with_tls`](Self::with_tls)).
    #[must_use]
    pub fn with_implicit_tls(mut self) -> Pair<S, C> {
        let session = SessionInfo::default().with_tls(self.tls.server.clone());
        self.server = ServerConnection::new(Arc::clone(&self.server_config), session, self.start);
        let session = ClientSession::new(self.server_config.domain.clone())
            .with_implicit_tls(self.tls.client.clone());
        // The config was accepted by `new`; only the session differs.
        if let Ok(client) =
            ClientConnection::new(Arc::clone(&self.client_config), session, self.start)
        {
            self.client = client;
        }
        self
    }

    /// Uses this network (read sizes, delays, a break). Call before
    /// [`run`](Self::run).
    #[must_use]
    pub fn with_network(mut self, network: Network) -> Pair<S, C> {
        self.to_server = Link::new(network.client_to_server.clone());
        self.to_client = Link::new(network.server_to_client.clone());
        self.scheduler = network.scheduler_seed.map(SimRng::new);
        self.network = network;
        self
    }

    /// Plays a malicious peer at the STARTTLS switch.
    #[must_use]
    pub fn with_injection(mut self, injection: Injection) -> Pair<S, C> {
        self.injection = injection;
        self
    }

    /// The TLS facts handed to each side at the simulated handshake.
    #[must_use]
    pub fn with_tls(mut self, tls: TlsSim) -> Pair<S, C> {
        self.tls = tls;
        self
    }

    /// The most loop steps before [`PairError::Livelock`] (default two
    /// million; a step is one read, one timer or one drain).
    #[must_use]
    pub fn with_step_limit(mut self, steps: u64) -> Pair<S, C> {
        self.max_steps = steps;
        self
    }

    /// The most virtual time before [`PairError::TimeLimit`] (default a
    /// week).
    #[must_use]
    pub fn with_time_limit(mut self, limit: Duration) -> Pair<S, C> {
        self.time_limit = limit;
        self
    }

    /// The record so far.
    #[must_use]
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Takes the record.
    #[must_use]
    pub fn into_parts(self) -> (Transcript, S, C) {
        (self.transcript, self.server_app, self.client_app)
    }

    /// The server application.
    #[must_use]
    pub fn server_app(&self) -> &S {
        &self.server_app
    }

    /// The client application.
    #[must_use]
    pub fn client_app(&self) -> &C {
        &self.client_app
    }

    /// The server connection.
    #[must_use]
    pub fn server(&self) -> &ServerConnection {
        &self.server
    }

    /// The client connection.
    #[must_use]
    pub fn client(&self) -> &ClientConnection {
        &self.client
    }

    /// Virtual time since the start.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Runs until both connections have closed.
    ///
    /// Each step: drain both connections' actions (writes go into the
    /// network, events to the applications, `StartTls` starts the simulated
    /// handshake), poll the server application if it
    /// [wants it](ServerApp::wants_poll), let the client application write body while the client
    /// wants it, complete the TLS switch once both sides asked for it,
    /// deliver one read (replies first unless the network's scheduler is
    /// seeded) or an end of stream; when nothing can move, jump the clock
    /// to the earliest deadline, wake-up or delayed write and fire what is
    /// due.
    ///
    /// # Errors
    ///
    /// [`PairError`]: a livelock, a stall, the time limit, or a connection
    /// refusing the harness's input.
    pub fn run(&mut self) -> Result<(), PairError> {
        loop {
            self.steps += 1;
            if self.steps > self.max_steps {
                return Err(PairError::Livelock {
                    steps: self.steps,
                    elapsed: self.elapsed(),
                });
            }
            if self.elapsed() > self.time_limit {
                return Err(PairError::TimeLimit {
                    elapsed: self.elapsed(),
                });
            }
            self.drain_server();
            self.drain_client();
            if self.poll_server_app() || self.feed_body() || self.switch_tls()? || self.deliver()? {
                continue;
            }
            if self.server_closed && self.client_closed {
                return Ok(());
            }
            self.advance()?;
        }
    }

    // -----------------------------------------------------------------

    fn record(&mut self, what: What) {
        let at = self.now - self.start;
        self.transcript.entries.push(Entry { at, what });
    }

    fn server_cx(&mut self) -> (ServerCx<'_>, &mut S) {
        (
            ServerCx {
                conn: &mut self.server,
                now: self.now,
                start: self.start,
                log: &mut self.transcript.entries,
                hung_up: false,
            },
            &mut self.server_app,
        )
    }

    /// The server application dropped the connection
    /// ([`ServerCx::hang_up`]): the server connection is left as it is
    /// (never drained or read again) and the client gets the end of the
    /// stream after what was written.
    fn server_hung_up(&mut self) {
        self.server_closed = true;
        self.server_handshake = false;
        self.to_client.fin = true;
    }

    /// Polls the server application when it asks for it.
    fn poll_server_app(&mut self) -> bool {
        if !self.server_app.wants_poll() {
            return false;
        }
        let (mut cx, app) = self.server_cx();
        app.on_poll(&mut cx);
        if cx.hung_up && !self.server_closed {
            self.server_hung_up();
        }
        true
    }

    fn client_cx(&mut self) -> (ClientCx<'_>, &mut C) {
        (
            ClientCx {
                conn: &mut self.client,
                now: self.now,
                start: self.start,
                log: &mut self.transcript.entries,
                acted: false,
            },
            &mut self.client_app,
        )
    }

    /// Writes what the server sent. The write is held until the next
    /// action is known, so that an injection lands in the same write as
    /// the `220` that precedes `StartTls`.
    fn server_write(&mut self, held: &mut Option<Bytes>, starttls: bool) {
        let Some(bytes) = held.take() else {
            return;
        };
        let mut bytes = bytes.to_vec();
        if starttls && !self.injection.after_220.is_empty() {
            let injected = std::mem::take(&mut self.injection.after_220);
            self.record(What::Injected {
                direction: Direction::ServerToClient,
                bytes: Bytes::from(injected.clone()),
            });
            bytes.extend_from_slice(&injected);
        }
        self.transcript.wire.server_sent.extend_from_slice(&bytes);
        if !self.cut_done {
            self.to_client.write(self.now, Bytes::from(bytes));
        }
    }

    fn drain_server(&mut self) {
        let mut held: Option<Bytes> = None;
        while !self.server_closed
            && let Some(action) = self.server.poll_action()
        {
            let starttls = matches!(action, Action::StartTls);
            self.server_write(&mut held, starttls);
            match action {
                Action::Send(bytes) => held = Some(bytes),
                Action::StartTls => self.server_handshake = true,
                Action::Event(event) => {
                    self.record(What::Server(event.clone()));
                    let (mut cx, app) = self.server_cx();
                    app.on_event(&mut cx, &event);
                    if cx.hung_up {
                        self.server_hung_up();
                    }
                }
                Action::Close => {
                    self.server_closed = true;
                    self.server_handshake = false;
                    self.to_client.fin = true;
                }
                _ => {}
            }
        }
        self.server_write(&mut held, false);
    }

    fn drain_client(&mut self) {
        while let Some(action) = self.client.poll_action() {
            match action {
                Action::Send(bytes) => {
                    let mut bytes = bytes.to_vec();
                    if bytes.ends_with(b"STARTTLS\r\n") && !self.injection.after_starttls.is_empty()
                    {
                        let injected = std::mem::take(&mut self.injection.after_starttls);
                        self.record(What::Injected {
                            direction: Direction::ClientToServer,
                            bytes: Bytes::from(injected.clone()),
                        });
                        bytes.extend_from_slice(&injected);
                    }
                    self.transcript.wire.client_sent.extend_from_slice(&bytes);
                    if !self.cut_done {
                        self.to_server.write(self.now, Bytes::from(bytes));
                    }
                }
                Action::StartTls => self.client_handshake = true,
                Action::Event(event) => {
                    self.record(What::Client(event.clone()));
                    let (mut cx, app) = self.client_cx();
                    app.on_event(&mut cx, &event);
                }
                Action::Close => {
                    self.client_closed = true;
                    self.client_handshake = false;
                    self.to_server.fin = true;
                }
                _ => {}
            }
        }
    }

    /// Lets the client application write body while the client wants it.
    fn feed_body(&mut self) -> bool {
        let mut any = false;
        while !self.client_closed && self.client.wants_body() {
            let (mut cx, app) = self.client_cx();
            app.on_body_wanted(&mut cx);
            let acted = cx.acted;
            self.drain_client();
            if !acted {
                break;
            }
            any = true;
        }
        any
    }

    /// Completes the simulated handshake once both sides asked for it:
    /// plaintext still in flight is dropped (a TLS layer would consume it),
    /// then both sides are told TLS is on.
    fn switch_tls(&mut self) -> Result<bool, PairError> {
        if !(self.server_handshake && self.client_handshake) {
            return Ok(false);
        }
        self.server_handshake = false;
        self.client_handshake = false;
        let discarded_to_server = self.to_server.drop_in_flight();
        let discarded_to_client = self.to_client.drop_in_flight();
        self.record(What::TlsSwitched {
            discarded_to_server,
            discarded_to_client,
        });
        let now = self.now;
        self.server
            .tls_established(now, self.tls.server.clone())
            .map_err(|error| PairError::Usage {
                side: Side::Server,
                error,
            })?;
        self.client
            .tls_established(now, self.tls.client.clone())
            .map_err(|error| PairError::Usage {
                side: Side::Client,
                error,
            })?;
        Ok(true)
    }

    /// Delivers one read or one end of stream, if one is due now.
    fn deliver(&mut self) -> Result<bool, PairError> {
        let to_client = !self.client_closed && self.client.wants_read();
        let to_server =
            !self.server_closed && self.server.wants_read() && self.server_app.wants_read();
        let client_ready = to_client && self.to_client.has_ready(self.now);
        let server_ready = to_server && self.to_server.has_ready(self.now);
        let first = match (client_ready, server_ready) {
            (true, true) => {
                let coin = self.scheduler.as_mut().map_or(0, |rng| rng.below(2));
                Some(if coin == 1 {
                    Side::Server
                } else {
                    Side::Client
                })
            }
            (true, false) => Some(Side::Client),
            (false, true) => Some(Side::Server),
            (false, false) => None,
        };
        if let Some(side) = first {
            self.read_into(side)?;
            return Ok(true);
        }
        // End of stream, once everything before it was read. A side paused
        // on a decision does not read, so it learns of the end later; a
        // side in the TLS handshake learns of it at once (the handshake
        // fails).
        if !self.client_closed
            && self.to_client.fin
            && self.to_client.is_empty()
            && !self.to_client.eof_given
            && (self.client.wants_read() || self.client_handshake)
        {
            self.to_client.eof_given = true;
            self.client_handshake = false;
            self.record(What::Eof(Side::Client));
            self.client.handle_eof(self.now);
            return Ok(true);
        }
        if !self.server_closed
            && self.to_server.fin
            && self.to_server.is_empty()
            && !self.to_server.eof_given
            && ((self.server.wants_read() && self.server_app.wants_read()) || self.server_handshake)
        {
            self.to_server.eof_given = true;
            self.server_handshake = false;
            self.record(What::Eof(Side::Server));
            self.server.handle_eof(self.now);
            return Ok(true);
        }
        Ok(false)
    }

    fn read_into(&mut self, side: Side) -> Result<(), PairError> {
        let (link, direction) = match side {
            Side::Client => (&mut self.to_client, Direction::ServerToClient),
            Side::Server => (&mut self.to_server, Direction::ClientToServer),
        };
        let limit = match self.network.cut {
            Some(cut) if cut.direction == direction && !self.cut_done => {
                cut.after.saturating_sub(link.delivered)
            }
            _ => u64::MAX,
        };
        if limit == 0 {
            self.cut();
            return Ok(());
        }
        let bytes = link.read(self.now, limit);
        let now = self.now;
        let result = match side {
            Side::Client => {
                self.transcript
                    .wire
                    .client_received
                    .extend_from_slice(&bytes);
                self.client.handle_input(now, &bytes)
            }
            Side::Server => {
                self.transcript
                    .wire
                    .server_received
                    .extend_from_slice(&bytes);
                self.server.handle_input(now, &bytes)
            }
        };
        result.map_err(|error| PairError::Usage { side, error })
    }

    /// The connection breaks: nothing more is delivered either way and both
    /// sides are told the stream ended.
    fn cut(&mut self) {
        self.cut_done = true;
        self.to_server.drop_in_flight();
        self.to_client.drop_in_flight();
        self.to_server.fin = true;
        self.to_client.fin = true;
        self.record(What::ConnectionCut {
            to_server: self.to_server.delivered,
            to_client: self.to_client.delivered,
        });
    }

    /// Nothing can move now: jump to the earliest time something can, and
    /// fire what is due then.
    fn advance(&mut self) -> Result<(), PairError> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                next = Some(next.map_or(at, |n: Instant| n.min(at)));
            }
        };
        if !self.server_closed {
            consider(self.server.poll_timeout());
            consider(self.server_app.next_wake());
            if self.server.wants_read() && self.server_app.wants_read() {
                consider(self.to_server.next_ready());
            }
        }
        if !self.client_closed {
            consider(self.client.poll_timeout());
            consider(self.client_app.next_wake());
            if self.client.wants_read() {
                consider(self.to_client.next_ready());
            }
        }
        let Some(at) = next else {
            return Err(PairError::Stalled {
                elapsed: self.elapsed(),
            });
        };
        self.now = self.now.max(at);
        let now = self.now;
        if !self.server_closed && self.server.poll_timeout().is_some_and(|t| t <= now) {
            self.record(What::TimeoutDue(Side::Server));
            self.server.handle_timeout(now);
            return Ok(());
        }
        if !self.client_closed && self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.record(What::TimeoutDue(Side::Client));
            self.client.handle_timeout(now);
            return Ok(());
        }
        if !self.server_closed && self.server_app.next_wake().is_some_and(|t| t <= now) {
            let (mut cx, app) = self.server_cx();
            app.on_wake(&mut cx);
            if cx.hung_up {
                self.server_hung_up();
            }
            return Ok(());
        }
        if !self.client_closed && self.client_app.next_wake().is_some_and(|t| t <= now) {
            let (mut cx, app) = self.client_cx();
            app.on_wake(&mut cx);
        }
        Ok(())
    }
}
