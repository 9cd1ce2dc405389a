//! `mailwire relay`.

use std::process::ExitCode;

/// Options of `mailwire relay`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `mailwire relay`.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("mailwire relay: not built yet");
    ExitCode::from(1)
}
