//! `mailwire relay`: a before-queue proxy to a smarthost (the tcllib
//! smtpd + smtp relay, made safe and per recipient).
//!
//! * Per recipient: each client session gets its own session with the
//!   first smarthost that answers, opened at MAIL; every MAIL and RCPT is
//!   answered with the smarthost's own verdict, and the message streams
//!   through to its final reply (see [`session`]). With `--queue DIR` it
//!   stores and forwards instead (see [`queued`] and the `mailwire-queue`
//!   crate).
//! * Nothing is lost: the client gets `250` only when the smarthost
//!   accepted the message; an outage is always `4xx`.
//! * Never an open relay: only `127.0.0.0/8` and `::1` may relay unless
//!   `--allow-host` says otherwise, authenticated clients (`--auth`) may
//!   relay from anywhere, and a non-loopback `--listen` is refused at
//!   start unless `--allow-host` or `--auth` is given.
//! * It starts whatever the smarthost's state: an unreachable smarthost
//!   is reported on stderr and answered `451 4.4.1` until it is back.

mod backend;
mod queued;
mod session;
mod upstream;

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use std::sync::Arc;

use mailwire_core::sasl::Mechanism;
use mailwire_driver::client::{connect_first, default_client_name};
use mailwire_driver::server::{Server, ServerOptions};
use mailwire_tokio::Tokio;

use crate::common::outbound::Outbound;
use crate::common::policy::{Policy, PolicyArgs};
use crate::common::text::{escape_control, has_line_break_or_nul};
use crate::common::users::Users;
use mailwire_driver::server::Cidr;
use session::{Relay, RelayFactory};

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

  # Store and forward: 250 once queued on disk, retries, DSNs
  # (inspect with `mailwire queue list --queue /var/spool/mailwire`):
  mailwire relay --smarthost mail.example.org --queue /var/spool/mailwire \\
      --retry-schedule 1m,5m,30m,1h --max-queue-age 5d

  # Many relay nodes, one queue: a JetStream stream (created when
  # missing) that every node accepts into and delivers from:
  mailwire relay --smarthost mail.example.org \\
      --queue nats://10.0.0.5:4222,10.0.0.6:4222,10.0.0.7:4222/MAIL --queue-replicas 3

  # Mail for one domain only, from one sender domain, never from a subnet:
  mailwire relay --smarthost mail.example.org --allow-recipient '*@example.org' \
      --allow-sender '*@example.org' --deny-host '192.168.1.*'

