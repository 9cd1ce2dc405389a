//! What `prepare` transmits: header completion, extra headers and their
//! checks, Bcc removal, byte identity of everything else, and what the
//! server must support.

use mailwire_core::SeededRandom;
use mailwire_core::client::BodyType;
use mailwire_core::message::{
    BodyNeeds, MessageDate, MessageError, PrepareContext, PrepareOptions, PreparedMessage,
    ResentMode, prepare,
};
use mailwire_core::wire::address::{Domain, ForwardPath, ReversePath};

const NOW: i64 = 1_795_350_186;
const DATE: &str = "Sun, 22 Nov 2026 12:23:06 +0000";

fn prep(message: &[u8], options: &PrepareOptions) -> Result<PreparedMessage, MessageError> {
    let random = SeededRandom::new(42);
    let domain: Domain = "client.example".parse().unwrap();
    let context = PrepareContext::new(MessageDate::utc(NOW).unwrap(), &random, &domain);
    prepare(message, options, &context)
}

fn text(prepared: &PreparedMessage) -> String {
    String::from_utf8(prepared.bytes.clone()).unwrap()
}

fn header_names(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_owned();
    head.split("\r\n")
        .filter(|line| !line.starts_with([' ', '\t']) && !line.is_empty())
        .map(|line| line.split(':').next().unwrap_or("").to_owned())
        .collect()
}

fn opts() -> PrepareOptions {
    PrepareOptions::default()
}

fn rev(s: &str) -> ReversePath {
    s.parse().unwrap()
}

fn fwd(s: &str) -> ForwardPath {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------
// Completion.

#[test]
fn date_and_message_id_are_added_at_the_end_of_the_header_section() {
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\nSubject: s\r\n\r\nbody\r\n",
        &opts(),
    )
    .unwrap();
    let t = text(&p);
    let (head, body) = t.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "body\r\n");
    assert!(head.starts_with(&format!(
        "From: a@x.org\r\nTo: b@x.org\r\nSubject: s\r\nDate: {DATE}\r\nMessage-ID: <{NOW}."
    )));
    assert!(head.ends_with("@client.example>"));
    assert_eq!(
        header_names(&p.bytes),
        ["From", "To", "Subject", "Date", "Message-ID"]
    );
}

#[test]
fn present_date_and_message_id_are_kept_whatever_their_case() {
    let input = b"From: a@x.org\r\nTo: b@x.org\r\ndate: Mon, 1 Jan 2001 00:00:00 +0000\r\nMESSAGE-id: <x@y>\r\n\r\nbody";
    let p = prep(input, &opts()).unwrap();
    assert_eq!(p.bytes, input);
}

#[test]
fn from_is_added_from_an_explicit_originator() {
    let p = prep(
        b"To: b@x.org\r\n\r\nbody",
        &opts().with_originator(rev("<me@x.org>")),
    )
    .unwrap();
    assert_eq!(header_names(&p.bytes), ["To", "From", "Date", "Message-ID"]);
    assert!(text(&p).contains("\r\nFrom: me@x.org\r\n"));

    // Not when From is there (it stays as it is), not for the null sender.
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts().with_originator(rev("<bounce@x.org>")),
    )
    .unwrap();
    assert_eq!(header_names(&p.bytes), ["From", "To", "Date", "Message-ID"]);
    assert!(text(&p).starts_with("From: a@x.org\r\n"));
    let p = prep(
        b"To: b@x.org\r\n\r\n",
        &opts().with_originator(ReversePath::Null),
    )
    .unwrap();
    assert_eq!(header_names(&p.bytes), ["To", "Date", "Message-ID"]);

    // From Sender when From is missing.
    let p = prep(b"Sender: s@x.org\r\nTo: b@x.org\r\n\r\n", &opts()).unwrap();
    assert_eq!(p.reverse_path, rev("<s@x.org>"));
    assert!(text(&p).contains("\r\nFrom: s@x.org\r\n"));
}

