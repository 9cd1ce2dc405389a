//! Text helpers: escaping control characters before they reach a terminal,
//! refusing arguments that hold line breaks, and `HOST[:PORT]` parsing and
//! writing.

use std::fmt::Write as _;

/// `text` with every control character (C0, DEL, C1) written as an escape
/// (`\r`, `\n`, `\t`, `\x1b`, `\u{85}`), and backslashes doubled, so that
/// peer-controlled text (subjects, addresses, replies) cannot move a
/// terminal's cursor or change its colours.
#[must_use]
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `host:port`, with brackets around an IPv6 host.
#[must_use]
pub fn label(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether an argument holds CR, LF or NUL (refused before anything runs:
/// such a value could inject commands or header lines).
#[must_use]
pub fn has_line_break_or_nul(text: &str) -> bool {
    text.contains(['\r', '\n', '\0'])
}

/// Splits `HOST[:PORT]`: `host`, `host:25`, `[::1]`, `[::1]:25`, a bare
/// IPv6 address `::1` (no port). The host is returned without brackets; the
/// port is `None` when not given (the caller picks the default).
///
/// # Errors
///
/// An empty host, a port that is not a number from 1 to 65535, or an
/// unclosed bracket, as a message.
pub fn parse_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let bad = |why: &str| format!("{text:?}: {why} (expected HOST[:PORT])");
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(bad("unexpected text after ']'")),
            },
        }
    } else if text.matches(':').count() > 1 {
        // A bare IPv6 address: no port.
        (text, None)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("invalid host"));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        },
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_control("a\r\nb"), "a\\r\\nb");
        assert_eq!(escape_control("\x1b[2J\x07"), "\\x1b[2J\\x07");
        assert_eq!(escape_control("x\u{85}y\u{9b}"), "x\\u{85}y\\u{9b}");
        assert_eq!(escape_control("back\\slash"), "back\\\\slash");
        assert_eq!(escape_control("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn line_breaks() {
        assert!(has_line_break_or_nul("a\rb"));
        assert!(has_line_break_or_nul("a\nb"));
        assert!(has_line_break_or_nul("a\0b"));
        assert!(!has_line_break_or_nul("a b\t"));
    }

    #[test]
    fn host_port() {
        let ok = |s| parse_host_port(s).unwrap();
        assert_eq!(ok("mx.example.org"), ("mx.example.org".into(), None));
        assert_eq!(ok("127.0.0.1:2525"), ("127.0.0.1".into(), Some(2525)));
        assert_eq!(ok("[::1]:26"), ("::1".into(), Some(26)));
        assert_eq!(ok("[::1]"), ("::1".into(), None));
        assert_eq!(ok("::1"), ("::1".into(), None));
        for bad in [
            "", ":25", "h:0", "h:x", "h:70000", "[::1", "[::1]x", "h:+5", "a b:25",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
    }
}
