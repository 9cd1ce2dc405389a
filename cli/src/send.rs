//! `mailwire send`.

use std::process::ExitCode;

/// Options of `mailwire send`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `mailwire send`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mailwire send: not built yet");
    ExitCode::from(1)
}
