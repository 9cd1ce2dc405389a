//! Server transcripts: AUTH with every server mechanism, including the
//! published vectors of RFC 2195 (CRAM-MD5) and RFC 7677 (SCRAM-SHA-256) on
//! the wire, the AUTH policies and limits.

mod common;

use common::{Answer, Harness, auth_config, authenticated, b64, config, refuse, upgrade};
use mailwire_core::UsageError;
use mailwire_core::sasl::{
    Mechanism, ScramCredentials, StoredSecret, decode_base64, encode_base64,
};
use mailwire_core::server::{
    AuthCheck, CloseKind, NonceSource, ServerConfig, ServerEvent, SessionInfo, Verdict,
};

// ---------------------------------------------------------------------------
// AUTH.

fn auth_ready() -> Harness {
    let mut h = Harness::new(auth_config());
    h.ehlo();
    upgrade(&mut h);
    let ehlo = h.ehlo();
    assert!(ehlo.contains("AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN\r\n"));
    h
}

#[test]
fn plain_with_and_without_initial_response() {
    let mut h = auth_ready();
    assert_eq!(
        h.cmd(&format!("AUTH PLAIN {}", b64("\0tim\0wrong"))),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(h.cmd("AUTH PLAIN"), "334 \r\n");
    assert_eq!(
        h.cmd(&b64("admin\0tim\0tanstaaftanstaaf")),
        "235 2.7.0 Authentication successful\r\n"
    );
    let auth = h.conn.authenticated().unwrap();
    assert_eq!(auth.username, "tim");
    assert_eq!(auth.authzid.as_deref(), Some("admin"));
    assert_eq!(auth.mechanism, Mechanism::Plain);
    assert_eq!(authenticated(&h), 1);
    assert_eq!(h.cmd("AUTH PLAIN"), "503 5.5.1 Already authenticated\r\n");
    // The password is in the event, but never in its Debug output.
    let debug = format!("{:?}", h.events);
    assert!(!debug.contains("tanstaaftanstaaf"));
    assert!(debug.contains("VerifyPassword"));
}

#[test]
fn login() {
    let mut h = auth_ready();
    h.script(&format!(
        "C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: {}
         S: 334 UGFzc3dvcmQ6
         C: {}
         S: 235 2.7.0 Authentication successful",
        b64("tim"),
        b64("tanstaaftanstaaf")
    ));
    // The user name as an initial response is accepted too.
    let mut h = auth_ready();
    h.script(&format!(
        "C: AUTH LOGIN {}
         S: 334 UGFzc3dvcmQ6
         C: {}
         S: 535 5.7.8 Authentication credentials invalid",
        b64("tim"),
        b64("nope")
    ));
}

fn rfc2195_config() -> ServerConfig {
    let mut c = auth_config();
    c.domain = "postoffice.reston.mci.net".into();
    c.sasl_nonce = NonceSource::fixed("1896.697170952");
    c
}

#[test]
fn cram_md5_rfc2195_vector_on_the_wire() {
    let mut h = Harness::new(rfc2195_config());
    h.ehlo();
    upgrade(&mut h);
    h.ehlo();
    h.script(
        "C: AUTH CRAM-MD5
         S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
         C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
         S: 235 2.7.0 Authentication successful",
    );
    let asked = h.events.iter().any(|e| {
        matches!(e, ServerEvent::AuthRequest {
            mechanism: Mechanism::CramMd5,
            check: AuthCheck::NeedSecret { username, .. },
            ..
        } if username == "tim")
    });
    assert!(asked);
    assert_eq!(h.conn.authenticated().unwrap().username, "tim");
}

#[test]
fn cram_md5_wrong_password_and_unknown_user_look_alike() {
    for (user, secret) in [("tim", Some("tanstaaf")), ("nobody", None)] {
        let decider = Box::new(move |e: &ServerEvent| match e {
            ServerEvent::AuthRequest {
                check: AuthCheck::NeedSecret { .. },
                ..
            } => Answer::Secret(secret.map(StoredSecret::password)),
            _ => Answer::Verdict(Verdict::Accept),
        });
        let mut h = Harness::with(rfc2195_config(), SessionInfo::default(), decider);
        h.ehlo();
        upgrade(&mut h);
        h.ehlo();
        h.cmd("AUTH CRAM-MD5");
        assert_eq!(
            h.cmd(&b64(&format!("{user} b913a602c7eda7a495b4e6e7334d3890"))),
            "535 5.7.8 Authentication credentials invalid\r\n"
        );
        assert_eq!(authenticated(&h), 0);
    }
}

const SCRAM_CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const SCRAM_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const SCRAM_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                                  p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SCRAM_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn scram_harness(known: bool) -> Harness {
    let mut c = auth_config();
    c.sasl_nonce = NonceSource::fixed("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    let decider = Box::new(move |e: &ServerEvent| match e {
        ServerEvent::AuthRequest {
            check: AuthCheck::NeedSecret { username, .. },
            ..
        } => {
            assert_eq!(username, "user");
            Answer::Secret(known.then(|| {
                let salt = decode_base64("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
                StoredSecret::Scram(ScramCredentials::from_password("pencil", &salt, 4096).unwrap())
            }))
        }
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(c, SessionInfo::default(), decider);
    h.ehlo();
    upgrade(&mut h);
    h.ehlo();
    h
}

#[test]
fn scram_sha256_rfc7677_vector_on_the_wire() {
    let mut h = scram_harness(true);
    h.script(&format!(
        "C: AUTH SCRAM-SHA-256 {}
         S: 334 {}
         C: {}
         S: 334 {}
         C:
         S: 235 2.7.0 Authentication successful",
        b64(SCRAM_CLIENT_FIRST),
        b64(SCRAM_SERVER_FIRST),
        b64(SCRAM_CLIENT_FINAL),
        b64(SCRAM_SERVER_FINAL),
    ));
    assert_eq!(h.conn.authenticated().unwrap().username, "user");
    // The same exchange with the client-first after an empty challenge.
    let mut h = scram_harness(true);
    h.script(&format!(
        "C: AUTH SCRAM-SHA-256
         S: 334 
         C: {}
         S: 334 {}
         C: {}
         S: 334 {}
         C:
         S: 235 2.7.0 Authentication successful",
        b64(SCRAM_CLIENT_FIRST),
        b64(SCRAM_SERVER_FIRST),
        b64(SCRAM_CLIENT_FINAL),
        b64(SCRAM_SERVER_FINAL),
    ));
}

#[test]
fn scram_unknown_user_runs_to_the_end_and_fails() {
    let mut h = scram_harness(false);
    let out = h.cmd(&format!("AUTH SCRAM-SHA-256 {}", b64(SCRAM_CLIENT_FIRST)));
    // A plausible server-first message: nothing says the user is unknown.
    let challenge = out.strip_prefix("334 ").unwrap().trim_end();
    let text = String::from_utf8(decode_base64(challenge).unwrap()).unwrap();
    assert!(text.starts_with("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s="));
    assert!(text.ends_with(",i=4096"));
    assert_eq!(
        h.cmd(&b64(SCRAM_CLIENT_FINAL)),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
}

#[test]
fn scram_asks_before_acting_as_another_identity() {
    let mut c = auth_config();
    c.sasl_nonce = NonceSource::fixed("srvnonce");
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::AuthRequest { check, .. } => match check {
            AuthCheck::NeedSecret { .. } => Answer::Secret(Some(StoredSecret::password("pencil"))),
            AuthCheck::Authorize { authzid, username } => {
                assert_eq!((authzid.as_str(), username.as_str()), ("admin", "user"));
                refuse(535, "5.7.8", "Not authorised")
            }
            _ => Answer::Verdict(Verdict::Accept),
        },
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(c, SessionInfo::default(), decider);
    h.ehlo();
    upgrade(&mut h);
    h.ehlo();
    // Run a real client against it.
    use mailwire_core::sasl::{ClientContext, ClientMechanism, Credentials};
    let creds = Credentials::password("user", "pencil").with_authzid("admin");
    let mut client = ClientMechanism::new(
        Mechanism::ScramSha256,
        &creds,
        ClientContext::new("clientnonce", "mx.example.org"),
    )
    .unwrap();
    let ir = client.initial_response().unwrap();
    let out = h.cmd(&format!("AUTH SCRAM-SHA-256 {}", encode_base64(&ir)));
    let challenge = decode_base64(out.strip_prefix("334 ").unwrap().trim_end()).unwrap();
    let answer = client.step(&challenge).unwrap();
    let out = h.cmd(&encode_base64(&answer));
    let challenge = decode_base64(out.strip_prefix("334 ").unwrap().trim_end()).unwrap();
    let answer = client.step(&challenge).unwrap();
    assert_eq!(
        h.cmd(&encode_base64(&answer)),
        "535 5.7.8 Not authorised\r\n"
    );
    assert!(h.conn.authenticated().is_none());
}

#[test]
fn auth_errors() {
    let mut c = auth_config();
    c.limits.max_auth_failures = 100;
    c.limits.max_errors = 100;
    let mut h = Harness::new(c);
    h.ehlo();
    upgrade(&mut h);
    h.ehlo();
    h.script(&format!(
        "C: AUTH GSSAPI
         S: 504 5.5.4 Unrecognized authentication type
         C: AUTH XOAUTH2
         S: 504 5.5.4 Unrecognized authentication type
         C: AUTH CRAM-MD5 {}
         S: 501 5.7.0 Initial response not allowed with this mechanism
         C: AUTH PLAIN
         S: 334 
         C: *
         S: 501 5.0.0 Authentication cancelled
         C: AUTH PLAIN
         S: 334 
         C: not base64!
         S: 501 5.5.2 Cannot decode response
         C: AUTH PLAIN AHRpbQ
         S: 501 5.5.2 Cannot decode response
         C: AUTH PLAIN {}
         S: 501 5.5.2 Malformed authentication response
         C: AUTH PLAIN a b
         S: 501 5.5.4 Syntax: AUTH mechanism [initial-response]
         C: AUTH
         S: 501 5.5.4 Syntax: AUTH mechanism [initial-response]",
        b64("tim"),
        b64("no nuls"),
    ));
    // During a transaction.
    h.cmd("MAIL FROM:<a@example.net>");
    assert_eq!(
        h.cmd("AUTH PLAIN"),
        "503 5.5.1 AUTH not allowed during a mail transaction\r\n"
    );
}

#[test]
fn auth_needs_ehlo() {
    let mut h = Harness::new(auth_config());
    assert_eq!(h.cmd("AUTH PLAIN"), "503 Send EHLO first\r\n");
    h.cmd("HELO client.example.net");
    assert_eq!(h.cmd("AUTH PLAIN"), "503 Send EHLO first\r\n");
}

#[test]
fn auth_not_configured() {
    let mut h = Harness::new(config());
    assert!(!h.ehlo().contains("AUTH"));
    assert_eq!(h.cmd("AUTH PLAIN"), "502 5.5.1 AUTH not available\r\n");
}

#[test]
fn plaintext_mechanisms_need_tls() {
    let mut h = Harness::new(auth_config());
    let ehlo = h.ehlo();
    assert!(ehlo.contains("AUTH SCRAM-SHA-256 CRAM-MD5\r\n"));
    assert_eq!(
        h.cmd(&format!("AUTH PLAIN {}", b64("\0tim\0tanstaaftanstaaf"))),
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
    );
    assert_eq!(
        h.cmd("AUTH LOGIN"),
        "538 5.7.11 Encryption required for requested authentication mechanism\r\n"
    );
    assert_eq!(authenticated(&h), 0);
    // Unless configured otherwise.
    let mut c = auth_config();
    c.allow_plaintext_auth = true;
    let mut h = Harness::new(c);
    assert!(
        h.ehlo()
            .contains("AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN\r\n")
    );
    assert_eq!(
        h.code(&format!("AUTH PLAIN {}", b64("\0tim\0tanstaaftanstaaf"))),
        235
    );
}

#[test]
fn auth_failure_limit() {
    let mut h = auth_ready();
    let bad = format!("AUTH PLAIN {}", b64("\0tim\0wrong"));
    assert_eq!(h.code(&bad), 535);
    assert_eq!(h.code(&bad), 535);
    assert_eq!(
        h.cmd(&bad),
        "535 5.7.8 Authentication credentials invalid\r\n\
         421 4.7.0 Too many failed authentication attempts, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::TooManyAuthFailures));
}

#[test]
fn auth_ends_a_pipelined_group() {
    let mut h = auth_ready();
    let out = h.input(
        format!(
            "AUTH PLAIN {}\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n",
            b64("\0tim\0tanstaaftanstaaf")
        )
        .as_bytes(),
    );
    assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    assert_eq!(h.count(|e| matches!(e, ServerEvent::MailRequest { .. })), 0);
    // And behind a SASL response.
    let mut h = auth_ready();
    h.cmd("AUTH LOGIN");
    let out = h.input(format!("{}\r\nNOOP\r\n", b64("tim")).as_bytes());
    assert_eq!(out, "334 UGFzc3dvcmQ6\r\n");
}

#[test]
fn require_auth_policy() {
    let mut c = auth_config();
    c.require_auth = true;
    let mut h = Harness::new(c);
    h.ehlo();
    h.script(
        "C: MAIL FROM:<a@example.net>
         S: 530 5.7.0 Authentication required
         C: VRFY tim
         S: 530 5.7.0 Authentication required
         C: NOOP
         S: 250 2.0.0 OK
         C: RSET
         S: 250 2.0.0 OK",
    );
    upgrade(&mut h);
    h.ehlo();
    assert_eq!(h.code("MAIL FROM:<a@example.net>"), 530);
    assert_eq!(
        h.code(&format!("AUTH PLAIN {}", b64("\0tim\0tanstaaftanstaaf"))),
        235
    );
    assert_eq!(h.code("MAIL FROM:<a@example.net>"), 250);
}

#[test]
fn sasl_lines_may_be_long_but_not_unbounded() {
    let mut h = auth_ready();
    h.cmd("AUTH PLAIN");
    // Over the 512-octet command limit, within the 12,288 SASL limit.
    let long = b64(&format!("\0tim\0{}", "x".repeat(2000)));
    assert!(long.len() > 512);
    assert_eq!(
        h.cmd(&long),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    h.cmd("AUTH PLAIN");
    let too_long = "A".repeat(13_000);
    assert_eq!(
        h.cmd(&too_long),
        "500 5.5.6 Authentication exchange line is too long\r\n"
    );
    // The command line limit is back to 512.
    assert_eq!(
        h.cmd(&format!("NOOP {}", "y".repeat(600))),
        "500 5.5.2 Line too long\r\n"
    );
}

#[test]
fn secret_requests_are_answered_with_supply_secret() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::AuthRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut c = rfc2195_config();
    c.limits.max_auth_failures = 10;
    let mut h = Harness::with(c, SessionInfo::default(), decider);
    h.ehlo();
    upgrade(&mut h);
    h.ehlo();
    h.cmd("AUTH CRAM-MD5");
    h.cmd("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    let token = *h.deferred.front().unwrap();
    assert!(matches!(
        h.conn.decide(h.now, token, Verdict::Accept),
        Err(UsageError::InvalidReply(_))
    ));
    // A refusal is fine (e.g. the store is down).
    let store_down = mailwire_core::wire::reply::Reply::simple(454, "4.7.0", "Try later").unwrap();
    assert_eq!(
        h.decide(Verdict::Reply(store_down)),
        "454 4.7.0 Try later\r\n"
    );
    // And supply_secret answers it.
    h.cmd("AUTH CRAM-MD5");
    h.cmd("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    let token = h.deferred.pop_front().unwrap();
    assert_eq!(h.deferred.len(), 0);
    h.conn
        .supply_secret(
            h.now,
            token,
            Some(StoredSecret::password("tanstaaftanstaaf")),
        )
        .unwrap();
    h.drain();
    assert!(String::from_utf8_lossy(&h.out).ends_with("235 2.7.0 Authentication successful\r\n"));
    assert_eq!(
        h.conn.supply_secret(h.now, token, None),
        Err(UsageError::UnknownToken)
    );
}

#[test]
fn auth_command_line_may_carry_a_long_initial_response() {
    let mut h = auth_ready();
    let ir = b64(&format!("\0tim\0{}", "p".repeat(1000)));
    let line = format!("AUTH PLAIN {ir}");
    assert!(line.len() > 512);
    assert_eq!(
        h.cmd(&line),
        "535 5.7.8 Authentication credentials invalid\r\n"
    );
    assert_eq!(
        h.cmd(&format!("AUTH PLAIN {}", "A".repeat(13_000))),
        "500 5.5.6 Authentication exchange line is too long\r\n"
    );
}

#[test]
fn application_auth_replies_pass_through() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::AuthRequest { .. } => {
            refuse(534, "5.7.9", "Authentication mechanism is too weak")
        }
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(auth_config(), SessionInfo::default(), decider);
    h.ehlo();
    upgrade(&mut h);
    h.ehlo();
    assert_eq!(
        h.cmd(&format!("AUTH PLAIN {}", b64("\0tim\0tanstaaftanstaaf"))),
        "534 5.7.9 Authentication mechanism is too weak\r\n"
    );
    assert_eq!(authenticated(&h), 0);
}

#[test]
fn an_unsuitable_secret_is_a_temporary_failure() {
    // CRAM-MD5 needs the password; SCRAM credentials cannot serve it.
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::AuthRequest { .. } => {
            let creds = ScramCredentials::from_password("pw", b"salt", 4096).unwrap();
            Answer::Secret(Some(StoredSecret::Scram(creds)))
        }
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(auth_config(), SessionInfo::default(), decider);
    h.ehlo();
    h.cmd("AUTH CRAM-MD5");
    assert_eq!(
        h.cmd(&b64("tim b913a602c7eda7a495b4e6e7334d3890")),
        "454 4.7.0 Temporary authentication failure\r\n"
    );
}

#[test]
fn digest_md5_against_the_client_role() {
    use mailwire_core::sasl::{ClientContext, ClientMechanism, Credentials};
    let mut c = auth_config();
    c.auth_mechanisms.push(Mechanism::DigestMd5);
    let mut h = Harness::new(c);
    h.ehlo();
    let creds = Credentials::password("tim", "tanstaaftanstaaf");
    let mut client = ClientMechanism::new(
        Mechanism::DigestMd5,
        &creds,
        ClientContext::new("OA6MHXh6VqTrRk", "mx.example.org"),
    )
    .unwrap();
    let mut out = h.cmd("AUTH DIGEST-MD5");
    while let Some(challenge) = out.strip_prefix("334 ") {
        let challenge = decode_base64(challenge.trim_end()).unwrap();
        let answer = client.step(&challenge).unwrap();
        out = h.cmd(&encode_base64(&answer));
    }
    assert_eq!(out, "235 2.7.0 Authentication successful\r\n");
    client.finish().unwrap();
    assert_eq!(
        h.conn.authenticated().unwrap().mechanism,
        Mechanism::DigestMd5
    );
}

#[test]
fn mail_auth_parameter_needs_auth_advertised() {
    let mut h = Harness::new(auth_config());
    h.ehlo();
    assert_eq!(h.code("MAIL FROM:<a@example.net> AUTH=<>"), 250);
    let mut h = Harness::new(config());
    h.ehlo();
    assert_eq!(h.code("MAIL FROM:<a@example.net> AUTH=<>"), 555);
}
