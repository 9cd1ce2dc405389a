//! swaks' conversation options of `mailwire send`: `-v`/`--transcript`,
//! `--show-body`, `--quit-after`, `--dump-mail` (`--dry-run`) and
//! `--auth MECH`.

use mailwire_core::client::StopPoint;

/// Where `--quit-after` stops: during the setup (the core sends QUIT
/// there) or in the transaction, after MAIL or after the RCPTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitAfter {
    /// Before the transaction.
    Setup(StopPoint),
    /// After MAIL FROM is answered (swaks' `mail`, `from`).
    Mail,
    /// After every RCPT TO is answered (swaks' `rcpt`, `to`).
    Rcpt,
}

impl std::fmt::Display for QuitAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuitAfter::Setup(point) => point.fmt(f),
            QuitAfter::Mail => f.write_str("MAIL"),
            QuitAfter::Rcpt => f.write_str("RCPT"),
        }
    }
}

/// Parses swaks' stop points (any case).
///
/// # Errors
///
/// A sentence listing them.
pub fn parse_quit_after(text: &str) -> Result<QuitAfter, String> {
    match text.to_ascii_lowercase().as_str() {
        "mail" | "from" => Ok(QuitAfter::Mail),
        "rcpt" | "to" => Ok(QuitAfter::Rcpt),
        _ => text.parse().map(QuitAfter::Setup).map_err(|_| {
            format!(
                "{text:?} is not a stop point: connect (banner), first-helo, tls (starttls), \
                 helo (ehlo), auth, mail (from), rcpt (to)"
            )
        }),
    }
}

pub use crate::common::mechanisms::{Mechanisms, parse_mechanisms};

/// The conversation options (swaks' names).
#[derive(Debug, Clone, clap::Args)]
pub struct SwaksArgs {
    /// Print the conversation as it happens, swaks-style: ` -> ` sent,
    /// `<-  ` received (` ~> `/`<~  ` under TLS, `<** ` a refusal), `=== `
    /// mailwire's own notes; AUTH secrets as `***`, the message after a
    /// few lines elided (see --show-body). On standard error with --json.
    #[arg(short = 'v', long = "transcript", visible_alias = "verbose")]
    pub transcript: bool,
    /// With --transcript, show every line of the message.
    #[arg(long, requires = "transcript")]
    pub show_body: bool,
    /// Send QUIT at this point and stop (swaks' stop points): connect
    /// (banner), first-helo, tls (starttls), helo (ehlo), auth, mail
    /// (from), rcpt (to).
    #[arg(long, value_name = "STOP-POINT", value_parser = parse_quit_after,
          conflicts_with = "repeat")]
    pub quit_after: Option<QuitAfter>,
    /// Print the envelope (standard error) and the message as it would be
    /// sent (standard output), and connect to nothing.
    #[arg(long, visible_alias = "dry-run", conflicts_with_all = ["repeat", "json", "quit_after"])]
    pub dump_mail: bool,
    /// Authenticate with these SASL mechanisms only, in this order
    /// (comma-separated: PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5,
    /// SCRAM-SHA-256, XOAUTH2); bare `--auth` (or `--auth any`), as
    /// swaks: any mechanism the server offers, the strongest first.
    /// Needs --user and --password.
    #[arg(long = "auth", value_name = "MECH[,MECH…]", value_parser = parse_auth,
          num_args = 0..=1, default_missing_value = "any", requires = "user")]
    pub auth: Option<Mechanisms>,
}

/// Parses `--auth`: a mechanism list, or `any` (an empty list: every
/// mechanism mailwire speaks that the server offers).
///
/// # Errors
///
/// A sentence naming the unknown mechanism.
pub fn parse_auth(text: &str) -> Result<Mechanisms, String> {
    if text.trim().eq_ignore_ascii_case("any") {
        return Ok(Mechanisms(Vec::new()));
    }
    parse_mechanisms(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailwire_core::sasl::Mechanism;

    #[test]
    fn swaks_stop_points_and_mechanisms_parse() {
        assert_eq!(parse_quit_after("RCPT"), Ok(QuitAfter::Rcpt));
        assert_eq!(parse_quit_after("from"), Ok(QuitAfter::Mail));
        assert_eq!(
            parse_quit_after("banner"),
            Ok(QuitAfter::Setup(StopPoint::Banner))
        );
        assert_eq!(
            parse_quit_after("first-ehlo"),
            Ok(QuitAfter::Setup(StopPoint::FirstHelo))
        );
        assert!(parse_quit_after("data").is_err());
        assert_eq!(
            parse_mechanisms("plain,cram-md5"),
            Ok(Mechanisms(vec![Mechanism::Plain, Mechanism::CramMd5]))
        );
        assert!(parse_mechanisms("NTLM").is_err());
        assert_eq!(parse_auth("ANY"), Ok(Mechanisms(Vec::new())));
        assert_eq!(parse_auth("plain"), Ok(Mechanisms(vec![Mechanism::Plain])));
    }
}
