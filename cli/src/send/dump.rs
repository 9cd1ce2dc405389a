//! `--dump-mail` (`--dry-run`): the envelope on standard error and the
//! message exactly as it would be sent on standard output; no connection.

use std::io::{Read, Seek, SeekFrom, Write};

use mailwire_core::message::{Base64Stream, HeaderCharset, Segment};

use super::compose::Draft;
use super::exit::{EXIT_SENT, EXIT_USAGE};
use super::settings::Plan;
use super::transfer::message_id_domain;
use crate::common::text::escape_control as escape;

/// Prints the envelope and the prepared message; returns the exit status.
pub fn run(plan: &Plan, draft: &Draft) -> u8 {
    let domain = message_id_domain(plan);
    let prepared = match draft.prepare(plan.settings.random.as_ref(), &domain) {
        Ok(prepared) => prepared,
        Err(problem) => {
            eprintln!("mailwire send: {}", escape(&problem));
            return EXIT_USAGE;
        }
    };
    // A composed message is printed whole, built as for a server offering
    // SMTPUTF8 (the same octets as for any other server unless an address
    // needs UTF-8); attached files are read and encoded as they would be.
    let built = match &draft.compose {
        Some(_) => match draft.build(HeaderCharset::Utf8, plan.settings.random.as_ref(), &domain) {
            Ok(built) => Some(built),
            Err(problem) => {
                eprintln!("mailwire send: {}", escape(&problem));
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    let prepared = built.as_ref().map_or(prepared, |b| b.prepared.clone());
    let envelope = draft.envelope(&prepared);
    eprintln!(
        "=== MAIL FROM:{}",
        escape(&envelope.reverse_path.to_string())
    );
    for recipient in &prepared.recipients {
        eprintln!("=== RCPT TO:{}", escape(&recipient.to_string()));
    }
    let mut out = std::io::stdout().lock();
    let written = out.write_all(&prepared.bytes).and_then(|()| {
        if let Some(built) = &built {
            return write_body(&built.body, &mut out);
        }
        let Some(stream) = &draft.stream else {
            return Ok(());
        };
        let mut file = std::fs::File::open(&stream.path)?;
        file.seek(SeekFrom::Start(stream.offset))?;
        std::io::copy(&mut file.take(stream.len), &mut out)?;
        Ok(())
    });
    match written.and_then(|()| out.flush()) {
        Ok(()) => EXIT_SENT,
        Err(e) => {
            eprintln!("mailwire send: writing the message: {e}");
            EXIT_USAGE
        }
    }
}

/// The body of a built message: its bytes, and each attached file
/// base64-encoded as it is read.
fn write_body(body: &[Segment], out: &mut impl Write) -> std::io::Result<()> {
    // The data of a message always ends with CRLF on the wire (a body that
    // lacks one gets it before the final dot): print it so.
    let ends_open = matches!(body.last(), Some(Segment::Bytes(b)) if !b.ends_with(b"\r\n"));
    for segment in body {
        match segment {
            Segment::Bytes(bytes) => out.write_all(bytes)?,
            Segment::Base64File(path) => {
                let mut file = std::fs::File::open(path)?;
                let mut stream = Base64Stream::new();
                let mut buf = vec![0u8; 64 << 10];
                let mut encoded = Vec::new();
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    stream.feed(&buf[..n], &mut encoded);
                    out.write_all(&encoded)?;
                    encoded.clear();
                }
                stream.finish(&mut encoded);
                out.write_all(&encoded)?;
            }
            _ => return Err(std::io::Error::other("a message part of an unknown kind")),
        }
    }
    if ends_open {
        out.write_all(b"\r\n")?;
    }
    Ok(())
}
