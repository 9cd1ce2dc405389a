//! Table tests for [`super`].

use super::*;
use crate::wire::address::Mailbox;
use crate::wire::params::BodyType;

fn ok(line: &str) -> Command {
    match Command::parse(line.as_bytes()) {
        Ok(c) => c,
        Err(e) => panic!("{line:?} did not parse: {e}"),
    }
}

fn err(line: &[u8]) -> CommandError {
    match Command::parse(line) {
        Ok(c) => panic!("{line:?} parsed as {c:?}"),
        Err(e) => e,
    }
}

fn mailbox(s: &str) -> Mailbox {
    Mailbox::parse(s.as_bytes()).unwrap()
}

#[test]
fn verbs_are_case_insensitive() {
    for verb in Verb::ALL {
        let lower = verb.as_str().to_ascii_lowercase();
        assert_eq!(Verb::from_bytes(lower.as_bytes()), Some(verb));
        assert_eq!(Verb::from_bytes(verb.as_str().as_bytes()), Some(verb));
    }
    assert_eq!(Verb::from_bytes(b"MAILX"), None);
    assert_eq!(Verb::from_bytes(b""), None);
    assert_eq!(ok("qUiT"), Command::Quit);
    assert_eq!(ok("StartTLS"), Command::StartTls);
}

#[test]
fn greetings() {
    assert_eq!(
        ok("EHLO client.example.org"),
        Command::Ehlo(Domain::Name("client.example.org".into()))
    );
    assert_eq!(
        ok("helo [192.0.2.1]"),
        Command::Helo(Domain::Ipv4("192.0.2.1".parse().unwrap()))
    );
    assert_eq!(
        ok("LHLO [IPv6:2001:db8::1]"),
        Command::Lhlo(Domain::Ipv6("2001:db8::1".parse().unwrap()))
    );
    assert_eq!(err(b"EHLO").kind(), &CommandErrorKind::Syntax);
    assert_eq!(err(b"EHLO a b").kind(), &CommandErrorKind::Syntax);
    assert!(matches!(
        err(b"EHLO -bad-").kind(),
        CommandErrorKind::Address(_)
    ));
    assert_eq!(err(b"EHLO").verb(), Some(Verb::Ehlo));
}

#[test]
fn mail_and_rcpt() {
    let Command::Mail { from, params } = ok("MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME")
    else {
        panic!("not MAIL")
    };
    assert_eq!(from, ReversePath::Mailbox(mailbox("a@example.org")));
    assert_eq!(params.size, Some(100));
    assert_eq!(params.body, Some(BodyType::EightBitMime));

    assert_eq!(
        ok("mail from:<>"),
        Command::Mail {
            from: ReversePath::Null,
            params: MailParameters::default()
        }
    );
    // A space after the colon is tolerated.
    assert_eq!(
        ok("MAIL FROM: <a@example.org>"),
        Command::Mail {
            from: ReversePath::Mailbox(mailbox("a@example.org")),
            params: MailParameters::default()
        }
    );
    assert_eq!(
        ok("RCPT TO:<Postmaster>"),
        Command::Rcpt {
            to: ForwardPath::Postmaster,
            params: RcptParameters::default()
        }
    );
    assert_eq!(
        ok("rcpt to:<b@example.org>   "),
        Command::Rcpt {
            to: ForwardPath::Mailbox(mailbox("b@example.org")),
            params: RcptParameters::default()
        }
    );
}

#[test]
fn mail_and_rcpt_errors() {
    for (line, verb) in [
        (&b"MAIL"[..], Verb::Mail),
        (b"MAIL TO:<a@b.example>", Verb::Mail),
        (b"MAIL FROM", Verb::Mail),
        (b"RCPT FROM:<a@b.example>", Verb::Rcpt),
        (b"RCPT", Verb::Rcpt),
    ] {
        let e = err(line);
        assert_eq!(e.verb(), Some(verb), "{line:?}");
        assert_eq!(e.kind(), &CommandErrorKind::Syntax, "{line:?}");
    }
    assert_eq!(
        err(b"MAIL FROM:<a@b.example>x").kind(),
        &CommandErrorKind::Address(AddressError::TrailingGarbage)
    );
    assert!(matches!(
        err(b"MAIL FROM:a@b.example").kind(),
        CommandErrorKind::Address(_)
    ));
    assert!(matches!(
        err(b"RCPT TO:<>").kind(),
        CommandErrorKind::Address(_)
    ));
    assert!(matches!(
        err(b"MAIL FROM:<a@b.example> SIZE=x").kind(),
        CommandErrorKind::Params(_)
    ));
    assert!(matches!(
        err(b"MAIL FROM:<a@b.example> SIZE=1 SIZE=2").kind(),
        CommandErrorKind::Params(ParamError::Duplicate(_))
    ));
}

#[test]
fn control_bytes_are_refused_first() {
    for line in [
        &b"MAIL FROM:<a@b.example>\rRCPT TO:<c@d.example>"[..],
        b"RCPT TO:<a\0@b.example>",
        b"NOOP \x1b[31m",
        b"\rQUIT",
    ] {
        assert!(
            matches!(err(line).kind(), CommandErrorKind::ForbiddenByte(_)),
            "{line:?}"
        );
    }
    assert_eq!(err(b"MAIL FROM:<a@b>\r").verb(), Some(Verb::Mail));
}

