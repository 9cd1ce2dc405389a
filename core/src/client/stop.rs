//! [`StopPoint`]: where a session stops on purpose, sending QUIT (swaks'
//! `--quit-after`), for probing a server without sending mail.

use std::fmt;
use std::str::FromStr;

/// A point of the session setup after which the client sends QUIT
/// (swaks' `--quit-after` stop points before the transaction; MAIL and
/// RCPT are the application's, with
/// [`open_mail`](super::ClientConnection::open_mail) and
/// [`quit`](super::ClientConnection::quit)).
///
/// The connection then closes with
/// [`CloseKind::Stopped`](super::CloseKind::Stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopPoint {
    /// After the greeting (swaks' `connect`, `banner`).
    Banner,
    /// After the first EHLO/HELO (before STARTTLS; swaks' `first-helo`).
    FirstHelo,
    /// Right after the TLS handshake, or where it would have been
    /// (swaks' `tls`, `starttls`). Under implicit TLS the handshake
    /// precedes the greeting: QUIT follows the greeting, no EHLO.
    Tls,
    /// After the last EHLO/HELO (after STARTTLS when there is one;
    /// swaks' `helo`, `ehlo`).
    Helo,
    /// After authentication, or where it would have been (swaks' `auth`).
    Auth,
}

impl fmt::Display for StopPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopPoint::Banner => "the greeting",
            StopPoint::FirstHelo => "the first EHLO",
            StopPoint::Tls => "TLS",
            StopPoint::Helo => "EHLO",
            StopPoint::Auth => "AUTH",
        })
    }
}

impl FromStr for StopPoint {
    type Err = String;

    /// swaks' names, any case: `connect`, `banner`, `first-helo`
    /// (`first-ehlo`, `first-lhlo`), `tls`, `starttls`, `helo` (`ehlo`,
    /// `lhlo`), `auth`.
    fn from_str(text: &str) -> Result<StopPoint, String> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "connect" | "banner" => StopPoint::Banner,
            "first-helo" | "first-ehlo" | "first-lhlo" => StopPoint::FirstHelo,
            "tls" | "starttls" => StopPoint::Tls,
            "helo" | "ehlo" | "lhlo" => StopPoint::Helo,
            "auth" => StopPoint::Auth,
            _ => return Err(format!("{text:?} is not a stop point")),
        })
    }
}
