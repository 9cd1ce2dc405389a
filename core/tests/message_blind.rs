//! Blind copies: every address of a `Bcc` or `Dcc` field (or of their
//! `Resent-` forms, in resent mode) is an envelope recipient, whether the
//! other recipients come from the headers or from the caller, and no such
//! field is ever transmitted.

use mailwire_core::SeededRandom;
use mailwire_core::message::{
    MessageDate, MessageError, PrepareContext, PrepareOptions, PreparedMessage, ResentMode, prepare,
};
use mailwire_core::wire::address::{Domain, ForwardPath};

fn prep(message: &str, options: &PrepareOptions) -> Result<PreparedMessage, MessageError> {
    let random = SeededRandom::new(3);
    let domain: Domain = "client.example".parse().unwrap();
    let context = PrepareContext::new(MessageDate::utc(1_795_350_186).unwrap(), &random, &domain);
    prepare(message.as_bytes(), options, &context)
}

fn rcpts(prepared: &PreparedMessage) -> Vec<String> {
    prepared
        .recipients
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn text(prepared: &PreparedMessage) -> String {
    String::from_utf8(prepared.bytes.clone()).unwrap()
}

fn fwd(s: &str) -> ForwardPath {
    s.parse().unwrap()
}

fn explicit(paths: &[&str]) -> PrepareOptions {
    PrepareOptions::default().with_recipients(paths.iter().map(|p| fwd(p)))
}

/// Whether a header line of `bytes` is a blind field.
fn has_blind_field(bytes: &str) -> bool {
    let head = bytes.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n").any(|line| {
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        ["bcc", "dcc", "resent-bcc", "resent-dcc"].contains(&name.as_str())
    })
}

const PLAIN: &str = "From: a@x.org\r\n\
    To: to@x.org\r\n\
    Cc: cc@x.org\r\n\
    Bcc: b1@x.org, b2@x.org\r\n\
    Dcc: d@x.org\r\n\
    Date: d\r\n\
    Message-ID: <m@x>\r\n\
    \r\n\
    Bcc: a body line stays\r\n";

#[test]
fn explicit_recipients_keep_the_bcc_and_dcc_recipients() {
    let p = prep(PLAIN, &explicit(&["<y@x.org>", "<b1@X.org>"])).unwrap();
    // To and Cc are replaced; Bcc and Dcc are added after the explicit
    // ones, duplicates removed (the explicit spelling wins).
    assert_eq!(
        rcpts(&p),
        ["<y@x.org>", "<b1@X.org>", "<b2@x.org>", "<d@x.org>"]
    );
    assert_eq!(
        text(&p),
        "From: a@x.org\r\nTo: to@x.org\r\nCc: cc@x.org\r\nDate: d\r\nMessage-ID: <m@x>\r\n\
         \r\nBcc: a body line stays\r\n"
    );
}

#[test]
fn header_derived_recipients_include_dcc() {
    let p = prep(PLAIN, &PrepareOptions::default()).unwrap();
    assert_eq!(
        rcpts(&p),
        [
            "<to@x.org>",
            "<cc@x.org>",
            "<b1@x.org>",
            "<b2@x.org>",
            "<d@x.org>"
        ]
    );
    assert!(!has_blind_field(&text(&p)), "{}", text(&p));
    // Dcc alone is enough, in any case of its name.
    let p = prep(
        "From: a@x.org\r\nDCC: only@x.org\r\n\r\n",
        &PrepareOptions::default(),
    )
    .unwrap();
    assert_eq!(rcpts(&p), ["<only@x.org>"]);
    assert!(!text(&p).to_ascii_lowercase().contains("dcc"));
}

#[test]
fn caller_given_bcc_and_dcc_count_with_explicit_recipients() {
    // The library side of `mailwire send --recipients y --bcc hidden`.
    let options = explicit(&["<y@x.org>"])
        .with_header("From", "a@x.org")
        .with_header("Bcc", "hidden@x.org")
        .with_header("Dcc", "quiet@x.org");
    let p = prep("\r\nbody\r\n", &options).unwrap();
    assert_eq!(rcpts(&p), ["<y@x.org>", "<hidden@x.org>", "<quiet@x.org>"]);
    let t = text(&p);
    assert!(!t.contains("hidden") && !t.contains("quiet"), "{t}");
}

