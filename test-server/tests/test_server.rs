//! The test server as its users use it: from a plain `#[test]` and from
//! async tests, over loopback and the in-memory pipe, with TLS, AUTH and
//! refusals, with mailwire's own client on tokio and smol.

use std::time::{Duration, Instant};

use mailwire_smol::Smol;
use mailwire_smol::client::{Client, ClientSettings, SendOptions, ServerAddress};
use mailwire_smol::core::client::{
    AuthSecurity, Envelope, MailOptions, Outcome, RecipientStatus, SendPolicy, TlsPolicy,
};
use mailwire_smol::core::sasl::Credentials;
use mailwire_smol::core::wire::address::{ForwardPath, ReversePath};
use mailwire_smol::{ClientTls, send_message};
use mailwire_test_server::{Fault, Match, Rule, Step, TestServer};

const MESSAGE: &str = "From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n";

fn address(server: &TestServer) -> ServerAddress {
    ServerAddress::new("127.0.0.1").with_port(server.port())
}

fn envelope(to: &[&str]) -> Envelope {
    Envelope::new(
        "<a@example.org>".parse::<ReversePath>().unwrap(),
        to.iter()
            .map(|t| format!("<{t}>").parse::<ForwardPath>().unwrap()),
    )
}

#[test]
fn a_plain_test_sends_and_waits() {
    let server = TestServer::start();
    let report = smol::block_on(send_message(
        Smol,
        MESSAGE,
        &SendOptions::new([address(&server)]),
    ))
    .unwrap();
    assert!(report.is_sent());
    let caught = server.wait_for(1, Duration::from_secs(5)).unwrap();
    assert_eq!(caught.len(), 1);
    assert_eq!(caught[0].from, "a@example.org");
    assert_eq!(caught[0].to, ["b@example.net"]);
    // As sent: send_message completed the Date and Message-ID.
    let text = caught[0].text();
    assert!(text.starts_with("From: a@example.org\r\nTo: b@example.net\r\nSubject: hi\r\n"));
    assert!(text.contains("\r\nMessage-ID: <"), "{text}");
    assert!(text.ends_with("\r\n\r\nHello.\r\n"), "{text}");
    assert_eq!(caught[0].subject().as_deref(), Some("hi"));
    assert!(!caught[0].tls);
    assert_eq!(caught[0].peer.map(|p| p.ip().is_loopback()), Some(true));
}

#[test]
fn waiting_for_more_than_arrived_says_how_many_came() {
    let server = TestServer::start();
    let started = Instant::now();
    let error = server.wait_for(1, Duration::from_millis(200)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!((error.wanted, error.got), (1, 0));
    assert_eq!(
        error.to_string(),
        "waited 200ms for 1 messages, but 0 arrived"
    );
}

#[tokio::test]
async fn an_async_test_on_tokio() {
    let server = TestServer::builder()
        .refuse_recipient("nobody@*", 550, "5.1.1", "No such user")
        .start();
    let address = mailwire_tokio::client::ServerAddress::new("127.0.0.1").with_port(server.port());
    let mut client = mailwire_tokio::client::Client::connect(
        mailwire_tokio::Tokio,
        &address,
        &ClientSettings::default(),
    )
    .await
    .unwrap();
    let sent = client
        .send(
            envelope(&["b@example.net", "nobody@example.net"])
                .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne)),
            MESSAGE,
        )
        .await
        .unwrap();
    let statuses: Vec<RecipientStatus> = sent.recipients.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [RecipientStatus::Sent, RecipientStatus::Refused]);
    client.quit().await;
    let caught = server
        .wait_for_async(1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(caught[0].to, ["b@example.net"]);
}

#[test]
fn an_async_wait_times_out_on_smol() {
    let server = TestServer::start();
    let error = smol::block_on(server.wait_for_async(2, Duration::from_millis(100))).unwrap_err();
    assert_eq!((error.wanted, error.got), (2, 0));
}

#[test]
fn tls_with_its_own_ca_and_a_known_user() {
    let server = TestServer::builder()
        .self_signed_tls()
        .users([("alice", "wonderland")])
        .require_auth()
        .start();
    let ca = server.tls().unwrap().ca_pem.clone();
    let settings = ClientSettings::default()
        .with_tls(ClientTls::with_ca_pem(ca.as_bytes()).unwrap())
        .with_tls_policy(TlsPolicy::Required {
            accept_invalid_certs: false,
        })
        .with_credentials(Credentials::password("alice", "wonderland"));
    let mut address = address(&server);
    address.host = "localhost".into();
    smol::block_on(async {
        let mut client = Client::connect(Smol, &address, &settings).await.unwrap();
        assert!(client.tls_info().is_some_and(|t| t.peer_verified));
        let sent = client
            .send(envelope(&["b@example.net"]), MESSAGE)
            .await
            .unwrap();
        assert!(sent.outcome.is_sent());
        client.quit().await;

        // A wrong password is refused, and nothing is caught for it.
        let wrong = ClientSettings::default()
            .with_tls(ClientTls::with_ca_pem(ca.as_bytes()).unwrap())
            .with_tls_policy(TlsPolicy::Required {
                accept_invalid_certs: false,
            })
            .with_credentials(Credentials::password("alice", "guess"));
        assert!(Client::connect(Smol, &address, &wrong).await.is_err());
    });
    let caught = server.wait_for(1, Duration::from_secs(5)).unwrap();
    assert_eq!(caught.len(), 1);
    assert!(caught[0].tls);
    assert_eq!(caught[0].user.as_deref(), Some("alice"));
}

