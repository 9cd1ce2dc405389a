//! Client transcripts: AUTH — mechanism choice, fallback only on an
//! unusable mechanism, stop on 535/454, credentials withheld without
//! verified TLS, initial responses, and the published SASL vectors
//! (RFC 2195, RFC 2831, RFC 7677) through the connection's AUTH exchange
//! with injected nonces.

mod client_common;

use std::sync::Arc;

use client_common::{Harness, config, envelope, tls};
use mailwire_core::client::{
    AuthSecurity, ClientConfig, ClientEvent, ClientSession, CloseKind, Phase, TlsPolicy,
};
use mailwire_core::sasl::{Credentials, Mechanism, encode_base64};

fn b64(s: &str) -> String {
    encode_base64(s.as_bytes())
}

/// A config that may authenticate over the harness's verified implicit TLS.
fn auth_config(credentials: Credentials) -> ClientConfig {
    config().with_credentials(credentials)
}

/// Connected over verified implicit TLS to `server`, greeting and EHLO
/// done with these capability lines.
fn connected(cfg: ClientConfig, server: &str, caps: &[&str]) -> Harness {
    let session = ClientSession::new(server).with_implicit_tls(tls(true));
    let mut h = Harness::with_session(cfg, session);
    h.ehlo(caps);
    h
}

#[test]
fn rfc2195_cram_md5_on_the_wire() {
    let cfg = auth_config(Credentials::password("tim", "tanstaaftanstaaf"));
    let mut h = connected(cfg, "postoffice.reston.mci.net", &["AUTH CRAM-MD5"]);
    h.script(
        "C: AUTH CRAM-MD5
         S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
         C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
         S: 235 2.7.0 Authentication successful",
    );
    let events = h.take_events();
    assert_eq!(
        events[0],
        ClientEvent::Authenticated {
            mechanism: Mechanism::CramMd5
        }
    );
    assert!(matches!(events[1], ClientEvent::Ready { .. }));
    assert_eq!(h.conn.authenticated(), Some(Mechanism::CramMd5));
}

#[test]
fn rfc2831_digest_md5_on_the_wire() {
    let mut cfg = auth_config(Credentials::password("chris", "secret"));
    cfg.sasl_service = "imap".into();
    cfg.sasl_nonce = Some(Arc::new(|_| "OA6MHXh6VqTrRk".to_owned()));
    let mut h = connected(cfg, "elwood.innosoft.com", &["AUTH DIGEST-MD5"]);
    let challenge = b64(
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8",
    );
    let response = b64(
        "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\",response=d388dad90d4bbd760a152321f2143af7,qop=auth",
    );
    let rspauth = b64("rspauth=ea40f60335c427b5527b84dbabcdfffd");
    h.script(&format!(
        "C: AUTH DIGEST-MD5
         S: 334 {challenge}
         C: {response}
         S: 334 {rspauth}
         C:
         S: 235 2.7.0 ok"
    ));
    assert_eq!(h.conn.authenticated(), Some(Mechanism::DigestMd5));
    assert!(h.conn.is_ready());
}

#[test]
fn rfc2831_digest_md5_wrong_rspauth_is_an_impostor() {
    let mut cfg = auth_config(Credentials::password("chris", "secret"));
    cfg.sasl_service = "imap".into();
    cfg.sasl_nonce = Some(Arc::new(|_| "OA6MHXh6VqTrRk".to_owned()));
    let mut h = connected(cfg, "elwood.innosoft.com", &["AUTH DIGEST-MD5 PLAIN"]);
    let challenge = b64(
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess,charset=utf-8",
    );
    h.server(&format!("334 {challenge}"));
    h.take_sent();
    h.script(&format!(
        "S: 334 {}
         C: *
         S: 501 cancelled",
        b64("rspauth=00000000000000000000000000000000")
    ));
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServerNotAuthenticated);
    assert!(!String::from_utf8_lossy(&h.wire).contains("AUTH PLAIN"));
}

