//! `mailwire serve`: a mail catcher. Listens (plain, STARTTLS, implicit
//! TLS), applies the host/sender/recipient policy and AUTH given on the
//! command line, stores every accepted message in a Maildir and prints one
//! line (or JSON object) per message.

pub mod chaos;
pub mod faults;
pub mod handler;
pub mod maildir;
mod rejected;
pub mod release;
pub mod text;
mod threads;
mod trace;
pub mod web;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use mailwire_driver::core::sasl::Mechanism;
use mailwire_driver::server::faults::Faults;
use mailwire_driver::server::{RunningServer, Server, ServerOptions, Shared};
use mailwire_driver::{Runtime, ServerTls};

use self::handler::{Catcher, Output};
use self::maildir::{Maildir, Sync};
use crate::common::policy::{Policy, PolicyArgs};
use crate::common::users::Users;
use mailwire_driver::server::Cidr;

/// How long running sessions may take to finish after Ctrl-C / SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Which async runtime runs the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeChoice {
    /// tokio (the default): one single-threaded runtime per thread
    /// (--threads).
    Tokio,
    /// smol (its global executor; `SMOL_THREADS` sets its threads).
    Smol,
    /// async-std (legacy).
    AsyncStd,
}

const AFTER_HELP: &str = "\
Each accepted message is one file in the Maildir's new/ directory, written in
tmp/ (mode 0600), flushed to disk and renamed before the client gets its 250
(--fsync group, the default, shares one flush among all messages waiting). The file
starts with Return-Path, one X-Envelope-To line per envelope recipient (Bcc
included), the server's Received header, then the message. A full disk is
answered 452 4.3.1.

