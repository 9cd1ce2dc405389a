//! How a message ended: [`TransactionOutcome`] and its parts.

use std::fmt;

use crate::TlsInfo;
use crate::wire::reply::Reply;

/// Names one [`send_mail`](super::ClientConnection::send_mail) call on a
/// connection (numbered from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub(crate) u64);

impl TransactionId {
    /// The number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Whether the message was sent, in one word and the reply that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The server accepted the message (for the recipients whose
    /// [`RecipientStatus`] is [`Sent`](RecipientStatus::Sent)). `reply` is
    /// its answer to the end of the data (of the last SMTP transaction that
    /// was accepted, when the recipients were split).
    Sent {
        /// The final reply (2xx).
        reply: Reply,
    },
    /// Nobody got the message.
    NotSent {
        /// Why.
        reason: NotSentReason,
        /// The server's reply that refused it, if one did (`None` when the
        /// per-recipient replies say it all, or the connection broke). A
        /// reply made up by the client (REQUIRETLS, SIZE) has the enhanced
        /// code of the condition (`5.7.30`, `5.3.4`).
        reply: Option<Reply>,
    },
    /// The connection was lost (or timed out, or the reply was malformed,
    /// or the server answered with 221 and closed) after the end of the
    /// data was sent and before a reply that says what became of it: the
    /// message may have been delivered. The connection's
    /// [`CloseReason`](super::CloseReason) says which.
    Unknown,
}

impl Outcome {
    /// `true` for [`Outcome::Sent`].
    #[must_use]
    pub fn is_sent(&self) -> bool {
        matches!(self, Outcome::Sent { .. })
    }
}

/// Why a message was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotSentReason {
    /// MAIL FROM was refused.
    MailRefused,
    /// Some recipients were refused under
    /// [`SendPolicy::AllOrNothing`](super::SendPolicy::AllOrNothing)
    /// (the others were accepted; RSET abandoned the transaction).
    RecipientsRefused,
    /// No recipient was accepted.
    NoRecipientAccepted,
    /// DATA was refused (no 354).
    DataRefused,
    /// The server refused the message at its end (the final dot or a BDAT
    /// chunk got 4xx or 5xx).
    MessageRefused,
    /// The connection ended before the end of the data was sent (the
    /// server may have said so with 221; then that is the reply).
    ConnectionClosed,
    /// REQUIRETLS was asked for but the session is not verified TLS to a
    /// server offering REQUIRETLS (RFC 8689, `5.7.30`). Nothing was sent.
    RequireTlsUnavailable,
    /// The declared size is over the server's SIZE limit (`5.3.4`).
    /// Nothing was sent.
    TooLarge,
    /// The application abandoned an envelope built step by step
    /// ([`cancel_mail`](super::ClientConnection::cancel_mail)); RSET was
    /// sent.
    Cancelled,
}

/// What became of one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecipientStatus {
    /// Accepted, and the message was accepted for it.
    Sent,
    /// RCPT was refused.
    Refused,
    /// Not sent: the transaction was abandoned, failed, or never reached
    /// this recipient (including one deferred with `452 4.5.3` and not
    /// retried).
    NotSent,
    /// Accepted, but the connection broke before the reply to the end of
    /// the data: it may have been delivered.
    Unknown,
}

impl fmt::Display for Outcome {
    /// `sent: 250 2.0.0 OK`, `not sent: MAIL was refused: 550 …`, or
    /// `outcome unknown: …`: in words, with the reply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Sent { reply } => write!(f, "sent: the server said {reply}"),
            Outcome::NotSent { reason, reply } => {
                write!(f, "not sent: {reason}")?;
                match reply {
                    Some(reply) => write!(f, ": the server said {reply}"),
                    None => Ok(()),
                }
            }
            Outcome::Unknown => f.write_str(
                "outcome unknown: the connection ended after the end of the data and \
                 before its reply; the message may have been delivered",
            ),
        }
    }
}

impl fmt::Display for NotSentReason {
    /// Why, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotSentReason::MailRefused => "MAIL was refused",
            NotSentReason::RecipientsRefused => {
                "some recipients were refused and the message goes to all or none"
            }
            NotSentReason::NoRecipientAccepted => "no recipient was accepted",
            NotSentReason::DataRefused => "DATA was refused",
            NotSentReason::MessageRefused => "the message was refused at its end",
            NotSentReason::ConnectionClosed => "the connection closed before the end of the data",
            NotSentReason::RequireTlsUnavailable => "REQUIRETLS is not available",
            NotSentReason::TooLarge => "the message is over the server's size limit",
            NotSentReason::Cancelled => "the message was abandoned before its data",
        })
    }
}

impl fmt::Display for RecipientStatus {
    /// `sent`, `refused`, `not sent` or `unknown`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecipientStatus::Sent => "sent",
            RecipientStatus::Refused => "refused",
            RecipientStatus::NotSent => "not sent",
            RecipientStatus::Unknown => "unknown",
        })
    }
}

/// One recipient's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecipientOutcome {
    /// What became of it.
    pub status: RecipientStatus,
    /// The server's last reply to its RCPT, if RCPT was answered.
    pub reply: Option<Reply>,
}

/// The end of one [`send_mail`](super::ClientConnection::send_mail).
///
/// When recipients are deferred (`452 4.5.3`, or over
/// [`max_recipients_per_transaction`](super::ClientConfig::max_recipients_per_transaction)),
/// the message goes in several SMTP transactions (`attempts`); a further
/// attempt is made only after one that was sent (and, under
/// all-or-nothing, with no recipient refused so far). The per-recipient
/// list is the authority; `outcome` is [`Outcome::Sent`] when any recipient
/// got the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionOutcome {
    /// Which message.
    pub id: TransactionId,
    /// Sent, not sent, or unknown.
    pub outcome: Outcome,
    /// One per envelope recipient, in envelope order.
    pub recipients: Vec<RecipientOutcome>,
    /// The TLS session the message went over (`None`: plaintext).
    pub tls: Option<TlsInfo>,
    /// SMTP transactions used (0 when nothing was sent at all).
    pub attempts: u32,
}

/// How one SMTP transaction ended.
#[derive(Debug, Clone)]
pub(crate) enum AttemptResult {
    Sent(Reply),
    NotSent(NotSentReason, Option<Reply>),
    Unknown,
}

#[cfg(test)]
mod display_tests {
    use super::*;
    use crate::wire::reply::ReplyCode;

    #[test]
    fn outcomes_and_statuses_read_as_words() {
        let reply = Reply::new(ReplyCode::new(550).expect("code"), None, vec!["no".into()]).ok();
        let outcome = Outcome::NotSent {
            reason: NotSentReason::MailRefused,
            reply,
        };
        assert_eq!(
            outcome.to_string(),
            "not sent: MAIL was refused: the server said 550 no"
        );
        assert!(
            Outcome::Unknown
                .to_string()
                .contains("may have been delivered")
        );
        for status in [
            RecipientStatus::Sent,
            RecipientStatus::Refused,
            RecipientStatus::NotSent,
            RecipientStatus::Unknown,
        ] {
            let text = status.to_string();
            assert!(!text.contains("NotSent") && !text.is_empty(), "{text}");
        }
    }
}
