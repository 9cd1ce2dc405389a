//! The replies the core writes itself, and the rendering rules for all
//! replies (enhanced status codes on or off).

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
pub(crate) fn vrfy_default() -> Reply {
    reply(
        252,
        (2, 0, 0),
        "Cannot VRFY user, but will accept message and attempt delivery",
    )
}

/// `502 5.5.1`: EXPN's default answer.
pub(crate) fn expn_default() -> Reply {
    reply(502, (5, 5, 1), "EXPN not available")
}

pub(crate) fn ok() -> Reply {
    reply(250, (2, 0, 0), "OK")
}

pub(crate) fn unknown_command() -> Reply {
    reply(500, (5, 5, 2), "Command unrecognized")
}

pub(crate) fn line_too_long() -> Reply {
    reply(500, (5, 5, 2), "Line too long")
}

pub(crate) fn sasl_line_too_long() -> Reply {
    reply(500, (5, 5, 6), "Authentication exchange line is too long")
}

pub(crate) fn syntax(text: &str) -> Reply {
    reply(501, (5, 5, 4), text)
}

pub(crate) fn bad_byte() -> Reply {
    reply(501, (5, 5, 2), "Invalid character in command")
}

pub(crate) fn bad_sequence(text: &str) -> Reply {
    reply(503, (5, 5, 1), text)
}

pub(crate) fn not_implemented(text: &str) -> Reply {
    reply(502, (5, 5, 1), text)
}

pub(crate) fn param_not_supported(keyword: &str) -> Reply {
    reply(555, (5, 5, 4), &format!("Unsupported parameter {keyword}"))
}

pub(crate) fn param_bad(keyword: &str) -> Reply {
    reply(501, (5, 5, 4), &format!("Invalid parameter {keyword}"))
}

pub(crate) fn needs_smtputf8() -> Reply {
    reply(553, (5, 6, 7), "Non-ASCII address requires SMTPUTF8")
}

pub(crate) fn size_exceeded() -> Reply {
    reply(
        552,
        (5, 3, 4),
        "Message size exceeds fixed maximum message size",
    )
}

pub(crate) fn too_many_recipients() -> Reply {
    reply(452, (4, 5, 3), "Too many recipients")
}

pub(crate) fn no_valid_recipients() -> Reply {
    reply(554, (5, 5, 1), "No valid recipients")
}

pub(crate) fn tls_required() -> Reply {
    reply(530, (5, 7, 0), "Must issue a STARTTLS command first")
}

pub(crate) fn auth_required() -> Reply {
    reply(530, (5, 7, 0), "Authentication required")
}

pub(crate) fn too_many_errors() -> Reply {
    reply(421, (4, 7, 0), "Too many errors, closing connection")
}

pub(crate) fn too_many_refusals() -> Reply {
    reply(
        421,
        (4, 7, 0),
        "Too many refused senders or recipients, closing connection",
    )
}

/// An over-long line went on past the discard limit.
pub(crate) fn line_past_discard_limit() -> Reply {
    reply(421, (4, 7, 0), "Line too long, closing connection")
}

/// A refused BDAT chunk is too large to read and drop.
pub(crate) fn chunk_past_discard_limit() -> Reply {
    reply(
        421,
        (4, 7, 0),
        "Refused chunk too large to discard, closing connection",
    )
}

pub(crate) fn timeout() -> Reply {
    reply(421, (4, 4, 2), "Timeout, closing connection")
}

pub(crate) fn shutting_down() -> Reply {
    reply(421, (4, 3, 2), "Service shutting down, closing connection")
}

pub(crate) fn decision_timeout() -> Reply {
    reply(451, (4, 3, 0), "Local error in processing, try again later")
}

pub(crate) fn body_rejected() -> Reply {
    reply(
        550,
        (5, 6, 0),
        "Message refused: bare CR or LF, NUL, or an over-long line",
    )
}

pub(crate) fn start_tls() -> Reply {
    reply(220, (2, 0, 0), "Ready to start TLS")
}

pub(crate) fn start_data() -> Reply {
    plain(354, "End data with <CR><LF>.<CR><LF>")
}

pub(crate) fn auth_ok() -> Reply {
    reply(235, (2, 7, 0), "Authentication successful")
}

pub(crate) fn auth_failed() -> Reply {
    reply(535, (5, 7, 8), "Authentication credentials invalid")
}

pub(crate) fn auth_temporary() -> Reply {
    reply(454, (4, 7, 0), "Temporary authentication failure")
}

pub(crate) fn auth_cancelled() -> Reply {
    reply(501, (5, 0, 0), "Authentication cancelled")
}

pub(crate) fn auth_bad_base64() -> Reply {
    reply(501, (5, 5, 2), "Cannot decode response")
}

pub(crate) fn auth_bad_initial() -> Reply {
    reply(
        501,
        (5, 7, 0),
        "Initial response not allowed with this mechanism",
    )
}

pub(crate) fn auth_unknown_mechanism() -> Reply {
    reply(504, (5, 5, 4), "Unrecognized authentication type")
}

pub(crate) fn auth_needs_tls() -> Reply {
    reply(
        538,
        (5, 7, 11),
        "Encryption required for requested authentication mechanism",
    )
}

pub(crate) fn auth_too_many_failures() -> Reply {
    reply(
        421,
        (4, 7, 0),
        "Too many failed authentication attempts, closing connection",
    )
}
