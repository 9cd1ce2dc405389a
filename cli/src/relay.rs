//! `mailwire relay`: accept messages and forward each one to a smarthost
//! before answering, with duplicate recipients removed (the tcllib
//! smtpd + smtp example of seed 004, made safe).
//!
//! * Nothing is lost: the client gets `250` only after the smarthost
//!   accepted the message (see [`handler`] for how every other outcome
//!   is answered; an outage is always `4xx`). There is no queue.
//! * Never an open relay: only `127.0.0.0/8` and `::1` may relay unless
//!   `--allow-host` says otherwise, authenticated clients (`--auth`) may
//!   relay from anywhere, and a non-loopback `--listen` is refused at
//!   start unless `--allow-host` or `--auth` is given.
//! * It advertises only what it can pass on: the smarthost's EHLO is
//!   probed at start, and SIZE, 8BITMIME, SMTPUTF8, DSN, BINARYMIME and
//!   REQUIRETLS are mirrored from it.

mod handler;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use mailwire_core::sasl::Mechanism;
use mailwire_core::wire::ehlo::Capabilities;
use mailwire_driver::client::{Client, ServerAddress, default_client_name};
use mailwire_driver::server::{Server, ServerOptions};
use mailwire_tokio::Tokio;

use crate::common::cidr::Cidr;
use crate::common::outbound::Outbound;
use crate::common::text::{escape_control, has_line_break_or_nul};
use crate::common::users::Users;
use handler::Relay;

/// The largest message when the smarthost names no limit.
const DEFAULT_MAX_SIZE: u64 = 10_240_000;
/// The largest message held in memory whatever the smarthost allows.
const MAX_SIZE_CAP: u64 = 100 << 20;

const EXAMPLES: &str = "\
Examples:
  # Relay local mail to a smarthost on port 25 (STARTTLS when offered):
  mailwire relay --smarthost mail.example.org

  # Submission with credentials (TLS required, certificate verified),
  # failing over to a second smarthost:
  mailwire relay --listen 127.0.0.1:2526 \\
      --smarthost smtp1.example.org:587 --smarthost smtp2.example.org:587 \\
      --user me@example.org --password 'secret'

  # Accept from a LAN as well (a non-loopback --listen needs --allow-host
  # or --auth):
  mailwire relay --listen 0.0.0.0:2525 --allow-host 192.0.2.0/24 \\
      --smarthost 127.0.0.1:25 --tls disabled

  # Clients elsewhere must authenticate:
  mailwire relay --listen 0.0.0.0:2525 --auth alice:wonderland --require-auth \\
      --smarthost mail.example.org

Each message is forwarded before it is answered: 250 means the smarthost
accepted it; a smarthost outage is answered 451 (the sender retries); a
smarthost refusal is passed on. Duplicate recipients are sent once. A
message with more than --max-received Received headers is refused
554 5.4.6 (a loop). Prints `listening on ADDR` once listening; one line
per message on stderr.";

