//! The mail transaction (MAIL → RCPT… → DATA/BDAT) and the checks of MAIL
//! and RCPT parameters against what was advertised.

use crate::wire::dot::BdatChecker;
use crate::wire::ehlo::Capabilities;
use crate::wire::params::{BodyType, MailParameters, ParamError, RcptParameters};
use crate::wire::reply::Reply;

use super::event::{AcceptedRecipient, ReceivedEnvelope, Transfer};
use super::replies;

/// One transaction, from an accepted MAIL to the end of its message (or
/// RSET). Recipients never outlive it.
#[derive(Debug)]
pub(crate) struct Transaction {
    pub(crate) from: crate::wire::address::ReversePath,
    pub(crate) params: MailParameters,
    pub(crate) recipients: Vec<AcceptedRecipient>,
    /// Set when the message data started (354 or first accepted BDAT).
    pub(crate) transfer: Option<Transfer>,
    /// Octets of message data so far.
    pub(crate) size: u64,
    /// The size limit was passed: data is discarded, `552` at the end.
    pub(crate) exceeded: bool,
    /// BDAT: the body policy for 7BIT/8BITMIME bodies, across chunks.
    pub(crate) checker: Option<BdatChecker>,
    /// BDAT: a chunk failed; every later chunk gets this reply.
    pub(crate) failed: Option<Reply>,
    /// A BDAT command was seen in this transaction (DATA is then refused).
    pub(crate) bdat_used: bool,
}

impl Transaction {
    pub(crate) fn new(from: crate::wire::address::ReversePath, params: MailParameters) -> Self {
        Transaction {
            from,
            params,
            recipients: Vec::new(),
            transfer: None,
            size: 0,
            exceeded: false,
            checker: None,
            failed: None,
            bdat_used: false,
        }
    }

    /// The declared body type (7BIT when absent).
    pub(crate) fn body(&self) -> BodyType {
        self.params.body.unwrap_or(BodyType::SevenBit)
    }

    /// Whether message data is being received (between `354`/first BDAT
    /// and the end), so that an abort must be reported.
    pub(crate) fn in_message(&self) -> bool {
        self.transfer.is_some()
    }

    pub(crate) fn envelope(&self, transfer: Transfer) -> ReceivedEnvelope {
        ReceivedEnvelope {
            from: self.from.clone(),
            params: self.params.clone(),
            recipients: self.recipients.clone(),
            body: self.body(),
            transfer,
            size: self.size,
        }
    }

    /// Counts `n` more octets; returns true when this passes `limit` for
    /// the first time.
    pub(crate) fn add_size(&mut self, n: u64, limit: Option<u64>) -> bool {
        self.size = self.size.saturating_add(n);
        if !self.exceeded && limit.is_some_and(|max| self.size > max) {
            self.exceeded = true;
            return true;
        }
        false
    }
}

/// Whether `keyword` (upper case) is a MAIL/RCPT parameter of an extension
/// that `caps` does not advertise (or of none at all, for unknown
/// keywords when they are not passed through).
fn unadvertised(keyword: &str, caps: &Capabilities, pass_unknown: bool) -> bool {
    match keyword {
        "SIZE" => caps.size.is_none(),
        "BODY" => !caps.eight_bit_mime && !caps.binary_mime,
        "SMTPUTF8" => !caps.smtputf8,
        "AUTH" => caps.auth.is_empty(),
        "RET" | "ENVID" | "NOTIFY" | "ORCPT" => !caps.dsn,
        "REQUIRETLS" => !caps.requiretls,
        _ => !pass_unknown,
    }
}

/// The reply to MAIL/RCPT parameters that did not parse. `caps` is `None`
/// in a HELO session, where any parameter is `555 5.5.4`.
pub(crate) fn param_error(
    error: &ParamError,
    caps: Option<&Capabilities>,
    pass_unknown: bool,
) -> Reply {
    let Some(caps) = caps else {
        return replies::reply(555, (5, 5, 4), "Parameters not allowed after HELO");
    };
    match error {
        ParamError::Duplicate(keyword) | ParamError::BadValue(keyword) => {
            if unadvertised(keyword, caps, pass_unknown) {
                replies::param_not_supported(keyword)
            } else {
                replies::param_bad(keyword)
            }
        }
        _ => replies::syntax("Syntax error in parameters"),
    }
}

