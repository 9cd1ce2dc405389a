//! Small helpers other subcommands may want as well: `HOST[:PORT]`
//! parsing and escaping control characters for terminal output.

/// Splits `HOST[:PORT]` (`mx.example.org`, `mx.example.org:587`,
/// `127.0.0.1:2525`, `[::1]:25`, a bare `::1`), with `default_port` when
/// no port is given.
///
/// # Errors
///
/// An empty host, a port that is not a number from 1 to 65535, or an
/// IPv6 address in brackets that does not close.
pub fn parse_host_port(input: &str, default_port: u16) -> Result<(String, u16), String> {
    let bad = |why: &str| format!("{input:?}: {why} (expected HOST[:PORT])");
    let (host, port) = if let Some(rest) = input.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(bad("junk after ']'")),
            },
        }
    } else if input.matches(':').count() > 1 {
        // A bare IPv6 address: no port.
        (input, None)
    } else {
        match input.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (input, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(bad("the port must be a number from 1 to 65535")),
        },
    };
    Ok((host.to_owned(), port))
}

/// `text` with control characters (and DEL) escaped as `\xNN`, so that
/// peer-controlled text cannot move a terminal's cursor.
#[must_use]
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let n = u32::from(c);
            if n <= 0xff {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether an argument holds CR, LF or NUL (refused before anything runs).
#[must_use]
pub fn has_line_break_or_nul(text: &str) -> bool {
    text.contains(['\r', '\n', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port() {
        assert_eq!(
            parse_host_port("mx.example.org", 25).unwrap(),
            ("mx.example.org".into(), 25)
        );
        assert_eq!(
            parse_host_port("127.0.0.1:2525", 25).unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        assert_eq!(parse_host_port("[::1]:26", 25).unwrap(), ("::1".into(), 26));
        assert_eq!(parse_host_port("[::1]", 25).unwrap(), ("::1".into(), 25));
        assert_eq!(parse_host_port("::1", 25).unwrap(), ("::1".into(), 25));
        for bad in ["", ":25", "h:0", "h:x", "h:70000", "[::1", "[::1]x", "h:+5"] {
            assert!(parse_host_port(bad, 25).is_err(), "{bad}");
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_control("a\x1b[2Jb\r\n"), "a\\x1b[2Jb\\x0d\\x0a");
        assert_eq!(escape_control("héllo"), "héllo");
    }
}