#[test]
fn any_credentials_when_asked() {
    let server = TestServer::builder().auth_any().start();
    let settings = ClientSettings::default()
        .with_credentials(Credentials::password("whoever", "whatever"))
        .with_auth_security(AuthSecurity::Plaintext);
    smol::block_on(async {
        let mut client = Client::connect(Smol, &address(&server), &settings)
            .await
            .unwrap();
        let sent = client
            .send(envelope(&["b@example.net"]), MESSAGE)
            .await
            .unwrap();
        assert!(sent.outcome.is_sent());
        // The strongest mechanism offered, its digest never checked.
        assert_eq!(
            client.authenticated(),
            Some(mailwire_smol::core::sasl::Mechanism::CramMd5)
        );
        client.quit().await;
    });
    let caught = server.wait_for(1, Duration::from_secs(5)).unwrap();
    assert_eq!(caught[0].user.as_deref(), Some("whoever"));
}

#[test]
fn failures_on_request_at_each_step() {
    let server = TestServer::builder()
        .refuse_sender("spammer@*", 553, "5.7.1", "Go away")
        .fail(Step::Data, 451, "4.3.0", "Try later", Some("deferred@*"))
        .start();
    smol::block_on(async {
        let mut client = Client::connect(Smol, &address(&server), &ClientSettings::default())
            .await
            .unwrap();
        let spam = Envelope::new(
            "<spammer@example.org>".parse::<ReversePath>().unwrap(),
            ["<b@example.net>".parse::<ForwardPath>().unwrap()],
        );
        let refused = client.send(spam, MESSAGE).await.unwrap();
        assert!(!refused.outcome.is_sent());
        let deferred = client
            .send(envelope(&["deferred@example.net"]), MESSAGE)
            .await
            .unwrap();
        assert!(!deferred.outcome.is_sent());
        let fine = client
            .send(envelope(&["b@example.net"]), MESSAGE)
            .await
            .unwrap();
        assert!(fine.outcome.is_sent());
        client.quit().await;
    });
    let caught = server.wait_for(1, Duration::from_secs(5)).unwrap();
    assert_eq!(caught.len(), 1, "only the accepted message is caught");
    assert_eq!(caught[0].to, ["b@example.net"]);
}

#[test]
fn a_delay_and_a_dropped_connection() {
    let server = TestServer::builder()
        .rule(Rule::new(
            Step::Rcpt,
            Match::Always,
            Fault::Delay(Duration::from_millis(300)),
        ))
        .rule(Rule::new(
            Step::Data,
            Match::Recipient(mailwire_driver::server::Glob::new("drop@*")),
            Fault::Disconnect,
        ))
        .start();
    smol::block_on(async {
        let mut client = Client::connect(Smol, &address(&server), &ClientSettings::default())
            .await
            .unwrap();
        let started = Instant::now();
        let sent = client
            .send(envelope(&["b@example.net"]), MESSAGE)
            .await
            .unwrap();
        assert!(sent.outcome.is_sent());
        assert!(started.elapsed() >= Duration::from_millis(300), "the delay");
        let dropped = client.send(envelope(&["drop@example.net"]), MESSAGE).await;
        let unknown = match dropped {
            Ok(outcome) => matches!(outcome.outcome, Outcome::Unknown),
            Err(_) => true,
        };
        assert!(unknown, "the connection dropped before the final reply");
    });
    let caught = server.wait_for(1, Duration::from_secs(5)).unwrap();
    assert_eq!(caught.len(), 1, "the dropped message is not caught");
}

#[test]
fn the_in_memory_pipe() {
    let server = TestServer::start();
    smol::block_on(async {
        let end = server.connect_pipe();
        let mut client = Client::over_stream(
            end,
            Smol,
            &ServerAddress::new("pipe.test"),
            &ClientSettings::default(),
        )
        .await
        .unwrap();
        let sent = client
            .send(envelope(&["b@example.net"]), MESSAGE)
            .await
            .unwrap();
        assert!(sent.outcome.is_sent());
        client.quit().await;
    });
    let caught = server.wait_for(1, Duration::from_secs(5)).unwrap();
    assert_eq!(caught[0].peer, None);
    assert_eq!(caught[0].to, ["b@example.net"]);
}

#[test]
fn dropping_it_stops_it() {
    let server = TestServer::start();
    let addr = server.addr();
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err());
}