On start, `listening on ADDR` is printed (and flushed) for each listener, with
the real port when port 0 was asked for; an implicit-TLS listener's line ends
in ` (implicit TLS)`. Then one line per message: time, sender, recipients,
size in octets, subject (control characters escaped). With --json, one JSON
object per message instead: time, from (\"\" for the null sender), recipients
(a list), size, subject (null when absent), path, peer, tls, authenticated;
the `listening on` lines stay plain text. Ctrl-C or SIGTERM stops gracefully
(running sessions get up to 10 s to finish).

AUTH (PLAIN, LOGIN, CRAM-MD5) is offered when --auth is given; PLAIN and LOGIN
only under TLS when a certificate is configured, also without TLS otherwise.

Examples:
  mailwire serve
      catch mail on 127.0.0.1:2525 into ./mail
  mailwire serve --listen 127.0.0.1:0 --maildir /tmp/mail --json
      an ephemeral port (read it from the `listening on` line), JSON output
  mailwire serve --tls-self-signed --listen-tls 127.0.0.1:4650 --auth alice:secret
      STARTTLS and implicit TLS with a throw-away certificate, AUTH for alice
  mailwire serve --reject-recipient '*@spam.example' --allow-host 10.0.0.0/8 --listen 0.0.0.0:2525
      refuse some recipients, accept connections from 10/8 only
  mailwire serve --discard --runtime smol --max-connections 500
      a sink for load tests
  mailwire serve --fault 'rcpt to:*@flaky.test 451 4.3.0 Try later' --fault 'data 5% disconnect'
      fail on purpose: that domain always, one message in twenty cut off

Failing on purpose: unless --no-failing-addresses is given, tempfail@… and
permfail@… (any domain) get 451 4.3.0 and 550 5.7.1 at MAIL or RCPT,
tempfail-data@… and permfail-data@… get 451 4.3.0 and 554 5.6.0 after the
message, disconnect@… drops the connection instead of the MAIL or RCPT
reply, disconnect-data@… in the middle of the message and
disconnect-after-data@… after it, before its reply. With --http, Mailpit's
GET/PUT /api/v1/chaos is always on, and GET/PUT /api/mailwire/v1/faults
reads and replaces the --fault rules.";

/// Options of `mailwire serve`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Address to listen on (repeatable; port 0 picks a free port).
    /// Default 127.0.0.1:2525 unless only --listen-tls is given.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen: Vec<SocketAddr>,
    /// Address to listen on with implicit TLS (port 465 style; repeatable;
    /// same certificate as STARTTLS).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub listen_tls: Vec<SocketAddr>,
    /// The Maildir to store messages in (created if needed).
    #[arg(long, value_name = "DIR", default_value = "./mail")]
    pub maildir: PathBuf,
    /// Store nothing and print nothing per message.
    #[arg(long)]
    pub discard: bool,
    /// How stored messages are made durable before the 250: `group`
    /// (default: one flush shared by every message waiting, each still
    /// acknowledged only once on disk), `each` (fsync per message) or
    /// `off` (no flush; a crash can lose acknowledged mail).
    #[arg(long, value_enum, value_name = "MODE", default_value = "group")]
    pub fsync: Sync,
    /// The server's host name (greeting, EHLO reply, Received header).
    /// Default: this host's name.
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Text after `ESMTP` in the greeting.
    #[arg(long, value_name = "TEXT")]
    pub banner: Option<String>,
    /// PEM certificate chain for STARTTLS and --listen-tls.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Make a throw-away self-signed certificate for STARTTLS and
    /// --listen-tls.
    #[arg(long)]
    pub tls_self_signed: bool,
    /// Refuse mail transactions before STARTTLS (530 5.7.0).
    #[arg(long)]
    pub require_tls: bool,
    /// A user for AUTH as USER:PASS (repeatable; enables AUTH).
    #[arg(long, value_name = "USER:PASS")]
    pub auth: Vec<String>,
    /// Refuse mail transactions before a successful AUTH (530 5.7.0).
    #[arg(long, requires = "auth")]
    pub require_auth: bool,
    /// Largest message in octets (advertised with SIZE). Default
    /// 10240000; 0 for no limit.
    #[arg(long, value_name = "BYTES")]
    pub max_size: Option<u64>,
    /// Most recipients per message (more get 452 4.5.3). Default 100.
    #[arg(long, value_name = "N")]
    pub max_recipients: Option<usize>,
    /// Protocol errors one session may make before it is closed with 421
    /// 4.7.0: unknown, malformed, over-long or out-of-sequence commands,
    /// and commands refused for want of STARTTLS or AUTH. Refused senders
    /// and recipients count apart (--max-refusals); both counts start over
    /// when a message is accepted.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_errors: u32,
    /// Senders and recipients refused by the policy (--deny-sender,
    /// --allow-recipient, …) that one session may try before it is closed
    /// with 421 4.7.0; counted apart from --max-errors, and started over
    /// when a message is accepted.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_refusals: u32,
    /// How long a client has for each whole command, from the server's
    /// previous reply (then 421 4.4.2); sending part of it does not buy
    /// more time. `30s`, `5m`, `2h`; a bare number is seconds; from 1
    /// second to 1 day.
    #[arg(long, value_name = "DURATION", default_value = "5m",
          value_parser = command_timeout)]
    pub command_timeout: Duration,
    /// Refuse a message whose data holds a bare LF, a bare CR or a NUL
    /// (550 5.6.0), instead of turning bare LF into CRLF and keeping bare
    /// CR and NUL as they are.
    #[arg(long)]
    pub strict: bool,
    /// Most sessions at once (more get 421 4.7.0). Default 1000.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most sessions at once from one IP address. Default 50.
    #[arg(long, value_name = "N")]
    pub max_per_ip: Option<usize>,
    /// Accept connections only from this network (ADDR/LEN or ADDR;
    /// repeatable); others are refused with 554 in place of the greeting.
    /// --deny-host wins over it.
    #[arg(long, value_name = "CIDR")]
    pub allow_host: Vec<Cidr>,
    /// Trust this load balancer (a network, ADDR/LEN or ADDR; repeatable)
    /// to send a PROXY protocol header (v1 or v2) first: its connections
    /// must start with one, and the client address it names is the
    /// session's everywhere (policy, --max-per-ip, Received, --json).
    /// v2 LOCAL and v1 UNKNOWN (health checks) use the balancer's own.
    #[arg(long = "proxy-from", value_name = "CIDR")]
    pub proxy_from: Vec<Cidr>,
    /// Host, sender and recipient policy (a deny always wins; once any
    /// --allow-* of a kind is given, only what matches one is accepted).
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The async runtime.
    #[arg(long, value_enum, default_value = "tokio")]
    pub runtime: RuntimeChoice,
    /// Threads serving sessions. tokio: one single-threaded runtime per
    /// thread, all accepting on the one listening socket of each address,
    /// so a session never moves between threads; async-std: its
    /// executor's threads (unless ASYNC_STD_THREAD_COUNT says otherwise);
    /// smol: set SMOL_THREADS instead. One thread serves tens of thousands
    /// of messages a second and thousands of sessions; more help with
    /// heavy TLS or hooks. Whatever the threads, an address another
    /// process listens on is refused at start.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// Print one JSON object per message instead of a line.
    #[arg(long)]
    pub json: bool,
    /// Mailpit's API over HTTP, and pruning.
    #[command(flatten)]
    pub web: web::WebArgs,
    /// Accept any user name and password for AUTH (PLAIN, LOGIN and
    /// CRAM-MD5 are offered; Mailpit's --smtp-auth-accept-any), so that
    /// applications configured with real credentials send unchanged.
    #[arg(long, alias = "smtp-auth-accept-any")]
    pub auth_accept_any: bool,
    /// Accepted for Mailpit compatibility and ignored: /api/v1/chaos is
    /// always on.
    #[arg(long)]
    pub enable_chaos: bool,
    /// Mailpit's chaos triggers at start, as Mailpit takes them:
    /// `Sender:451:10,Recipient:550:5,Authentication:535:50` (KEY:CODE:PERCENT;
    /// triggers not named stay off). PUT /api/v1/chaos changes them.
    #[arg(long, value_name = "TRIGGERS", value_parser = chaos::parse_triggers)]
    pub chaos_triggers: Option<chaos::Triggers>,
    /// Failures on purpose.
    #[command(flatten)]
    pub faults: faults::FaultArgs,
    /// Releasing caught messages to a real server.
    #[command(flatten)]
    pub release: release::ReleaseArgs,
    /// Print every session's conversation on stderr, as `send -v` does:
    /// `<-  ` commands received, ` -> ` replies sent (`<~`/`~>` under
    /// TLS), each line led by the session's number; AUTH secrets as
    /// `***`, message data not shown.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// A listen address: `IP:PORT`, `[IPv6]:PORT`, or `HOST:PORT` (the