#[test]
fn resent_completion_goes_to_the_top_block() {
    let input = "Resent-To: new@x.org\r\nFrom: o@x.org\r\nTo: t@x.org\r\nDate: Mon, 1 Jan 2001 00:00:00 +0000\r\n\r\nbody";
    let p = prep(input.as_bytes(), &opts().with_originator(rev("<me@x.org>"))).unwrap();
    assert!(p.resent);
    let t = text(&p);
    assert!(
        t.starts_with(&format!(
            "Resent-From: me@x.org\r\nResent-Date: {DATE}\r\nResent-Message-ID: <{NOW}."
        )),
        "{t}"
    );
    assert!(t.ends_with(input), "the rest is untouched");
    assert_eq!(
        header_names(&p.bytes),
        [
            "Resent-From",
            "Resent-Date",
            "Resent-Message-ID",
            "Resent-To",
            "From",
            "To",
            "Date"
        ]
    );

    // Extra Resent-* headers lead the new block; completions follow them.
    let p = prep(
        b"From: o@x.org\r\nTo: t@x.org\r\n\r\nbody",
        &opts()
            .with_header("Resent-From", "me@x.org")
            .with_header("Resent-To", "you@x.org")
            .with_header("X-Tag", "1"),
    )
    .unwrap();
    assert_eq!(
        header_names(&p.bytes),
        [
            "Resent-From",
            "Resent-To",
            "Resent-Date",
            "Resent-Message-ID",
            "From",
            "To",
            "X-Tag"
        ]
    );

    // Force mode with nothing resent: a complete new block at the top, and
    // the plain Date/Message-ID are not added.
    let p = prep(
        b"From: o@x.org\r\nTo: t@x.org\r\n\r\nbody",
        &opts()
            .with_resent(ResentMode::Force)
            .with_originator(rev("<me@x.org>"))
            .with_recipients([fwd("<you@x.org>")]),
    )
    .unwrap();
    assert_eq!(
        header_names(&p.bytes),
        [
            "Resent-From",
            "Resent-Date",
            "Resent-Message-ID",
            "From",
            "To"
        ]
    );
}

// ---------------------------------------------------------------------------
// Extra headers.

#[test]
fn extra_headers_are_appended_in_order() {
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\nbody",
        &opts()
            .with_header("Subject", "first")
            .with_header("X-Mailer", "mailwire")
            .with_header("Subject", "again"),
    )
    .unwrap();
    assert_eq!(
        header_names(&p.bytes),
        [
            "From",
            "To",
            "Subject",
            "X-Mailer",
            "Subject",
            "Date",
            "Message-ID"
        ]
    );
    assert!(text(&p).contains("\r\nSubject: first\r\nX-Mailer: mailwire\r\nSubject: again\r\n"));
}

#[test]
fn long_extra_headers_are_folded() {
    let subject = "a fairly long subject line that goes on and on ".repeat(4);
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts().with_header("Subject", subject.trim_end()),
    )
    .unwrap();
    let t = text(&p);
    let (head, _) = t.split_once("\r\n\r\n").unwrap();
    assert!(head.split("\r\n").all(|line| line.len() <= 78), "{head}");
    assert!(
        head.replace("\r\n ", " ")
            .contains(&format!("Subject: {}\r\n", subject.trim_end()))
    );
}

#[test]
fn header_injection_is_refused() {
    for (name, value, byte) in [
        ("Subject", "hi\r\nBcc: victim@x.org", b'\r'),
        ("Subject", "hi\nBcc: victim@x.org", b'\n'),
        ("X-Note", "a\rb", b'\r'),
        ("X-Note", "nul\0", 0),
        ("X-Note", "esc\x1b[0m", 0x1b),
        ("X-Note", "del\x7f", 0x7f),
    ] {
        assert_eq!(
            prep(
                b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
                &opts().with_header(name, value)
            ),
            Err(MessageError::HeaderInjection {
                header: name.to_owned(),
                byte
            }),
            "{value:?}"
        );
    }
    // A tab is fine.
    assert!(
        prep(
            b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
            &opts().with_header("X-Note", "a\tb")
        )
        .is_ok()
    );
    for name in ["", "Bad Name", "X:Y", "Subject\r\nBcc", "Caf\u{e9}"] {
        assert_eq!(
            prep(
                b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
                &opts().with_header(name, "v")
            ),
            Err(MessageError::InvalidHeaderName(name.to_owned())),
        );
    }
}

