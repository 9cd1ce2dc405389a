//! The exit status of `mailwire send`: one code per kind of result, so a
//! script can tell "sent", "try again later" and "never" apart.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | sent to every recipient (or a `--dump-mail` / `--quit-after` run that did what it was asked) |
//! | 1 | invalid input or usage |
//! | 2 | sent to some recipients only |
//! | 3 | not sent, permanent: a 5xx, AUTH refused (535), TLS required and not offered, a certificate that does not verify |
//! | 4 | outcome unknown: the connection or the wait broke after the final dot |
//! | 5 | not sent, temporary: a 4xx, a timeout or a lost connection before the final dot, no server reachable |

use std::io;

use mailwire_core::client::{CloseKind, CloseReason, NotSentReason, Outcome, TransactionOutcome};
use mailwire_core::wire::reply::Reply;
use mailwire_driver::client::ClientError;

/// Sent to every recipient.
pub const EXIT_SENT: u8 = 0;
/// Invalid input or usage.
pub const EXIT_USAGE: u8 = 1;
/// Sent to some recipients only.
pub const EXIT_PARTIAL: u8 = 2;
/// Not sent, and retrying will not help.
pub const EXIT_PERMANENT: u8 = 3;
/// The outcome is unknown: the message may have been delivered.
pub const EXIT_UNKNOWN: u8 = 4;
/// Not sent, worth retrying later.
pub const EXIT_TEMPORARY: u8 = 5;

/// The table for `--help`.
pub const HELP: &str = "\
Exit status:
  0  sent to every recipient (also a --dump-mail or --quit-after run that did
     what it was asked)
  1  invalid input or usage (including CR, LF or NUL in an argument)
  2  sent to some recipients only
  3  not sent, permanent: a 5xx reply (MAIL, every RCPT, DATA or the final
     dot refused), AUTH refused (535), TLS required and not offered, a
     certificate that does not verify, the send policy withheld it
  4  outcome unknown: the connection or the wait broke after the final dot
     (timed out, malformed reply, connection closed, or 221); the message
     may have been delivered
  5  not sent, temporary: a 4xx reply, a timeout or a lost connection before
     the final dot, no server reachable; worth retrying
With --repeat: 0 only if every message was sent, else the highest status.";

/// The word of a status in JSON (`exit_meaning`).
#[must_use]
pub fn meaning(status: u8) -> &'static str {
    match status {
        EXIT_SENT => "sent",
        EXIT_USAGE => "usage",
        EXIT_PARTIAL => "partial",
        EXIT_PERMANENT => "not_sent_permanent",
        EXIT_UNKNOWN => "unknown",
        _ => "not_sent_temporary",
    }
}

/// Permanent (5xx) or temporary (anything else) by the reply's code.
fn by_reply(reply: &Reply) -> u8 {
    if reply.code().as_u16() / 100 == 5 {
        EXIT_PERMANENT
    } else {
        EXIT_TEMPORARY
    }
}

/// The status of a connection that ended before the message could go.
#[must_use]
pub fn for_close(reason: &CloseReason) -> u8 {
    if let Some(reply) = &reason.reply {
        return by_reply(reply);
    }
    match reason.kind {
        CloseKind::Quit | CloseKind::Stopped(_) => EXIT_SENT,
        CloseKind::TlsUnavailable
        | CloseKind::StartTlsRefused
        | CloseKind::TlsAbandoned
        | CloseKind::CertificateNotVerified
        | CloseKind::AuthFailed
        | CloseKind::ServerNotAuthenticated
        | CloseKind::AuthUnavailable
        | CloseKind::CredentialsWithheld
        | CloseKind::GreetingRefused
        | CloseKind::HelloRefused => EXIT_PERMANENT,
        _ => EXIT_TEMPORARY,
    }
}

/// The status of a server given up before it was ready for mail.
#[must_use]
pub fn for_error(error: &ClientError) -> u8 {
    match error {
        ClientError::Closed(reason) => for_close(reason),
        ClientError::Tls { source, .. } => match source.kind() {
            io::ErrorKind::TimedOut
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => EXIT_TEMPORARY,
            // A certificate that does not verify, no common TLS version:
            // trying again will not change it.
            _ => EXIT_PERMANENT,
        },
        ClientError::Body(_) | ClientError::Usage(_) => EXIT_USAGE,
        _ => EXIT_TEMPORARY,
    }
}

/// The status when every server failed: temporary if any failure was
/// (another try may find a server), else permanent.
#[must_use]
pub fn for_failures<'a>(errors: impl IntoIterator<Item = &'a ClientError>) -> u8 {
    let mut status = None;
    for error in errors {
        let this = for_error(error);
        status = Some(match status {
            None => this,
            Some(EXIT_TEMPORARY) => EXIT_TEMPORARY,
            Some(_) if this == EXIT_TEMPORARY => EXIT_TEMPORARY,
            Some(other) => other.max(this),
        });
    }
    status.unwrap_or(EXIT_TEMPORARY)
}

/// The status of one transaction's outcome.
#[must_use]
pub fn for_outcome(outcome: &TransactionOutcome) -> u8 {
    match &outcome.outcome {
        Outcome::Sent { .. } => {
            if outcome
                .recipients
                .iter()
                .all(|r| r.status == mailwire_core::client::RecipientStatus::Sent)
            {
                EXIT_SENT
            } else {
                EXIT_PARTIAL
            }
        }
        Outcome::Unknown => EXIT_UNKNOWN,
        Outcome::NotSent { reason, reply } => match (reason, reply) {
            (_, Some(reply)) => by_reply(reply),
            (NotSentReason::RecipientsRefused | NotSentReason::NoRecipientAccepted, None) => {
                // The recipients' replies say it: permanent if any refusal
                // was, temporary when every one was a 4xx.
                let permanent = outcome
                    .recipients
                    .iter()
                    .filter_map(|r| r.reply.as_ref())
                    .any(|r| r.code().as_u16() / 100 == 5);
                if permanent {
                    EXIT_PERMANENT
                } else {
                    EXIT_TEMPORARY
                }
            }
            (NotSentReason::ConnectionClosed, None) => EXIT_TEMPORARY,
            _ => EXIT_PERMANENT,
        },
        _ => EXIT_UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_meaning() {
        let words: std::collections::HashSet<_> = (0..=5).map(meaning).collect();
        assert_eq!(words.len(), 6);
    }

    #[test]
    fn losing_the_connection_before_the_dot_is_temporary() {
        let error = ClientError::Connect {
            addr: "127.0.0.1:1".parse().expect("address"),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(for_error(&error), EXIT_TEMPORARY);
        assert_eq!(for_failures([&error]), EXIT_TEMPORARY);
    }
}