Each client session is passed on to the smarthost as it goes: MAIL and
every RCPT get the smarthost's own verdict (a refused recipient never costs
the good ones; duplicates are sent once and share the first one's verdict),
and 250 at the end of data means the smarthost accepted the message. What
the smarthost cannot carry (a SIZE over its limit, 8BITMIME, BINARYMIME,
SMTPUTF8, DSN, REQUIRETLS) is refused at MAIL, 8-bit data or NUL it cannot
take at the end of data. When no smarthost is reachable the relay still
starts, says so on stderr and answers 451 4.4.1 until one is. A message
with more than --max-received Received headers is refused 554 5.4.6 (a
loop). Policy: a deny always wins; once any --allow-* of a kind is given,
only what matches one is accepted (globs, case-insensitive; the null
sender is ''). Prints `listening on ADDR` once listening; one line per
message on stderr.";

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
    /// The SASL mechanism(s) to use with the smarthost's credentials, in
    /// order of preference (`PLAIN`, `LOGIN,CRAM-MD5`; send's `--auth
    /// MECH`). Default: the strongest both sides know.
    #[arg(long = "smarthost-auth", value_name = "MECH[,MECH…]",
        value_parser = crate::common::mechanisms::parse_mechanisms)]
    smarthost_auth: Option<crate::common::mechanisms::Mechanisms>,
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
    /// The largest message accepted, in octets (advertised with SIZE;
    /// a smarthost with a smaller limit refuses the message at MAIL).
    #[arg(long, value_name = "OCTETS", default_value_t = 10_240_000)]
    max_size: u64,
    /// Host, sender and recipient policy.
    #[command(flatten)]
    policy: PolicyArgs,
    /// Trust this load balancer (ADDR/LEN or ADDR; repeatable) to send a
    /// PROXY protocol header (v1 or v2) first; the client address it names
    /// is the session's everywhere (policy, --allow-host, Received).
    #[arg(long = "proxy-from", value_name = "CIDR")]
    proxy_from: Vec<Cidr>,
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
    /// Store and forward through the spool in DIR: 250 means durably
    /// queued, RCPT is answered by local policy, delivery follows with
    /// retries, and permanent failures get a DSN (see `mailwire queue`).
    /// `nats://HOST:PORT[,HOST:PORT…]/STREAM` instead: one JetStream
    /// work-queue stream that any number of relay nodes accept into and
    /// deliver from (created when missing, with its key-value bucket and
    /// object store).
    #[arg(long, value_name = "DIR|nats://HOST:PORT/STREAM")]
    queue: Option<std::path::PathBuf>,
    /// With --queue nats://…: copies of the stream, the state bucket and
    /// the object store when they are created (3 on a three-node cluster).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "queue",
          value_parser = clap::value_parser!(u32).range(1..=5))]
    queue_replicas: u32,
    /// With --queue nats://…: how long a delivery may go unacknowledged
    /// before its entry goes to another node (a node that stopped); in
    /// progress acknowledgements keep a long delivery its own. Used when
    /// the consumer is created.
    #[arg(long, value_name = "DURATION", default_value = "30s",
          value_parser = mailwire_queue::parse_duration, requires = "queue")]
    queue_ack_wait: Duration,
    /// With --queue: the waits between attempts, e.g. `1m,5m,30m,1h`; the
    /// last one repeats until --max-queue-age.
    #[arg(long, value_name = "LIST", default_value = mailwire_queue::DEFAULT_SCHEDULE,
          requires = "queue")]
    retry_schedule: mailwire_queue::RetrySchedule,
    /// With --queue: how long a message may stay queued; then its open
    /// recipients fail and the sender gets a DSN (`30s`, `5m`, `2h`, `5d`).
    #[arg(long, value_name = "DURATION", default_value = "5d",
          value_parser = mailwire_queue::parse_duration, requires = "queue")]
    max_queue_age: Duration,
    /// With --queue: deliveries at once, each with its own connection.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "queue",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    queue_workers: u32,
    /// With --queue: octets the spool's file system must keep free beyond
    /// a message's declared size, else MAIL is answered 452 4.3.1.
    /// Default: one and a half times --max-size.
    #[arg(long, value_name = "OCTETS", requires = "queue")]
    queue_min_free: Option<u64>,
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
    all.extend(args.policy.texts().map(String::as_str));
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
    let policy = Policy::new(&args.policy)?;

    if !listen.ip().is_loopback() && args.allow_hosts.is_empty() && users.is_empty() {
        return Err(format!(
            "refusing to listen on {listen}, a non-loopback address, as an open relay: \
             give --allow-host CIDR or --auth USER:PASS"
        ));
    }

    let smarthosts = args.outbound.addresses("smarthost", &args.smarthosts)?;
    let mut settings = args.outbound.settings()?;
    settings.connect_timeout = Duration::from_secs(15);
    if let Some(mechanisms) = &args.smarthost_auth {
        settings = settings.with_auth_mechanisms(mechanisms.0.clone());
    }

    Ok(Plan {
        listen,
        allow_plaintext_auth: listen.ip().is_loopback(),
        require_auth: args.require_auth,
        relay: Relay {
            allowed,
            policy,
            users,
            smarthosts,
            settings,
            max_received: args.max_received,
        },
    })
}