#[test]
fn mime_structure_headers_are_protected() {
    for name in [
        "Content-Type",
        "content-transfer-encoding",
        "MIME-Version",
        "Content-MD5",
        "CONTENT-TYPE",
    ] {
        assert_eq!(
            prep(
                b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
                &opts().with_header(name, "text/plain")
            ),
            Err(MessageError::ProtectedHeader(name.to_owned())),
        );
    }
    // The message's own MIME headers are of course kept.
    let input = b"From: a@x.org\r\nTo: b@x.org\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nDate: x\r\nMessage-ID: <a@b>\r\n\r\n";
    assert_eq!(prep(input, &opts()).unwrap().bytes, input);
}

// ---------------------------------------------------------------------------
// Bcc.

#[test]
fn bcc_fields_are_removed_and_their_recipients_kept() {
    let input = "From: a@x.org\r\nBcc: one@x.org,\r\n\ttwo@x.org\r\nTo: b@x.org\r\nbcc: three@x.org\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\nBcc: in the body is text\r\n";
    let p = prep(input.as_bytes(), &opts()).unwrap();
    assert_eq!(
        text(&p),
        "From: a@x.org\r\nTo: b@x.org\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\nBcc: in the body is text\r\n"
    );
    let rcpts: Vec<String> = p.recipients.iter().map(ToString::to_string).collect();
    assert_eq!(
        rcpts,
        ["<b@x.org>", "<one@x.org>", "<two@x.org>", "<three@x.org>"]
    );
}

#[test]
fn bcc_is_removed_even_with_explicit_recipients_and_in_every_mode() {
    let input = "Resent-From: r@x.org\r\nResent-To: n@x.org\r\nResent-Bcc: rb@x.org\r\nResent-Date: d\r\nResent-Message-ID: <r@x>\r\nFrom: a@x.org\r\nTo: b@x.org\r\nBcc: old@x.org\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\nbody";
    for options in [
        opts(),
        opts().with_resent(ResentMode::Never),
        opts().with_recipients([fwd("<z@x.org>")]),
    ] {
        let p = prep(input.as_bytes(), &options).unwrap();
        let t = text(&p);
        assert!(!t.to_ascii_lowercase().contains("bcc"), "{options:?}: {t}");
        assert_eq!(
            t,
            input
                .replace("Resent-Bcc: rb@x.org\r\n", "")
                .replace("Bcc: old@x.org\r\n", "")
        );
    }
    // Only the mode's own Bcc adds recipients.
    let resent = prep(input.as_bytes(), &opts()).unwrap();
    assert_eq!(resent.recipients, [fwd("<n@x.org>"), fwd("<rb@x.org>")]);
    let plain = prep(input.as_bytes(), &opts().with_resent(ResentMode::Never)).unwrap();
    assert_eq!(plain.recipients, [fwd("<b@x.org>"), fwd("<old@x.org>")]);
}

#[test]
fn extra_bcc_is_used_but_never_written() {
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts().with_header("Bcc", "c@x.org"),
    )
    .unwrap();
    assert!(!text(&p).contains("Bcc"));
    assert_eq!(p.recipients, [fwd("<b@x.org>"), fwd("<c@x.org>")]);
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts()
            .with_header("Resent-From", "r@x.org")
            .with_header("Resent-Bcc", "d@x.org"),
    )
    .unwrap();
    assert!(p.resent && !text(&p).contains("Bcc"));
    assert_eq!(p.recipients, [fwd("<d@x.org>")]);
}

