//! `mailwire queue`: inspect and manage the spool of `relay --queue`, as
//! Postfix's `mailq`/`postqueue` and `postsuper -d` do.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use mailwire_queue::dsn::rfc5322_date;
use mailwire_queue::{QueueEntry, QueueId, from_unix_ms};

use crate::common::text::escape_control;

const EXAMPLES: &str = "\
Examples:
  # What is queued (as mailq), and as JSON:
  mailwire queue list --queue /var/spool/mailwire
  mailwire queue list --queue /var/spool/mailwire --json

  # One message: envelope, each recipient's state, the message itself:
  mailwire queue show 6930A1B20F1E20C4A000 --queue /var/spool/mailwire

  # Try everything now (postqueue -f), or one message (postqueue -i):
  mailwire queue flush --queue /var/spool/mailwire
  mailwire queue retry 6930A1B20F1E20C4A000 --queue /var/spool/mailwire

  # Delete one message, or all (postsuper -d ID, postsuper -d ALL):
  mailwire queue delete 6930A1B20F1E20C4A000 --queue /var/spool/mailwire
  mailwire queue delete ALL --queue /var/spool/mailwire

A relay running on the spool takes retry requests within a second; one
started later takes them at start. A deleted message is never delivered
again (a delivery already under way finishes).";

