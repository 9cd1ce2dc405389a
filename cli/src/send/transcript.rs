//! `-v` / `--transcript`: the conversation printed as it happens, in
//! swaks' notation, from the driver's protocol trace (the lines as they
//! went over the wire, AUTH secrets already redacted by the driver).

use std::io::Write;
use std::sync::{Arc, Mutex};

use mailwire_driver::client::{Direction, LineKind, Observer, TraceEvent};

use crate::common::text::{escape_control as escape, label};

/// Message lines shown before the rest is elided (without --show-body).
pub const BODY_LINES: usize = 10;

/// Where and how a transcript is printed.
#[derive(Debug, Clone, Copy)]
pub struct Transcript {
    /// On standard error (with --json, standard output is the JSON).
    pub to_stderr: bool,
    /// Every line of the message.
    pub show_body: bool,
}

/// How far into the message a transcript is.
#[derive(Debug, Default)]
struct BodyState {
    shown: usize,
    hidden: usize,
}

impl Transcript {
    /// Prints one line.
    pub fn print(&self, line: &str) {
        if self.to_stderr {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        } else {
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }

    /// Prints mailwire's own note (`=== `).
    pub fn note(&self, text: &str) {
        self.print(&format!("=== {}", escape(text)));
    }

    /// The observer that prints the conversation.
    #[must_use]
    pub fn observer(self) -> Observer {
        let body = Mutex::new(BodyState::default());
        Arc::new(move |event: &TraceEvent<'_>| match event {
            TraceEvent::Trying { server } => {
                self.note(&format!("Trying {}...", label(&server.host, server.port)));
            }
            TraceEvent::Connected { addr } => self.note(&format!("Connected to {addr}.")),
            TraceEvent::TlsStarted { info } => self.note(&format!(
                "TLS started: {}, {}, certificate {}",
                info.version,
                info.cipher,
                if info.peer_verified {
                    "verified"
                } else {
                    "NOT verified"
                }
            )),
            TraceEvent::Line(line) => {
                let text = escape(line.text);
                let prefix = match (line.direction, line.tls) {
                    (Direction::Sent, false) => " -> ",
                    (Direction::Sent, true) => " ~> ",
                    (Direction::Received, tls) => {
                        let refusal = matches!(line.text.as_bytes().first(), Some(b'4' | b'5'));
                        match (tls, refusal) {
                            (false, false) => "<-  ",
                            (true, false) => "<~  ",
                            (false, true) => "<** ",
                            (true, true) => "<~* ",
                        }
                    }
                    _ => "??? ",
                };
                if line.kind == LineKind::Body && !self.show_body {
                    let mut state = body.lock().unwrap_or_else(|p| p.into_inner());
                    if line.text == "." {
                        if state.hidden > 0 {
                            self.print(&format!(
                                "{prefix}[{} more lines of the message not shown; \
                                 --show-body shows them]",
                                state.hidden
                            ));
                        }
                        *state = BodyState::default();
                    } else if state.shown >= BODY_LINES {
                        state.hidden += 1;
                        return;
                    } else {
                        state.shown += 1;
                    }
                }
                self.print(&format!("{prefix}{text}"));
            }
            _ => {}
        })
    }
}