#[test]
fn unknown_and_empty() {
    assert_eq!(err(b"XYZZY").kind(), &CommandErrorKind::UnknownVerb);
    assert_eq!(err(b"XYZZY").verb(), None);
    assert_eq!(err(b"").kind(), &CommandErrorKind::Empty);
    assert_eq!(err(b"   ").kind(), &CommandErrorKind::Empty);
    assert_eq!(err(b"\xff\xfe").kind(), &CommandErrorKind::UnknownVerb);
}

#[test]
fn no_argument_verbs() {
    assert_eq!(ok("DATA"), Command::Data);
    assert_eq!(ok("RSET "), Command::Rset);
    assert_eq!(ok("QUIT"), Command::Quit);
    for line in [&b"DATA x"[..], b"RSET now", b"QUIT please", b"STARTTLS x"] {
        assert_eq!(err(line).kind(), &CommandErrorKind::Syntax, "{line:?}");
    }
}

#[test]
fn text_verbs() {
    assert_eq!(ok("NOOP"), Command::Noop(None));
    assert_eq!(
        ok("NOOP hello there"),
        Command::Noop(Some(Text::new("hello there").unwrap()))
    );
    assert_eq!(ok("HELP"), Command::Help(None));
    assert_eq!(ok("VRFY Smith"), Command::Vrfy(Text::new("Smith").unwrap()));
    assert_eq!(ok("EXPN list"), Command::Expn(Text::new("list").unwrap()));
    assert_eq!(err(b"VRFY").kind(), &CommandErrorKind::Syntax);
    assert_eq!(err(b"EXPN ").kind(), &CommandErrorKind::Syntax);
    assert!(Text::new("a\r\nb").is_err());
    assert!(Text::new("").is_err());
    assert!(Text::new(" a").is_err());
}

#[test]
fn bdat() {
    assert_eq!(
        ok("BDAT 0 LAST"),
        Command::Bdat {
            size: 0,
            last: true
        }
    );
    assert_eq!(
        ok("bdat 1048576"),
        Command::Bdat {
            size: 1_048_576,
            last: false
        }
    );
    assert_eq!(
        ok("BDAT 18446744073709551615 last"),
        Command::Bdat {
            size: u64::MAX,
            last: true
        }
    );
    for line in [
        &b"BDAT"[..],
        b"BDAT x",
        b"BDAT -1",
        b"BDAT +1",
        b"BDAT 18446744073709551616",
        b"BDAT 1 FIRST",
        b"BDAT 1 LAST more",
    ] {
        assert_eq!(err(line).kind(), &CommandErrorKind::Syntax, "{line:?}");
    }
}

#[test]
fn auth() {
    assert_eq!(
        ok("AUTH plain AGFsaWNlAHNlY3JldA=="),
        Command::Auth {
            mechanism: Mechanism::new("PLAIN").unwrap(),
            initial_response: Some(InitialResponse::Base64("AGFsaWNlAHNlY3JldA==".into())),
        }
    );
    assert_eq!(
        ok("AUTH EXTERNAL ="),
        Command::Auth {
            mechanism: Mechanism::new("EXTERNAL").unwrap(),
            initial_response: Some(InitialResponse::Empty),
        }
    );
    assert_eq!(
        ok("AUTH SCRAM-SHA-256"),
        Command::Auth {
            mechanism: Mechanism::new("scram-sha-256").unwrap(),
            initial_response: None,
        }
    );
    for line in [
        &b"AUTH"[..],
        b"AUTH PLAIN a b",
        b"AUTH PLAIN not*base64",
        b"AUTH THIS-MECHANISM-NAME-IS-TOO-LONG",
        b"AUTH PL@IN",
    ] {
        assert_eq!(err(line).kind(), &CommandErrorKind::Syntax, "{line:?}");
    }
}

#[test]
fn serialise() {
    let cases: [(&str, &[u8]); 9] = [
        ("ehlo Client.Example", b"EHLO Client.Example\r\n"),
        ("mail from:<>", b"MAIL FROM:<>\r\n"),
        ("rcpt to:<postmaster>", b"RCPT TO:<Postmaster>\r\n"),
        ("bdat 5 last", b"BDAT 5 LAST\r\n"),
        ("bdat 5", b"BDAT 5\r\n"),
        ("auth login", b"AUTH LOGIN\r\n"),
        ("auth external =", b"AUTH EXTERNAL =\r\n"),
        ("noop", b"NOOP\r\n"),
        ("help me", b"HELP me\r\n"),
    ];
    for (line, bytes) in cases {
        let cmd = ok(line);
        assert_eq!(cmd.to_bytes(), bytes, "{line}");
        let again = Command::parse(bytes.strip_suffix(b"\r\n").unwrap()).unwrap();
        assert_eq!(again, cmd, "{line}");
    }
    assert_eq!(ok("rset").to_string(), "RSET");
}