/// `relay --queue DIR` or `--queue nats://…`: the store, its queue, and
/// the sessions that accept into it.
async fn run_queued(args: Args, plan: Plan, dir: std::path::PathBuf) -> ExitCode {
    let signals = StopSignals::install();
    let text = dir.to_string_lossy().into_owned();
    let nats = mailwire_queue::jetstream::JetStreamAddress::is_nats(&text);
    let options = server_options(&args, &plan);
    let hostname = options.config.domain.to_string();
    let settings = mailwire_queue::QueueSettings {
        smarthosts: plan.relay.smarthosts.clone(),
        client: plan.relay.settings.clone(),
        schedule: args.retry_schedule.clone(),
        max_age: args.max_queue_age,
        workers: args.queue_workers as usize,
        hostname,
        retry_requests: (!nats).then(|| dir.clone()),
        log: Arc::new(|line: &str| {
            eprintln!("mailwire relay: queue: {}", escape_control(line));
        }),
    };
    let queue = if nats {
        let address = match mailwire_queue::jetstream::JetStreamAddress::parse(&text) {
            Ok(address) => address,
            Err(e) => return usage(&format!("--queue: {e}")),
        };
        let jetstream = mailwire_queue::jetstream::JetStreamSettings {
            address,
            replicas: args.queue_replicas as usize,
            ack_wait: args.queue_ack_wait,
        };
        match mailwire_queue::jetstream::JetStreamQueue::start(jetstream, Tokio, settings).await {
            Ok(queue) => backend::Backend::JetStream(queue),
            // The error names the address without its credentials.
            Err(e) => return usage(&format!("--queue: {e}")),
        }
    } else {
        let spool = match mailwire_queue::Spool::open(&dir, mailwire_queue::SpoolSync::Group) {
            Ok(spool) => Arc::new(spool),
            Err(e) => return usage(&format!("--queue {}: {e}", dir.display())),
        };
        match mailwire_queue::Queue::start(spool, Tokio, settings).await {
            Ok(queue) => backend::Backend::Spool(queue),
            Err(e) => return usage(&format!("--queue {}: {e}", dir.display())),
        }
    };
    let relay = Arc::new(plan.relay);
    let caps = Arc::new(std::sync::Mutex::new(None));
    let min_free = args
        .queue_min_free
        .unwrap_or(args.max_size.saturating_add(args.max_size / 2));
    let shared = Arc::new(queued::Queued {
        relay: relay.clone(),
        queue,
        caps: caps.clone(),
        min_free,
    });
    let server = Server::new(options, queued::QueuedFactory(shared.clone()));
    let running = match server.bind(Tokio, plan.listen).await {
        Ok(running) => running,
        Err(e) => return usage(&format!("cannot listen on {}: {e}", plan.listen)),
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", running.local_addr());
    let _ = stdout.flush();
    tokio::spawn(async move {
        if let Some(offered) = report_smarthost(&relay, true).await
            && let Ok(mut known) = caps.lock()
        {
            *known = Some(offered);
        }
    });
    signals.wait().await;
    eprintln!("mailwire relay: stopping");
    running.stop(Duration::from_secs(30)).await;
    let unfinished = shared.queue.stop(Duration::from_secs(30)).await;
    if unfinished > 0 {
        eprintln!(
            "mailwire relay: queue: {unfinished} deliveries still under way at the stop; they are tried again at the next start"
        );
    }
    let duplicates = shared.queue.possible_duplicates();
    if duplicates > 0 {
        eprintln!("mailwire relay: queue: possible duplicates since start: {duplicates}");
    }
    ExitCode::SUCCESS
}

/// Tells on stderr whether a smarthost answers now (the relay runs
/// either way: each MAIL tries again).
async fn report_smarthost(
    relay: &Relay,
    queued: bool,
) -> Option<mailwire_core::wire::ehlo::Capabilities> {
    match connect_first(Tokio, &relay.smarthosts, &relay.settings).await {
        Ok((client, server)) => {
            let caps = client.capabilities().clone();
            let offered = caps.clone();
            let _ = client.quit().await;
            eprintln!(
                "mailwire relay: smarthost {}:{} offers{}{}{}{}{}{}",
                escape_control(&server.host),
                server.port,
                caps.size.map_or(String::new(), |n| format!(" SIZE {n}")),
                if caps.eight_bit_mime { " 8BITMIME" } else { "" },
                if caps.smtputf8 { " SMTPUTF8" } else { "" },
                if caps.binary_mime { " BINARYMIME" } else { "" },
                if caps.dsn { " DSN" } else { "" },
                if caps.requiretls { " REQUIRETLS" } else { "" },
            );
            Some(offered)
        }
        Err(failures) => {
            let why: Vec<String> = failures
                .iter()
                .map(|f| format!("{}:{}: {}", f.host, f.port, f.error))
                .collect();
            eprintln!(
                "mailwire relay: no smarthost is reachable now ({}); {}",
                escape_control(&why.join("; ")),
                if queued {
                    "messages are queued and tried again on the retry schedule"
                } else {
                    "answering 451 4.4.1 until one is"
                }
            );
            None
        }
    }
}

/// The server options: the relay's own extensions and limits.
fn server_options(args: &Args, plan: &Plan) -> ServerOptions {
    let hostname = args.hostname.clone().unwrap_or_else(|| {
        default_client_name().map_or_else(|| "localhost".to_owned(), |d| d.to_string())
    });
    let mut options = ServerOptions::new(hostname);
    let config = options.config_mut();
    config.banner = "mailwire relay".into();
    let ext = &mut config.extensions;
    ext.pipelining = true;
    ext.eight_bit_mime = true;
    ext.smtputf8 = true;
    ext.size = true;
    ext.chunking = true;
    ext.binary_mime = true;
    ext.dsn = true;
    ext.starttls = false;
    config.limits.max_message_size = Some(args.max_size);
    // Each decision waits for the smarthost's answer (connection, MAIL,
    // RCPT, the end of data), itself bounded by the client's timeouts.
    config.timeouts.decision = Duration::from_secs(900);
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
    options.proxy_from.clone_from(&args.proxy_from);
    options
}

/// Runs `mailwire relay`.
pub fn run(args: Args) -> ExitCode {
    let plan = match plan(&args) {
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
    if let Some(dir) = args.queue.clone() {
        return runtime.block_on(run_queued(args, plan, dir));
    }
    runtime.block_on(async move {
        let signals = StopSignals::install();
        let options = server_options(&args, &plan);
        let relay = Arc::new(plan.relay);
        let server = Server::new(options, RelayFactory(relay.clone()));
        let running = match server.bind(Tokio, plan.listen).await {
            Ok(running) => running,
            Err(e) => return usage(&format!("cannot listen on {}: {e}", plan.listen)),
        };
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "listening on {}", running.local_addr());
        let _ = stdout.flush();
        tokio::spawn(async move {
            report_smarthost(&relay, false).await;
        });
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
