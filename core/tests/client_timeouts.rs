//! Client timeouts (RFC 5321 §4.5.3.2) on a virtual clock: each phase
//! closes exactly at its deadline, with the phase and the command.

mod client_common;

use std::time::Duration;

use bytes::Bytes;
use client_common::{Harness, config, envelope, tls};
use mailwire_core::client::{
    ClientConfig, CloseKind, MailOptions, Outcome, Phase, RecipientStatus, SendPolicy, TlsPolicy,
};
use mailwire_core::sasl::Credentials;

const MIN: u64 = 60;

fn mins(n: u64) -> Duration {
    Duration::from_secs(n * MIN)
}

/// Runs to the deadline and checks the close.
fn times_out(h: &mut Harness, after: Duration, phase: Phase, command: Option<&str>) {
    let waited = h.run_to_deadline();
    assert_eq!(waited, after, "deadline for {phase:?}");
    let reason = h.closed().expect("closed");
    assert_eq!(reason.kind, CloseKind::Timeout, "{reason}");
    assert_eq!(reason.phase, phase);
    assert_eq!(reason.command.as_deref(), command);
    assert!(h.close_seen);
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn greeting_times_out_after_5_minutes() {
    let mut h = Harness::new(config());
    times_out(&mut h, mins(5), Phase::Greeting, Some("<connect>"));
}

#[test]
fn ehlo_times_out_after_5_minutes() {
    let mut h = Harness::new(config());
    h.advance(mins(4));
    h.script("S: 220 mx\nC: EHLO client.example");
    // The wait starts when EHLO is sent.
    times_out(&mut h, mins(5), Phase::Ehlo, Some("EHLO client.example"));
}

#[test]
fn starttls_and_handshake_and_decision_time_out() {
    let start = |h: &mut Harness| {
        h.script("S: 220 mx\nC: EHLO client.example\nS: 250-mx\nS: 250 STARTTLS\nC: STARTTLS");
    };
    let mut h = Harness::new(config().with_tls(TlsPolicy::required()));
    start(&mut h);
    times_out(&mut h, mins(5), Phase::StartTls, Some("STARTTLS"));

    let mut h = Harness::new(config().with_tls(TlsPolicy::required()));
    start(&mut h);
    h.server("220 go");
    times_out(&mut h, mins(1), Phase::TlsHandshake, None);

    let mut h = Harness::new(config().with_tls(TlsPolicy::opportunistic()));
    start(&mut h);
    h.server("454 no");
    times_out(&mut h, mins(1), Phase::PolicyDecision, None);
}

#[test]
fn auth_step_times_out() {
    let cfg = config()
        .with_credentials(Credentials::password("u", "p"))
        .with_auth_security(mailwire_core::client::AuthSecurity::Plaintext);
    let mut h = Harness::new(cfg);
    h.ehlo(&["AUTH LOGIN"]);
    h.script("C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6");
    h.take_sent();
    times_out(&mut h, mins(5), Phase::Auth, Some("AUTH LOGIN (response)"));
}

fn ready(cfg: ClientConfig, caps: &[&str]) -> Harness {
    let mut h = Harness::new(cfg);
    h.ehlo(caps);
    h.take_events();
    h
}

#[test]
fn mail_and_rcpt_time_out_after_5_minutes() {
    let mut h = ready(config(), &[]);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>");
    times_out(
        &mut h,
        mins(5),
        Phase::Mail,
        Some("MAIL FROM:<a@x.example>"),
    );
    assert!(matches!(h.outcome().outcome, Outcome::NotSent { .. }));

    let mut h = ready(config(), &[]);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>");
    h.advance(mins(4));
    h.script("S: 250 ok\nC: RCPT TO:<b@y.example>");
    times_out(&mut h, mins(5), Phase::Rcpt, Some("RCPT TO:<b@y.example>"));
}

#[test]
fn pipelined_rcpt_waits_start_when_the_previous_reply_arrives() {
    let mut h = ready(config(), &["PIPELINING"]);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example", "c@y.example"]),
        )
        .unwrap();
    h.take_sent();
    h.advance(mins(4));
    h.server("250 ok");
    h.advance(mins(4));
    h.server("250 ok");
    times_out(&mut h, mins(5), Phase::Rcpt, Some("RCPT TO:<c@y.example>"));
}

fn at_data(h: &mut Harness) {
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 ok
         C: RCPT TO:<b@y.example>
         S: 250 ok
         C: DATA",
    );
}

#[test]
fn data_initiation_times_out_after_2_minutes() {
    let mut h = ready(config(), &[]);
    at_data(&mut h);
    times_out(&mut h, mins(2), Phase::DataInit, Some("DATA"));
}

