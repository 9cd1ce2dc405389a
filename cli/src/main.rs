//! The `mailwire` command: `serve` (a mail catcher), `send` (a sender) and
//! `relay` (a forwarder to a smarthost).

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod common;
mod queue;
mod relay;
mod send;
mod serve;

/// mailwire: an SMTP toolkit — catch mail, send mail, relay mail.
#[derive(Debug, Parser)]
#[command(name = "mailwire", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size difference between the variants is harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run an SMTP server that stores every accepted message in a Maildir.
    Serve(serve::Args),
    /// Send a message (or many, for load) to SMTP servers, with failover.
    Send(send::Args),
    /// Accept messages and forward them to a smarthost.
    Relay(relay::Args),
    /// Inspect and manage the queue of `relay --queue` (as mailq, postqueue, postsuper).
    Queue(queue::Args),
}

/// The command line, with swaks' own spellings of send's options read
/// first, and what depends on the order of options read from it (send's
/// --attach-type and --attach-name, as swaks places them).
fn parse() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "send")
        && let Some(send) = command.find_subcommand("send")
    {
        args = send::swaks_names::rewrite(send, args);
    }
    let matches = command.try_get_matches_from_mut(args)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
    if let (Command::Send(args), Some(("send", sub))) = (&mut cli.command, matches.subcommand()) {
        args.mime
            .place(sub)
            .map_err(|text| command.error(clap::error::ErrorKind::ArgumentConflict, text))?;
    }
    Ok(cli)
}

fn main() -> ExitCode {
    // A usage error exits with 1 (not clap's 2: `send` uses 2 for "sent to
    // some recipients"); --help and --version exit with 0.
    let cli = match parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Send(args) => send::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Queue(args) => queue::run(args),
    }
}