/// Checks parsed MAIL parameters against the session. `caps` is `None` in a
/// HELO session.
pub(crate) fn check_mail_params(
    params: &MailParameters,
    caps: Option<&Capabilities>,
    pass_unknown: bool,
) -> Result<(), Reply> {
    let Some(caps) = caps else {
        return if params.is_empty() {
            Ok(())
        } else {
            Err(replies::reply(
                555,
                (5, 5, 4),
                "Parameters not allowed after HELO",
            ))
        };
    };
    let deny = |keyword: &str| Err(replies::param_not_supported(keyword));
    if params.size.is_some() && caps.size.is_none() {
        return deny("SIZE");
    }
    match params.body {
        Some(BodyType::BinaryMime) if !caps.binary_mime => return deny("BODY=BINARYMIME"),
        Some(BodyType::EightBitMime) if !caps.eight_bit_mime => return deny("BODY=8BITMIME"),
        Some(BodyType::SevenBit) if !caps.eight_bit_mime && !caps.binary_mime => {
            return deny("BODY");
        }
        _ => {}
    }
    if params.smtputf8 && !caps.smtputf8 {
        return deny("SMTPUTF8");
    }
    if params.auth.is_some() && caps.auth.is_empty() {
        return deny("AUTH");
    }
    if (params.ret.is_some() || params.envid.is_some()) && !caps.dsn {
        return deny(if params.ret.is_some() { "RET" } else { "ENVID" });
    }
    if params.requiretls && !caps.requiretls {
        return deny("REQUIRETLS");
    }
    if let Some(p) = params.unknown.first()
        && !pass_unknown
    {
        return deny(p.keyword());
    }
    Ok(())
}

/// Checks parsed RCPT parameters against the session.
pub(crate) fn check_rcpt_params(
    params: &RcptParameters,
    caps: Option<&Capabilities>,
    pass_unknown: bool,
) -> Result<(), Reply> {
    let Some(caps) = caps else {
        return if params == &RcptParameters::default() {
            Ok(())
        } else {
            Err(replies::reply(
                555,
                (5, 5, 4),
                "Parameters not allowed after HELO",
            ))
        };
    };
    if (params.notify.is_some() || params.orcpt.is_some()) && !caps.dsn {
        let keyword = if params.notify.is_some() {
            "NOTIFY"
        } else {
            "ORCPT"
        };
        return Err(replies::param_not_supported(keyword));
    }
    if let Some(p) = params.unknown.first()
        && !pass_unknown
    {
        return Err(replies::param_not_supported(p.keyword()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities {
            size: Some(100),
            eight_bit_mime: true,
            ..Capabilities::default()
        }
    }

    #[test]
    fn mail_gating() {
        let p = MailParameters::parse(b" SIZE=10 BODY=8BITMIME").unwrap();
        assert!(check_mail_params(&p, Some(&caps()), false).is_ok());
        let code = |p: &MailParameters, c: Option<&Capabilities>| {
            check_mail_params(p, c, false)
                .err()
                .map(|r| r.code().as_u16())
        };
        assert_eq!(code(&p, None), Some(555));
        let p = MailParameters::parse(b" SMTPUTF8").unwrap();
        assert_eq!(code(&p, Some(&caps())), Some(555));
        let p = MailParameters::parse(b" RET=FULL").unwrap();
        assert_eq!(code(&p, Some(&caps())), Some(555));
        let p = MailParameters::parse(b" X-FOO=1").unwrap();
        assert_eq!(code(&p, Some(&caps())), Some(555));
        assert!(check_mail_params(&p, Some(&caps()), true).is_ok());
        let p = MailParameters::parse(b" BODY=BINARYMIME").unwrap();
        assert_eq!(code(&p, Some(&caps())), Some(555));
    }

    #[test]
    fn param_errors() {
        let e = ParamError::BadValue("SIZE".into());
        assert_eq!(param_error(&e, Some(&caps()), false).code().as_u16(), 501);
        let e = ParamError::BadValue("RET".into());
        assert_eq!(param_error(&e, Some(&caps()), false).code().as_u16(), 555);
        let e = ParamError::Duplicate("SIZE".into());
        assert_eq!(param_error(&e, Some(&caps()), false).code().as_u16(), 501);
        assert_eq!(param_error(&e, None, false).code().as_u16(), 555);
    }

    #[test]
    fn size_counting() {
        let mut t = Transaction::new(
            crate::wire::address::ReversePath::Null,
            MailParameters::default(),
        );
        assert!(!t.add_size(10, Some(10)));
        assert!(t.add_size(1, Some(10)));
        assert!(!t.add_size(1, Some(10)), "reported once");
        assert!(t.exceeded);
    }
}
