//! `serve --verbose`: every session's conversation on stderr, in the form
//! of `send`'s transcript (swaks'): ` -> ` for a reply sent, `<-  ` for a
//! command received (` ~> `/`<~  ` inside TLS, `**>`/`*~>` for a 4xx or
//! 5xx reply), `=== ` for notes; each line starts with the session's
//! number. AUTH secrets are `***`; message data is not shown.

use std::io::Write;

use mailwire_driver::client::{Direction, TraceEvent};
use mailwire_driver::server::{ServerObserver, SessionTrace};

use crate::common::text::escape_control as escape;

/// The observer that prints every session's lines to stderr.
#[must_use]
pub fn observer() -> ServerObserver {
    ServerObserver::new(|trace: &SessionTrace<'_>| {
        let text = match trace.event {
            TraceEvent::Connected { addr } => format!("=== Connection from {addr}."),
            TraceEvent::TlsStarted { info } => {
                format!("=== TLS started: {}, {}", info.version, info.cipher)
            }
            TraceEvent::Line(line) => {
                let refusal = matches!(line.text.as_bytes().first(), Some(b'4' | b'5'));
                let prefix = match (line.direction, line.tls, refusal) {
                    (Direction::Sent, false, false) => " -> ",
                    (Direction::Sent, true, false) => " ~> ",
                    (Direction::Sent, false, true) => "**> ",
                    (Direction::Sent, true, true) => "*~> ",
                    (_, false, _) => "<-  ",
                    (_, true, _) => "<~  ",
                };
                format!("{prefix}{}", escape(line.text))
            }
            _ => return,
        };
        let _ = writeln!(std::io::stderr().lock(), "[{}] {text}", trace.session);
    })
}