/// host's first address).
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .map_err(|e| format!("{text:?}: expected HOST:PORT ({e})"))?
        .next()
        .ok_or_else(|| format!("{text:?}: no address found"))
}

/// Everything needed to start the listeners.
struct Plan {
    plain: Vec<SocketAddr>,
    tls: Vec<SocketAddr>,
    starttls: Arc<ServerOptions>,
    implicit: Option<Arc<ServerOptions>>,
    catcher: Arc<Catcher>,
    /// mailwire's fault rules (`--fault`, the failing addresses).
    faults: Arc<faults::FaultSet>,
    /// Mailpit's chaos triggers.
    chaos: Arc<chaos::Chaos>,
}

/// Runs `mailwire serve`.
pub fn run(args: Args) -> ExitCode {
    raise_fd_limit();
    let plan = match plan(&args) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("mailwire serve: {message}");
            return ExitCode::from(1);
        }
    };
    let release = match release::Release::from_args(&args.release) {
        Ok(release) => release,
        Err(message) => {
            eprintln!("mailwire serve: {message}");
            return ExitCode::from(1);
        }
    };
    // HTTP runs where --http says, or on its default address when no
    // address at all is given.
    let http_runs = args.web.http.is_some() || !smtp_given(&args);
    if release.is_some() && (!http_runs || plan.catcher.index.is_none()) {
        eprintln!("mailwire serve: --release-to needs the HTTP API: give --http ADDR");
        return ExitCode::from(1);
    }
    if let Some(index) = &plan.catcher.index
        && let Err(message) = web::start(
            &args.web,
            index,
            smtp_given(&args),
            chaos::routes(plan.chaos.clone(), plan.faults.clone())
                .merge(release::routes(index.clone(), release)),
        )
    {
        eprintln!("mailwire serve: {message}");
        return ExitCode::from(1);
    }
    let stop = match stop_signal() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("mailwire serve: cannot watch for signals: {e}");
            return ExitCode::from(1);
        }
    };
    let result = match args.runtime {
        RuntimeChoice::Tokio => threads::serve_tokio(plan, stop, usize::from(args.threads)),
        // smol's global executor runs the sessions (SMOL_THREADS threads).
        RuntimeChoice::Smol => smol::block_on(async {
            let runtime = mailwire_smol::Smol;
            let running = start(runtime, &plan, |addr| runtime.bind(addr)).await?;
            wait_and_stop(&plan, &running, stop).await;
            Ok(())
        }),
        RuntimeChoice::AsyncStd => {
            // async-std's executor: --threads threads, before its first use.
            let threads = usize::from(args.threads);
            async_global_executor::init_with_config(
                async_global_executor::GlobalExecutorConfig::default()
                    .with_env_var("ASYNC_STD_THREAD_COUNT")
                    .with_min_threads(threads)
                    .with_max_threads(threads.max(1)),
            );
            serve_async_std(&plan, stop)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mailwire serve: {message}");
            ExitCode::from(1)
        }
    }
}

