//! The reply catalogue: every reply the protocol implies, as the core
//! writes it, and the rendering rules for all replies (enhanced status
//! codes on or off).
//!
//! A server connection writes these itself; drivers and applications use
//! them where the protocol, not policy, picks the answer (the refusal at
//! the connection limit, a failed hook, storage that is full), so the
//! same situation gets the same reply wherever it arises. Replies that
//! are an application's policy (`550 5.7.1 Relaying denied`) are built
//! with [`Reply::simple`].
//!
//! ```
//! use mailwire_core::server::replies;
//!
//! let reply = replies::too_many_connections("mx.example.org");
//! assert_eq!(
//!     reply.to_bytes(),
//!     b"421 4.7.0 mx.example.org Too many connections, try again later\r\n"
//! );
//! assert_eq!(replies::local_error().code().as_u16(), 451);
//! ```

use crate::wire::reply::{
    EnhancedCode, Reply, ReplyClass, ReplyCode, has_forbidden_char, leading_enhanced_code,
};

/// Builds a one-line reply. Text with control characters is cleaned
/// (each one becomes `?`), so this never fails.
pub(crate) fn reply(code: u16, enhanced: (u8, u16, u16), text: &str) -> Reply {
    lines(code, Some(enhanced), vec![text.to_owned()])
}

/// Builds a reply without an enhanced code (greeting, HELO/EHLO, 3xx).
pub(crate) fn plain(code: u16, text: &str) -> Reply {
    lines(code, None, vec![text.to_owned()])
}

/// Builds a reply from lines, cleaning control characters (each becomes
/// `?`). Falls back to a generic `451 4.3.0` only if the code itself is
/// invalid (a bug). Clean text (the usual case) is taken as it is, without
/// a copy.
pub(crate) fn lines(code: u16, enhanced: Option<(u8, u16, u16)>, lines: Vec<String>) -> Reply {
    let Some(code) = ReplyCode::new(code) else {
        return fallback();
    };
    let enhanced = enhanced
        .and_then(|(c, s, d)| EnhancedCode::new(c, s, d))
        .filter(|e| u16::from(e.class()) == code.as_u16() / 100);
    let mut clean = lines;
    for line in &mut clean {
        if has_forbidden_char(line) {
            *line = line
                .chars()
                .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
                .collect();
        }
    }
    if clean.is_empty() {
        clean.push(String::new());
    }
    // An unprefixed first line that reads as an enhanced code would be
    // taken for one: put a neutral word in front of it.
    if enhanced.is_none()
        && let Some(first) = clean.first_mut()
        && leading_enhanced_code(first, code).is_some()
    {
        first.insert_str(0, "- ");
    }
    Reply::new_unchecked(code, enhanced, clean)
}

fn fallback() -> Reply {
    Reply::new_unchecked(
        ReplyCode::LOCAL_ERROR,
        EnhancedCode::new(4, 3, 0),
        vec!["Local error".to_owned()],
    )
}

/// The reply as sent: without its enhanced code when enhanced status codes
/// are not in use on the session (or for 3xx, which never carry one).
pub(crate) fn render(reply: &Reply, esc: bool, out: &mut Vec<u8>) {
    if esc || reply.enhanced().is_none() {
        reply.write_to(out);
    } else {
        reply.write_without_enhanced(out);
    }
}

/// Adds `default` (or `X.0.0` of the reply's class) to a 2xx/4xx/5xx reply
/// that has no enhanced code. 3xx replies are returned as they are.
pub(crate) fn with_enhanced(reply: Reply, default: (u8, u16, u16)) -> Reply {
    if reply.enhanced().is_some() {
        return reply;
    }
    let class = match reply.code().class() {
        ReplyClass::PositiveCompletion => 2,
        ReplyClass::TransientNegative => 4,
        ReplyClass::PermanentNegative => 5,
        _ => return reply,
    };
    let code = if default.0 == class {
        EnhancedCode::new(default.0, default.1, default.2)
    } else {
        EnhancedCode::new(class, 0, 0)
    };
    Reply::new(reply.code(), code, reply.lines().to_vec()).unwrap_or(reply)
}

/// `252 2.0.0`: VRFY's default answer (RFC 5321 §3.5.3).
#[must_use]
pub fn vrfy_default() -> Reply {
    reply(
        252,
        (2, 0, 0),
        "Cannot VRFY user, but will accept message and attempt delivery",
    )
}

