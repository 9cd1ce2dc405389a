//! The options that make a composed message MIME: `--attach` (swaks'
//! `@FILE` form, a plain path or `-` for standard input, repeatable),
//! `--attach-type` and `--attach-name` (placed as swaks places them: a type
//! holds for every --attach after it, a name for the next one), `--html`
//! and `--html-file`; and the composed message itself, made with the
//! library's [`MessageBuilder`] from these and the other composing options.

use std::io::Read;
use std::path::{Path, PathBuf};

use mailwire_core::message::{Attachment, MessageBuilder, NameAddr, guess_type};

use super::Args;

/// MIME parts of a composed message.
#[derive(Debug, Default, clap::Args)]
pub struct MimeArgs {
    /// Attach a file (swaks' `@FILE` form or a plain path; `-` reads
    /// standard input), its MIME type guessed from its name; repeat for
    /// more. A file is read as the message is sent, so its size does not
    /// matter.
    #[arg(long = "attach", value_name = "[@]FILE", conflicts_with = "message")]
    pub attach: Vec<PathBuf>,
    /// The MIME type of every --attach that follows on the command line
    /// (until the next --attach-type), instead of the guess from the name,
    /// as in swaks.
    #[arg(
        long = "attach-type",
        value_name = "TYPE/SUBTYPE",
        conflicts_with = "message"
    )]
    pub attach_type: Vec<String>,
    /// The file name given in the MIME part of the next --attach, as in
    /// swaks; empty (`--attach-name ''`) gives that part no name.
    #[arg(long = "attach-name", value_name = "NAME", conflicts_with = "message")]
    pub attach_name: Vec<String>,
    /// What --attach-type and --attach-name say about each --attach, from
    /// where they stand on the command line ([`MimeArgs::place`]).
    #[arg(skip)]
    pub placed: Vec<Placed>,
    /// An HTML body; with --body or --body-file the message has both
    /// (multipart/alternative).
    #[arg(long, value_name = "HTML", conflicts_with_all = ["html_file", "message"])]
    pub html: Option<String>,
    /// Read the HTML body from a file (`-`: standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "message")]
    pub html_file: Option<PathBuf>,
}

/// The type and name the command line gives one attachment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    /// The last --attach-type before it.
    pub content_type: Option<String>,
    /// The --attach-name right before it (since the previous --attach);
    /// `Some("")` for no name at all.
    pub name: Option<String>,
}

impl MimeArgs {
    /// Reads where --attach-type and --attach-name stand among the
    /// --attach options: swaks applies a type to every attachment after it
    /// and a name to the next one only.
    ///
    /// # Errors
    ///
    /// An --attach-type or --attach-name after the last --attach, which
    /// would apply to nothing.
    pub fn place(&mut self, matches: &clap::ArgMatches) -> Result<(), String> {
        let at = |id: &str| -> Vec<usize> {
            matches
                .indices_of(id)
                .map(Iterator::collect)
                .unwrap_or_default()
        };
        let types: Vec<(usize, &String)> = at("attach_type")
            .into_iter()
            .zip(&self.attach_type)
            .collect();
        let names: Vec<(usize, &String)> = at("attach_name")
            .into_iter()
            .zip(&self.attach_name)
            .collect();
        self.placed = place(&at("attach"), &types, &names)?;
        Ok(())
    }

    /// The option values that must not hold CR, LF or NUL.
    pub fn texts(&self) -> Vec<(&'static str, String)> {
        let mut texts: Vec<(&'static str, String)> = self
            .attach
            .iter()
            .map(|path| ("attach", path.to_string_lossy().into_owned()))
            .collect();
        texts.extend(self.attach_type.iter().map(|t| ("attach-type", t.clone())));
        texts.extend(self.attach_name.iter().map(|n| ("attach-name", n.clone())));
        if let Some(path) = &self.html_file {
            texts.push(("html-file", path.to_string_lossy().into_owned()));
        }
        texts
    }
}

/// Reads `path`, or standard input for `-`.
fn read_input(option: &str, path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("--{option} -: reading standard input: {e}"))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| format!("--{option} {}: {e}", path.display()))
    }
}