/// Serves on async-std (its global executor runs the sessions).
fn serve_async_std(plan: &Plan, stop: smol::channel::Receiver<()>) -> Result<(), String> {
    async_std::task::block_on(async {
        let runtime = mailwire_async_std::AsyncStd;
        let running = start(runtime, plan, |addr| runtime.bind(addr)).await?;
        wait_and_stop(plan, &running, stop).await;
        Ok(())
    })
}

/// Checks the options and builds the server configuration.
fn plan(args: &Args) -> Result<Plan, String> {
    for text in args
        .hostname
        .iter()
        .chain(args.banner.iter())
        .chain(args.auth.iter())
        .chain(args.policy.texts())
    {
        if text.contains(['\r', '\n', '\0']) {
            return Err(format!(
                "{:?}: CR, LF and NUL are not allowed in arguments",
                crate::common::text::escape_control(text)
            ));
        }
    }
    let hostname = match &args.hostname {
        Some(h) => h.clone(),
        None => mailwire_driver::client::default_client_name()
            .map_or_else(|| "localhost".to_owned(), |d| d.to_string()),
    };
    if mailwire_driver::core::wire::address::Domain::parse(hostname.as_bytes()).is_err() {
        return Err(format!("--hostname {hostname:?}: not a valid host name"));
    }
    let mut users = Users::parse(&args.auth)?;
    if args.auth_accept_any {
        users = users.accepting_any();
    }
    let tls = if args.tls_self_signed {
        Some(self_signed(&hostname)?)
    } else if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        Some(ServerTls::from_pem_files(cert, key).map_err(|e| format!("TLS certificate: {e}"))?)
    } else {
        None
    };
    if tls.is_none() && (args.require_tls || !args.listen_tls.is_empty()) {
        return Err(
            "--require-tls and --listen-tls need a certificate: --tls-cert/--tls-key or --tls-self-signed"
                .into(),
        );
    }

    let mut options = ServerOptions::new(hostname);
    // Nothing is stored with --discard, so no trace header is made.
    options.add_received = !args.discard;
    options.proxy_from.clone_from(&args.proxy_from);
    if args.verbose {
        options.observer = Some(trace::observer());
    }
    {
        let config = options.config_mut();
        if let Some(banner) = &args.banner {
            config.banner.clone_from(banner);
        }
        if !users.is_empty() {
            config.auth_mechanisms = vec![Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login];
            config.allow_plaintext_auth = tls.is_none();
        }
        config.require_tls = args.require_tls;
        config.require_auth = args.require_auth;
        if let Some(size) = args.max_size {
            config.limits.max_message_size = (size > 0).then_some(size);
        }
        if let Some(n) = args.max_recipients {
            if n == 0 {
                return Err("--max-recipients must be at least 1".into());
            }
            config.limits.max_recipients = n;
        }
        config.limits.max_errors = args.max_errors;
        config.limits.max_refusals = args.max_refusals;
        config.timeouts.command = args.command_timeout;
        if args.strict {
            config.body_policy = mailwire_core::wire::dot::BodyPolicy::strict();
        }
    }
    if let Some(n) = args.max_connections {
        options.max_connections = n;
    }
    if let Some(n) = args.max_per_ip {
        options.max_connections_per_ip = n;
    }
    let implicit = tls
        .clone()
        .map(|t| Arc::new(options.clone().with_implicit_tls(t)));
    if let Some(t) = tls {
        options = options.with_starttls(t);
    }

    let maildir = if args.discard {
        None
    } else {
        Some(Maildir::create(&args.maildir, args.fsync).map_err(|e| {
            format!(
                "cannot store mail in the Maildir {}: {e}",
                args.maildir.display()
            )
        })?)
    };
    let index = web::index(
        &args.web,
        maildir.as_ref().map(Maildir::root),
        smtp_given(args),
    )?;
    let mut plain = args.listen.clone();
    if plain.is_empty() && args.listen_tls.is_empty() {
        plain.push(SocketAddr::from(([127, 0, 0, 1], 2525)));
    }
    Ok(Plan {
        plain,
        tls: args.listen_tls.clone(),
        starttls: Arc::new(options),
        implicit,
        catcher: Arc::new(Catcher {
            maildir,
            output: if args.json {
                Output::Json
            } else {
                Output::Line
            },
            users,
            allow_hosts: args.allow_host.clone(),
            policy: Policy::new(&args.policy)?,
            index,
        }),
        faults: Arc::new(faults::FaultSet::new(&args.faults, faults::seed())),
        chaos: {
            let chaos = chaos::Chaos::new(faults::seed().rotate_left(17));
            if let Some(triggers) = args.chaos_triggers {
                chaos.set(triggers)?;
            }
            Arc::new(chaos)
        },
    })
}

