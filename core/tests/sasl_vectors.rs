//! SASL mechanisms against published vectors (with the nonces injected), and
//! each client role against each server role through the base64 wire form.

use mailwire_core::sasl::{
    ClientContext, ClientMechanism, Credentials, Mechanism, SaslError, ScramCredentials,
    ServerContext, ServerMechanism, ServerStep, StoredSecret, decode_base64, encode_base64,
};

/// The base64 text of a message, as it travels in a `334` line or an answer.
fn wire(message: &[u8]) -> String {
    encode_base64(message)
}

fn unwire(text: &str) -> Vec<u8> {
    decode_base64(text).expect("valid base64")
}

fn challenge_text(step: ServerStep) -> String {
    match step {
        ServerStep::Challenge(c) => wire(&c),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// RFC 2195 §2: CRAM-MD5.

const CRAM_CHALLENGE_B64: &str = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
const CRAM_RESPONSE: &str = "tim b913a602c7eda7a495b4e6e7334d3890";

#[test]
fn rfc2195_cram_md5_client() {
    let creds = Credentials::password("tim", "tanstaaftanstaaf");
    let ctx = ClientContext::new("unused", "postoffice.reston.mci.net");
    let mut client = ClientMechanism::new(Mechanism::CramMd5, &creds, ctx).unwrap();
    assert_eq!(client.initial_response(), None);
    let challenge = unwire(CRAM_CHALLENGE_B64);
    assert_eq!(challenge, b"<1896.697170952@postoffice.reston.mci.net>");
    let response = client.step(&challenge).unwrap();
    assert_eq!(response, CRAM_RESPONSE.as_bytes());
    assert_eq!(
        wire(&response),
        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
    );
    assert_eq!(client.finish(), Ok(()));
}

#[test]
fn rfc2195_cram_md5_server() {
    let ctx = ServerContext::new("1896.697170952", "postoffice.reston.mci.net");
    let mut server = ServerMechanism::new(Mechanism::CramMd5, ctx).unwrap();
    assert_eq!(
        challenge_text(server.start(None).unwrap()),
        CRAM_CHALLENGE_B64
    );
    assert_eq!(
        server.step(CRAM_RESPONSE.as_bytes()).unwrap(),
        ServerStep::NeedSecret {
            authzid: None,
            username: "tim".into()
        }
    );
    assert_eq!(
        server
            .supply(StoredSecret::password("tanstaaftanstaaf"))
            .unwrap(),
        ServerStep::Success {
            authzid: None,
            username: "tim".into()
        }
    );

    let ctx = ServerContext::new("1896.697170952", "postoffice.reston.mci.net");
    let mut server = ServerMechanism::new(Mechanism::CramMd5, ctx).unwrap();
    let _ = server.start(None).unwrap();
    let _ = server.step(CRAM_RESPONSE.as_bytes()).unwrap();
    assert_eq!(
        server.supply(StoredSecret::password("tanstaaf")).unwrap(),
        ServerStep::Failure
    );
}

// ---------------------------------------------------------------------------
// RFC 2831 §4: DIGEST-MD5 (the IMAP example; the lines are the RFC's base64,
// joined).

const DIGEST_CHALLENGE_B64: &str = "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA==";
const DIGEST_RESPONSE_B64: &str = "Y2hhcnNldD11dGYtOCx1c2VybmFtZT0iY2hyaXMiLHJlYWxtPSJlbHdvb2QuaW5ub3NvZnQuY29tIixub25jZT0iT0E2TUc5dEVRR20yaGgiLG5jPTAwMDAwMDAxLGNub25jZT0iT0E2TUhYaDZWcVRyUmsiLGRpZ2VzdC11cmk9ImltYXAvZWx3b29kLmlubm9zb2Z0LmNvbSIscmVzcG9uc2U9ZDM4OGRhZDkwZDRiYmQ3NjBhMTUyMzIxZjIxNDNhZjcscW9wPWF1dGg=";
const DIGEST_RSPAUTH_B64: &str = "cnNwYXV0aD1lYTQwZjYwMzM1YzQyN2I1NTI3Yjg0ZGJhYmNkZmZmZA==";

fn digest_client() -> ClientMechanism {
    let creds = Credentials::password("chris", "secret");
    let ctx = ClientContext::new("OA6MHXh6VqTrRk", "elwood.innosoft.com").with_service("imap");
    ClientMechanism::new(Mechanism::DigestMd5, &creds, ctx).unwrap()
}

#[test]
fn rfc2831_digest_md5_client() {
    let mut client = digest_client();
    assert_eq!(client.initial_response(), None);
    let response = client.step(&unwire(DIGEST_CHALLENGE_B64)).unwrap();
    let text = String::from_utf8(response.clone()).unwrap();
    assert!(
        text.contains("response=d388dad90d4bbd760a152321f2143af7"),
        "{text}"
    );
    assert_eq!(wire(&response), DIGEST_RESPONSE_B64);
    assert_eq!(client.finish(), Err(SaslError::ServerSignatureMismatch));
    let rspauth = unwire(DIGEST_RSPAUTH_B64);
    assert_eq!(rspauth, b"rspauth=ea40f60335c427b5527b84dbabcdfffd");
    assert_eq!(client.step(&rspauth).unwrap(), b"");
    assert_eq!(client.finish(), Ok(()));
}

#[test]
fn rfc2831_digest_md5_client_rejects_a_wrong_rspauth() {
    let mut client = digest_client();
    let _ = client.step(&unwire(DIGEST_CHALLENGE_B64)).unwrap();
    assert_eq!(
        client.step(b"rspauth=ea40f60335c427b5527b84dbabcdfff0"),
        Err(SaslError::ServerSignatureMismatch)
    );
    assert_eq!(client.finish(), Err(SaslError::ServerSignatureMismatch));
}

#[test]
fn rfc2831_digest_md5_server() {
    let ctx = ServerContext::new("OA6MG9tEQGm2hh", "elwood.innosoft.com").with_service("imap");
    let mut server = ServerMechanism::new(Mechanism::DigestMd5, ctx).unwrap();
    // Same directives as the RFC's challenge; this server orders them
    // differently, so compare the parsed text.
    let challenge = match server.start(None).unwrap() {
        ServerStep::Challenge(c) => String::from_utf8(c).unwrap(),
        other => panic!("{other:?}"),
    };
    for part in [
        "realm=\"elwood.innosoft.com\"",
        "nonce=\"OA6MG9tEQGm2hh\"",
        "qop=\"auth\"",
        "algorithm=md5-sess",
        "charset=utf-8",
    ] {
        assert!(challenge.contains(part), "{challenge}");
    }
    assert_eq!(
        server.step(&unwire(DIGEST_RESPONSE_B64)).unwrap(),
        ServerStep::NeedSecret {
            authzid: None,
            username: "chris".into()
        }
    );
    assert_eq!(
        challenge_text(server.supply(StoredSecret::password("secret")).unwrap()),
        DIGEST_RSPAUTH_B64
    );
    assert_eq!(
        server.step(b"").unwrap(),
        ServerStep::Success {
            authzid: None,
            username: "chris".into()
        }
    );
}

// ---------------------------------------------------------------------------
// RFC 7677 §3: SCRAM-SHA-256.

const SCRAM_CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const SCRAM_SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const SCRAM_CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const SCRAM_SERVER_FIRST: &str =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const SCRAM_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SCRAM_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn scram_client() -> ClientMechanism {
    let creds = Credentials::password("user", "pencil");
    let ctx = ClientContext::new(SCRAM_CLIENT_NONCE, "mx.example.com");
    ClientMechanism::new(Mechanism::ScramSha256, &creds, ctx).unwrap()
}

fn scram_stored() -> StoredSecret {
    let salt = unwire("W22ZaJ0SNY7soEsUEjb6gQ==");
    StoredSecret::Scram(ScramCredentials::from_password("pencil", &salt, 4096).unwrap())
}

#[test]
fn rfc7677_scram_sha256_client() {
    let mut client = scram_client();
    assert_eq!(
        client.initial_response().unwrap(),
        SCRAM_CLIENT_FIRST.as_bytes()
    );
    assert_eq!(
        client.step(SCRAM_SERVER_FIRST.as_bytes()).unwrap(),
        SCRAM_CLIENT_FINAL.as_bytes()
    );
    assert_eq!(client.finish(), Err(SaslError::ServerSignatureMismatch));
    assert_eq!(client.step(SCRAM_SERVER_FINAL.as_bytes()).unwrap(), b"");
    assert_eq!(client.finish(), Ok(()));
}

#[test]
fn rfc7677_scram_sha256_server() {
    let ctx = ServerContext::new(SCRAM_SERVER_NONCE, "mx.example.com");
    let mut server = ServerMechanism::new(Mechanism::ScramSha256, ctx).unwrap();
    assert_eq!(
        server.start(Some(SCRAM_CLIENT_FIRST.as_bytes())).unwrap(),
        ServerStep::NeedSecret {
            authzid: None,
            username: "user".into()
        }
    );
    assert_eq!(
        server.supply(scram_stored()).unwrap(),
        ServerStep::Challenge(SCRAM_SERVER_FIRST.as_bytes().to_vec())
    );
    assert_eq!(
        server.step(SCRAM_CLIENT_FINAL.as_bytes()).unwrap(),
        ServerStep::Challenge(SCRAM_SERVER_FINAL.as_bytes().to_vec())
    );
    assert_eq!(
        server.step(b"").unwrap(),
        ServerStep::Success {
            authzid: None,
            username: "user".into()
        }
    );
}

#[test]
fn rfc7677_scram_sha256_tampered_server_signature() {
    for tampered in [
        "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        "v=AAAA",
        "v=",
    ] {
        let mut client = scram_client();
        let _ = client.initial_response();
        let _ = client.step(SCRAM_SERVER_FIRST.as_bytes()).unwrap();
        assert_eq!(
            client.step(tampered.as_bytes()),
            Err(SaslError::ServerSignatureMismatch),
            "{tampered}"
        );
        // A 235 that follows does not make the client authenticated.
        assert_eq!(client.finish(), Err(SaslError::ServerSignatureMismatch));
    }
    // A server that skips the server-final message and says 235 at once.
    let mut client = scram_client();
    let _ = client.initial_response();
    let _ = client.step(SCRAM_SERVER_FIRST.as_bytes()).unwrap();
    assert_eq!(client.finish(), Err(SaslError::ServerSignatureMismatch));
}

#[test]
fn rfc7677_scram_sha256_server_rejects_a_tampered_proof() {
    let ctx = ServerContext::new(SCRAM_SERVER_NONCE, "mx.example.com");
    let mut server = ServerMechanism::new(Mechanism::ScramSha256, ctx).unwrap();
    let _ = server.start(Some(SCRAM_CLIENT_FIRST.as_bytes())).unwrap();
    let _ = server.supply(scram_stored()).unwrap();
    let tampered = SCRAM_CLIENT_FINAL.replace("p=dHzb", "p=dHzc");
    assert_eq!(
        server.step(tampered.as_bytes()).unwrap(),
        ServerStep::Failure
    );
}

// ---------------------------------------------------------------------------
// RFC 4616 §4 and RFC 4954 §4: PLAIN.

#[test]
fn rfc4616_and_rfc4954_plain() {
    let creds = Credentials::password("tim", "tanstaaftanstaaf");
    let mut client =
        ClientMechanism::new(Mechanism::Plain, &creds, ClientContext::new("", "")).unwrap();
    assert_eq!(
        client.initial_response().unwrap(),
        b"\0tim\0tanstaaftanstaaf"
    );
    let creds = Credentials::password("Kurt", "xipj3plmq").with_authzid("Ursel");
    let mut client =
        ClientMechanism::new(Mechanism::Plain, &creds, ClientContext::new("", "")).unwrap();
    assert_eq!(
        client.initial_response().unwrap(),
        b"Ursel\0Kurt\0xipj3plmq"
    );

    // RFC 4954 §4: "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=".
    let mut server = ServerMechanism::new(Mechanism::Plain, ServerContext::new("", "")).unwrap();
    let step = server.start(Some(&unwire("dGVzdAB0ZXN0ADEyMzQ="))).unwrap();
    let ServerStep::VerifyPassword {
        authzid,
        username,
        password,
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(
        (authzid.as_deref(), username.as_str()),
        (Some("test"), "test")
    );
    assert!(password.constant_time_eq("1234"));
}

// ---------------------------------------------------------------------------
// Mine against mine, through the base64 wire form.

/// How an exchange ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// 235 and the client accepted it.
    Authenticated {
        username: String,
        authzid: Option<String>,
    },
    /// 535 from the server.
    Rejected,
    /// The client cancelled with `*`.
    ClientCancelled(SaslError),
    /// The server answered 501/504.
    ServerRefused(SaslError),
    /// 235, but the client did not accept the server's proof.
    ClientDistrusts(SaslError),
}

struct Users(Vec<(&'static str, &'static str)>);

impl Users {
    fn password(&self, username: &str) -> Option<&'static str> {
        self.0.iter().find(|(u, _)| *u == username).map(|(_, p)| *p)
    }
}

/// Runs one exchange. `send_initial`: whether the client puts its initial
/// response on the AUTH line.
fn exchange(
    mechanism: Mechanism,
    creds: &Credentials,
    client_ctx: ClientContext,
    users: &Users,
    scram_stored: bool,
    send_initial: bool,
) -> Outcome {
    let mut client = ClientMechanism::new(mechanism, creds, client_ctx).unwrap();
    let server_ctx = ServerContext::new("Zm9vYmFyYmF6cXV4MTIz", "mx.example.com");
    let mut server = ServerMechanism::new(mechanism, server_ctx).unwrap();
    let initial = if send_initial {
        client.initial_response()
    } else {
        None
    };
    let initial = initial.map(|ir| unwire(&wire(&ir)));
    let mut step = server.start(initial.as_deref());
    let authenticated =
        |username: String, authzid: Option<String>, client: &ClientMechanism| match client.finish()
        {
            Ok(()) => Outcome::Authenticated { username, authzid },
            Err(e) => Outcome::ClientDistrusts(e),
        };
    for _ in 0..10 {
        step = match step {
            Err(e) => return Outcome::ServerRefused(e),
            Ok(ServerStep::Challenge(c)) => match client.step(&unwire(&wire(&c))) {
                Ok(answer) => server.step(&unwire(&wire(&answer))),
                Err(e) => return Outcome::ClientCancelled(e),
            },
            Ok(ServerStep::VerifyPassword {
                authzid,
                username,
                password,
            }) => {
                return match users.password(&username) {
                    Some(p) if password.constant_time_eq(p) => {
                        authenticated(username, authzid, &client)
                    }
                    _ => Outcome::Rejected,
                };
            }
            Ok(ServerStep::NeedSecret { username, .. }) => {
                let secret = match (users.password(&username), scram_stored) {
                    (Some(p), true) => StoredSecret::Scram(
                        ScramCredentials::from_password(p, b"per-user salt", 4096).unwrap(),
                    ),
                    (Some(p), false) => StoredSecret::password(p),
                    (None, true) => {
                        StoredSecret::Scram(ScramCredentials::mock(b"k", &username, 4096))
                    }
                    (None, false) => StoredSecret::password("a long random password nobody has"),
                };
                server.supply(secret)
            }
            Ok(ServerStep::Success { username, authzid }) => {
                return authenticated(username, authzid, &client);
            }
            Ok(ServerStep::Failure) => return Outcome::Rejected,
            Ok(other) => panic!("unexpected step {other:?}"),
        };
    }
    panic!("the exchange did not end")
}

fn users() -> Users {
    Users(vec![
        ("alice", "correct horse"),
        ("bob,=x", "pässwörd"),
        ("jürgen", "geheim"),
        ("日本", "パスワード"),
    ])
}

fn ok(username: &str, authzid: Option<&str>) -> Outcome {
    Outcome::Authenticated {
        username: username.into(),
        authzid: authzid.map(str::to_owned),
    }
}

fn ctx() -> ClientContext {
    ClientContext::new("Y2xpZW50bm9uY2UxMjM0NTY", "mx.example.com")
}

const PASSWORD_MECHANISMS: [Mechanism; 5] = [
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::CramMd5,
    Mechanism::DigestMd5,
    Mechanism::ScramSha256,
];

#[test]
fn round_trip_every_mechanism() {
    for mech in PASSWORD_MECHANISMS {
        for (user, pass) in users().0 {
            for stored in [false, true] {
                if stored && mech != Mechanism::ScramSha256 {
                    continue;
                }
                for send_initial in [true, false] {
                    let creds = Credentials::password(user, pass);
                    let got = exchange(mech, &creds, ctx(), &users(), stored, send_initial);
                    assert_eq!(
                        got,
                        ok(user, None),
                        "{mech} {user} stored={stored} ir={send_initial}"
                    );
                }
            }
        }
    }
}

#[test]
fn round_trip_wrong_password_and_unknown_user() {
    for mech in PASSWORD_MECHANISMS {
        for stored in [false, true] {
            if stored && mech != Mechanism::ScramSha256 {
                continue;
            }
            for (user, pass) in [
                ("alice", "wrong"),
                ("alice", "correct horse "),
                ("mallory", "x"),
            ] {
                let creds = Credentials::password(user, pass);
                let got = exchange(mech, &creds, ctx(), &users(), stored, true);
                assert_eq!(
                    got,
                    Outcome::Rejected,
                    "{mech} {user}/{pass} stored={stored}"
                );
            }
        }
    }
}

#[test]
fn round_trip_authzid() {
    for mech in [
        Mechanism::Plain,
        Mechanism::DigestMd5,
        Mechanism::ScramSha256,
    ] {
        for authzid in ["postmaster", "a,b=c", "ünï"] {
            let creds = Credentials::password("alice", "correct horse").with_authzid(authzid);
            let got = exchange(mech, &creds, ctx(), &users(), false, true);
            assert_eq!(got, ok("alice", Some(authzid)), "{mech} {authzid}");
        }
    }
}

#[test]
fn round_trip_login_with_initial_username() {
    let creds = Credentials::password("alice", "correct horse");
    let got = exchange(
        Mechanism::Login,
        &creds,
        ctx().login_initial_response(true),
        &users(),
        false,
        true,
    );
    assert_eq!(got, ok("alice", None));
}

#[test]
fn round_trip_scram_detects_an_impostor_server() {
    // The impostor knows StoredKey (enough to check the client's proof) but
    // not ServerKey, so it cannot produce the server signature.
    let real = ScramCredentials::from_password("correct horse", b"salt", 4096).unwrap();
    let impostor =
        ScramCredentials::from_parts(real.salt().to_vec(), 4096, *real.stored_key(), [7; 32]);
    let creds = Credentials::password("alice", "correct horse");
    let mut client = ClientMechanism::new(Mechanism::ScramSha256, &creds, ctx()).unwrap();
    let mut server =
        ServerMechanism::new(Mechanism::ScramSha256, ServerContext::new("xyz", "mx")).unwrap();
    let need = server.start(client.initial_response().as_deref()).unwrap();
    assert!(matches!(need, ServerStep::NeedSecret { .. }));
    let ServerStep::Challenge(first) = server.supply(StoredSecret::Scram(impostor)).unwrap() else {
        panic!()
    };
    let client_final = client.step(&first).unwrap();
    let ServerStep::Challenge(server_final) = server.step(&client_final).unwrap() else {
        panic!()
    };
    assert_eq!(
        client.step(&server_final),
        Err(SaslError::ServerSignatureMismatch)
    );
    assert_eq!(client.finish(), Err(SaslError::ServerSignatureMismatch));
}

#[test]
fn round_trip_scram_low_iteration_count_is_refused() {
    let stored = ScramCredentials::from_password("correct horse", b"salt", 1000).unwrap();
    let creds = Credentials::password("alice", "correct horse");
    let mut client = ClientMechanism::new(Mechanism::ScramSha256, &creds, ctx()).unwrap();
    let mut server =
        ServerMechanism::new(Mechanism::ScramSha256, ServerContext::new("xyz", "mx")).unwrap();
    let _ = server.start(client.initial_response().as_deref()).unwrap();
    let ServerStep::Challenge(first) = server.supply(StoredSecret::Scram(stored)).unwrap() else {
        panic!()
    };
    assert_eq!(client.step(&first), Err(SaslError::IterationCount));
}

#[test]
fn xoauth2_client_against_a_scripted_server() {
    let creds = Credentials::oauth_token("someuser@example.com", "ya29.token");
    // Success: AUTH XOAUTH2 <ir>, then 235.
    let mut client = ClientMechanism::new(Mechanism::XOAuth2, &creds, ctx()).unwrap();
    let ir = client.initial_response().unwrap();
    assert_eq!(
        unwire(&wire(&ir)),
        b"user=someuser@example.com\x01auth=Bearer ya29.token\x01\x01"
    );
    assert_eq!(client.finish(), Ok(()));

    // Failure: 334 <base64 JSON>, the client answers an empty line, 535.
    let mut client = ClientMechanism::new(Mechanism::XOAuth2, &creds, ctx()).unwrap();
    let _ = client.initial_response();
    let json = r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
    let answer = client.step(&unwire(&wire(json.as_bytes()))).unwrap();
    assert_eq!(wire(&answer), "");
    assert_eq!(client.server_error(), Some(json));
    assert_eq!(client.finish(), Err(SaslError::ServerError(json.into())));

    // A server that wants the initial response asked for by an empty 334.
    let mut client = ClientMechanism::new(Mechanism::XOAuth2, &creds, ctx()).unwrap();
    assert_eq!(client.step(b"").unwrap(), ir);
}

#[test]
fn choose_then_run() {
    let creds = Credentials::password("alice", "correct horse");
    let offered = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "X-UNKNOWN"]
        .into_iter()
        .filter_map(Mechanism::from_name);
    let mech = Mechanism::choose(offered, &creds, false).unwrap();
    assert_eq!(mech, Mechanism::ScramSha256);
    assert_eq!(
        exchange(mech, &creds, ctx(), &users(), true, true),
        ok("alice", None)
    );
}
