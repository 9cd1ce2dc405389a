//! Text helpers: refusing arguments that hold line breaks, and escaping
//! control characters before they reach a terminal.
//!
//! [`escape`] is meant for any subcommand that prints peer-controlled text
//! (server replies, subjects, addresses).

use std::fmt::Write as _;
use std::path::Path;

use super::Args;

/// `text` with every control character (C0, DEL, C1) written as an escape
/// (`\r`, `\n`, `\t`, `\x1b`, `\u{85}`), and backslashes doubled, so the
/// result cannot move a terminal's cursor or change its colours.
#[must_use]
pub fn escape(text: &str) -> String {
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

/// Whether `text` holds CR, LF or NUL.
fn has_break(text: &str) -> bool {
    text.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

fn check(option: &str, value: &str) -> Result<(), String> {
    if has_break(value) {
        Err(format!("--{option}: CR, LF or NUL is not allowed"))
    } else {
        Ok(())
    }
}

fn check_path(option: &str, path: Option<&Path>) -> Result<(), String> {
    match path {
        Some(path) => check(option, &path.to_string_lossy()),
        None => Ok(()),
    }
}

/// Refuses CR, LF or NUL in any argument (they could inject commands or
/// header lines), before anything else is done. Only `--body` may hold
/// line breaks (they become lines); it may not hold NUL.
pub fn check_args(args: &Args) -> Result<(), String> {
    let lists: [(&str, &[String]); 6] = [
        ("server", &args.servers),
        ("to", &args.to),
        ("cc", &args.cc),
        ("bcc", &args.bcc),
        ("header", &args.headers),
        ("recipients", &args.recipients),
    ];
    for (option, values) in lists {
        for value in values {
            check(option, value)?;
        }
    }
    let singles: [(&str, &Option<String>); 6] = [
        ("from", &args.from),
        ("subject", &args.subject),
        ("originator", &args.originator),
        ("user", &args.user),
        ("password", &args.password),
        ("client-name", &args.client_name),
    ];
    for (option, value) in singles {
        if let Some(value) = value {
            if option == "password" && has_break(value) {
                // Never echo a password.
                return Err("--password: CR, LF or NUL is not allowed".into());
            }
            check(option, value)?;
        }
    }
    check_path("body-file", args.body_file.as_deref())?;
    check_path("message", args.message.as_deref())?;
    check_path("ca-file", args.ca_file.as_deref())?;
    if let Some(body) = &args.body
        && body.bytes().any(|b| b == 0)
    {
        return Err("--body: NUL is not allowed".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a\r\nb"), "a\\r\\nb");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("x\u{85}y"), "x\\u{85}y");
        assert_eq!(escape("back\\slash"), "back\\\\slash");
        assert_eq!(escape("héllo wörld"), "héllo wörld");
    }
}