/// Whether an SMTP address is given (then HTTP runs only where --http
/// says).
fn smtp_given(args: &Args) -> bool {
    !args.listen.is_empty() || !args.listen_tls.is_empty()
}

/// Raises the soft limit on open files to the hard limit: every session
/// holds a socket, and the soft limit (often 1,024) would cap sessions far
/// below what --max-connections allows.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            eprintln!("mailwire serve: cannot raise the open file limit: {e}");
        }
    }
}

/// A throw-away self-signed certificate for `hostname`, `localhost`,
/// 127.0.0.1 and ::1.
fn self_signed(hostname: &str) -> Result<ServerTls, String> {
    let names = vec![
        hostname.to_owned(),
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    ServerTls::from_pem(
        certified.cert.pem().as_bytes(),
        certified.key_pair.serialize_pem().as_bytes(),
    )
    .map_err(|e| format!("self-signed certificate: {e}"))
}

/// Starts a thread that waits for Ctrl-C or SIGTERM; the returned
/// receiver closes when one arrives. The handlers are installed when this
/// returns.
fn stop_signal() -> std::io::Result<smol::channel::Receiver<()>> {
    let (tx, rx) = smol::channel::bounded::<()>(1);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("mailwire-signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = match signal(SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut int = match signal(SignalKind::interrupt()) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            });
            drop(tx);
        })?;
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("signal thread ended"))??;
    Ok(rx)
}

/// Prints one line on stdout and flushes it at once (also when stdout is
/// a file or a pipe).
fn print_flushed(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// One listening server of the plan: the server, its bound address, and
/// whether it is the implicit-TLS kind.
type Listening<R> = (Arc<RunningServer<R>>, SocketAddr, bool);

/// Binds every listener of the plan (with `bind`) and starts its server.
async fn start<R, B, F>(runtime: R, plan: &Plan, bind: B) -> Result<Vec<Listening<R>>, String>
where
    R: Runtime,
    B: Fn(SocketAddr) -> F,
    F: std::future::Future<Output = std::io::Result<R::Listener>>,
{
    let mut running = Vec::new();
    let kinds = plan
        .plain
        .iter()
        .map(|a| (*a, plan.starttls.clone(), false))
        .chain(
            plan.implicit
                .iter()
                .flat_map(|implicit| plan.tls.iter().map(|a| (*a, implicit.clone(), true))),
        );
    for (addr, options, implicit) in kinds {
        let listener = bind(addr).await.map_err(|e| listen_error(addr, &e))?;
        // Mailpit's chaos first, then mailwire's own rules, around the
        // catcher.
        let factory = rejected::CountRejected::new(
            Faults::new(
                Faults::new(
                    Shared(plan.catcher.clone()),
                    plan.faults.rules().clone(),
                    runtime.clone(),
                ),
                plan.chaos.rules().clone(),
                runtime.clone(),
            ),
            plan.catcher.index.clone(),
        );
        let r = Server::with_shared(options, Arc::new(factory))
            .listen(runtime.clone(), listener)
            .map_err(|e| listen_error(addr, &e))?;
        let bound = r.local_addr();
        running.push((Arc::new(r), bound, implicit));
    }
    Ok(running)
}

/// `--command-timeout`: a duration from 1 second to 1 day.
fn command_timeout(text: &str) -> Result<Duration, String> {
    let duration = crate::common::duration::parse_duration(text)?;
    if (Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&duration) {
        Ok(duration)
    } else {
        Err(format!("{text:?}: give from 1 second to 1 day"))
    }
}

/// The sentence for a listener that could not be set up on `addr`.
fn listen_error(addr: SocketAddr, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        format!(
            "cannot listen on {addr}: the address is already in use (is another server running on it?)"
        )
    } else {
        format!("cannot listen on {addr}: {e}")
    }
}

/// Prints `listening on ADDR` for each server, waits for the stop signal,
/// then stops gracefully.
async fn wait_and_stop<R: Runtime>(
    plan: &Plan,
    running: &[Listening<R>],
    stop: smol::channel::Receiver<()>,
) {
    for (_, addr, implicit) in running {
        if *implicit {
            print_flushed(&format!("listening on {addr} (implicit TLS)"));
        } else {
            print_flushed(&format!("listening on {addr}"));
        }
    }
    if let Some(dir) = plan.catcher.maildir.as_ref() {
        eprintln!(
            "mailwire serve: storing messages in {}",
            dir.root().display()
        );
    }
    let _ = stop.recv().await;
    eprintln!("mailwire serve: stopping");
    for (r, _, _) in running {
        r.stop(STOP_GRACE).await;
    }
}