/// Options of `mailwire relay`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2526")]
    listen: String,
    /// Smarthost to forward to, `HOST[:PORT]` (port 25 by default); repeat
    /// for failover, tried in order for each message.
    #[arg(long = "smarthost", value_name = "HOST[:PORT]", required = true)]
    smarthosts: Vec<String>,
    /// TLS, certificates, credentials and the EHLO name towards the
    /// smarthost.
    #[command(flatten)]
    outbound: Outbound,
    /// Network allowed to relay without AUTH, as an address or CIDR block
    /// (repeatable). Default: 127.0.0.0/8 and ::1.
    #[arg(long = "allow-host", value_name = "CIDR")]
    allow_hosts: Vec<String>,
    /// A user who may relay from anywhere after AUTH, USER:PASS
    /// (repeatable). CRAM-MD5 and SCRAM-SHA-256 are offered; PLAIN and
    /// LOGIN only on a loopback --listen (the listener has no TLS).
    #[arg(long = "auth", value_name = "USER:PASS")]
    auth: Vec<String>,
    /// Every client must authenticate (also from allowed networks).
    #[arg(long, requires = "auth")]
    require_auth: bool,
    /// The relay's host name (greeting, Received header). Default: this
    /// host's name.
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Refuse messages with more Received headers than this (554 5.4.6).
    #[arg(long, value_name = "N", default_value_t = 30)]
    max_received: usize,
    /// Protocol errors one session may make before it is closed with 421
    /// 4.7.0: unknown, malformed, over-long or out-of-sequence commands,
    /// and commands refused for want of AUTH. Refused senders and
    /// recipients count apart (--max-refusals); both counts start over
    /// when a message is accepted.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_errors: u32,
    /// Senders and recipients refused (a client not allowed to relay, a
    /// smarthost refusal passed on) that one session may try before it is
    /// closed with 421 4.7.0; counted apart from --max-errors, and started
    /// over when a message is accepted.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_refusals: u32,
    /// Refuse a message whose data holds a bare LF, a bare CR or a NUL
    /// (550 5.6.0), instead of turning bare LF into CRLF and passing bare
    /// CR and NUL on.
    #[arg(long)]
    strict: bool,
}

/// A usage error: printed, exit status 1.
fn usage(message: &str) -> ExitCode {
    eprintln!("mailwire relay: {}", escape_control(message));
    ExitCode::from(1)
}

/// Everything derived from the arguments before anything runs.
struct Plan {
    listen: SocketAddr,
    relay: Relay,
    allow_plaintext_auth: bool,
    require_auth: bool,
}

fn plan(args: &Args) -> Result<Plan, String> {
    let mut all: Vec<&str> = vec![&args.listen];
    all.extend(args.hostname.iter().map(String::as_str));
    all.extend(args.smarthosts.iter().map(String::as_str));
    all.extend(args.allow_hosts.iter().map(String::as_str));
    all.extend(args.auth.iter().map(String::as_str));
    let outbound: Vec<String> = args.outbound.texts().map(|(_, v)| v).collect();
    all.extend(outbound.iter().map(String::as_str));
    if all.iter().any(|a| has_line_break_or_nul(a)) {
        return Err("an argument contains CR, LF or NUL".into());
    }

    let listen = args
        .listen
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            format!(
                "--listen {:?}: not an address (e.g. 127.0.0.1:2526)",
                args.listen
            )
        })?;

    let mut allowed = Vec::new();
    for cidr in &args.allow_hosts {
        allowed.push(
            cidr.parse::<Cidr>()
                .map_err(|e| format!("--allow-host: {e}"))?,
        );
    }
    if allowed.is_empty() {
        allowed = vec![Cidr::LOOPBACK_V4, Cidr::LOOPBACK_V6];
    }

    let users = Users::parse(&args.auth)?;

    if !listen.ip().is_loopback() && args.allow_hosts.is_empty() && users.is_empty() {
        return Err(format!(
            "refusing to listen on {listen}, a non-loopback address, as an open relay: \
             give --allow-host CIDR or --auth USER:PASS"
        ));
    }

    let smarthosts = args.outbound.addresses("smarthost", &args.smarthosts)?;
    let mut settings = args.outbound.settings()?;
    settings.connect_timeout = Duration::from_secs(15);

    Ok(Plan {
        listen,
        allow_plaintext_auth: listen.ip().is_loopback(),
        require_auth: args.require_auth,
        relay: Relay {
            allowed,
            users,
            smarthosts,
            settings,
            max_received: args.max_received,
            smarthost_8bit: false,
        },
    })
}

/// Connects to the smarthosts in order; the first that is ready tells
/// what may be advertised.
async fn probe(relay: &Relay) -> Result<(ServerAddress, Capabilities), String> {
    let mut failures = Vec::new();
    for server in &relay.smarthosts {
        match Client::connect(Tokio, server, &relay.settings).await {
            Ok(client) => {
                let caps = client.capabilities().clone();
                let _ = client.quit().await;
                return Ok((server.clone(), caps));
            }
            Err(e) => failures.push(format!("{}:{}: {e}", server.host, server.port)),
        }
    }
    Err(format!(
        "no smarthost is reachable: {}",
        failures.join("; ")
    ))
}

