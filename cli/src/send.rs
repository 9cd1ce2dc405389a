//! `mailwire send`: send one message (or many, for load) to SMTP servers,
//! with failover, and report the outcome per recipient.
//!
//! The parts: [`compose`] turns the options into a message and what to
//! prepare it with; [`settings`] turns them into the connection settings
//! and the server list (through the shared client options in
//! `common::outbound`); [`transfer`] connects (with failover) and sends;
//! [`report`] prints the outcome (text or JSON) and picks the exit status;
//! [`bulk`] is `--repeat`/`--connections`; [`text`] checks arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::common::outbound::Outbound;

mod bulk;
mod compose;
mod dump;
pub mod exit;
mod mime;
mod probe;
mod report;
mod settings;
pub mod swaks;
pub mod swaks_names;
pub mod text;
pub mod timeout;
mod transcript;
mod transfer;

use exit::EXIT_USAGE;

const AFTER_HELP: &str = "\
Examples:
  mailwire send --server 127.0.0.1:2525 --from alice@example.org \\
      --to bob@example.org --subject hello --body 'Hi Bob!'
  mailwire send --server mx1.example.org --server mx2.example.org \\
      --message mail.eml --json
  cat mail.eml | mailwire send --server smtp.example.org:587 --tls required \\
      --user alice --password secret --message -
  mailwire send --server 127.0.0.1:2525 --from 'José Núñez <jose@example.org>' \\
      --to bob@example.org --subject report --body 'text version' \\
      --html-file page.html --attach report.pdf --attach @data.csv
  mailwire send --server 127.0.0.1:2525 --from a@example.org --to b@example.org \\
      --repeat 10000 --connections 8

With --message, the envelope comes from the message's headers (From or
Sender; To, Cc, Bcc and Dcc) unless --from, --originator, --to/--cc/--bcc or
--recipients say otherwise; --to/--cc/--bcc and --recipients add up. Bcc and
Dcc addresses (from the message or --bcc) always get the message, also with
explicit recipients, and those headers are removed before sending. When the
message starts with Resent- headers, the newest Resent- block gives the
envelope instead. Files with bare LF line ends are fine.

Credentials (--user/--password) make TLS required and the certificate must
verify, unless --insecure-accept-any-cert or --allow-insecure-auth says
otherwise.

--json prints exactly one JSON object whenever a server was reached:
  outcome (sent, partial, not_sent, unknown), sent (boolean), server,
  tls {version, cipher, verified} or null, recipients [{address, accepted,
  status, code, enhanced, text}], reply {code, enhanced, text} or null, error,
  exit_code and exit_meaning (the exit status below).
With --repeat it prints one summary object with counts and messages_per_second;
with --quit-after, outcome \"stopped\", stop_point, the MAIL and RCPT replies.";