/// The addresses of one option value (a list is fine: `a@x, B <b@y>`).
fn addresses(option: &str, header: &str, value: &str) -> Result<Vec<NameAddr>, String> {
    NameAddr::parse_list(header, value).map_err(|e| format!("--{option}: {e}"))
}

/// The composed message for `args` (without --message): headers from
/// --from/--to/--cc/--bcc/--subject/--header (a --header replaces what
/// the others would write, it does not add a second field), a text body
/// (--body, or --body-file: text when it is UTF-8, otherwise its bytes
/// labelled with the type its name suggests), an HTML body, attachments.
///
/// # Errors
///
/// A usage error, as a sentence naming the option.
pub fn compose(args: &Args) -> Result<MessageBuilder, String> {
    let mime = &args.mime;
    if args
        .body_file
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-")
        && mime
            .html_file
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-")
    {
        return Err("--body-file - and --html-file -: only one can read standard input".into());
    }
    let mut builder = MessageBuilder::new();
    if let Some(from) = &args.from {
        let mut list = addresses("from", "From", from)?;
        if list.len() != 1 {
            return Err(format!("--from {from}: give exactly one address"));
        }
        builder = builder.from(list.remove(0));
    }
    for value in &args.to {
        for address in addresses("to", "To", value)? {
            builder = builder.to(address);
        }
    }
    for value in &args.cc {
        for address in addresses("cc", "Cc", value)? {
            builder = builder.cc(address);
        }
    }
    for value in &args.bcc {
        for address in addresses("bcc", "Bcc", value)? {
            builder = builder.bcc(address);
        }
    }
    if let Some(subject) = &args.subject {
        builder = builder.subject(subject.clone());
    }

    match (&args.body, &args.body_file) {
        (Some(body), _) => builder = builder.text(body.clone()),
        (None, Some(path)) => {
            let bytes = read_input("body-file", path)?;
            builder = match String::from_utf8(bytes) {
                Ok(text) if !text.contains('\0') => builder.text(text),
                Ok(text) => builder.body(body_type(path), text.into_bytes()),
                Err(e) => builder.body(body_type(path), e.into_bytes()),
            };
        }
        (None, None) => {}
    }
    if let Some(html) = &mime.html {
        builder = builder.html(html.clone());
    } else if let Some(path) = &mime.html_file {
        let bytes = read_input("html-file", path)?;
        let html = String::from_utf8(bytes)
            .map_err(|_| format!("--html-file {}: the file is not UTF-8 text", path.display()))?;
        builder = builder.html(html);
    }

    let stdin_users = usize::from(
        args.body_file
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-"),
    ) + usize::from(
        mime.html_file
            .as_deref()
            .is_some_and(|p| p.as_os_str() == "-"),
    ) + mime.attach.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_users > 1 {
        return Err(
            "only one of --body-file -, --html-file - and --attach - can read standard input"
                .into(),
        );
    }
    for (index, given) in mime.attach.iter().enumerate() {
        let placed = mime.placed.get(index).cloned().unwrap_or_default();
        let mut attachment = if given.as_os_str() == "-" {
            // Standard input has no name: the part gets one only from
            // --attach-name.
            let bytes = read_input("attach", given)?;
            Attachment::from_bytes("", bytes)
        } else {
            let path = attach_path(given);
            match std::fs::metadata(path) {
                Ok(meta) if meta.is_file() => {}
                Ok(_) => return Err(format!("--attach {}: not a regular file", path.display())),
                Err(e) => return Err(format!("--attach {}: {e}", path.display())),
            }
            // Read now, to say at once when it cannot be: the file is read
            // again as the message is sent.
            std::fs::File::open(path).map_err(|e| format!("--attach {}: {e}", path.display()))?;
            Attachment::from_file(path)
        };
        match placed.name {
            Some(name) if name.is_empty() => attachment.filename = None,
            Some(name) => attachment = attachment.with_filename(name),
            None => {}
        }
        if let Some(kind) = placed.content_type {
            attachment = attachment.with_content_type(kind);
        }
        builder = builder.attach(attachment);
    }
    Ok(builder)
}

