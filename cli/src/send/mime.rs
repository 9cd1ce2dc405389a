//! The options that make a composed message MIME: `--attach` (swaks'
//! `@FILE` form or a plain path, repeatable), `--attach-type`, `--html` and
//! `--html-file`; and the composed message itself, made with the library's
//! [`MessageBuilder`] from these and the other composing options.

use std::io::Read;
use std::path::{Path, PathBuf};

use mailwire_core::message::{Attachment, MessageBuilder, NameAddr, guess_type};

use super::Args;

/// MIME parts of a composed message.
#[derive(Debug, Default, clap::Args)]
pub struct MimeArgs {
    /// Attach a file (swaks' `@FILE` form or a plain path), its MIME type
    /// guessed from its name; repeat for more. The file is read as the
    /// message is sent, so its size does not matter.
    #[arg(long = "attach", value_name = "[@]FILE", conflicts_with = "message")]
    pub attach: Vec<PathBuf>,
    /// The MIME type of an attachment instead of the guess: the first
    /// --attach-type is for the first --attach, and so on.
    #[arg(
        long = "attach-type",
        value_name = "TYPE/SUBTYPE",
        conflicts_with = "message"
    )]
    pub attach_type: Vec<String>,
    /// An HTML body; with --body or --body-file the message has both
    /// (multipart/alternative).
    #[arg(long, value_name = "HTML", conflicts_with_all = ["html_file", "message"])]
    pub html: Option<String>,
    /// Read the HTML body from a file (`-`: standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "message")]
    pub html_file: Option<PathBuf>,
}

impl MimeArgs {
    /// The option values that must not hold CR, LF or NUL.
    pub fn texts(&self) -> Vec<(&'static str, String)> {
        let mut texts: Vec<(&'static str, String)> = self
            .attach
            .iter()
            .map(|path| ("attach", path.to_string_lossy().into_owned()))
            .collect();
        texts.extend(self.attach_type.iter().map(|t| ("attach-type", t.clone())));
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

    if mime.attach_type.len() > mime.attach.len() {
        return Err(format!(
            "--attach-type: {} types for {} attachments (each --attach-type is for the \
             --attach in the same position)",
            mime.attach_type.len(),
            mime.attach.len()
        ));
    }
    for (index, given) in mime.attach.iter().enumerate() {
        let path = attach_path(given);
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return Err(format!("--attach {}: not a regular file", path.display())),
            Err(e) => return Err(format!("--attach {}: {e}", path.display())),
        }
        // Read now, to say at once when it cannot be: the file is read
        // again as the message is sent.
        std::fs::File::open(path).map_err(|e| format!("--attach {}: {e}", path.display()))?;
        let mut attachment = Attachment::from_file(path);
        if let Some(kind) = mime.attach_type.get(index) {
            attachment = attachment.with_content_type(kind.clone());
        }
        builder = builder.attach(attachment);
    }
    Ok(builder)
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
    fn body_types() {
        assert_eq!(body_type(Path::new("photo.png")), "image/png");
        assert_eq!(
            body_type(Path::new("notes.txt")),
            "application/octet-stream"
        );
        assert_eq!(body_type(Path::new("-")), "application/octet-stream");
    }
}