const SCRAM_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const SCRAM_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SCRAM_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn scram_config() -> ClientConfig {
    let mut cfg = auth_config(Credentials::password("user", "pencil"));
    cfg.sasl_nonce = Some(Arc::new(|m| {
        assert_eq!(m, Mechanism::ScramSha256);
        "rOprNGfwEbeRWgbNEkqO".to_owned()
    }));
    cfg
}

#[test]
fn rfc7677_scram_sha256_on_the_wire() {
    let mut h = connected(
        scram_config(),
        "mx.example.com",
        &["AUTH PLAIN SCRAM-SHA-256 LOGIN"],
    );
    h.script(&format!(
        "C: AUTH SCRAM-SHA-256 {}
         S: 334 {}
         C: {}
         S: 334 {}
         C:
         S: 235 2.7.0 ok",
        b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"),
        b64(SCRAM_SERVER_FIRST),
        b64(SCRAM_CLIENT_FINAL),
        b64(SCRAM_SERVER_FINAL),
    ));
    assert_eq!(h.conn.authenticated(), Some(Mechanism::ScramSha256));
    assert!(h.conn.is_ready());
}

#[test]
fn rfc7677_scram_wrong_server_signature_is_an_impostor() {
    let mut h = connected(
        scram_config(),
        "mx.example.com",
        &["AUTH SCRAM-SHA-256 PLAIN"],
    );
    h.take_sent();
    h.server(&format!("334 {}", b64(SCRAM_SERVER_FIRST)));
    h.take_sent();
    h.script(&format!(
        "S: 334 {}
         C: *
         S: 501 5.7.0 cancelled",
        b64("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    ));
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServerNotAuthenticated);
    assert_eq!(reason.phase, Phase::Auth);
    assert!(
        !String::from_utf8_lossy(&h.wire).contains("AUTH PLAIN"),
        "no fallback"
    );
}

#[test]
fn scram_235_without_the_server_proof_is_not_authenticated() {
    let mut h = connected(scram_config(), "mx.example.com", &["AUTH SCRAM-SHA-256"]);
    h.take_sent();
    h.server(&format!("334 {}", b64(SCRAM_SERVER_FIRST)));
    h.take_sent();
    h.server("235 2.7.0 trust me");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServerNotAuthenticated);
    assert_eq!(h.take_sent(), "", "no MAIL, no QUIT to an impostor");
    assert!(!h.has_event(|e| matches!(e, ClientEvent::Ready { .. })));
}

#[test]
fn fallback_on_504_then_success() {
    let cfg = auth_config(Credentials::password("tim", "tanstaaftanstaaf"));
    let mut h = connected(
        cfg,
        "mx.example.com",
        &["AUTH PLAIN CRAM-MD5 SCRAM-SHA-256"],
    );
    let ir = h.take_sent();
    assert!(ir.starts_with("AUTH SCRAM-SHA-256 "), "{ir}");
    h.script(
        "S: 504 5.5.4 mechanism not available
         C: AUTH CRAM-MD5
         S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
         C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
         S: 235 ok",
    );
    assert_eq!(h.conn.authenticated(), Some(Mechanism::CramMd5));
}

#[test]
fn fallback_on_534_and_538_too() {
    let cfg = auth_config(Credentials::password("u", "p"));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN LOGIN CRAM-MD5"]);
    h.script(
        "C: AUTH CRAM-MD5
         S: 534 5.7.9 too weak
         C: AUTH LOGIN
         S: 538 5.7.11 encryption required
         C: AUTH PLAIN AHUAcA==
         S: 235 ok",
    );
    assert_eq!(h.conn.authenticated(), Some(Mechanism::Plain));
}

#[test]
fn every_mechanism_unusable_fails_with_the_last_reply() {
    let cfg = auth_config(Credentials::password("u", "p"));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN"]);
    h.script("C: AUTH PLAIN AHUAcA==\nS: 504 no\nC: QUIT\nS: 221 bye");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::AuthFailed);
    assert_eq!(reason.reply.unwrap().code().as_u16(), 504);
    assert_eq!(
        reason.command.as_deref(),
        Some("AUTH PLAIN"),
        "credentials never shown"
    );
}