#[test]
fn removing_an_unterminated_last_bcc_leaves_a_clean_section() {
    let p = prep(b"From: a@x.org\r\nTo: b@x.org\r\nBcc: c@x.org", &opts()).unwrap();
    let t = text(&p);
    assert!(
        t.starts_with("From: a@x.org\r\nTo: b@x.org\r\nDate: "),
        "{t}"
    );
    assert!(!t.contains("\r\n\r\n") && t.ends_with(">\r\n"));
}

// ---------------------------------------------------------------------------
// Byte identity.

#[test]
fn untouched_bytes_stay_identical() {
    let mut input = b"Received: from x\r\n\tby y; Sun, 22 Nov 2026 12:00:00 +0000\r\n\
        Subject :   odd  spacing\r\n   and folding  \r\n\
        X-Lf: bare lf line\n\
        From:a@x.org\r\n\
        To: b@x.org\r\n\
        Bcc: c@x.org\r\n\
        Date: d\r\nMessage-ID: <m@x>\r\n\
        \r\n"
        .to_vec();
    let body: &[u8] = b"line\r\n.leading dot\nbare lf\rbare cr\r\n\xff\xfe8-bit\r\n\r\n\r\n";
    input.extend_from_slice(body);
    let p = prep(&input, &opts()).unwrap();
    let mut want = input.clone();
    let bcc = want
        .windows(14)
        .position(|w| w == b"Bcc: c@x.org\r\n")
        .unwrap();
    want.drain(bcc..bcc + 14);
    assert_eq!(p.bytes, want);
    assert!(p.bytes.ends_with(body));
}

#[test]
fn a_last_header_line_without_line_end_gets_one_before_additions() {
    let p = prep(b"From: a@x.org\r\nTo: b@x.org", &opts()).unwrap();
    assert!(text(&p).starts_with(&format!("From: a@x.org\r\nTo: b@x.org\r\nDate: {DATE}\r\n")));
    // Without additions, nothing is added.
    let input = b"From: a@x.org\r\nTo: b@x.org\r\nDate: d\r\nMessage-ID: <m@x>";
    assert_eq!(prep(input, &opts()).unwrap().bytes, input);
}

#[test]
fn added_headers_use_the_message_line_ends() {
    let p = prep(
        b"From: a@x.org\nTo: b@x.org\n\nbody\n",
        &opts().with_header("X-A", "1"),
    )
    .unwrap();
    let t = text(&p);
    assert!(!t.contains('\r'), "{t:?}");
    assert!(
        t.starts_with(&format!(
            "From: a@x.org\nTo: b@x.org\nX-A: 1\nDate: {DATE}\nMessage-ID: <"
        )),
        "{t:?}"
    );
    assert!(t.ends_with(">\n\nbody\n"));
}

#[test]
fn a_body_only_message_gets_headers_before_its_empty_line() {
    let p = prep(
        b"\r\nbody\r\n",
        &opts()
            .with_originator(rev("<a@x.org>"))
            .with_recipients([fwd("<b@x.org>")]),
    )
    .unwrap();
    let t = text(&p);
    assert!(
        t.starts_with(&format!("From: a@x.org\r\nDate: {DATE}\r\nMessage-ID: <")),
        "{t}"
    );
    assert!(t.ends_with(">\r\n\r\nbody\r\n"));
}

// ---------------------------------------------------------------------------
// Needs.

fn needs(message: &[u8], options: &PrepareOptions) -> BodyNeeds {
    prep(message, options).unwrap().needs
}

#[test]
fn seven_bit_needs_nothing() {
    let n = needs(b"From: a@x.org\r\nTo: b@x.org\r\n\r\nplain\r\n", &opts());
    assert_eq!(n, BodyNeeds::default());
}

#[test]
fn eight_bit_body_needs_8bitmime_only() {
    let n = needs(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\ncaf\xc3\xa9\r\n",
        &opts(),
    );
    assert!(n.eight_bit && !n.smtputf8 && !n.binary);
    let n = needs(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\nlatin1 \xe9\r\n",
        &opts(),
    );
    assert!(n.eight_bit && !n.smtputf8);
}

