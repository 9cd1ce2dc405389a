//! Reporting a send: the exit status, the JSON object (built with
//! serde_json) and the text for people (control characters escaped).

use mailwire_core::TlsInfo;
use mailwire_core::client::{
    CloseKind, NotSentReason, Outcome, RecipientOutcome, RecipientStatus, TransactionOutcome,
};
use mailwire_core::wire::address::ForwardPath;
use mailwire_core::wire::reply::Reply;
use mailwire_driver::client::ClientError;
use serde::Serialize;

use super::exit::{self, EXIT_PARTIAL, EXIT_PERMANENT, EXIT_UNKNOWN, EXIT_USAGE};
use super::transfer::{Delivery, Failure, SendResult};
use crate::common::text::escape_control as escape;

/// A reply in JSON.
#[derive(Debug, Serialize)]
pub struct JsonReply {
    /// The three-digit code.
    pub code: u16,
    /// The enhanced status code (`2.0.0`), if any.
    pub enhanced: Option<String>,
    /// The text lines joined with `\n`.
    pub text: String,
}

impl JsonReply {
    /// From a reply.
    #[must_use]
    pub fn from_reply(reply: &Reply) -> JsonReply {
        JsonReply {
            code: reply.code().as_u16(),
            enhanced: reply.enhanced().map(|e| e.to_string()),
            text: reply.text(),
        }
    }
}

/// TLS facts in JSON.
#[derive(Debug, Serialize)]
pub struct JsonTls {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// The cipher suite.
    pub cipher: String,
    /// Whether the server's certificate verified.
    pub verified: bool,
}

impl JsonTls {
    /// From the session's facts.
    #[must_use]
    pub fn from_info(info: &TlsInfo) -> JsonTls {
        JsonTls {
            version: info.version.clone(),
            cipher: info.cipher.clone(),
            verified: info.peer_verified,
        }
    }
}

/// One recipient in JSON.
#[derive(Debug, Serialize)]
struct JsonRecipient {
    address: String,
    accepted: bool,
    status: &'static str,
    code: Option<u16>,
    enhanced: Option<String>,
    text: Option<String>,
}

/// The one JSON object of a single send.
#[derive(Debug, Serialize)]
struct JsonReport {
    outcome: &'static str,
    sent: bool,
    server: Option<String>,
    tls: Option<JsonTls>,
    recipients: Vec<JsonRecipient>,
    reply: Option<JsonReply>,
    error: Option<String>,
    exit_code: u8,
    exit_meaning: &'static str,
}

/// The address of a path without its brackets.
#[must_use]
pub fn address(path: &ForwardPath) -> String {
    let text = path.to_string();
    text.trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn status_word(status: RecipientStatus) -> &'static str {
    match status {
        RecipientStatus::Sent => "sent",
        RecipientStatus::Refused => "refused",
        RecipientStatus::Unknown => "unknown",
        _ => "not_sent",
    }
}

/// The outcome word and exit status of one transaction.
#[must_use]
pub fn classify(outcome: &TransactionOutcome) -> (&'static str, u8) {
    let status = exit::for_outcome(outcome);
    let word = match status {
        0 => "sent",
        EXIT_PARTIAL => "partial",
        EXIT_UNKNOWN => "unknown",
        _ => "not_sent",
    };
    (word, status)
}

/// Why a message was not sent, in words.
#[must_use]
pub fn reason_text(reason: NotSentReason) -> &'static str {
    match reason {
        NotSentReason::MailRefused => "MAIL was refused",
        NotSentReason::RecipientsRefused => {
            "some recipients were refused and the message goes to all or none \
             (--at-least-one sends to the others)"
        }
        NotSentReason::NoRecipientAccepted => "no recipient was accepted",
        NotSentReason::DataRefused => "DATA was refused",
        NotSentReason::MessageRefused => "the message was refused at its end",
        NotSentReason::ConnectionClosed => "the connection closed before the end of the data",
        NotSentReason::RequireTlsUnavailable => "REQUIRETLS is not available",
        NotSentReason::TooLarge => "the message is over the server's size limit",
        _ => "not sent",
    }
}

