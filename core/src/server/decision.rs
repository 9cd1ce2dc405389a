//! Decisions: the [`Token`] a request event carries and the [`Verdict`] the
//! application answers it with, validated against the step it answers.

use crate::action::UsageError;
use crate::wire::reply::{Reply, ReplyClass};

use super::replies;

/// Names one pending decision. Opaque and `Copy`; each request gets a new
/// sequence number, so a token from an earlier (answered or expired)
/// request is refused with [`UsageError::UnknownToken`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(u64);

impl Token {
    pub(crate) fn new(seq: u64) -> Token {
        Token(seq)
    }

    /// The sequence number (1 for the first request of a connection).
    #[must_use]
    pub fn seq(self) -> u64 {
        self.0
    }
}

/// The application's answer to a request event, given to
/// [`ServerConnection::decide`](super::ServerConnection::decide).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Accept, with the core's default reply for the step.
    Accept,
    /// Answer with this reply: a positive code that fits the step to accept
    /// with custom text, or a 4xx/5xx code to refuse. A `421` refusal
    /// closes the connection once it is sent.
    Reply(Reply),
}

impl Verdict {
    /// Refuses with `code enhanced text`, e.g. `Verdict::refuse(550,
    /// "5.1.1", "No such user")`. `enhanced` may be `""`.
    ///
    /// # Errors
    ///
    /// As [`Reply::simple`].
    pub fn refuse(
        code: u16,
        enhanced: &str,
        text: &str,
    ) -> Result<Verdict, crate::wire::reply::ReplyError> {
        Reply::simple(code, enhanced, text).map(Verdict::Reply)
    }
}

impl From<Reply> for Verdict {
    fn from(reply: Reply) -> Verdict {
        Verdict::Reply(reply)
    }
}

/// Which protocol step a decision answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Connect,
    Helo,
    Mail,
    Rcpt,
    /// PLAIN/LOGIN password check or an authorisation check.
    Auth,
    /// A stored-secret lookup: only a refusal may be decided.
    AuthSecret,
    Message,
}

impl Step {
    /// The positive codes a verdict for this step may use.
    fn positive_codes(self) -> &'static [u16] {
        match self {
            Step::Connect => &[220],
            Step::Helo | Step::Mail | Step::Message => &[250],
            Step::Rcpt => &[250, 251],
            Step::Auth => &[235],
            Step::AuthSecret => &[],
        }
    }

    /// The enhanced code added to a positive reply that has none.
    pub(crate) fn positive_enhanced(self) -> (u8, u16, u16) {
        match self {
            Step::Mail => (2, 1, 0),
            Step::Rcpt => (2, 1, 5),
            Step::Auth | Step::AuthSecret => (2, 7, 0),
            Step::Connect | Step::Helo | Step::Message => (2, 0, 0),
        }
    }

    /// The enhanced code added to a refusal that has none.
    pub(crate) fn negative_enhanced(self, class: u8) -> (u8, u16, u16) {
        match (self, class) {
            (Step::Auth | Step::AuthSecret, 5) => (5, 7, 8),
            (Step::Auth | Step::AuthSecret, _) => (4, 7, 0),
            (_, c) => (c, 0, 0),
        }
    }

    /// Checks that `reply` can answer this step.
    pub(crate) fn validate(self, reply: &Reply) -> Result<(), UsageError> {
        match reply.code().class() {
            ReplyClass::PositiveCompletion => {
                if self.positive_codes().contains(&reply.code().as_u16()) {
                    Ok(())
                } else if self == Step::AuthSecret {
                    Err(UsageError::InvalidReply(
                        "a secret request is answered with supply_secret; decide may only refuse it",
                    ))
                } else {
                    Err(UsageError::InvalidReply(
                        "positive reply code does not fit this step",
                    ))
                }
            }
            ReplyClass::TransientNegative | ReplyClass::PermanentNegative => Ok(()),
            _ => Err(UsageError::InvalidReply(
                "a verdict cannot be an intermediate (3xx) reply",
            )),
        }
    }

    /// The reply with an enhanced code added when it has none.
    pub(crate) fn complete(self, reply: Reply) -> Reply {
        let class = u8::try_from(reply.code().as_u16() / 100).unwrap_or(5);
        let default = if class == 2 {
            self.positive_enhanced()
        } else {
            self.negative_enhanced(class)
        };
        replies::with_enhanced(reply, default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u16) -> Reply {
        Reply::simple(code, "", "text").unwrap()
    }

    #[test]
    fn validation_table() {
        assert!(Step::Rcpt.validate(&r(251)).is_ok());
        assert!(Step::Rcpt.validate(&r(250)).is_ok());
        assert!(Step::Rcpt.validate(&r(235)).is_err());
        assert!(Step::Mail.validate(&r(550)).is_ok());
        assert!(Step::Mail.validate(&r(421)).is_ok());
        assert!(Step::Message.validate(&r(354)).is_err());
        assert!(Step::Connect.validate(&r(220)).is_ok());
        assert!(Step::Connect.validate(&r(250)).is_err());
        assert!(Step::AuthSecret.validate(&r(235)).is_err());
        assert!(Step::AuthSecret.validate(&r(454)).is_ok());
        assert!(Step::Auth.validate(&r(235)).is_ok());
    }

    #[test]
    fn completion_adds_codes() {
        let done = Step::Rcpt.complete(r(550));
        assert_eq!(done.enhanced().map(|e| e.to_string()), Some("5.0.0".into()));
        let done = Step::Rcpt.complete(r(250));
        assert_eq!(done.enhanced().map(|e| e.to_string()), Some("2.1.5".into()));
        let done = Step::Auth.complete(r(535));
        assert_eq!(done.enhanced().map(|e| e.to_string()), Some("5.7.8".into()));
        let kept = Step::Rcpt.complete(Reply::simple(550, "5.1.1", "x").unwrap());
        assert_eq!(kept.enhanced().map(|e| e.to_string()), Some("5.1.1".into()));
    }
}