/// `502 5.5.1`: EXPN's default answer.
#[must_use]
pub fn expn_default() -> Reply {
    reply(502, (5, 5, 1), "EXPN not available")
}

/// `250 2.0.0 OK`: the default positive answer.
#[must_use]
pub fn ok() -> Reply {
    reply(250, (2, 0, 0), "OK")
}

/// `500 5.5.2`: a command the server does not know.
#[must_use]
pub fn unknown_command() -> Reply {
    reply(500, (5, 5, 2), "Command unrecognized")
}

/// `500 5.5.2`: a command line over the limit.
#[must_use]
pub fn line_too_long() -> Reply {
    reply(500, (5, 5, 2), "Line too long")
}

/// `500 5.5.6`: an authentication exchange line over the limit.
#[must_use]
pub fn sasl_line_too_long() -> Reply {
    reply(500, (5, 5, 6), "Authentication exchange line is too long")
}

/// `501 5.5.4`: a syntax error in a command's arguments, with `text`.
#[must_use]
pub fn syntax(text: &str) -> Reply {
    reply(501, (5, 5, 4), text)
}

/// `501 5.5.2`: a byte that is not allowed in a command.
#[must_use]
pub fn bad_byte() -> Reply {
    reply(501, (5, 5, 2), "Invalid character in command")
}

/// `503 5.5.1`: a command out of sequence, with `text`.
#[must_use]
pub fn bad_sequence(text: &str) -> Reply {
    reply(503, (5, 5, 1), text)
}

/// `502 5.5.1`: a command that is not implemented, with `text`.
#[must_use]
pub fn not_implemented(text: &str) -> Reply {
    reply(502, (5, 5, 1), text)
}

/// `555 5.5.4`: an ESMTP parameter the server does not support.
#[must_use]
pub fn param_not_supported(keyword: &str) -> Reply {
    reply(555, (5, 5, 4), &format!("Unsupported parameter {keyword}"))
}

/// `501 5.5.4`: an ESMTP parameter with an invalid value.
#[must_use]
pub fn param_bad(keyword: &str) -> Reply {
    reply(501, (5, 5, 4), &format!("Invalid parameter {keyword}"))
}

/// `553 5.6.7`: a non-ASCII address without SMTPUTF8.
#[must_use]
pub fn needs_smtputf8() -> Reply {
    reply(553, (5, 6, 7), "Non-ASCII address requires SMTPUTF8")
}

/// `552 5.3.4`: a message over the SIZE limit.
#[must_use]
pub fn size_exceeded() -> Reply {
    reply(
        552,
        (5, 3, 4),
        "Message size exceeds fixed maximum message size",
    )
}

/// `452 4.5.3`: one recipient more than the limit.
#[must_use]
pub fn too_many_recipients() -> Reply {
    reply(452, (4, 5, 3), "Too many recipients")
}

/// `554 5.5.1`: DATA or BDAT without an accepted recipient.
#[must_use]
pub fn no_valid_recipients() -> Reply {
    reply(554, (5, 5, 1), "No valid recipients")
}

/// `530 5.7.0`: the server requires STARTTLS first.
#[must_use]
pub fn tls_required() -> Reply {
    reply(530, (5, 7, 0), "Must issue a STARTTLS command first")
}

/// `530 5.7.0`: the server requires AUTH first.
#[must_use]
pub fn auth_required() -> Reply {
    reply(530, (5, 7, 0), "Authentication required")
}

/// `421 4.7.0`: too many protocol errors; the session ends.
#[must_use]
pub fn too_many_errors() -> Reply {
    reply(421, (4, 7, 0), "Too many errors, closing connection")
}

/// `421 4.7.0`: too many refused senders or recipients; the session ends.
#[must_use]
pub fn too_many_refusals() -> Reply {
    reply(
        421,
        (4, 7, 0),
        "Too many refused senders or recipients, closing connection",
    )
}

/// An over-long line went on past the discard limit.
#[must_use]
pub fn line_past_discard_limit() -> Reply {
    reply(421, (4, 7, 0), "Line too long, closing connection")
}

/// A refused BDAT chunk is too large to read and drop.
#[must_use]
pub fn chunk_past_discard_limit() -> Reply {
    reply(
        421,
        (4, 7, 0),
        "Refused chunk too large to discard, closing connection",
    )
}