/// The server options: our limits and the smarthost's extensions.
fn server_options(args: &Args, plan: &Plan, caps: &Capabilities) -> ServerOptions {
    let hostname = args.hostname.clone().unwrap_or_else(|| {
        default_client_name().map_or_else(|| "localhost".to_owned(), |d| d.to_string())
    });
    let mut options = ServerOptions::new(hostname);
    let config = options.config_mut();
    config.banner = "mailwire relay".into();
    let ext = &mut config.extensions;
    ext.pipelining = true;
    ext.eight_bit_mime = caps.eight_bit_mime;
    ext.smtputf8 = caps.smtputf8 && caps.eight_bit_mime;
    ext.size = caps.size.is_some();
    ext.chunking = true;
    ext.binary_mime = caps.chunking && caps.binary_mime;
    ext.dsn = caps.dsn;
    ext.requiretls = caps.requiretls;
    ext.starttls = false;
    config.limits.max_message_size = Some(match caps.size {
        Some(n) if n > 0 => n.min(MAX_SIZE_CAP),
        _ => DEFAULT_MAX_SIZE,
    });
    // Forwarding happens inside the decision: give the smarthost time.
    config.timeouts.decision = Duration::from_secs(600);
    if !plan.relay.users.is_empty() {
        config.auth_mechanisms = vec![
            Mechanism::ScramSha256,
            Mechanism::CramMd5,
            Mechanism::Plain,
            Mechanism::Login,
        ];
        config.allow_plaintext_auth = plan.allow_plaintext_auth;
    }
    config.require_auth = plan.require_auth;
    config.limits.max_errors = args.max_errors;
    config.limits.max_refusals = args.max_refusals;
    if args.strict {
        config.body_policy = mailwire_core::wire::dot::BodyPolicy::strict();
    }
    options.add_received = true;
    options
}

/// Runs `mailwire relay`.
pub fn run(args: Args) -> ExitCode {
    let mut plan = match plan(&args) {
        Ok(plan) => plan,
        Err(e) => return usage(&e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        let signals = StopSignals::install();
        let (probed, caps) = match probe(&plan.relay).await {
            Ok(found) => found,
            Err(e) => return usage(&e),
        };
        eprintln!(
            "mailwire relay: smarthost {}:{} offers{}{}{}{}{}",
            escape_control(&probed.host),
            probed.port,
            caps.size.map_or(String::new(), |n| format!(" SIZE {n}")),
            if caps.eight_bit_mime { " 8BITMIME" } else { "" },
            if caps.smtputf8 { " SMTPUTF8" } else { "" },
            if caps.dsn { " DSN" } else { "" },
            if caps.requiretls { " REQUIRETLS" } else { "" },
        );
        plan.relay.smarthost_8bit = caps.eight_bit_mime;
        let options = server_options(&args, &plan, &caps);
        let server = Server::with_handler(options, plan.relay);
        let running = match server.bind(Tokio, plan.listen).await {
            Ok(running) => running,
            Err(e) => return usage(&format!("cannot listen on {}: {e}", plan.listen)),
        };
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "listening on {}", running.local_addr());
        let _ = stdout.flush();
        signals.wait().await;
        eprintln!("mailwire relay: stopping");
        running.stop(Duration::from_secs(30)).await;
        ExitCode::SUCCESS
    })
}

/// Ctrl-C and SIGTERM, listened for from the start (so that a signal that
/// comes right after `listening on` is not the default, abrupt one).
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Installs the handlers (inside the runtime).
    fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            StopSignals {}
        }
    }

    /// Returns at the first of them.
    async fn wait(mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let int = async {
                match &mut self.int {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                () = term => {}
                () = int => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