/// Why the outcome is unknown, in words: what ended the connection after
/// the end of the data was sent (`kind`, from the connection's close
/// reason) — a timeout, a malformed reply, the server closing — and that
/// the message may have been delivered.
#[must_use]
pub fn unknown_text(kind: Option<&CloseKind>) -> String {
    let what = match kind {
        Some(CloseKind::Timeout) => "timed out waiting for the reply to the end of the data".into(),
        Some(CloseKind::MalformedReply(error)) => {
            format!("the reply to the end of the data is malformed ({error})")
        }
        Some(CloseKind::ServiceClosing) => {
            "the server answered the end of the data with 221 and closed the connection".into()
        }
        Some(CloseKind::ProtocolViolation(what)) => {
            format!("the server broke the protocol after the end of the data ({what})")
        }
        Some(CloseKind::ConnectionLost) => {
            "the connection closed after the end of the data, before the reply".into()
        }
        _ => "the session ended after the end of the data, before the reply".to_owned(),
    };
    format!("{what}: the message may have been delivered")
}

/// The final reply: the answer to the end of the data, or the reply that
/// refused the message.
#[must_use]
pub fn final_reply(outcome: &Outcome) -> Option<&Reply> {
    match outcome {
        Outcome::Sent { reply } => Some(reply),
        Outcome::NotSent { reply, .. } => reply.as_ref(),
        _ => None,
    }
}

fn json_recipients(
    paths: &[ForwardPath],
    outcomes: Option<&[RecipientOutcome]>,
) -> Vec<JsonRecipient> {
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let outcome = outcomes.and_then(|o| o.get(i));
            let reply = outcome.and_then(|o| o.reply.as_ref());
            JsonRecipient {
                address: address(path),
                accepted: reply.is_some_and(|r| r.code().as_u16() / 100 == 2),
                status: outcome.map_or("not_sent", |o| status_word(o.status)),
                code: reply.map(|r| r.code().as_u16()),
                enhanced: reply.and_then(|r| r.enhanced()).map(|e| e.to_string()),
                text: reply.map(Reply::text),
            }
        })
        .collect()
}

/// Prints a JSON value on one line (serde_json).
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("mailwire send: JSON: {e}"),
    }
}

/// Whether a failed server was reached (TCP connected) and the reply or
/// reason it ended with.
#[must_use]
pub fn reached(failure: &Failure) -> bool {
    matches!(
        failure.error,
        ClientError::Closed(_) | ClientError::Tls { .. }
    )
}

/// A server's failure in words; a certificate that did not verify names
/// the options that change the check.
#[must_use]
pub fn failure_text(error: &ClientError) -> String {
    let text = error.to_string();
    let certificate = match error {
        ClientError::Tls { .. } => text.contains("certificate"),
        ClientError::Closed(reason) => reason.kind == CloseKind::CertificateNotVerified,
        _ => false,
    };
    if certificate {
        format!(
            "{text} (--ca-file FILE trusts the authority that signed it; \
             --insecure-accept-any-cert skips the check)"
        )
    } else {
        text
    }
}

fn print_failures(failures: &[Failure]) {
    for failure in failures {
        eprintln!(
            "mailwire send: {}: {}",
            escape(&failure.server),
            escape(&failure_text(&failure.error))
        );
    }
}

fn reply_text(reply: &Reply) -> String {
    let mut text = reply.code().as_u16().to_string();
    if let Some(enhanced) = reply.enhanced() {
        text.push(' ');
        text.push_str(&enhanced.to_string());
    }
    let lines = reply.text();
    if !lines.is_empty() {
        text.push(' ');
        text.push_str(&lines);
    }
    escape(&text)
}

/// What went wrong with a delivery that reached the transaction, in
/// words (`None` when it was sent).
fn delivery_error(delivery: &Delivery, outcome: &TransactionOutcome) -> Option<String> {
    match &outcome.outcome {
        Outcome::NotSent { reason, .. } => Some(reason_text(*reason).to_owned()),
        Outcome::Unknown => Some(unknown_text(delivery.close.as_ref().map(|c| &c.kind))),
        _ => None,
    }
}