/// What each attachment gets, from the command-line positions of the
/// --attach options (`attach`), of the --attach-type values (`types`) and
/// of the --attach-name values (`names`).
fn place(
    attach: &[usize],
    types: &[(usize, &String)],
    names: &[(usize, &String)],
) -> Result<Vec<Placed>, String> {
    let last = attach.iter().max().copied();
    for (option, list) in [("attach-type", types), ("attach-name", names)] {
        if let Some((_, value)) = list.iter().find(|(i, _)| last.is_none_or(|last| *i > last)) {
            return Err(format!(
                "--{option} {value:?} comes after the last --attach: it applies to the \
                 --attach options that follow it"
            ));
        }
    }
    let mut previous = None;
    let placed = attach
        .iter()
        .map(|&position| {
            let content_type = types
                .iter()
                .filter(|(i, _)| *i < position)
                .max_by_key(|(i, _)| *i)
                .map(|(_, t)| (*t).clone());
            let name = names
                .iter()
                .filter(|(i, _)| *i < position && previous.is_none_or(|p| *i > p))
                .max_by_key(|(i, _)| *i)
                .map(|(_, n)| (*n).clone());
            previous = Some(position);
            Placed { content_type, name }
        })
        .collect();
    Ok(placed)
}

/// The path of an --attach value: swaks' `@FILE` or the path itself.
fn attach_path(given: &Path) -> &Path {
    given
        .to_str()
        .and_then(|text| text.strip_prefix('@'))
        .filter(|rest| !rest.is_empty())
        .map_or(given, Path::new)
}

/// The MIME type of a body file that is not text: from its name, else
/// `application/octet-stream` (standard input has no name).
fn body_type(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "application/octet-stream".into();
    }
    let guess = guess_type(&path.to_string_lossy());
    if guess.starts_with("text/") {
        // Named like text but not UTF-8: its bytes, not a text part.
        "application/octet-stream".into()
    } else {
        guess
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_paths() {
        assert_eq!(
            attach_path(Path::new("@report.pdf")),
            Path::new("report.pdf")
        );
        assert_eq!(
            attach_path(Path::new("report.pdf")),
            Path::new("report.pdf")
        );
        assert_eq!(attach_path(Path::new("@")), Path::new("@"));
    }

    #[test]
    fn a_type_holds_for_what_follows_and_a_name_for_the_next_one() {
        let (pdf, png, a, b) = (
            "application/pdf".to_owned(),
            "image/png".to_owned(),
            "a.bin".to_owned(),
            String::new(),
        );
        // --attach 1 --attach-type pdf --attach-name a.bin --attach 4
        // --attach 5 --attach-type png --attach-name '' --attach 9
        let placed =
            place(&[1, 4, 5, 9], &[(2, &pdf), (6, &png)], &[(3, &a), (7, &b)]).expect("placed");
        let want = |t: Option<&String>, n: Option<&String>| Placed {
            content_type: t.cloned(),
            name: n.cloned(),
        };
        assert_eq!(
            placed,
            vec![
                want(None, None),
                want(Some(&pdf), Some(&a)),
                want(Some(&pdf), None),
                want(Some(&png), Some(&b)),
            ]
        );
        let late = place(&[1], &[(2, &pdf)], &[]).expect_err("a type after the last attachment");
        assert!(late.contains("comes after the last --attach"), "{late}");
        assert!(
            place(&[], &[], &[(1, &a)]).is_err(),
            "a name with no attachment"
        );
    }

    #[test]
    fn body_types() {
        assert_eq!(body_type(Path::new("photo.png")), "image/png");
        assert_eq!(
            body_type(Path::new("notes.txt")),
            "application/octet-stream"
        );
        assert_eq!(body_type(Path::new("-")), "application/octet-stream");
    }
}