/// Options of `mailwire queue`.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The spool directory (the relay's --queue DIR).
    #[arg(long, value_name = "DIR", global = true)]
    queue: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List the queued messages with each recipient's state (as mailq).
    List {
        /// One JSON object: the messages, their recipients, attempts and
        /// the count of possible duplicates.
        #[arg(long)]
        json: bool,
    },
    /// Show one message: envelope, recipients' states, then the message.
    Show {
        /// The queue id.
        id: String,
    },
    /// Try these messages now, or every message when none is given
    /// (postqueue -i ID, postqueue -f).
    Retry {
        /// Queue ids.
        ids: Vec<String>,
    },
    /// Try every message now (postqueue -f).
    Flush,
    /// Delete messages: ids, or ALL (postsuper -d).
    Delete {
        /// Queue ids, or ALL.
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

fn fail(message: &str) -> ExitCode {
    eprintln!("mailwire queue: {}", escape_control(message));
    ExitCode::from(1)
}

/// Runs `mailwire queue`.
pub fn run(args: Args) -> ExitCode {
    let Some(root) = args.queue else {
        return fail("give the spool directory with --queue DIR");
    };
    if mailwire_queue::jetstream::JetStreamAddress::is_nats(&root.to_string_lossy()) {
        return fail(
            "mailwire queue works on spool directories; a JetStream queue is seen with NATS's own tools (nats stream info STREAM, nats kv ls)",
        );
    }
    if !root.join("queue").is_dir() {
        return fail(&format!(
            "{} is not a mailwire queue (no queue/ directory in it)",
            root.display()
        ));
    }
    match args.command {
        Command::List { json } => list(&root, json),
        Command::Show { id } => show(&root, &id),
        Command::Retry { ids } => retry(&root, &ids),
        Command::Flush => retry(&root, &[]),
        Command::Delete { ids } => delete(&root, &ids),
    }
}

fn parse_ids(ids: &[String]) -> Result<Vec<QueueId>, String> {
    ids.iter()
        .map(|id| {
            QueueId::parse(id).ok_or_else(|| format!("{id:?} is not a queue id (see queue list)"))
        })
        .collect()
}

fn list(root: &Path, json: bool) -> ExitCode {
    let entries = match mailwire_queue::read_entries(root) {
        Ok(entries) => entries,
        Err(e) => return fail(&e.to_string()),
    };
    if json {
        let duplicates: u64 = entries
            .iter()
            .map(|e| u64::from(e.state.possible_duplicates))
            .sum();
        let value = serde_json::json!({
            "messages": entries.len(),
            "possible_duplicates": duplicates,
            "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        });
        println!("{value}");
        return ExitCode::SUCCESS;
    }
    if entries.is_empty() {
        println!("Mail queue is empty");
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<22} {:>8} {:<31} Sender/Recipient",
        "Queue ID", "Size", "Arrival Time"
    );
    let mut total = 0;
    for e in &entries {
        total += e.size;
        let sender = e
            .envelope
            .from
            .trim_start_matches('<')
            .trim_end_matches('>');
        println!(
            "{:<22} {:>8} {:<31} {}",
            e.id.as_str(),
            e.size,
            rfc5322_date(from_unix_ms(e.envelope.arrival)),
            escape_control(if sender.is_empty() {
                "MAILER-DAEMON"
            } else {
                sender
            }),
        );
        println!(
            "{:64}attempts {}, next {}{}",
            "",
            e.state.attempts,
            next_text(e.state.next_attempt),
            if e.state.possible_duplicates > 0 {
                format!(", possible duplicates {}", e.state.possible_duplicates)
            } else {
                String::new()
            }
        );
        for (r, s) in e.envelope.recipients.iter().zip(&e.state.recipients) {
            if let Some(reply) = &s.reply
                && s.status != mailwire_queue::RecipientStatus::Delivered
            {
                println!("{:64}({})", "", escape_control(reply));
            }
            println!(
                "{:64}{} [{}]",
                "",
                escape_control(r.to.trim_start_matches('<').trim_end_matches('>')),
                s.status.as_str()
            );
        }
        println!();
    }
    println!(
        "-- {} Kbytes in {} Request{}.",
        total.div_ceil(1024),
        entries.len(),
        if entries.len() == 1 { "" } else { "s" }
    );
    ExitCode::SUCCESS
}

fn next_text(at: u64) -> String {
    let when = from_unix_ms(at);
    if when <= SystemTime::now() {
        "now".to_owned()
    } else {
        rfc5322_date(when)
    }
}

fn entry_json(e: &QueueEntry) -> serde_json::Value {
    serde_json::json!({
        "id": e.id.as_str(),
        "size": e.size,
        "arrival": e.envelope.arrival / 1000,
        "sender": e.envelope.from,
        "attempts": e.state.attempts,
        "last_attempt": e.state.last_attempt.map(|t| t / 1000),
        "next_attempt": e.state.next_attempt / 1000,
        "possible_duplicates": e.state.possible_duplicates,
        "recipients": e.envelope.recipients.iter().zip(&e.state.recipients).map(|(r, s)| {
            serde_json::json!({
                "address": r.to,
                "status": s.status.as_str(),
                "reply": s.reply,
                "notify": r.notify,
            })
        }).collect::<Vec<_>>(),
    })
}

fn show(root: &Path, id: &str) -> ExitCode {
    let id = match parse_ids(&[id.to_owned()]) {
        Ok(mut ids) => ids.remove(0),
        Err(e) => return fail(&e),
    };
    let entry = match mailwire_queue::read_entry(root, &id) {
        Ok(Some(entry)) => entry,
        Ok(None) => return fail(&format!("{id}: no such message in the queue")),
        Err(e) => return fail(&e.to_string()),
    };
    println!("*** ENVELOPE RECORDS {id} ***");
    println!("{}", entry_json(&entry));
    println!("*** MESSAGE CONTENTS {id} ***");
    let path = root.join("queue").join(format!("{id}.msg"));
    match std::fs::read(&path) {
        Ok(bytes) => {
            use std::io::Write;
            let _ = std::io::stdout().write_all(&bytes);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("cannot read {}: {e}", path.display())),
    }
}

fn retry(root: &Path, ids: &[String]) -> ExitCode {
    let ids = match parse_ids(ids) {
        Ok(ids) => ids,
        Err(e) => return fail(&e),
    };
    for id in &ids {
        if !matches!(mailwire_queue::read_entry(root, id), Ok(Some(_))) {
            return fail(&format!("{id}: no such message in the queue"));
        }
    }
    match mailwire_queue::request_retry(root, &ids) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot ask for a retry: {e}")),
    }
}

fn delete(root: &Path, ids: &[String]) -> ExitCode {
    let ids = if ids.len() == 1 && ids[0] == "ALL" {
        match mailwire_queue::read_entries(root) {
            Ok(entries) => entries.into_iter().map(|e| e.id).collect(),
            Err(e) => return fail(&e.to_string()),
        }
    } else {
        match parse_ids(ids) {
            Ok(ids) => ids,
            Err(e) => return fail(&e),
        }
    };
    let mut deleted = 0;
    let mut missing = Vec::new();
    for id in &ids {
        match mailwire_queue::delete_entry(root, id) {
            Ok(true) => deleted += 1,
            Ok(false) => missing.push(id.to_string()),
            Err(e) => return fail(&e.to_string()),
        }
    }
    eprintln!(
        "mailwire queue: deleted: {deleted} message{}",
        if deleted == 1 { "" } else { "s" }
    );
    if missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        fail(&format!(
            "no such message in the queue: {}",
            missing.join(", ")
        ))
    }
}