#[test]
fn data_block_times_out_after_3_minutes_of_silence_from_the_application() {
    let mut h = ready(config(), &[]);
    at_data(&mut h);
    h.server("354 go");
    h.advance(mins(2));
    h.conn
        .send_body(h.now, Bytes::from_static(b"part"))
        .unwrap();
    h.drain();
    times_out(&mut h, mins(3), Phase::DataBlock, None);
    assert_eq!(
        h.outcome().outcome,
        Outcome::NotSent {
            reason: mailwire_core::client::NotSentReason::ConnectionClosed,
            reply: None
        }
    );
}

#[test]
fn data_termination_times_out_after_10_minutes_unknown() {
    let mut h = ready(config(), &[]);
    at_data(&mut h);
    h.server("354 go");
    h.body(b"x");
    h.take_sent();
    times_out(&mut h, mins(10), Phase::DataTermination, Some("."));
    let o = h.outcome();
    assert_eq!(o.outcome, Outcome::Unknown);
    assert_eq!(o.recipients[0].status, RecipientStatus::Unknown);
}

#[test]
fn rset_times_out_after_2_minutes() {
    let mut h = ready(config(), &[]);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 550 no\nC: RSET");
    times_out(&mut h, mins(2), Phase::Rset, Some("RSET"));
}

#[test]
fn quit_times_out_after_2_minutes_and_ends_normally() {
    let mut h = ready(config(), &[]);
    h.conn.quit(h.now).unwrap();
    h.script("C: QUIT");
    let waited = h.run_to_deadline();
    assert_eq!(waited, mins(2));
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::Timeout);
    assert_eq!(reason.phase, Phase::Quit);
}

#[test]
fn bdat_chunks_time_out_as_data_blocks_and_the_last_as_termination() {
    let mut cfg = config();
    cfg.chunking = true;
    let mut h = ready(cfg.clone(), &["CHUNKING"]);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 250 ok\nC: RCPT TO:<b@y.example>\nS: 250 ok");
    h.conn.send_body(h.now, Bytes::from_static(b"abc")).unwrap();
    assert_eq!(h.take_sent(), "BDAT 3\r\nabc");
    // Lock-step BDAT: no body deadline while the chunk reply is awaited.
    assert!(!h.conn.wants_body());
    times_out(&mut h, mins(3), Phase::DataBlock, Some("BDAT 3"));

    let mut h = ready(cfg, &["CHUNKING"]);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 250 ok\nC: RCPT TO:<b@y.example>\nS: 250 ok");
    h.conn.end_body(h.now).unwrap();
    h.script("C: BDAT 0 LAST");
    times_out(
        &mut h,
        mins(10),
        Phase::DataTermination,
        Some("BDAT 0 LAST"),
    );
    assert_eq!(h.outcome().outcome, Outcome::Unknown);
}

#[test]
fn timeouts_are_configurable_and_early_calls_do_nothing() {
    let mut cfg = config();
    cfg.timeouts.greeting = Duration::from_secs(7);
    let mut h = Harness::new(cfg);
    h.advance(Duration::from_secs(6));
    assert!(!h.conn.is_closed());
    times_out(
        &mut h,
        Duration::from_secs(1),
        Phase::Greeting,
        Some("<connect>"),
    );
}

#[test]
fn at_least_one_pipelined_data_in_group_times_out_as_data_init() {
    let mut h = ready(config(), &["PIPELINING"]);
    let env = envelope("a@x.example", &["b@y.example"])
        .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne));
    h.conn.send_mail(h.now, env).unwrap();
    h.take_sent();
    h.server("250 ok\n250 ok");
    times_out(&mut h, mins(2), Phase::DataInit, Some("DATA"));
}

#[test]
fn implicit_tls_session_has_no_handshake_deadline() {
    let session =
        mailwire_core::client::ClientSession::new("mx.example.com").with_implicit_tls(tls(true));
    let h = Harness::with_session(config(), session);
    assert_eq!(
        h.conn.poll_timeout(),
        Some(h.start + mins(5)),
        "only the greeting wait"
    );
}

#[test]
fn qued_times_out_like_ehlo() {
    let mut cfg = config();
    cfg.queue = true;
    let mut h = Harness::new(cfg);
    h.ehlo(&["XQUE"]);
    h.script("C: QUED");
    times_out(&mut h, mins(5), Phase::Queue, Some("QUED"));
}

#[test]
fn huge_timeouts_mean_no_deadline_and_no_overflow() {
    let mut cfg = config();
    cfg.timeouts.greeting = Duration::MAX;
    cfg.timeouts.hello = Duration::MAX;
    let mut h = Harness::new(cfg);
    assert_eq!(h.conn.poll_timeout(), None);
    h.script("S: 220 mx\nC: EHLO client.example");
    assert_eq!(h.conn.poll_timeout(), None);
    h.advance(Duration::from_secs(1_000_000));
    assert!(!h.conn.is_closed());
}
