//! Properties of message preparation and trace headers.
//!
//! * For generated messages (random header sets with Bcc anywhere, folded
//!   fields, mixed line ends, bodies of arbitrary octets), the transmitted
//!   bytes minus the added headers equal the input minus its `Bcc` fields,
//!   byte for byte; the added headers are exactly the ones due; the envelope
//!   is the one the headers (or the caller) give; no Bcc survives, as an
//!   independent parser (mail-parser) sees it; the needs are right.
//! * A `Received` header is one well-formed field whatever the HELO, id and
//!   TLS strings, and mail-parser reads our facts back from it.
//! * Dates are read back by mail-parser as the instant they were made from.

use std::collections::HashSet;
use std::net::IpAddr;

use mailwire_core::message::mail_parser::{HeaderValue, Host};
use mailwire_core::message::{
    MessageDate, MessageError, PrepareContext, PrepareOptions, ReceivedInfo, SessionTraits,
    TraceProtocol, parse_message, prepare, received_header,
};
use mailwire_core::wire::address::{Domain, ForwardPath, Mailbox, ReversePath};
use mailwire_core::wire::dot::normalize;
use mailwire_core::{SeededRandom, TlsInfo};
use mailwire_tests::strategies::message::{FieldKind, GenMessage, GenOptions, message, options};
use proptest::prelude::*;

/// Removes later duplicates (local part exact, domain without case).
fn dedup(paths: Vec<Mailbox>) -> Vec<Mailbox> {
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter(|m| {
            seen.insert((
                m.local().as_str().to_owned(),
                m.domain().to_string().to_ascii_lowercase(),
            ))
        })
        .collect()
}

/// The header section of a message: up to its first empty line.
fn header_section(bytes: &[u8]) -> &[u8] {
    let mut start = 0;
    loop {
        let rest = &bytes[start..];
        if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
            return &bytes[..start];
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(at) => start += at + 1,
            None => return bytes,
        }
    }
}

/// The names of the fields in a block of header lines.
fn field_names(block: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(block)
        .split('\n')
        .filter(|line| !line.is_empty() && !line.starts_with([' ', '\t']))
        .map(|line| line.split(':').next().unwrap_or("").to_owned())
        .collect()
}

/// The longest line of `bytes` as the client sends them: every bare CR
/// and bare LF becomes CRLF.
fn longest_line(bytes: &[u8]) -> usize {
    normalize(bytes)
        .split(|&b| b == b'\n')
        .map(|line| line.len() - usize::from(line.ends_with(b"\r")))
        .max()
        .unwrap_or(0)
}

fn prepare_options(given: &GenOptions) -> PrepareOptions {
    let mut options = PrepareOptions::default();
    options.originator = given.originator.clone();
    options.recipients = given.recipients.clone();
    options.extra_headers = given.extra_headers.clone();
    options
}

