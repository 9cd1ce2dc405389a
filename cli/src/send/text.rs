//! Refusing arguments that hold line breaks (CR, LF or NUL could inject
//! commands or header lines), before anything else is done.

use std::path::Path;

use super::Args;
use crate::common::text::has_line_break_or_nul;

fn check(option: &str, value: &str) -> Result<(), String> {
    if has_line_break_or_nul(value) {
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
    let singles: [(&str, &Option<String>); 3] = [
        ("from", &args.from),
        ("subject", &args.subject),
        ("originator", &args.originator),
    ];
    for (option, value) in singles {
        if let Some(value) = value {
            check(option, value)?;
        }
    }
    for (option, value) in args.outbound.texts() {
        if option == "password" && has_line_break_or_nul(&value) {
            // Never echo a password.
            return Err("--password: CR, LF or NUL is not allowed".into());
        }
        check(option, &value)?;
    }
    for (option, value) in args.mime.texts() {
        check(option, &value)?;
    }
    if let Some(html) = &args.mime.html
        && html.bytes().any(|b| b == 0)
    {
        return Err("--html: NUL is not allowed".into());
    }
    check_path("body-file", args.body_file.as_deref())?;
    check_path("message", args.message.as_deref())?;
    if let Some(body) = &args.body
        && body.bytes().any(|b| b == 0)
    {
        return Err("--body: NUL is not allowed".into());
    }
    Ok(())
}
