//! [`TestServerBuilder`]: TLS, AUTH, refusals and limits for a
//! [`TestServer`], and starting its thread.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use mailwire_driver::core::sasl::Mechanism;
use mailwire_driver::server::faults::{Faults, Match, Rule, Rules, Step};
use mailwire_driver::server::{Glob, Server, ServerOptions};
use mailwire_driver::{Runtime, ServerTls};

use crate::inbox::Inbox;
use crate::pki::TestPki;
use crate::recorder::{Logins, Recorder};
use crate::runtime::{Rt, block_on};
use crate::server::{Command, Control, TestServer};

/// How to build a [`TestServer`]: TLS, AUTH, refusals, limits.
///
/// ```
/// use mailwire_test_server::{Step, TestServer};
///
/// let server = TestServer::builder()
///     .self_signed_tls()
///     .users([("alice", "secret")])
///     .refuse_recipient("nobody@*", 550, "5.1.1", "No such user")
///     .fail(Step::Mail, 451, "4.3.0", "Try again later", Some("busy@*"))
///     .start();
/// assert!(server.tls().is_some());
/// ```
#[derive(Debug)]
#[must_use]
pub struct TestServerBuilder {
    options: ServerOptions,
    tls: Option<(ServerTls, Option<TestPki>)>,
    implicit_tls: bool,
    logins: Logins,
    rules: Vec<Rule>,
    addr: SocketAddr,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        let mut options = ServerOptions::new("mx.test");
        options.add_received = false;
        options.close_linger = Duration::from_millis(100);
        TestServerBuilder {
            options,
            tls: None,
            implicit_tls: false,
            logins: Logins::None,
            rules: Vec::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

impl TestServer {
    /// A plain server on `127.0.0.1` and an ephemeral port that accepts
    /// everything.
    ///
    /// # Panics
    ///
    /// When it cannot start (no loopback, no thread).
    #[must_use]
    pub fn start() -> TestServer {
        TestServer::builder().start()
    }

    /// A builder for TLS, AUTH, refusals and limits.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }
}

impl TestServerBuilder {
    /// Listens on `addr` instead of `127.0.0.1:0` (an ephemeral port).
    pub fn address(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The server's host name (default `mx.test`).
    pub fn domain(mut self, domain: &str) -> Self {
        domain.clone_into(&mut self.options.config_mut().domain);
        self
    }

    /// Offers STARTTLS with a fresh certificate for `localhost` and
    /// `127.0.0.1`, signed by a test CA that [`TestServer::tls`] hands
    /// out (trust its `ca_pem` in the client).
    pub fn self_signed_tls(mut self) -> Self {
        let pki = TestPki::localhost();
        let tls = ServerTls::from_pem(
            pki.server_chain_pem.as_bytes(),
            pki.server_key_pem.as_bytes(),
        )
        .expect("a certificate made by rcgen loads");
        self.tls = Some((tls, Some(pki)));
        self
    }

    /// Offers STARTTLS with this certificate.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some((tls, None));
        self
    }

    /// Speaks TLS from the first byte (port 465 style) instead of
    /// STARTTLS; needs [`tls`](Self::tls) or
    /// [`self_signed_tls`](Self::self_signed_tls).
    pub fn implicit_tls(mut self) -> Self {
        self.implicit_tls = true;
        self
    }

    /// Offers AUTH PLAIN, LOGIN and CRAM-MD5, also without TLS, and
    /// accepts any user name with any password (any CRAM-MD5 digest).
    pub fn auth_any(mut self) -> Self {
        self.logins = Logins::Any;
        self.options.config_mut().auth_mechanisms =
            vec![Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login];
        self.options.config_mut().allow_plaintext_auth = true;
        self
    }

    /// Offers AUTH (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256), also without
    /// TLS, for these users and passwords only.
    pub fn users<U, P>(mut self, users: impl IntoIterator<Item = (U, P)>) -> Self
    where
        U: Into<String>,
        P: Into<String>,
    {
        self.logins = Logins::Users(
            users
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
        );
        let config = self.options.config_mut();
        config.auth_mechanisms = vec![
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::ScramSha256,
        ];
        config.allow_plaintext_auth = true;
        self
    }

    /// Makes AUTH necessary before MAIL.
    pub fn require_auth(mut self) -> Self {
        self.options.config_mut().require_auth = true;
        self
    }

    /// Refuses the recipients that match `pattern` (a case-insensitive
    /// glob: `*` any run, `?` one character) at RCPT with `code enhanced
    /// text`, e.g. `refuse_recipient("nobody@*", 550, "5.1.1", "No such
    /// user")`.
    ///
    /// # Panics
    ///
    /// If the reply is not a valid 4xx or 5xx reply.
    pub fn refuse_recipient(self, pattern: &str, code: u16, enhanced: &str, text: &str) -> Self {
        self.fail(Step::Rcpt, code, enhanced, text, Some(pattern))
    }

    /// Refuses the senders that match `pattern` (`""` is the null sender)
    /// at MAIL.
    ///
    /// # Panics
    ///
    /// If the reply is not a valid 4xx or 5xx reply.
    pub fn refuse_sender(self, pattern: &str, code: u16, enhanced: &str, text: &str) -> Self {
        let rule = Rule::refuse(
            Step::Mail,
            Match::Sender(Glob::new(pattern)),
            code,
            enhanced,
            text,
        )
        .expect("a valid 4xx or 5xx reply");
        self.rule(rule)
    }

    /// Answers `step` with `code enhanced text` — every time, or only
    /// when a recipient matches `recipient` (at RCPT: that recipient; at
    /// [`Step::Data`]: any accepted recipient).
    ///
    /// # Panics
    ///
    /// If the reply is not a valid 4xx or 5xx reply.
    pub fn fail(
        self,
        step: Step,
        code: u16,
        enhanced: &str,
        text: &str,
        recipient: Option<&str>,
    ) -> Self {
        let when = recipient.map_or(Match::Always, |p| Match::Recipient(Glob::new(p)));
        let rule =
            Rule::refuse(step, when, code, enhanced, text).expect("a valid 4xx or 5xx reply");
        self.rule(rule)
    }

    /// Adds any fault [`Rule`] (delays, dropped connections, chances).
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// The largest message accepted (advertised with SIZE; larger ones
    /// get `552`).
    pub fn max_message_size(mut self, octets: u64) -> Self {
        self.options.config_mut().limits.max_message_size = Some(octets);
        self
    }

    /// Puts the server's `Received` header first in each caught message
    /// (off by default, so [`Caught::data`](crate::Caught::data) is what the client sent).
    pub fn trace_headers(mut self, on: bool) -> Self {
        self.options.add_received = on;
        self
    }

    /// Changes anything else in the server's options.
    pub fn options(mut self, change: impl FnOnce(&mut ServerOptions)) -> Self {
        change(&mut self.options);
        self
    }

    /// Starts the server on a thread of its own.
    ///
    /// # Panics
    ///
    /// When it cannot start (see [`try_start`](Self::try_start)).
    pub fn start(self) -> TestServer {
        match self.try_start() {
            Ok(server) => server,
            Err(e) => panic!("the test server could not start: {e}"),
        }
    }

    /// Starts the server on a thread of its own.
    ///
    /// # Errors
    ///
    /// The address cannot be bound, the runtime cannot start, or TLS was
    /// asked for without a certificate.
    pub fn try_start(self) -> io::Result<TestServer> {
        let TestServerBuilder {
            mut options,
            tls,
            implicit_tls,
            logins,
            rules,
            addr,
        } = self;
        let mut pki = None;
        if let Some((tls, made)) = tls {
            pki = made;
            options = if implicit_tls {
                options.with_implicit_tls(tls)
            } else {
                options.with_starttls(tls)
            };
        } else if implicit_tls {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "implicit TLS needs a certificate: call tls() or self_signed_tls()",
            ));
        }
        let inbox = Arc::new(Inbox::default());
        let fault_rules = Rules::new(0x6d61_696c);
        fault_rules.set(rules);
        let factory = Arc::new(Faults::new(
            Recorder {
                inbox: inbox.clone(),
                logins: Arc::new(logins),
            },
            fault_rules.clone(),
            Rt,
        ));
        let options = Arc::new(options);
        let control = Arc::new(Control::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        let ready_err = ready_tx.clone();
        let thread_control = control.clone();
        let thread = std::thread::Builder::new()
            .name("mailwire-test-server".into())
            .spawn(move || {
                let served = block_on(async move {
                    let listening = Server::with_shared(options.clone(), factory.clone())
                        .bind(Rt, addr)
                        .await;
                    let running = match listening {
                        Ok(running) => {
                            let _ = ready_tx.send(Ok(running.local_addr()));
                            running
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let pipes = Arc::new(Server::with_shared(options, factory));
                    loop {
                        for command in thread_control.next().await {
                            match command {
                                Command::Pipe(end) => {
                                    let pipes = pipes.clone();
                                    Rt.spawn(async move {
                                        pipes.serve_stream(Rt, end, None, None).await;
                                    });
                                }
                                Command::Stop(grace) => {
                                    running.stop(grace).await;
                                    return;
                                }
                            }
                        }
                    }
                });
                if let Err(e) = served {
                    let _ = ready_err.send(Err(e));
                }
            })?;
        let addr = ready_rx.recv().map_err(|_| {
            io::Error::other("the test server's thread ended before it was listening")
        })??;
        Ok(TestServer {
            addr,
            inbox,
            rules: fault_rules,
            pki,
            control,
            thread: Some(thread),
        })
    }
}