fn print_delivery_text(delivery: &Delivery, word: &str) {
    let tls = match &delivery.tls {
        Some(info) if info.peer_verified => format!("{}, certificate verified", info.version),
        Some(info) => format!("{}, certificate NOT verified", info.version),
        None => "no TLS".to_owned(),
    };
    match &delivery.outcome {
        Ok(outcome) => {
            let reply = match (&outcome.outcome, final_reply(&outcome.outcome)) {
                (_, Some(r)) => format!(": {}", reply_text(r)),
                (Outcome::Unknown, None) => delivery_error(delivery, outcome)
                    .map_or_else(String::new, |e| format!(": {}", escape(&e))),
                _ => String::new(),
            };
            println!(
                "{} via {} ({tls}){reply}",
                word.replace('_', " "),
                escape(&delivery.server)
            );
            for (path, r) in delivery.recipients.iter().zip(&outcome.recipients) {
                let reply = r
                    .reply
                    .as_ref()
                    .map_or_else(String::new, |reply| format!(": {}", reply_text(reply)));
                println!(
                    "  {} {}{reply}",
                    status_word(r.status).replace('_', " "),
                    escape(&address(path))
                );
            }
        }
        Err(problem) => println!(
            "not sent via {} ({tls}): {}",
            escape(&delivery.server),
            escape(problem)
        ),
    }
}

/// Prints the outcome of a single send and returns the exit status.
pub fn single(result: &SendResult, json: bool) -> u8 {
    match result {
        SendResult::Usage(problem) => {
            eprintln!("mailwire send: {}", escape(problem));
            EXIT_USAGE
        }
        SendResult::AllFailed {
            failures,
            recipients,
        } => {
            print_failures(failures);
            let status = exit::for_failures(failures.iter().map(|f| &f.error));
            if json && let Some(last) = failures.iter().rev().find(|f| reached(f)) {
                let reply = match &last.error {
                    ClientError::Closed(reason) => reason.reply.as_ref().map(JsonReply::from_reply),
                    _ => None,
                };
                print_json(&JsonReport {
                    outcome: "not_sent",
                    sent: false,
                    server: Some(last.server.clone()),
                    tls: None,
                    recipients: json_recipients(recipients, None),
                    reply,
                    error: Some(failure_text(&last.error)),
                    exit_code: status,
                    exit_meaning: exit::meaning(status),
                });
            }
            if !json {
                eprintln!("mailwire send: not sent: no server was ready for mail");
            }
            status
        }
        SendResult::Delivered { failures, delivery } => {
            print_failures(failures);
            let (word, status, reply, outcomes, error) = match &delivery.outcome {
                Ok(outcome) => {
                    let (word, status) = classify(outcome);
                    let error = delivery_error(delivery, outcome);
                    (
                        word,
                        status,
                        final_reply(&outcome.outcome).map(JsonReply::from_reply),
                        Some(outcome.recipients.as_slice()),
                        error,
                    )
                }
                Err(problem) => (
                    "not_sent",
                    EXIT_PERMANENT,
                    None,
                    None,
                    Some(problem.clone()),
                ),
            };
            if json {
                print_json(&JsonReport {
                    outcome: word,
                    sent: status == 0 || status == EXIT_PARTIAL,
                    server: Some(delivery.server.clone()),
                    tls: delivery.tls.as_ref().map(JsonTls::from_info),
                    recipients: json_recipients(&delivery.recipients, outcomes),
                    reply,
                    error,
                    exit_code: status,
                    exit_meaning: exit::meaning(status),
                });
            } else {
                print_delivery_text(delivery, word);
            }
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailwire_core::wire::reply::ReplyError;

    #[test]
    fn unknown_outcomes_say_what_happened() {
        let texts = [
            (Some(CloseKind::Timeout), "timed out waiting for the reply"),
            (
                Some(CloseKind::MalformedReply(ReplyError::Malformed)),
                "the reply to the end of the data is malformed (malformed reply line)",
            ),
            (
                Some(CloseKind::ConnectionLost),
                "the connection closed after the end of the data",
            ),
            (
                Some(CloseKind::ServiceClosing),
                "answered the end of the data with 221",
            ),
            (None, "the session ended after the end of the data"),
        ];
        let mut seen = Vec::new();
        for (kind, want) in texts {
            let text = unknown_text(kind.as_ref());
            assert!(text.contains(want), "{kind:?}: {text}");
            assert!(
                text.ends_with(": the message may have been delivered"),
                "{text}"
            );
            assert!(!seen.contains(&text), "{text} said twice");
            seen.push(text);
        }
    }
}
