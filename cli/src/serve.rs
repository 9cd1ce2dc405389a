//! `mailwire serve`.

use std::process::ExitCode;

/// Options of `mailwire serve`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `mailwire serve`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mailwire serve: not built yet");
    ExitCode::from(1)
}