#[test]
fn stop_on_535_never_retry_weaker() {
    let cfg = auth_config(Credentials::password("tim", "wrong"));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN LOGIN CRAM-MD5"]);
    h.script(
        "C: AUTH CRAM-MD5
         S: 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
    );
    h.take_sent();
    h.script(
        "S: 535-5.7.8 Authentication credentials invalid
         S: 535 5.7.8 see you
         C: QUIT
         S: 221 bye",
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::AuthFailed);
    assert_eq!(reason.phase, Phase::Auth);
    let reply = reason.reply.unwrap();
    assert_eq!(
        reply.lines(),
        ["Authentication credentials invalid", "see you"]
    );
    assert_eq!(reason.command.as_deref(), Some("AUTH CRAM-MD5 (response)"));
    let wire = String::from_utf8_lossy(&h.wire).into_owned();
    assert!(
        !wire.contains("AUTH LOGIN") && !wire.contains("AUTH PLAIN"),
        "{wire}"
    );
    assert!(!wire.contains("MAIL"), "never unauthenticated");
}

#[test]
fn stop_on_454() {
    let cfg = auth_config(Credentials::password("u", "p"));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN LOGIN"]);
    h.script("C: AUTH LOGIN\nS: 454 4.7.0 temporary failure\nC: QUIT");
    assert_eq!(h.closed(), None);
    h.eof();
    assert_eq!(h.closed().unwrap().kind, CloseKind::AuthFailed);
}

#[test]
fn login_follows_the_prompts() {
    let cfg = auth_config(Credentials::password("user", "pass"));
    let mut h = connected(cfg, "mx.example.com", &["AUTH LOGIN"]);
    h.script(&format!(
        "C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: {}
         S: 334 UGFzc3dvcmQ6
         C: {}
         S: 235 ok",
        b64("user"),
        b64("pass")
    ));
    assert_eq!(h.conn.authenticated(), Some(Mechanism::Login));
}

#[test]
fn xoauth2_when_a_token_is_given() {
    let cfg = auth_config(Credentials::oauth_token("me@x.example", "ya29.tok"));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN XOAUTH2"]);
    h.script(&format!(
        "C: AUTH XOAUTH2 {}
         S: 235 ok",
        b64("user=me@x.example\x01auth=Bearer ya29.tok\x01\x01")
    ));
    assert_eq!(h.conn.authenticated(), Some(Mechanism::XOAuth2));
}

#[test]
fn long_initial_response_goes_after_an_empty_334() {
    let password = "p".repeat(400);
    let cfg = auth_config(Credentials::password("user", password.clone()));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN"]);
    h.script(&format!(
        "C: AUTH PLAIN
         S: 334
         C: {}
         S: 235 ok",
        encode_base64(format!("\0user\0{password}").as_bytes())
    ));
    assert_eq!(h.conn.authenticated(), Some(Mechanism::Plain));
    // Just under the limit: on the AUTH line.
    let password = "p".repeat(360);
    let cfg = auth_config(Credentials::password("user", password));
    let mut h = connected(cfg, "mx.example.com", &["AUTH PLAIN"]);
    let line = h.take_sent();
    assert!(
        line.starts_with("AUTH PLAIN A") && line.len() <= 512,
        "{}",
        line.len()
    );
}

#[test]
fn credentials_withheld_in_plaintext() {
    let mut h = Harness::new(
        config()
            .with_tls(TlsPolicy::opportunistic())
            .with_credentials(Credentials::password("u", "secret")),
    );
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 250-mx
         S: 250 AUTH PLAIN LOGIN CRAM-MD5
         C: QUIT
         S: 221 bye",
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::CredentialsWithheld);
    assert!(!String::from_utf8_lossy(&h.wire).contains("AUTH"));
    assert!(!h.has_event(|e| matches!(e, ClientEvent::Ready { .. })));
}