/// A message resent once (the newest block at the top) whose original
/// header still holds blind fields.
const RESENT: &str = "Resent-From: r@x.org\r\n\
    Resent-To: rt@x.org\r\n\
    Resent-Bcc: rb@x.org\r\n\
    Resent-Dcc: rd@x.org\r\n\
    Resent-Date: d\r\n\
    Resent-Message-ID: <r@x>\r\n\
    From: a@x.org\r\n\
    To: t@x.org\r\n\
    Bcc: ob@x.org\r\n\
    Dcc: od@x.org\r\n\
    Date: d\r\n\
    Message-ID: <m@x>\r\n\
    \r\n\
    body\r\n";

#[test]
fn in_resent_mode_the_newest_block_gives_the_blind_recipients() {
    let stripped = RESENT
        .replace("Resent-Bcc: rb@x.org\r\n", "")
        .replace("Resent-Dcc: rd@x.org\r\n", "")
        .replace("Bcc: ob@x.org\r\n", "")
        .replace("Dcc: od@x.org\r\n", "");
    let never = PrepareOptions::default().with_resent(ResentMode::Never);
    for (options, want, resent) in [
        (
            PrepareOptions::default(),
            &["<rt@x.org>", "<rb@x.org>", "<rd@x.org>"][..],
            true,
        ),
        (
            explicit(&["<z@x.org>"]),
            &["<z@x.org>", "<rb@x.org>", "<rd@x.org>"],
            true,
        ),
        (
            never.clone(),
            &["<t@x.org>", "<ob@x.org>", "<od@x.org>"],
            false,
        ),
        (
            never.with_recipients([fwd("<z@x.org>")]),
            &["<z@x.org>", "<ob@x.org>", "<od@x.org>"],
            false,
        ),
    ] {
        let p = prep(RESENT, &options).unwrap();
        assert_eq!(rcpts(&p), want, "{options:?}");
        assert_eq!(p.resent, resent, "{options:?}");
        // Every blind field goes, whatever the mode.
        assert_eq!(text(&p), stripped, "{options:?}");
    }
}

#[test]
fn a_new_resent_block_from_the_caller_gives_its_own_blind_recipients() {
    let options = explicit(&["<z@x.org>"])
        .with_header("Resent-From", "me@x.org")
        .with_header("Resent-Dcc", "nd@x.org")
        .with_header("Resent-Bcc", "nb@x.org");
    let p = prep(RESENT, &options).unwrap();
    // Bcc before Dcc, as with the headers. The message's own resent block
    // is history now: rb and rd are not recipients again.
    assert_eq!(rcpts(&p), ["<z@x.org>", "<nb@x.org>", "<nd@x.org>"]);
    assert!(p.resent);
    let t = text(&p);
    assert!(
        t.starts_with("Resent-From: me@x.org\r\nResent-Date: "),
        "{t}"
    );
    assert!(!has_blind_field(&t), "{t}");
}

#[test]
fn an_unusable_blind_address_is_refused_even_with_explicit_recipients() {
    for (message, header) in [
        (
            "From: a@x.org\r\nTo: t@x.org\r\nBcc: not an address\r\n\r\n",
            "Bcc",
        ),
        (
            "From: a@x.org\r\nTo: t@x.org\r\ndcc: <nobody>\r\n\r\n",
            "dcc",
        ),
        (
            "Resent-From: r@x.org\r\nResent-Dcc: \"Nobody\"\r\nFrom: a@x.org\r\n\r\n",
            "Resent-Dcc",
        ),
    ] {
        match prep(message, &explicit(&["<z@x.org>"])) {
            Err(MessageError::InvalidAddress { header: h, .. }) => assert_eq!(h, header),
            other => panic!("{message:?}: {other:?}"),
        }
    }
    // An empty explicit list stays a caller error, blind fields or not.
    assert_eq!(
        prep(PLAIN, &explicit(&[])).err(),
        Some(MessageError::NoRecipients {
            headers: "the explicit recipient list"
        })
    );
}
