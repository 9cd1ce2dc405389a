//! Building the MAIL and RCPT lines of a message and checking them — and
//! the message's needs — against the server's capabilities before anything
//! is written.

use crate::UsageError;
use crate::envelope::{Envelope, MailOptions, Recipient};
use crate::wire::address::ReversePath;
use crate::wire::command::Command;
use crate::wire::ehlo::Capabilities;
use crate::wire::params::{BodyType, MAX_ENVID, MailParameters, RcptParameters, xtext_encode};
use crate::wire::reply::Reply;

/// Longest MAIL or RCPT line we write, CRLF included: 512 plus the room
/// RFC 1870, 3461, 6152, 6531 and 8689 add for their parameters.
const MAX_ENVELOPE_LINE: usize = 1024;
/// Longest `ORCPT=` value (RFC 3461 §4.2: 500 characters).
const MAX_ORCPT: usize = 500;

/// Refuses a line with a control octet (other than its CRLF) or over the
/// limit.
fn check_line(line: &[u8]) -> Result<(), UsageError> {
    let body = line.strip_suffix(b"\r\n").unwrap_or(line);
    if body.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(UsageError::InvalidInput("control character in a command"));
    }
    if line.len() > MAX_ENVELOPE_LINE {
        return Err(UsageError::InvalidInput("command line too long"));
    }
    Ok(())
}

/// The MAIL and RCPT lines for an envelope, checked against the server's
/// capabilities.
pub(crate) fn build_lines(
    envelope: &Envelope,
    caps: &Capabilities,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), UsageError> {
    if envelope.recipients.is_empty() {
        return Err(UsageError::InvalidInput("no recipients"));
    }
    let wants_dsn = envelope
        .recipients
        .iter()
        .any(|r| r.notify.is_some() || r.orcpt.is_some());
    let mail = mail_line(
        &envelope.reverse_path,
        &envelope.options,
        envelope.needs_smtputf8(),
        wants_dsn,
        caps,
    )?;
    let rcpts = envelope
        .recipients
        .iter()
        .map(|r| rcpt_line(r, caps))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((mail, rcpts))
}

/// The MAIL line for `from` with `options`, checked against the server's
/// capabilities: `smtputf8` when a path of the message needs it,
/// `recipient_dsn` when a recipient carries DSN parameters.
pub(crate) fn mail_line(
    from: &ReversePath,
    options: &MailOptions,
    smtputf8: bool,
    recipient_dsn: bool,
    caps: &Capabilities,
) -> Result<Vec<u8>, UsageError> {
    let mut params = MailParameters::default();
    if caps.size.is_some() {
        params.size = options.size;
    }
    params.body = match options.body {
        BodyType::SevenBit => None,
        BodyType::EightBitMime if caps.eight_bit_mime => Some(BodyType::EightBitMime),
        BodyType::EightBitMime => return Err(UsageError::MissingExtension("8BITMIME")),
        BodyType::BinaryMime if caps.chunking && caps.binary_mime => Some(BodyType::BinaryMime),
        BodyType::BinaryMime if !caps.chunking => {
            return Err(UsageError::MissingExtension("CHUNKING"));
        }
        BodyType::BinaryMime => return Err(UsageError::MissingExtension("BINARYMIME")),
    };
    if smtputf8 || options.smtputf8 || from.is_utf8() {
        if !caps.smtputf8 {
            return Err(UsageError::MissingExtension("SMTPUTF8"));
        }
        params.smtputf8 = true;
    }
    let wants_dsn = options.ret.is_some() || options.envid.is_some() || recipient_dsn;
    if wants_dsn && !caps.dsn {
        return Err(UsageError::MissingExtension("DSN"));
    }
    if let Some(envid) = &options.envid {
        let printable = envid.bytes().all(|b| matches!(b, 0x20..=0x7e));
        if envid.is_empty() || envid.len() > MAX_ENVID || !printable {
            return Err(UsageError::InvalidInput(
                "ENVID: 1 to 100 printable ASCII characters",
            ));
        }
    }
    params.ret = options.ret;
    params.envid.clone_from(&options.envid);
    params.requiretls = options.requiretls;
    let mail = Command::Mail {
        from: from.clone(),
        params,
    }
    .to_bytes();
    check_line(&mail)?;
    Ok(mail)
}

/// The RCPT line for one recipient, checked against the server's
/// capabilities.
pub(crate) fn rcpt_line(recipient: &Recipient, caps: &Capabilities) -> Result<Vec<u8>, UsageError> {
    if (recipient.notify.is_some() || recipient.orcpt.is_some()) && !caps.dsn {
        return Err(UsageError::MissingExtension("DSN"));
    }
    if let Some(orcpt) = &recipient.orcpt {
        let mut encoded = Vec::new();
        xtext_encode(orcpt.address().as_bytes(), &mut encoded);
        if orcpt.addr_type().len() + 1 + encoded.len() > MAX_ORCPT {
            return Err(UsageError::InvalidInput("ORCPT over 500 characters"));
        }
    }
    let line = Command::Rcpt {
        to: recipient.path.clone(),
        params: RcptParameters {
            notify: recipient.notify,
            orcpt: recipient.orcpt.clone(),
            unknown: Vec::new(),
        },
    }
    .to_bytes();
    check_line(&line)?;
    Ok(line)
}

/// A reply the client makes up for a condition it detects itself.
pub(crate) fn local_reply(code: u16, enhanced: &str, text: &str) -> Option<Reply> {
    Reply::simple(code, enhanced, text).ok()
}