#[test]
fn credentials_withheld_after_starttls_was_stripped() {
    let mut h = Harness::new(
        config()
            .with_tls(TlsPolicy::opportunistic())
            .with_credentials(Credentials::password("u", "secret")),
    );
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 250-mx
         S: 250-STARTTLS
         S: 250 AUTH PLAIN
         C: STARTTLS
         S: 454 4.7.0 not today",
    );
    let token = match h.take_events().pop() {
        Some(ClientEvent::TlsPolicyRequest { token, .. }) => token,
        e => panic!("{e:?}"),
    };
    h.conn
        .decide_plaintext(
            h.now,
            token,
            mailwire_core::client::PlaintextDecision::Continue,
        )
        .unwrap();
    h.script("C: QUIT\nS: 221 bye");
    assert_eq!(h.closed().unwrap().kind, CloseKind::CredentialsWithheld);
}

#[test]
fn credentials_withheld_over_unverified_tls() {
    let cfg = config()
        .with_tls(TlsPolicy::opportunistic())
        .with_credentials(Credentials::password("u", "secret"));
    let mut h = Harness::new(cfg.clone());
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 250-mx
         S: 250 STARTTLS
         C: STARTTLS
         S: 220 go",
    );
    h.conn.tls_established(h.now, tls(false)).unwrap();
    h.script(
        "C: EHLO client.example
         S: 250-mx
         S: 250 AUTH PLAIN
         C: QUIT
         S: 221 bye",
    );
    assert_eq!(h.closed().unwrap().kind, CloseKind::CredentialsWithheld);

    // The application may accept any TLS explicitly.
    let mut h = Harness::new(cfg.with_auth_security(AuthSecurity::AnyTls));
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 250-mx
         S: 250 STARTTLS
         C: STARTTLS
         S: 220 go",
    );
    h.conn.tls_established(h.now, tls(false)).unwrap();
    h.script(
        "C: EHLO client.example
         S: 250-mx
         S: 250 AUTH PLAIN
         C: AUTH PLAIN AHUAc2VjcmV0
         S: 235 ok",
    );
    assert!(h.conn.is_ready());
}

#[test]
fn plaintext_auth_only_when_explicitly_allowed() {
    let cfg = config()
        .with_credentials(Credentials::password("u", "p"))
        .with_auth_security(AuthSecurity::Plaintext);
    let mut h = Harness::new(cfg);
    h.ehlo(&["AUTH PLAIN"]);
    h.script("C: AUTH PLAIN AHUAcA==\nS: 235 ok");
    assert!(h.conn.is_ready());
}

#[test]
fn auth_unavailable_closes() {
    let cfg = auth_config(Credentials::password("u", "p"));
    let mut h = connected(cfg.clone(), "mx.example.com", &["PIPELINING"]);
    h.script("C: QUIT\nS: 221 bye");
    assert_eq!(h.closed().unwrap().kind, CloseKind::AuthUnavailable);
    // Only a mechanism the password cannot serve.
    let mut h = connected(cfg, "mx.example.com", &["AUTH XOAUTH2 GSSAPI"]);
    h.script("C: QUIT");
    h.eof();
    assert_eq!(h.closed().unwrap().kind, CloseKind::AuthUnavailable);
}

#[test]
fn a_mechanism_that_fails_locally_is_skipped() {
    // DIGEST-MD5 cannot name a host with a comma: skipped, CRAM-MD5 used.
    let cfg = auth_config(Credentials::password("tim", "tanstaaftanstaaf"));
    let mut cfg = cfg;
    cfg.auth_mechanisms = vec![Mechanism::DigestMd5, Mechanism::CramMd5];
    let mut h = connected(cfg, "bad,host", &["AUTH DIGEST-MD5 CRAM-MD5"]);
    h.script("C: AUTH CRAM-MD5");
}

#[test]
fn preference_is_configurable() {
    let mut cfg = auth_config(Credentials::password("u", "p"));
    cfg.auth_mechanisms = vec![Mechanism::Plain, Mechanism::ScramSha256];
    let mut h = connected(cfg, "mx.example.com", &["AUTH SCRAM-SHA-256 PLAIN"]);
    h.script("C: AUTH PLAIN AHUAcA==\nS: 235 ok");
    let mut h2 = h;
    h2.take_events();
    h2.conn
        .send_mail(h2.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h2.script("C: MAIL FROM:<a@x.example>");
}
