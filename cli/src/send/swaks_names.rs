//! swaks' own spellings of `mailwire send`'s options, read before clap
//! sees the command line: `--header-NAME VALUE` and `--h-NAME VALUE` (a
//! header field named in the option), and the short options of more
//! than one letter that clap cannot declare (`-au`, `-ap`, `-tls`,
//! `-tlso`, `-tlsc`, `-q`). One-letter ones (`-s`, `-f`, `-t`) and long
//! aliases (`--auth-user`, `--tls-on-connect`, `--ehlo`, …) are declared
//! on the options themselves.

use std::ffi::OsString;

/// swaks' multi-letter short options and what they stand for.
const SHORT: [(&str, &[&str]); 6] = [
    ("-au", &["--user"]),
    ("-ap", &["--password"]),
    ("-tls", &["--tls", "required"]),
    ("-tlso", &["--tls", "opportunistic"]),
    ("-tlsc", &["--implicit-tls"]),
    ("-q", &["--quit-after"]),
];

/// `args` (the whole command line of `mailwire send`, from the program
/// name) with swaks' spellings written as mailwire's. `send` is the
/// `send` subcommand's definition: a token that is the value of an
/// option that takes one is never rewritten (`--body -tls` sends the
/// text `-tls`).
pub fn rewrite(send: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = args.into_iter();
    // The program and the subcommand's name.
    out.extend(rest.by_ref().take(2));
    let mut value_next = false;
    while let Some(token) = rest.next() {
        let Some(text) = token.to_str() else {
            value_next = false;
            out.push(token);
            continue;
        };
        if value_next {
            value_next = false;
            out.push(token);
            continue;
        }
        if text == "--" {
            out.push(token);
            out.extend(rest);
            break;
        }
        if let Some(name) = text
            .strip_prefix("--header-")
            .or_else(|| text.strip_prefix("--h-"))
            .filter(|name| !name.is_empty())
        {
            let field = match name.split_once('=') {
                Some((name, value)) => Some(format!("{name}: {value}")),
                None => rest
                    .next()
                    .map(|value| format!("{name}: {}", value.to_string_lossy())),
            };
            match field {
                Some(field) => out.extend([OsString::from("--header"), OsString::from(field)]),
                // No value: left for clap to report.
                None => out.push(token),
            }
            continue;
        }
        if let Some((_, long)) = SHORT.iter().find(|(short, _)| *short == text) {
            out.extend(long.iter().map(OsString::from));
            value_next = takes_value(send, long[long.len() - 1]);
            continue;
        }
        value_next = takes_value(send, text);
        out.push(token);
    }
    out
}

/// Whether `token` is an option of `send`, written without `=VALUE`,
/// whose value is the next token.
fn takes_value(send: &clap::Command, token: &str) -> bool {
    let wanted = |arg: &clap::Arg| {
        if let Some(long) = token.strip_prefix("--") {
            !long.contains('=')
                && (arg.get_long() == Some(long)
                    || arg
                        .get_all_aliases()
                        .is_some_and(|aliases| aliases.contains(&long)))
        } else if let Some(short) = token.strip_prefix('-') {
            let mut chars = short.chars();
            matches!((chars.next(), chars.next()), (Some(c), None) if arg.get_short() == Some(c))
        } else {
            false
        }
    };
    send.get_arguments()
        .find(|arg| wanted(arg))
        .is_some_and(|arg| arg.get_action().takes_values())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn send() -> Command {
        Command::new("send")
            .arg(Arg::new("body").long("body"))
            .arg(Arg::new("server").short('s').long("server"))
            .arg(Arg::new("user").long("user").visible_alias("auth-user"))
            .arg(Arg::new("password").long("password"))
            .arg(Arg::new("quit").long("quit-after"))
            .arg(
                Arg::new("implicit")
                    .long("implicit-tls")
                    .action(ArgAction::SetTrue),
            )
            .arg(Arg::new("tls").long("tls"))
            .arg(Arg::new("header").long("header").action(ArgAction::Append))
    }

    fn run(args: &[&str]) -> Vec<String> {
        let mut all = vec!["mailwire", "send"];
        all.extend_from_slice(args);
        rewrite(&send(), all.into_iter().map(OsString::from).collect())
            .into_iter()
            .skip(2)
            .map(|t| t.into_string().unwrap())
            .collect()
    }

    #[test]
    fn header_options_name_their_field() {
        assert_eq!(
            run(&[
                "--header-X-Test",
                "test email",
                "--h-Reply-To",
                "a@b.c",
                "--h-X-Eq=1=2"
            ]),
            [
                "--header",
                "X-Test: test email",
                "--header",
                "Reply-To: a@b.c",
                "--header",
                "X-Eq: 1=2"
            ]
        );
    }

    #[test]
    fn multi_letter_shorts_become_long_options() {
        assert_eq!(
            run(&["-au", "me", "-ap", "pw", "-tls", "-q", "rcpt", "-tlsc"]),
            [
                "--user",
                "me",
                "--password",
                "pw",
                "--tls",
                "required",
                "--quit-after",
                "rcpt",
                "--implicit-tls"
            ]
        );
        assert_eq!(run(&["-tlso"]), ["--tls", "opportunistic"]);
    }

    #[test]
    fn values_are_never_rewritten() {
        assert_eq!(
            run(&[
                "--body",
                "-tls",
                "-s",
                "-q",
                "--auth-user",
                "--h-X",
                "--body=-au",
                "-ap"
            ]),
            [
                "--body",
                "-tls",
                "-s",
                "-q",
                "--auth-user",
                "--h-X",
                "--body=-au",
                "--password"
            ]
        );
        assert_eq!(run(&["--", "-tls"]), ["--", "-tls"]);
        assert_eq!(
            run(&["--header-X"]),
            ["--header-X"],
            "no value: clap says so"
        );
    }
}