#[test]
fn utf8_in_headers_or_envelope_needs_smtputf8() {
    let n = needs(
        "From: a@x.org\r\nTo: b@x.org\r\nSubject: caf\u{e9}\r\n\r\n".as_bytes(),
        &opts(),
    );
    assert!(n.eight_bit && n.smtputf8);
    let n = needs(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts().with_header("X-Note", "\u{2713}"),
    );
    assert!(n.smtputf8);
    // An explicit UTF-8 recipient: the headers are ASCII, the envelope not.
    let n = needs(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts().with_recipients([fwd("<j\u{f6}rg@x.org>")]),
    );
    assert!(n.smtputf8 && !n.eight_bit);
    let n = needs(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n",
        &opts().with_originator(rev("<a@b\u{fc}cher.example>")),
    );
    assert!(n.smtputf8);
}

#[test]
fn nul_or_long_lines_need_binarymime() {
    let n = needs(b"From: a@x.org\r\nTo: b@x.org\r\n\r\nnul\0\r\n", &opts());
    assert!(n.binary && !n.eight_bit);
    let mut long = b"From: a@x.org\r\nTo: b@x.org\r\n\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 999));
    long.extend_from_slice(b"\r\n");
    assert!(needs(&long, &opts()).binary);
    long.truncate(long.len() - 3);
    long.extend_from_slice(b"\r\n");
    assert!(!needs(&long, &opts()).binary, "998 octets is fine");
}

#[test]
fn long_lines_are_measured_on_the_line_ends_that_are_sent() {
    // 1201 octets between LFs, but the bare CR becomes a line end on the
    // wire: two lines of 600, fine as text.
    let x = "x".repeat(600);
    let split = format!("From: a@x.org\r\nTo: b@x.org\r\n\r\n{x}\r{x}\r\n");
    let p = prep(split.as_bytes(), &opts()).unwrap();
    assert!(!p.needs.binary, "measured between LFs only");
    assert_eq!(p.envelope().options.body, BodyType::SevenBit);
    // What DATA sends has no line over 998 octets.
    let mut wire = bytes::BytesMut::new();
    let mut stuffer = mailwire_core::wire::dot::Stuffer::new();
    stuffer.feed(&p.bytes, &mut wire);
    stuffer.finish(&mut wire);
    let longest = wire[..]
        .split(|&b| b == b'\n')
        .map(|line| line.len().saturating_sub(1))
        .max();
    assert_eq!(longest, Some(600));
    // A line over 998 octets between bare CRs still needs BINARYMIME.
    let long = format!(
        "From: a@x.org\r\nTo: b@x.org\r\n\r\nshort\r{}\rshort\r\n",
        "y".repeat(999)
    );
    assert!(needs(long.as_bytes(), &opts()).binary);
}

#[test]
fn the_client_envelope_carries_the_needs() {
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\nBcc: c@x.org\r\n\r\ncaf\xc3\xa9\r\n",
        &opts(),
    )
    .unwrap();
    let envelope = p.envelope();
    assert_eq!(envelope.reverse_path, rev("<a@x.org>"));
    let paths: Vec<ForwardPath> = envelope.recipients.iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, [fwd("<b@x.org>"), fwd("<c@x.org>")]);
    assert_eq!(envelope.options.body, BodyType::EightBitMime);
    assert_eq!(envelope.options.size, Some(p.bytes.len() as u64));
    assert!(!envelope.options.smtputf8);
    let p = prep(
        b"From: a@x.org\r\nTo: b@x.org\r\n\r\n\0",
        &opts().with_recipients([fwd("<\u{e9}@x.org>")]),
    )
    .unwrap();
    let envelope = p.envelope();
    assert_eq!(envelope.options.body, BodyType::BinaryMime);
    assert!(envelope.options.smtputf8);
}
