//! Writing to the output queue ([`crate::output::Output`]): command lines
//! (each recorded as awaiting its reply), `Send`s, events and `StartTls`, in
//! order.

use std::time::Instant;

use bytes::Bytes;

use super::connection::ClientConnection;
use super::deadline::Deadline;
use super::event::ClientEvent;
use super::pending::{Pending, PendingKind};

impl ClientConnection {
    /// Appends a command line (with CRLF) to the output and records that it
    /// awaits a reply. `shown` replaces the line in error reports.
    pub(crate) fn send_command(
        &mut self,
        now: Instant,
        kind: PendingKind,
        line: &[u8],
        shown: Option<String>,
    ) {
        self.out.buf().extend_from_slice(line);
        let command = shown.unwrap_or_else(|| {
            let text = line.strip_suffix(b"\r\n").unwrap_or(line);
            String::from_utf8_lossy(text).into_owned()
        });
        self.expect_reply(now, kind, command);
    }

    /// Records that a reply is awaited for what was just queued.
    pub(crate) fn expect_reply(&mut self, now: Instant, kind: PendingKind, command: String) {
        if self.pending.is_empty() {
            self.timers.set_opt(
                Deadline::Reply,
                now.checked_add(kind.timeout(&self.config.timeouts)),
            );
        }
        self.pending.push_back(Pending {
            kind,
            command,
            sent_at: self.received,
        });
    }

    /// Cuts the gathered command lines into a `Send` action.
    pub(crate) fn flush(&mut self) {
        self.out.flush();
    }

    /// Queues bytes as their own `Send` (after what is buffered).
    pub(crate) fn push_send(&mut self, bytes: Bytes) {
        self.out.send(bytes);
    }

    /// Queues an event (after what is buffered).
    pub(crate) fn push_event(&mut self, event: ClientEvent) {
        self.out.ordered_event(event);
    }

    /// Queues `StartTls` (after what is buffered).
    pub(crate) fn push_start_tls(&mut self) {
        self.out.start_tls();
    }
}
