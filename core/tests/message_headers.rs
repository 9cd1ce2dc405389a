//! Envelope derivation from headers: a table of messages and options, each
//! with the envelope (or the error) `prepare` must give.

use mailwire_core::SeededRandom;
use mailwire_core::message::{
    MessageDate, MessageError, PrepareContext, PrepareOptions, ResentMode, prepare,
};
use mailwire_core::wire::address::{AddressError, Domain, ForwardPath, ReversePath};

/// What a case expects.
enum Want {
    /// Sender, recipients, and whether resent mode was used.
    Envelope(&'static str, &'static [&'static str], bool),
    /// This error.
    Error(MessageError),
    /// An address error naming this header (and this found address).
    BadAddress(&'static str, &'static str),
}

fn fwd(s: &str) -> ForwardPath {
    ForwardPath::parse(s.as_bytes()).unwrap()
}

fn rev(s: &str) -> ReversePath {
    ReversePath::parse(s.as_bytes()).unwrap()
}

fn run(
    message: &str,
    options: &PrepareOptions,
) -> Result<(String, Vec<String>, bool), MessageError> {
    let random = SeededRandom::new(9);
    let domain: Domain = "client.example".parse().unwrap();
    let context = PrepareContext::new(MessageDate::utc(1_795_350_186).unwrap(), &random, &domain);
    let prepared = prepare(message.as_bytes(), options, &context)?;
    Ok((
        prepared.reverse_path.to_string(),
        prepared
            .recipients
            .iter()
            .map(ToString::to_string)
            .collect(),
        prepared.resent,
    ))
}

fn check(label: &str, message: &str, options: PrepareOptions, want: Want) {
    let got = run(message, &options);
    match (want, got) {
        (Want::Envelope(from, rcpts, resent), Ok((got_from, got_rcpts, got_resent))) => {
            assert_eq!(got_from, from, "{label}: sender");
            assert_eq!(got_rcpts, rcpts, "{label}: recipients");
            assert_eq!(got_resent, resent, "{label}: resent mode");
        }
        (Want::Error(want), Err(got)) => assert_eq!(got, want, "{label}"),
        (
            Want::BadAddress(header, address),
            Err(MessageError::InvalidAddress {
                header: h,
                address: a,
                ..
            }),
        ) => {
            assert_eq!((h.as_str(), a.as_str()), (header, address), "{label}");
        }
        (_, got) => panic!("{label}: unexpected {got:?}"),
    }
}

fn none() -> PrepareOptions {
    PrepareOptions::default()
}

#[test]
fn plain_to_cc_bcc() {
    check(
        "to/cc/bcc",
        "From: a@x.org\r\nTo: b@x.org\r\nCc: c@x.org, d@x.org\r\nBcc: e@x.org\r\nSubject: s\r\n\r\nbody\r\n",
        none(),
        Want::Envelope(
            "<a@x.org>",
            &["<b@x.org>", "<c@x.org>", "<d@x.org>", "<e@x.org>"],
            false,
        ),
    );
    check(
        "header order does not matter; names are case-insensitive",
        "bcc: e@x.org\r\nCC: c@x.org\r\nfrom: a@x.org\r\nto: b@x.org\r\n\r\n",
        none(),
        Want::Envelope("<a@x.org>", &["<b@x.org>", "<c@x.org>", "<e@x.org>"], false),
    );
    check(
        "cc only and bcc only are enough (unlike tcllib)",
        "From: a@x.org\r\nBcc: e@x.org\r\n\r\n",
        none(),
        Want::Envelope("<a@x.org>", &["<e@x.org>"], false),
    );
    check(
        "bare LF line ends and no body",
        "From: a@x.org\nTo: b@x.org\n",
        none(),
        Want::Envelope("<a@x.org>", &["<b@x.org>"], false),
    );
}

#[test]
fn display_names_comments_and_folding() {
    check(
        "names and comments",
        "From: \"Alice Example\" <alice@example.org> (work)\r\n\
         To: Bob (the builder) <bob@example.org>, carol@example.org (Carol),\r\n \"Doe, John\" <john@example.org>\r\n\r\n",
        none(),
        Want::Envelope(
            "<alice@example.org>",
            &[
                "<bob@example.org>",
                "<carol@example.org>",
                "<john@example.org>",
            ],
            false,
        ),
    );
    check(
        "folded inside an angle address",
        "From: Alice\r\n <alice@\r\n\texample.org>\r\nTo: <bob@example.org>\r\n\r\n",
        none(),
        Want::Envelope("<alice@example.org>", &["<bob@example.org>"], false),
    );
    check(
        "quoted local part in angle brackets, address literal, source route",
        "From: <\"john q\"@example.org>\r\nTo: <user@[192.0.2.1]>, <@relay.example:dest@example.net>\r\n\r\n",
        none(),
        Want::Envelope(
            "<\"john q\"@example.org>",
            &["<user@[192.0.2.1]>", "<dest@example.net>"],
            false,
        ),
    );
}

#[test]
fn groups() {
    check(
        "undisclosed recipients contribute nothing",
        "From: a@x.org\r\nTo: undisclosed-recipients:;\r\nBcc: hidden@x.org\r\n\r\n",
        none(),
        Want::Envelope("<a@x.org>", &["<hidden@x.org>"], false),
    );
    check(
        "only an empty group is no recipient (not RCPT TO:<>)",
        "From: a@x.org\r\nTo: undisclosed-recipients:;\r\n\r\n",
        none(),
        Want::Error(MessageError::NoRecipients {
            headers: "To, Cc, Bcc, Dcc",
        }),
    );
    check(
        "group members and addresses after the group",
        "From: a@x.org\r\nTo: Team: m1@x.org, \"M Two\" <m2@x.org>;, after@y.org\r\n\r\n",
        none(),
        Want::Envelope(
            "<a@x.org>",
            &["<m1@x.org>", "<m2@x.org>", "<after@y.org>"],
            false,
        ),
    );
}

#[test]
fn encoded_words_and_utf8() {
    check(
        "encoded words in display names",
        "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\n\
         To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>, =?UTF-8?B?w6lsaXNl?= <elise@example.org>\r\n\r\n",
        none(),
        Want::Envelope(
            "<joerg@example.org>",
            &["<andre@example.org>", "<elise@example.org>"],
            false,
        ),
    );
    check(
        "UTF-8 addresses (RFC 6532 headers)",
        "From: J\u{f6}rg <j\u{f6}rg@b\u{fc}cher.example>\r\nTo: \u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}\r\n\r\n",
        none(),
        Want::Envelope(
            "<j\u{f6}rg@b\u{fc}cher.example>",
            &["<\u{7528}\u{6237}@\u{4f8b}\u{5b50}.\u{5e7f}\u{544a}>"],
            false,
        ),
    );
}

#[test]
fn several_from_mailboxes_and_sender() {
    check(
        "Sender picks the originator when From has several",
        "From: a@x.org, b@x.org\r\nSender: secretary@x.org\r\nTo: c@x.org\r\n\r\n",
        none(),
        Want::Envelope("<secretary@x.org>", &["<c@x.org>"], false),
    );
    check(
        "From with one mailbox wins over Sender",
        "From: a@x.org\r\nSender: secretary@x.org\r\nTo: c@x.org\r\n\r\n",
        none(),
        Want::Envelope("<a@x.org>", &["<c@x.org>"], false),
    );
    check(
        "several From, no Sender",
        "From: a@x.org, b@x.org\r\nTo: c@x.org\r\n\r\n",
        none(),
        Want::Error(MessageError::TooManyMailboxes {
            header: "From",
            count: 2,
        }),
    );
    check(
        "several Sender",
        "From: a@x.org, b@x.org\r\nSender: s@x.org, t@x.org\r\nTo: c@x.org\r\n\r\n",
        none(),
        Want::Error(MessageError::TooManyMailboxes {
            header: "Sender",
            count: 2,
        }),
    );
    check(
        "no From at all",
        "To: c@x.org\r\nSubject: x\r\n\r\n",
        none(),
        Want::Error(MessageError::NoOriginator { header: "From" }),
    );
    check(
        "From <> is no mailbox",
        "From: <>\r\nTo: c@x.org\r\n\r\n",
        none(),
        Want::Error(MessageError::NoOriginator { header: "From" }),
    );
}

#[test]
fn duplicate_headers() {
    check(
        "two To fields are joined, duplicates removed (domain case ignored)",
        "From: a@x.org\r\nTo: b@x.org\r\nTo: c@x.org, B@x.org\r\nCc: b@X.ORG\r\nBcc: c@x.org, d@x.org\r\n\r\n",
        none(),
        Want::Envelope(
            "<a@x.org>",
            &["<b@x.org>", "<c@x.org>", "<B@x.org>", "<d@x.org>"],
            false,
        ),
    );
    check(
        "the same From twice is one mailbox",
        "From: a@x.org\r\nFrom: Alice <a@X.org>\r\nTo: b@x.org\r\n\r\n",
        none(),
        Want::Envelope("<a@x.org>", &["<b@x.org>"], false),
    );
    check(
        "two different From fields need a Sender",
        "From: a@x.org\r\nFrom: z@x.org\r\nTo: b@x.org\r\n\r\n",
        none(),
        Want::Error(MessageError::TooManyMailboxes {
            header: "From",
            count: 2,
        }),
    );
}

/// A message resent twice: the newest block at the top, an older one
/// further down (below a trace field), the original headers last.
const RESENT_TWICE: &str = "Resent-From: Second <r2@x.org>\r\n\
    Resent-To: new@x.org\r\n\
    Resent-Cc: newcc@x.org\r\n\
    Resent-Bcc: hidden@x.org\r\n\
    Resent-Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n\
    Received: from a by b; Sun, 22 Nov 2026 11:00:00 +0000\r\n\
    Resent-From: r1@x.org\r\n\
    Resent-To: old@x.org\r\n\
    Resent-Date: Sat, 21 Nov 2026 12:00:00 +0000\r\n\
    From: orig@x.org\r\n\
    To: origto@x.org\r\n\
    Bcc: origbcc@x.org\r\n\
    \r\n\
    body\r\n";

#[test]
fn resent_mode() {
    check(
        "auto: the newest block drives the envelope, older blocks do not",
        RESENT_TWICE,
        none(),
        Want::Envelope(
            "<r2@x.org>",
            &["<new@x.org>", "<newcc@x.org>", "<hidden@x.org>"],
            true,
        ),
    );
    check(
        "never: the plain headers",
        RESENT_TWICE,
        none().with_resent(ResentMode::Never),
        Want::Envelope(
            "<orig@x.org>",
            &["<origto@x.org>", "<origbcc@x.org>"],
            false,
        ),
    );
    let below_trace = RESENT_TWICE
        .split_once("Received:")
        .map(|(_, rest)| format!("Received:{rest}"))
        .unwrap();
    check(
        "auto: a resent block below a trace field is history, not the top block",
        &below_trace,
        none(),
        Want::Envelope(
            "<orig@x.org>",
            &["<origto@x.org>", "<origbcc@x.org>"],
            false,
        ),
    );
    check(
        "force without a top block: a new block needs an explicit originator",
        &below_trace,
        none().with_resent(ResentMode::Force),
        Want::Error(MessageError::NoOriginator {
            header: "Resent-From",
        }),
    );
    check(
        "force without a top block: and explicit recipients",
        &below_trace,
        none()
            .with_resent(ResentMode::Force)
            .with_originator(rev("<me@x.org>")),
        Want::Error(MessageError::NoRecipients {
            headers: "Resent-To, Resent-Cc, Resent-Bcc, Resent-Dcc",
        }),
    );
    check(
        "force with explicit envelope",
        &below_trace,
        none()
            .with_resent(ResentMode::Force)
            .with_originator(rev("<me@x.org>"))
            .with_recipients([fwd("<you@x.org>")]),
        Want::Envelope("<me@x.org>", &["<you@x.org>"], true),
    );
    check(
        "extra Resent-* headers form a new top block and switch resent mode on",
        "From: orig@x.org\r\nTo: origto@x.org\r\n\r\nbody\r\n",
        none()
            .with_header("Resent-From", "me@x.org")
            .with_header("Resent-To", "you@x.org")
            .with_header("Resent-Bcc", "quiet@x.org"),
        Want::Envelope("<me@x.org>", &["<you@x.org>", "<quiet@x.org>"], true),
    );
    check(
        "extra Resent-* headers outrank an existing top block",
        RESENT_TWICE,
        none()
            .with_header("Resent-From", "me@x.org")
            .with_header("Resent-To", "you@x.org"),
        Want::Envelope("<me@x.org>", &["<you@x.org>"], true),
    );
    check(
        "resent block without Resent-From: needs the originator",
        "Resent-To: new@x.org\r\nFrom: orig@x.org\r\n\r\n",
        none(),
        Want::Error(MessageError::NoOriginator {
            header: "Resent-From",
        }),
    );
    check(
        "resent block with several Resent-From and a Resent-Sender",
        "Resent-From: a@x.org, b@x.org\r\nResent-Sender: s@x.org\r\nResent-To: new@x.org\r\nFrom: o@x.org\r\n\r\n",
        none(),
        Want::Envelope("<s@x.org>", &["<new@x.org>"], true),
    );
}

#[test]
fn explicit_overrides() {
    let broken = "From: a@x.org, b@x.org\r\nTo: not an address\r\nBcc: hidden@x.org\r\n\r\n";
    check(
        "explicit envelope: From and To are not even parsed; Bcc still adds its recipient",
        broken,
        none()
            .with_originator(rev("<me@x.org>"))
            .with_recipients([fwd("<you@x.org>"), fwd("<you@X.org>")]),
        Want::Envelope("<me@x.org>", &["<you@x.org>", "<hidden@x.org>"], false),
    );
    check(
        "explicit originator only",
        "From: a@x.org, b@x.org\r\nTo: c@x.org\r\nBcc: d@x.org\r\n\r\n",
        none().with_originator(rev("<bounce@x.org>")),
        Want::Envelope("<bounce@x.org>", &["<c@x.org>", "<d@x.org>"], false),
    );
    check(
        "explicit recipients only",
        "From: a@x.org\r\nTo: c@x.org\r\n\r\n",
        none().with_recipients([fwd("<Postmaster>"), fwd("<z@x.org>")]),
        Want::Envelope("<a@x.org>", &["<Postmaster>", "<z@x.org>"], false),
    );
    check(
        "the null sender",
        "From: MAILER-DAEMON@x.org\r\nTo: c@x.org\r\n\r\n",
        none().with_originator(ReversePath::Null),
        Want::Envelope("<>", &["<c@x.org>"], false),
    );
    check(
        "an empty explicit recipient list is no recipient",
        "From: a@x.org\r\nTo: c@x.org\r\n\r\n",
        none().with_recipients([]),
        Want::Error(MessageError::NoRecipients {
            headers: "the explicit recipient list",
        }),
    );
    check(
        "extra headers take part in the envelope (tcllib -header)",
        "\r\nJust a body\r\n",
        none()
            .with_header("From", "a@x.org")
            .with_header("To", "b@x.org")
            .with_header("Bcc", "c@x.org"),
        Want::Envelope("<a@x.org>", &["<b@x.org>", "<c@x.org>"], false),
    );
}

#[test]
fn unparsable_addresses_name_the_header() {
    for (message, header, address) in [
        ("From: alice\r\nTo: b@x.org\r\n\r\n", "From", "alice"),
        ("From: a@x.org\r\nTo: b@x.org, bob\r\n\r\n", "To", "bob"),
        (
            "From: a@x.org\r\nTo: b@x.org\r\ncc: <c@>\r\n\r\n",
            "cc",
            "c@",
        ),
        (
            "From: a@x.org\r\nTo: b@x.org\r\nBcc: a b@x.org\r\n\r\n",
            "Bcc",
            "a b@x.org",
        ),
        ("From: a@x.org\r\nTo: <<broken\r\n\r\n", "To", "<broken"),
        (
            "From: a@x.org, b@x.org\r\nSender: Sec\r\nTo: c@x.org\r\n\r\n",
            "Sender",
            "Sec",
        ),
        (
            "Resent-From: a@x.org\r\nResent-To: \"Nobody\"\r\nFrom: o@x.org\r\n\r\n",
            "Resent-To",
            "Nobody",
        ),
        (
            "From: a@x.org\r\nTo: b@x.org\r\nCc: c@-bad-.org\r\n\r\n",
            "Cc",
            "c@-bad-.org",
        ),
    ] {
        check(message, message, none(), Want::BadAddress(header, address));
    }
    // Not UTF-8, and an over-long local part.
    match run("From: a@x.org\r\nTo: l\u{e9}a@x.org\r\n\r\n", &none()) {
        Ok(_) => {}
        other => panic!("UTF-8 is fine: {other:?}"),
    }
    let mut latin1 = b"From: a@x.org\r\nTo: l".to_vec();
    latin1.extend_from_slice(b"\xe9a@x.org\r\n\r\n");
    let random = SeededRandom::new(1);
    let domain: Domain = "c.example".parse().unwrap();
    let context = PrepareContext::new(MessageDate::utc(0).unwrap(), &random, &domain);
    assert!(matches!(
        prepare(&latin1, &none(), &context),
        Err(MessageError::InvalidAddress { header, reason: AddressError::InvalidUtf8, .. }) if header == "To"
    ));
    let long = format!("From: a@x.org\r\nTo: {}@x.org\r\n\r\n", "l".repeat(65));
    assert!(matches!(
        run(&long, &none()),
        Err(MessageError::InvalidAddress {
            reason: AddressError::LocalPartTooLong(65),
            ..
        })
    ));
}

#[test]
fn malformed_header_sections_are_refused() {
    check(
        "no blank line before a body line",
        "From: a@x.org\r\nTo: b@x.org\r\nthis is the body\r\n",
        none(),
        Want::Error(MessageError::MalformedHeader { line: 3 }),
    );
    check(
        "an mbox From_ line",
        "From a@x.org Sun Nov 22 12:00:00 2026\r\nFrom: a@x.org\r\n\r\n",
        none(),
        Want::Error(MessageError::MalformedHeader { line: 1 }),
    );
}