fn check_prepared(msg: &GenMessage, given: &GenOptions) -> Result<(), TestCaseError> {
    let input = msg.bytes();
    let random = SeededRandom::new(5);
    let domain: Domain = "client.example".parse().unwrap();
    let context = PrepareContext::new(MessageDate::utc(1_795_350_186).unwrap(), &random, &domain);
    let result = prepare(&input, &prepare_options(given), &context);

    // The envelope the model expects.
    let from: Option<ReversePath> = given.originator.clone().or_else(|| {
        msg.mailboxes(FieldKind::From)
            .first()
            .cloned()
            .map(ReversePath::Mailbox)
    });
    let Some(from) = from else {
        prop_assert_eq!(result, Err(MessageError::NoOriginator { header: "From" }));
        return Ok(());
    };
    // Bcc recipients (the message's, then the caller's) are recipients
    // whether the others are explicit or not.
    let bcc: Vec<Mailbox> = msg
        .mailboxes(FieldKind::Bcc)
        .into_iter()
        .chain(
            given
                .extra_headers
                .iter()
                .filter(|(n, _)| n == "Bcc")
                .filter_map(|(_, v)| Mailbox::parse(v.as_bytes()).ok()),
        )
        .collect();
    let recipients: Vec<ForwardPath> = match &given.recipients {
        Some(given) => {
            let given = given.iter().filter_map(|p| p.mailbox().cloned());
            dedup(given.chain(bcc).collect())
                .into_iter()
                .map(ForwardPath::Mailbox)
                .collect()
        }
        None => {
            let all: Vec<Mailbox> = msg
                .mailboxes(FieldKind::To)
                .into_iter()
                .chain(msg.mailboxes(FieldKind::Cc))
                .chain(bcc)
                .collect();
            dedup(all).into_iter().map(ForwardPath::Mailbox).collect()
        }
    };
    if recipients.is_empty() {
        prop_assert_eq!(
            result,
            Err(MessageError::NoRecipients {
                headers: "To, Cc, Bcc, Dcc"
            })
        );
        return Ok(());
    }
    let prepared = match result {
        Ok(prepared) => prepared,
        Err(e) => return Err(TestCaseError::fail(format!("prepare failed: {e}"))),
    };
    prop_assert_eq!(&prepared.reverse_path, &from);
    prop_assert_eq!(&prepared.recipients, &recipients);
    prop_assert!(!prepared.resent);

    // Byte identity: kept fields, then the added block, then the rest.
    let out = &prepared.bytes;
    let kept: Vec<u8> = msg
        .fields
        .iter()
        .filter(|f| f.kind != FieldKind::Bcc)
        .flat_map(|f| f.raw.clone())
        .collect();
    let rest: Vec<u8> = input[msg.fields.iter().map(|f| f.raw.len()).sum::<usize>()..].to_vec();
    prop_assert!(out.starts_with(&kept), "kept fields changed");
    prop_assert!(out.ends_with(&rest), "body changed");
    prop_assert!(out.len() >= kept.len() + rest.len());
    let mut added = &out[kept.len()..out.len() - rest.len()];

    // The line end of added headers is the message's first one.
    let first_lf = input.iter().position(|&b| b == b'\n');
    let crlf = first_lf.is_none_or(|at| at > 0 && input[at - 1] == b'\r');
    let line_end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    if !kept.is_empty() && !kept.ends_with(b"\n") && !added.is_empty() {
        prop_assert!(added.starts_with(line_end));
        added = &added[line_end.len()..];
    }
    if crlf {
        prop_assert!(
            added
                .split(|&b| b == b'\n')
                .all(|l| l.is_empty() || l.ends_with(b"\r"))
        );
    } else {
        prop_assert!(!added.contains(&b'\r'));
    }

    // The added block holds exactly the headers due, in order.
    let mut due: Vec<String> = given
        .extra_headers
        .iter()
        .filter(|(n, _)| n != "Bcc")
        .map(|(n, _)| n.clone())
        .collect();
    if !msg.has(FieldKind::From) && matches!(given.originator, Some(ReversePath::Mailbox(_))) {
        due.push("From".into());
    }
    if !msg.has(FieldKind::Date) {
        due.push("Date".into());
    }
    if !msg.has(FieldKind::MessageId) {
        due.push("Message-ID".into());
    }
    prop_assert_eq!(field_names(added), due);
    let unfolded = String::from_utf8_lossy(added)
        .replace("\r\n ", " ")
        .replace("\n ", " ");
    for (name, value) in given.extra_headers.iter().filter(|(n, _)| n != "Bcc") {
        let line = format!("{name}: {value}");
        prop_assert!(
            unfolded.lines().any(|l| l == line),
            "{} not in {}",
            line,
            unfolded
        );
    }

    // No Bcc in the header section, for us or for mail-parser.
    let head = header_section(out);
    prop_assert!(
        field_names(head)
            .iter()
            .all(|n| !n.eq_ignore_ascii_case("bcc"))
    );
    if let Some(parsed) = parse_message(out) {
        prop_assert!(parsed.bcc().is_none(), "mail-parser sees a Bcc");
    }

    // Needs.
    let envelope_utf8 = from.is_utf8() || recipients.iter().any(ForwardPath::is_utf8);
    prop_assert_eq!(prepared.needs.eight_bit, !out.is_ascii());
    prop_assert_eq!(prepared.needs.smtputf8, !head.is_ascii() || envelope_utf8);
    prop_assert_eq!(
        prepared.needs.binary,
        out.contains(&0) || longest_line(out) > 998
    );
    Ok(())
}

