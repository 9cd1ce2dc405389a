//! The `mailwire` command.
//!
//! The subcommands `serve`, `send` and `relay` arrive with the issue
//! "The mailwire command"; until then the binary says so and exits non-zero.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "mailwire {}: the serve/send/relay commands are not built yet \
         (issue \"The mailwire command\"); the protocol core is in mailwire-core",
        env!("CARGO_PKG_VERSION")
    );
    ExitCode::from(2)
}
