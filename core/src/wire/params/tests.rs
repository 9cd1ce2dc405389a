//! Table tests for [`super`].

use super::*;
use ParamError as E;

fn mail(input: &str) -> Result<MailParameters, ParamError> {
    MailParameters::parse(input.as_bytes())
}

fn rcpt(input: &str) -> Result<RcptParameters, ParamError> {
    RcptParameters::parse(input.as_bytes())
}

fn written(write: impl Fn(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8(out).unwrap()
}

fn param(keyword: &str, value: Option<&str>) -> Parameter {
    Parameter::new(keyword, value).unwrap()
}

fn mail_with(f: impl FnOnce(&mut MailParameters)) -> MailParameters {
    let mut p = MailParameters::default();
    f(&mut p);
    p
}

fn rcpt_with(f: impl FnOnce(&mut RcptParameters)) -> RcptParameters {
    let mut p = RcptParameters::default();
    f(&mut p);
    p
}

fn on(success: bool, failure: bool, delay: bool) -> Notify {
    Notify::On(NotifyOn {
        success,
        failure,
        delay,
    })
}

#[test]
fn mail_accepts() {
    let cases: Vec<(&str, MailParameters, &str)> = vec![
        ("", MailParameters::default(), ""),
        ("   ", MailParameters::default(), ""),
        (
            " SIZE=1024",
            mail_with(|p| p.size = Some(1024)),
            " SIZE=1024",
        ),
        ("size=0", mail_with(|p| p.size = Some(0)), " SIZE=0"),
        ("SIZE=007", mail_with(|p| p.size = Some(7)), " SIZE=7"),
        (
            "SIZE=18446744073709551615",
            mail_with(|p| p.size = Some(u64::MAX)),
            " SIZE=18446744073709551615",
        ),
        (
            "BODY=7bit",
            mail_with(|p| p.body = Some(BodyType::SevenBit)),
            " BODY=7BIT",
        ),
        (
            "body=8BitMime",
            mail_with(|p| p.body = Some(BodyType::EightBitMime)),
            " BODY=8BITMIME",
        ),
        (
            "BODY=BINARYMIME",
            mail_with(|p| p.body = Some(BodyType::BinaryMime)),
            " BODY=BINARYMIME",
        ),
        ("smtputf8", mail_with(|p| p.smtputf8 = true), " SMTPUTF8"),
        (
            "RequireTLS",
            mail_with(|p| p.requiretls = true),
            " REQUIRETLS",
        ),
        (
            "RET=full",
            mail_with(|p| p.ret = Some(Ret::Full)),
            " RET=FULL",
        ),
        (
            "RET=HDRS",
            mail_with(|p| p.ret = Some(Ret::Headers)),
            " RET=HDRS",
        ),
        (
            "ENVID=QQ314159",
            mail_with(|p| p.envid = Some("QQ314159".into())),
            " ENVID=QQ314159",
        ),
        (
            "ENVID=a+2bb+20c",
            mail_with(|p| p.envid = Some("a+b c".into())),
            " ENVID=a+2Bb+20c",
        ),
        (
            "ENVID=+3D",
            mail_with(|p| p.envid = Some("=".into())),
            " ENVID=+3D",
        ),
        (
            "AUTH=<>",
            mail_with(|p| p.auth = Some(AuthIdentity::Unknown)),
            " AUTH=<>",
        ),
        (
            "AUTH=e+2Bf@example.org",
            mail_with(|p| p.auth = Some(AuthIdentity::Identity("e+f@example.org".into()))),
            " AUTH=e+2Bf@example.org",
        ),
        (
            "AUTH=+C3+A9@x",
            mail_with(|p| p.auth = Some(AuthIdentity::Identity("é@x".into()))),
            " AUTH=+C3+A9@x",
        ),
        (
            "AUTH=+3C+3E",
            mail_with(|p| p.auth = Some(AuthIdentity::Identity("<>".into()))),
            " AUTH=+3C+3E",
        ),
        (
            "X-FOO=bar XBAZ NOTIFY=NEVER",
            mail_with(|p| {
                p.unknown = vec![
                    param("X-FOO", Some("bar")),
                    param("XBAZ", None),
                    param("NOTIFY", Some("NEVER")),
                ]
            }),
            " X-FOO=bar XBAZ NOTIFY=NEVER",
        ),
        (
            "x-utf=é+",
            mail_with(|p| p.unknown = vec![param("X-UTF", Some("é+"))]),
            " X-UTF=é+",
        ),
        (
            "  AUTH=<>   SIZE=5 x-a=<b> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=e REQUIRETLS  ",
            mail_with(|p| {
                p.size = Some(5);
                p.body = Some(BodyType::EightBitMime);
                p.smtputf8 = true;
                p.requiretls = true;
                p.ret = Some(Ret::Headers);
                p.envid = Some("e".into());
                p.auth = Some(AuthIdentity::Unknown);
                p.unknown = vec![param("X-A", Some("<b>"))];
            }),
            " SIZE=5 BODY=8BITMIME SMTPUTF8 REQUIRETLS RET=HDRS ENVID=e AUTH=<> X-A=<b>",
        ),
    ];
    for (input, expected, wire) in cases {
        let parsed = mail(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed, expected, "{input}");
        assert_eq!(parsed.is_empty(), wire.is_empty(), "{input}");
        let out = written(|o| parsed.write_to(o));
        assert_eq!(out, wire, "{input}");
        assert_eq!(mail(&out), Ok(parsed), "{input}");
    }
}

#[test]
fn mail_rejects() {
    let envid101 = format!("ENVID={}", "e".repeat(101));
    let envid_ok = format!("ENVID={}", "e".repeat(100));
    assert!(mail(&envid_ok).is_ok());
    let cases: &[(&str, ParamError)] = &[
        ("=x", E::Syntax),
        ("SIZE==1", E::Syntax),
        ("SIZE=1=2", E::Syntax),
        ("-X=1", E::Syntax),
        ("X_Y=1", E::Syntax),
        ("SIZ\u{e9}=1", E::Syntax),
        ("X-FOO=", E::Syntax),
        ("SIZE=1\r\n", E::Syntax),
        ("SIZE=1\nRCPT", E::Syntax),
        ("SIZE=1\0", E::Syntax),
        ("X=a\tb", E::Syntax),
        ("X=\x7f", E::Syntax),
        ("x-utf=é+=", E::Syntax),
        ("SIZE=1 size=2", E::Duplicate("SIZE".into())),
        ("SMTPUTF8 SMTPUTF8", E::Duplicate("SMTPUTF8".into())),
        ("X-A=1 x-a=2", E::Duplicate("X-A".into())),
        ("XA XA", E::Duplicate("XA".into())),
        ("SIZE", E::BadValue("SIZE".into())),
        ("SIZE=", E::BadValue("SIZE".into())),
        ("SIZE=-1", E::BadValue("SIZE".into())),
        ("SIZE=1k", E::BadValue("SIZE".into())),
        ("SIZE=+1", E::BadValue("SIZE".into())),
        ("SIZE=18446744073709551616", E::BadValue("SIZE".into())),
        ("SIZE=000000000000000000001", E::BadValue("SIZE".into())),
        ("BODY", E::BadValue("BODY".into())),
        ("BODY=8BIT", E::BadValue("BODY".into())),
        ("BODY=", E::BadValue("BODY".into())),
        ("SMTPUTF8=yes", E::BadValue("SMTPUTF8".into())),
        ("SMTPUTF8=", E::BadValue("SMTPUTF8".into())),
        ("REQUIRETLS=1", E::BadValue("REQUIRETLS".into())),
        ("RET", E::BadValue("RET".into())),
        ("RET=HEADERS", E::BadValue("RET".into())),
        ("ENVID", E::BadValue("ENVID".into())),
        ("ENVID=a+0D+0Ab", E::BadValue("ENVID".into())),
        ("ENVID=a+C3+A9", E::BadValue("ENVID".into())),
        ("ENVID=a+2", E::BadValue("ENVID".into())),
        ("ENVID=a+ZZ", E::BadValue("ENVID".into())),
        ("ENVID=\u{e9}", E::BadValue("ENVID".into())),
        (&envid101, E::BadValue("ENVID".into())),
        ("AUTH", E::BadValue("AUTH".into())),
        ("AUTH=", E::BadValue("AUTH".into())),
        ("AUTH=a+0D+0A", E::BadValue("AUTH".into())),
        ("AUTH=a+00", E::BadValue("AUTH".into())),
        ("AUTH=+C2+85", E::BadValue("AUTH".into())),
        ("AUTH=+FF", E::BadValue("AUTH".into())),
        ("AUTH=a+", E::BadValue("AUTH".into())),
        ("AUTH=\u{e9}", E::BadValue("AUTH".into())),
    ];
    for (input, error) in cases {
        assert_eq!(mail(input).as_ref(), Err(error), "{input:?}");
    }
    assert_eq!(MailParameters::parse(b"X=\xff"), Err(E::Syntax));
}

#[test]
fn rcpt_accepts() {
    let orcpt = |t: &str, a: &str| Some(Orcpt::new(t, a).unwrap());
    let cases: Vec<(&str, RcptParameters, &str)> = vec![
        ("", RcptParameters::default(), ""),
        (
            "NOTIFY=NEVER",
            rcpt_with(|p| p.notify = Some(Notify::Never)),
            " NOTIFY=NEVER",
        ),
        (
            "notify=never",
            rcpt_with(|p| p.notify = Some(Notify::Never)),
            " NOTIFY=NEVER",
        ),
        (
            "NOTIFY=SUCCESS",
            rcpt_with(|p| p.notify = Some(on(true, false, false))),
            " NOTIFY=SUCCESS",
        ),
        (
            "NOTIFY=delay,Failure",
            rcpt_with(|p| p.notify = Some(on(false, true, true))),
            " NOTIFY=FAILURE,DELAY",
        ),
        (
            "NOTIFY=DELAY,SUCCESS,FAILURE",
            rcpt_with(|p| p.notify = Some(on(true, true, true))),
            " NOTIFY=SUCCESS,FAILURE,DELAY",
        ),
        (
            "ORCPT=rfc822;a+2Bb@example.org",
            rcpt_with(|p| p.orcpt = orcpt("rfc822", "a+b@example.org")),
            " ORCPT=rfc822;a+2Bb@example.org",
        ),
        (
            "ORCPT=utf-8;+C3+A9+20x@y",
            rcpt_with(|p| p.orcpt = orcpt("utf-8", "é x@y")),
            " ORCPT=utf-8;+C3+A9+20x@y",
        ),
        (
            "ORCPT=rfc822;a;b",
            rcpt_with(|p| p.orcpt = orcpt("rfc822", "a;b")),
            " ORCPT=rfc822;a;b",
        ),
        (
            " SIZE=10 ORCPT=RFC822;x NOTIFY=NEVER AUTH=<>",
            rcpt_with(|p| {
                p.notify = Some(Notify::Never);
                p.orcpt = orcpt("RFC822", "x");
                p.unknown = vec![param("SIZE", Some("10")), param("AUTH", Some("<>"))];
            }),
            " NOTIFY=NEVER ORCPT=RFC822;x SIZE=10 AUTH=<>",
        ),
    ];
    for (input, expected, wire) in cases {
        let parsed = rcpt(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed, expected, "{input}");
        assert_eq!(parsed.is_empty(), wire.is_empty(), "{input}");
        let out = written(|o| parsed.write_to(o));
        assert_eq!(out, wire, "{input}");
        assert_eq!(rcpt(&out), Ok(parsed), "{input}");
    }
}

#[test]
fn rcpt_rejects() {
    let cases: &[(&str, ParamError)] = &[
        ("NOTIFY", E::BadValue("NOTIFY".into())),
        ("NOTIFY=", E::BadValue("NOTIFY".into())),
        ("NOTIFY=NEVER,SUCCESS", E::BadValue("NOTIFY".into())),
        ("NOTIFY=SUCCESS,NEVER", E::BadValue("NOTIFY".into())),
        ("NOTIFY=SUCCESS,success", E::BadValue("NOTIFY".into())),
        ("NOTIFY=SUCCESS,", E::BadValue("NOTIFY".into())),
        ("NOTIFY=,SUCCESS", E::BadValue("NOTIFY".into())),
        ("NOTIFY=SUCCESS,,DELAY", E::BadValue("NOTIFY".into())),
        ("NOTIFY=ALWAYS", E::BadValue("NOTIFY".into())),
        ("NOTIFY=NEVER NOTIFY=NEVER", E::Duplicate("NOTIFY".into())),
        ("ORCPT", E::BadValue("ORCPT".into())),
        ("ORCPT=", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc822", E::BadValue("ORCPT".into())),
        ("ORCPT=;a@b", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc822;", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc@822;a@b", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc822;a+0D+0ASubject:x", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc822;a+FF", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc822;a+G0", E::BadValue("ORCPT".into())),
        ("ORCPT=rfc822;\u{e9}", E::BadValue("ORCPT".into())),
        (
            "ORCPT=rfc822;a ORCPT=rfc822;b",
            E::Duplicate("ORCPT".into()),
        ),
        ("NOTIFY=NEVER\r\n", E::Syntax),
        ("ORCPT=rfc822;a=b", E::Syntax),
        ("=", E::Syntax),
    ];
    for (input, error) in cases {
        assert_eq!(rcpt(input).as_ref(), Err(error), "{input:?}");
    }
}

#[test]
fn notify_on_empty_is_written_as_never() {
    let p = rcpt_with(|p| p.notify = Some(Notify::On(NotifyOn::default())));
    assert_eq!(written(|o| p.write_to(o)), " NOTIFY=NEVER");
}

#[test]
fn free_text_values_cannot_smuggle() {
    let p = mail_with(|p| {
        p.envid = Some("x SIZE=1\r\nRCPT TO:<a@b>".into());
        p.auth = Some(AuthIdentity::Identity("a b=c+d\r\n".into()));
    });
    let out = written(|o| p.write_to(o));
    assert_eq!(
        out,
        " ENVID=x+20SIZE+3D1+0D+0ARCPT+20TO:<a@b> AUTH=a+20b+3Dc+2Bd+0D+0A"
    );
    // It reads back as two parameters, refused for their values only.
    assert_eq!(mail(&out), Err(E::BadValue("ENVID".into())));
    let orcpt = Orcpt::new("rfc822", "a b=c").unwrap();
    let r = rcpt_with(|p| p.orcpt = Some(orcpt.clone()));
    let out = written(|o| r.write_to(o));
    assert_eq!(out, " ORCPT=rfc822;a+20b+3Dc");
    assert_eq!(rcpt(&out).unwrap().orcpt, Some(orcpt));
}

#[test]
fn constructors() {
    let p = param("x-Foo", Some("a<>b"));
    assert_eq!(p.keyword(), "X-FOO");
    assert_eq!(p.value(), Some("a<>b"));
    assert_eq!(p.to_string(), "X-FOO=a<>b");
    assert_eq!(param("7bit", None).to_string(), "7BIT");
    for (keyword, value) in [
        ("", None),
        ("-x", None),
        ("x y", None),
        ("x=y", None),
        ("é", None),
        ("x", Some("")),
        ("x", Some("a b")),
        ("x", Some("a=b")),
        ("x", Some("a\r\n")),
        ("x", Some("\0")),
    ] {
        assert_eq!(
            Parameter::new(keyword, value),
            Err(E::Syntax),
            "{keyword:?} {value:?}"
        );
    }
    let o = Orcpt::new("rfc822", "a@b").unwrap();
    assert_eq!((o.addr_type(), o.address()), ("rfc822", "a@b"));
    for (t, a) in [
        ("", "a"),
        ("rfc 822", "a"),
        ("rfc=822", "a"),
        ("rfc;822", "a"),
        ("rfc822", ""),
        ("rfc822", "a\r\nb"),
        ("rfc822", "a\u{85}"),
    ] {
        assert_eq!(
            Orcpt::new(t, a),
            Err(E::BadValue("ORCPT".into())),
            "{t:?} {a:?}"
        );
    }
    assert_eq!(BodyType::BinaryMime.as_str(), "BINARYMIME");
    assert_eq!(Ret::Headers.as_str(), "HDRS");
}

#[test]
fn xtext() {
    let encode = |b: &[u8]| {
        let mut out = Vec::new();
        xtext_encode(b, &mut out);
        out
    };
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b""),
        (b"abc", b"abc"),
        (b"a+b=c", b"a+2Bb+3Dc"),
        (b" ~!", b"+20~!"),
        (b"\r\n\0\x7f", b"+0D+0A+00+7F"),
        (b"\xc3\xa9\xff", b"+C3+A9+FF"),
    ];
    for (raw, encoded) in cases {
        assert_eq!(encode(raw), *encoded);
        assert_eq!(xtext_decode(encoded).as_deref(), Ok(*raw));
    }
    assert_eq!(xtext_decode(b"+2b+c3+a9").as_deref(), Ok(&b"+\xc3\xa9"[..]));
    assert_eq!(xtext_decode(b"+41"), Ok(b"A".to_vec()));
    for bad in [
        &b"="[..],
        b"a=b",
        b"+",
        b"+4",
        b"+4G",
        b"+G4",
        b"++41",
        b"a b",
        b"\r\n",
        b"\x7f",
        b"\xc3\xa9",
        b"+-1",
    ] {
        assert_eq!(xtext_decode(bad), Err(E::InvalidXtext), "{bad:?}");
    }
}

#[test]
fn errors_display() {
    assert_eq!(
        E::Duplicate("SIZE".into()).to_string(),
        "duplicate ESMTP parameter SIZE"
    );
    assert_eq!(
        E::BadValue("RET".into()).to_string(),
        "invalid value for ESMTP parameter RET"
    );
}
