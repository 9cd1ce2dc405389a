//! `--dump-mail` (`--dry-run`): the envelope on standard error and the
//! message exactly as it would be sent on standard output; no connection.

use std::io::{Read, Seek, SeekFrom, Write};

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