/// Options of `mailwire send`.
#[derive(Debug, clap::Args)]
#[command(after_help = format!("{AFTER_HELP}\n\n{}", exit::HELP))]
pub struct Args {
    /// A server to send to, `HOST[:PORT]` (port 25, or 465 with
    /// --implicit-tls). Repeat to give fallbacks, tried in order until one
    /// is ready for mail.
    #[arg(
        short = 's',
        long = "server",
        value_name = "HOST[:PORT]",
        required = true
    )]
    pub servers: Vec<String>,
    /// The sender: the From header of a composed message, or the envelope
    /// sender with --message.
    #[arg(short = 'f', long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// A recipient (To header; envelope recipient with --message, as
    /// well as any --recipients).
    #[arg(short = 't', long, value_name = "ADDRESS")]
    pub to: Vec<String>,
    /// A Cc recipient (Cc header; envelope recipient with --message, as
    /// well as any --recipients).
    #[arg(long, value_name = "ADDRESS")]
    pub cc: Vec<String>,
    /// A Bcc recipient: an envelope recipient that no header shows, always
    /// (also with --recipients).
    #[arg(long, value_name = "ADDRESS")]
    pub bcc: Vec<String>,
    /// The Subject of a composed message.
    #[arg(long, conflicts_with = "message")]
    pub subject: Option<String>,
    /// The body of a composed message; newlines in it become lines.
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["body_file", "message"])]
    pub body: Option<String>,
    /// Read the body of a composed message from a file (`-`: standard
    /// input). UTF-8 text is the text part; other bytes are sent as they
    /// are, typed after the file's name (application/octet-stream).
    #[arg(long, value_name = "FILE", conflicts_with = "message")]
    pub body_file: Option<PathBuf>,
    /// Send a complete RFC 5322 message from a file (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub message: Option<PathBuf>,
    /// A header field to add, 'Name: value' (repeatable). In a composed
    /// message it replaces the field mailwire would write (From, To,
    /// Subject, …; Content-Type for a body of one part) instead of adding
    /// a second one. swaks' `--header-NAME VALUE` and `--h-NAME VALUE`
    /// work too.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Attachments and an HTML body.
    #[command(flatten)]
    pub mime: mime::MimeArgs,
    /// The envelope sender (MAIL FROM), whatever the headers say; `<>` for
    /// the null sender.
    #[arg(long, value_name = "ADDRESS")]
    pub originator: Option<String>,
    /// The envelope recipients (RCPT TO), comma-separated or repeated,
    /// in place of the To and Cc headers; Bcc and Dcc recipients are
    /// added.
    #[arg(long, value_name = "ADDRESS[,ADDRESS…]")]
    pub recipients: Vec<String>,
    /// TLS, certificates, credentials and the EHLO name.
    #[command(flatten)]
    pub outbound: Outbound,
    /// A PROXY protocol header to send first (swaks' flags).
    #[command(flatten)]
    pub proxy: crate::common::proxy_out::ProxyOutArgs,
    /// Send when at least one recipient is accepted (default: only when
    /// all are).
    #[arg(long)]
    pub at_least_one: bool,
    /// Ask the server to queue the message (QUED, when XQUE is offered).
    #[arg(long)]
    pub queue: bool,
    /// Print exactly one JSON object with the outcome.
    #[arg(long)]
    pub json: bool,
    /// Bulk mode: send the message this many times.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: Option<u64>,
    /// Bulk mode: over this many connections at once (each reused for
    /// many messages).
    #[arg(long, value_name = "C", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connections: u32,
    /// Threads running the connections (default 1: one thread keeps tens
    /// of thousands of messages a second going; more help with many TLS
    /// connections).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// `--timeout`.
    #[command(flatten)]
    pub timeout: timeout::TimeoutArgs,
    /// swaks' conversation options: `-v`, `--quit-after`, `--dump-mail`,
    /// `--auth`.
    #[command(flatten)]
    pub swaks: swaks::SwaksArgs,
}

/// Runs `mailwire send`.
pub fn run(args: Args) -> ExitCode {
    ExitCode::from(run_status(&args))
}

fn fail(message: &str) -> u8 {
    eprintln!(
        "mailwire send: {}",
        crate::common::text::escape_control(message)
    );
    EXIT_USAGE
}

fn run_status(args: &Args) -> u8 {
    if let Err(problem) = text::check_args(args) {
        return fail(&problem);
    }
    let plan = match settings::plan(args) {
        Ok(plan) => plan,
        Err(problem) => return fail(&problem),
    };
    let draft = match compose::draft(args) {
        Ok(draft) => draft,
        Err(problem) => return fail(&problem),
    };
    if args.swaks.dump_mail {
        return dump::run(&plan, &draft);
    }
    let runtime = if args.threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(args.threads))
            .enable_all()
            .build()
    } else {
        // One thread drives many connections: the work is mostly waiting,
        // and a single thread saves the cross-thread wake-ups.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    if let Some(point) = args.swaks.quit_after {
        return runtime.block_on(probe::run(&plan, &draft, point, args.json));
    }
    match args.repeat {
        Some(count) => {
            runtime.block_on(bulk::run(&plan, &draft, count, args.connections, args.json))
        }
        None => runtime.block_on(async {
            let result = transfer::send_once(&plan, &draft).await;
            report::single(&result, args.json)
        }),
    }
}