/// Anything a client could send as HELO, id or TLS facts.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        ".{0,40}",
        proptest::collection::vec(
            proptest::sample::select(vec![
                "(", ")", "\\", "\r", "\n", "\r\n", ";", "[", "]", "<", ">", "\"", "a", "é", " ",
                "\t", "\0"
            ]),
            0..30,
        )
        .prop_map(|parts| parts.concat()),
        "[a-z]{1,10}(\\.[a-z]{1,10}){0,3}",
    ]
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!("message_props", 256))]

    #[test]
    fn prepared_bytes_are_the_input_minus_bcc_plus_added_headers(msg in message(), given in options()) {
        check_prepared(&msg, &given)?;
    }

    #[test]
    fn received_header_is_one_safe_field(
        helo in proptest::option::of(hostile_text()),
        id in proptest::option::of(hostile_text()),
        tls in proptest::option::of((hostile_text(), hostile_text())),
        peer in proptest::option::of(any::<[u8; 4]>()),
        flags in any::<[bool; 4]>(),
        secs in -2_208_988_800i64..253_402_214_400,
    ) {
        let protocol = TraceProtocol::new(
            SessionTraits::new(flags[0]).with_tls(flags[1]).with_auth(flags[2]).with_smtputf8(flags[3]),
        );
        let mut info = ReceivedInfo::new("mx.example.org".parse().unwrap(), protocol, MessageDate::utc(secs).unwrap());
        if let Some(helo) = &helo { info = info.with_helo(helo.clone()); }
        if let Some(id) = &id { info = info.with_id(id.clone()); }
        if let Some((version, cipher)) = &tls { info = info.with_tls(TlsInfo::new(version.clone(), cipher.clone())); }
        if let Some(octets) = peer { info = info.with_peer(IpAddr::from(octets)); }
        let header = received_header(&info);
        let text = String::from_utf8(header.clone()).unwrap();
        prop_assert!(text.starts_with("Received: from ") && text.ends_with("\r\n"));
        let lines: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
        for (i, line) in lines.iter().enumerate() {
            prop_assert!(!line.contains(['\r', '\n', '\0']));
            prop_assert!(i == 0 || line.starts_with(' '));
        }
        let mut depth = 0i32;
        for c in text.chars() {
            depth += match c { '(' => 1, ')' => -1, _ => 0 };
            prop_assert!((0..=1).contains(&depth), "{}", text);
        }
        prop_assert_eq!(depth, 0);
        prop_assert_eq!(text.matches(';').count(), 1, "{}", text);

        let mut message = header;
        message.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
        let parsed = parse_message(&message).unwrap();
        match parsed.header("Received") {
            Some(HeaderValue::Received(r)) => {
                prop_assert_eq!(r.by.clone(), Some(Host::Name("mx.example.org".into())), "{}", text);
                prop_assert_eq!(r.date.map(|d| d.to_timestamp()), Some(secs), "{}", text);
                prop_assert_eq!(r.with.map(|p| p.as_str()), Some(protocol.as_str()), "{}", text);
            }
            other => prop_assert!(false, "not a Received header: {:?}", other),
        }
        prop_assert_eq!(parsed.subject(), Some("x"));
    }

    #[test]
    fn dates_read_back_as_the_same_instant(
        secs in -2_208_988_800i64..253_402_214_400,
        offset in -(23 * 60 + 59)..=(23i16 * 60 + 59),
    ) {
        let Ok(date) = MessageDate::new(secs, offset) else { return Ok(()); };
        let text = date.to_string();
        let message = format!("Date: {text}\r\n\r\n");
        let parsed = parse_message(message.as_bytes()).unwrap();
        let read = parsed.date().map(|d| d.to_timestamp());
        prop_assert_eq!(read, Some(secs), "{}", text);
    }
}
