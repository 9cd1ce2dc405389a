//! The `mailwire` command: `serve` (a mail catcher), `send` (a sender) and
//! `relay` (a forwarder to a smarthost).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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

fn main() -> ExitCode {
    // A usage error exits with 1 (not clap's 2: `send` uses 2 for "sent to
    // some recipients"); --help and --version exit with 0.
    let cli = match Cli::try_parse() {
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
