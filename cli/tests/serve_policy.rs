//! The policy examples of tcllib smtpd's documentation and the relay
//! script it shipped, each as one command line (README, "Policy"), with
//! one refused and one accepted case each. Tests run on loopback, so the
//! seed's `192.168.1.*` is `127.0.0.2*` here.

mod relay_support;
mod serve_support;

use relay_support::{MESSAGE, Relay, Smtp};
use serve_support::Serve;

/// A session from `from` to `serve`, greeted.
fn session(from: &str, serve: &Serve) -> (Smtp, u16) {
    let addr = format!("127.0.0.1:{}", serve.port()).parse().expect("addr");
    let mut c = Smtp::connect_from(from, addr);
    let code = c.reply().0;
    (c, code)
}

#[test]
fn validate_host_refuses_a_subnet() {
    // proc validate_host {ipnum} { if {[string match "192.168.1.*" $ipnum]} { error … } }
    let serve = Serve::start(&["--deny-host", "127.0.0.2*"]);
    let (mut refused, code) = session("127.0.0.2", &serve);
    assert_eq!(code, 554);
    assert_eq!(refused.cmd("MAIL FROM:<a@example.org>").0, 503);
    let (mut ok, code) = session("127.0.0.1", &serve);
    assert_eq!(code, 220);
    assert_eq!(ok.cmd("EHLO client.test").0, 250);
    assert_eq!(ok.mail("a@example.org", &["b@example.org"], MESSAGE).0, 250);
    assert_eq!(serve.messages().len(), 1);
}

#[test]
fn validate_sender_refuses_the_user_denied() {
    // proc validate_sender … if {[string match "denied" $addr(local)]} { error … }
    let serve = Serve::start(&["--deny-sender", "denied@*"]);
    let (mut c, code) = session("127.0.0.1", &serve);
    assert_eq!(code, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.cmd("MAIL FROM:<denied@example.org>");
    assert_eq!(code, 550, "{text}");
    assert!(text.contains("5.7.1"), "{text}");
    assert_eq!(
        c.mail("notdenied@example.org", &["b@example.org"], MESSAGE)
            .0,
        250
    );
    assert_eq!(serve.messages().len(), 1);
}

#[test]
fn validate_recipient_refuses_bogus_mailboxes() {
    // proc validate_recipient … if {[string match "bogus*" $addr(local)]} { error … }
    let serve = Serve::start(&["--deny-recipient", "bogus*@*"]);
    let (mut c, code) = session("127.0.0.1", &serve);
    assert_eq!(code, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 250);
    let (code, text) = c.cmd("RCPT TO:<bogus42@example.org>");
    assert_eq!(code, 550, "{text}");
    assert_eq!(c.cmd("RCPT TO:<realbogus@example.org>").0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    c.send(MESSAGE.trim_end_matches("\r\n"));
    assert_eq!(c.cmd(".").0, 250);
    assert_eq!(serve.messages().len(), 1);
}

#[test]
fn allow_lists_close_and_a_deny_wins() {
    let serve = Serve::start(&[
        "--allow-sender",
        "*@example.org",
        "--allow-sender",
        "",
        "--deny-sender",
        "spam*@example.org",
        "--allow-recipient",
        "*@example.net",
    ]);
    let (mut c, _) = session("127.0.0.1", &serve);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@example.com>").0, 550, "not allowed");
    assert_eq!(c.cmd("MAIL FROM:<spammer@example.org>").0, 550, "denied");
    assert_eq!(c.cmd("MAIL FROM:<>").0, 250, "'' allows the null sender");
    assert_eq!(c.cmd("RCPT TO:<b@example.org>").0, 550, "not allowed");
    assert_eq!(c.cmd("RCPT TO:<b@EXAMPLE.net>").0, 250);
    assert_eq!(c.cmd("RSET").0, 250);
}

#[test]
fn the_clearquest_relay_allows_one_host() {
    // set allowedHostIPList {127.0.0.1}; set allowedUserPatternList {*};
    // validate_recipient ok; smtp::sendmessage … -atleastone 1
    let smarthost = Serve::start(&[]);
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--allow-host",
        "127.0.0.1",
        "--allow-sender",
        "*",
        "--smarthost",
        &format!("127.0.0.1:{}", smarthost.port()),
    ]);
    let mut refused = Smtp::connect_from("127.0.0.2", relay.addr);
    assert_eq!(refused.reply().0, 554);
    let mut ok = Smtp::connect_from("127.0.0.1", relay.addr);
    assert_eq!(ok.reply().0, 220);
    assert_eq!(ok.cmd("EHLO client.test").0, 250);
    assert_eq!(ok.mail("a@example.org", &["b@example.org"], MESSAGE).0, 250);
    assert_eq!(smarthost.messages().len(), 1);
}