/// `421 4.4.2`: the peer was too slow; the session ends.
#[must_use]
pub fn timeout() -> Reply {
    reply(421, (4, 4, 2), "Timeout, closing connection")
}

/// `421 4.3.2`: the server is shutting down; the session ends.
#[must_use]
pub fn shutting_down() -> Reply {
    reply(421, (4, 3, 2), "Service shutting down, closing connection")
}

/// `451 4.3.0`: the application did not decide in time (the same reply as [`local_error`]).
#[must_use]
pub fn decision_timeout() -> Reply {
    reply(451, (4, 3, 0), "Local error in processing, try again later")
}

/// `550 5.6.0`: a message with bare CR or LF, NUL or an over-long line, refused by the body policy.
#[must_use]
pub fn body_rejected() -> Reply {
    reply(
        550,
        (5, 6, 0),
        "Message refused: bare CR or LF, NUL, or an over-long line",
    )
}

/// `220 2.0.0`: go ahead with the TLS handshake.
#[must_use]
pub fn start_tls() -> Reply {
    reply(220, (2, 0, 0), "Ready to start TLS")
}

/// `354`: go ahead with the message data.
#[must_use]
pub fn start_data() -> Reply {
    plain(354, "End data with <CR><LF>.<CR><LF>")
}

/// `235 2.7.0`: authentication succeeded.
#[must_use]
pub fn auth_ok() -> Reply {
    reply(235, (2, 7, 0), "Authentication successful")
}

/// `535 5.7.8`: the credentials are not valid.
#[must_use]
pub fn auth_failed() -> Reply {
    reply(535, (5, 7, 8), "Authentication credentials invalid")
}

/// `454 4.7.0`: authentication failed for a temporary reason.
#[must_use]
pub fn auth_temporary() -> Reply {
    reply(454, (4, 7, 0), "Temporary authentication failure")
}

/// `501 5.0.0`: the client cancelled the exchange (`*`).
#[must_use]
pub fn auth_cancelled() -> Reply {
    reply(501, (5, 0, 0), "Authentication cancelled")
}

/// `501 5.5.2`: a SASL response that is not base64.
#[must_use]
pub fn auth_bad_base64() -> Reply {
    reply(501, (5, 5, 2), "Cannot decode response")
}

/// `501 5.7.0`: an initial response the mechanism does not allow.
#[must_use]
pub fn auth_bad_initial() -> Reply {
    reply(
        501,
        (5, 7, 0),
        "Initial response not allowed with this mechanism",
    )
}

/// `504 5.5.4`: a mechanism the server does not offer.
#[must_use]
pub fn auth_unknown_mechanism() -> Reply {
    reply(504, (5, 5, 4), "Unrecognized authentication type")
}

/// `538 5.7.11`: the mechanism needs an encrypted session.
#[must_use]
pub fn auth_needs_tls() -> Reply {
    reply(
        538,
        (5, 7, 11),
        "Encryption required for requested authentication mechanism",
    )
}

/// `421 4.7.0`: too many failed attempts; the session ends.
#[must_use]
pub fn auth_too_many_failures() -> Reply {
    reply(
        421,
        (4, 7, 0),
        "Too many failed authentication attempts, closing connection",
    )
}

/// `451 4.3.0`: a local error (a failed or panicking application hook, a
/// failure to store the message). The same reply as [`decision_timeout`].
#[must_use]
pub fn local_error() -> Reply {
    decision_timeout()
}

/// `452 4.3.1`: not enough storage for the message now (a memory budget
/// busy with other messages, a full disk); the client tries again later.
#[must_use]
pub fn insufficient_storage() -> Reply {
    reply(
        452,
        (4, 3, 1),
        "Insufficient system storage, try again later",
    )
}

/// `552 5.3.4`: the message alone is bigger than the server can ever hold
/// (its memory budget for messages), whatever SIZE said.
#[must_use]
pub fn too_big_for_memory() -> Reply {
    reply(552, (5, 3, 4), "Message too big for the server's memory")
}

/// `421 4.7.0`: the refusal at the connection limit, sent instead of the
/// greeting by a listener that has too many sessions (in all, or from one
/// address). `domain` is the server's name, as in the greeting.
#[must_use]
pub fn too_many_connections(domain: &str) -> Reply {
    reply(
        421,
        (4, 7, 0),
        &format!("{domain} Too many connections, try again later"),
    )
}
