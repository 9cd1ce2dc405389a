//! `mailwire relay` as a per-recipient proxy in front of a real
//! `mailwire serve` that refuses `bogus*`: the good recipients get the
//! message, the client sees each recipient's own verdict — from a
//! scripted client and from tcllib's `smtp::sendmessage -atleastone 1`,
//! the client the seed's relay served.

mod relay_support;
mod serve_support;

use std::time::Duration;

use relay_support::{MESSAGE, Relay, Smtp};
use serve_support::{Serve, TempDir, assert_trace, run_peer};

fn smarthost() -> Serve {
    Serve::start(&["--deny-recipient", "bogus*"])
}

fn relay_to(serve: &Serve) -> Relay {
    let smarthost = format!("127.0.0.1:{}", serve.port());
    Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &smarthost])
}

#[test]
fn a_bad_recipient_never_costs_the_good_ones() {
    let serve = smarthost();
    let relay = relay_to(&serve);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(c.cmd("MAIL FROM:<alice@example.org>").0, 250);
    let codes: Vec<u16> = [
        "good1@example.org",
        "bogus@example.org",
        "good2@example.org",
    ]
    .iter()
    .map(|to| c.cmd(&format!("RCPT TO:<{to}>")).0)
    .collect();
    assert_eq!(codes, [250, 550, 250]);
    assert_eq!(c.cmd("DATA").0, 354);
    c.send(MESSAGE.trim_end_matches("\r\n"));
    let (code, text) = c.cmd(".");
    assert_eq!(code, 250, "{text}");
    assert_eq!(c.cmd("QUIT").0, 221);

    let stored = serve.messages();
    assert_eq!(stored.len(), 1);
    assert_trace(
        &stored[0].1,
        "alice@example.org",
        &["good1@example.org", "good2@example.org"],
    );
}

const TCL: &str = r#"
package require smtp
package require mime
lassign $argv port
set tok [mime::initialize -canonical text/plain -string "Hello through the relay\n"]
mime::setheader $tok From alice@example.org
mime::setheader $tok To "good1@example.org, bogus@example.org, good2@example.org"
mime::setheader $tok Subject "at least one"
set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -atleastone 1 \
    -originator alice@example.org \
    -recipients "good1@example.org,bogus@example.org,good2@example.org"]
puts "result: $r"
"#;

#[test]
fn tcllib_sendmessage_atleastone_through_the_relay() {
    let serve = smarthost();
    let relay = relay_to(&serve);
    let dir = TempDir::new("tcl-relay");
    let path = dir.join("send.tcl");
    std::fs::write(&path, TCL).expect("write script");
    let port = relay.addr.port().to_string();
    let ran = run_peer(
        "tclsh",
        &[&path.display().to_string(), &port],
        None,
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    // tcllib reports the refused recipient with its reply, and only it.
    assert!(ran.output.contains("bogus@example.org"), "{}", ran.output);
    assert!(ran.output.contains("550"), "{}", ran.output);
    assert!(!ran.output.contains("good1"), "{}", ran.output);
    let stored = serve.messages();
    assert_eq!(stored.len(), 1, "{}", relay.log());
    assert_trace(
        &stored[0].1,
        "alice@example.org",
        &["good1@example.org", "good2@example.org"],
    );
    assert!(stored[0].1.contains("\r\nSubject: at least one\r\n"));
}
