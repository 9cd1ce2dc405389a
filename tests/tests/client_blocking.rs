//! The blocking API (`mailwire_tokio::blocking`): plain `#[test]`s with
//! no runtime of their own send to a `TestServer` over loopback and check
//! the report.

use std::time::Duration;

use mailwire_test_server::TestServer;
use mailwire_tokio::blocking;
use mailwire_tokio::client::{ClientSettings, SendError, SendOptions, ServerAddress};
use mailwire_tokio::core::client::{Envelope, Outcome, RecipientStatus};
use mailwire_tokio::core::wire::address::{ForwardPath, ReversePath};

fn at(server: &TestServer) -> ServerAddress {
    ServerAddress::new("127.0.0.1").with_port(server.port())
}

#[test]
fn send_message_from_synchronous_code_reports_per_recipient() {
    let server = TestServer::builder()
        .refuse_recipient("nobody@*", 550, "5.1.1", "No such user")
        .start();
    let message = "From: Alice <alice@example.org>\r\n\
                   To: Bob <bob@example.org>, nobody@example.org\r\n\
                   Subject: blocking\r\n\r\nHi Bob!\r\n";
    let options = SendOptions::new([at(&server)]).with_at_least_one(true);
    let report = blocking::send_message(message, &options).expect("sent");
    assert!(report.is_sent(), "{}", report.outcome);
    assert!(matches!(report.outcome, Outcome::Sent { .. }));
    let statuses: Vec<(String, RecipientStatus)> = report
        .recipients
        .iter()
        .map(|r| (r.path.to_string(), r.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("<bob@example.org>".to_owned(), RecipientStatus::Sent),
            ("<nobody@example.org>".to_owned(), RecipientStatus::Refused),
        ]
    );
    let caught = server.wait_for(1, Duration::from_secs(10)).expect("caught");
    assert_eq!(caught[0].to, ["bob@example.org"]);
    assert_eq!(caught[0].subject().as_deref(), Some("blocking"));
}

#[test]
fn a_reusable_blocking_connection_sends_several_messages() {
    let server = TestServer::start();
    let mut client =
        blocking::Client::connect(&at(&server), &ClientSettings::default()).expect("connect");
    assert!(client.is_open());
    for n in 0..3 {
        let to: ForwardPath = "<bob@example.org>".parse().expect("path");
        let envelope = Envelope::new(
            "<alice@example.org>".parse::<ReversePath>().expect("path"),
            [to],
        );
        let body = format!("Subject: number {n}\r\n\r\nHello\r\n");
        let outcome = client.send(envelope, body.into_bytes()).expect("send");
        assert!(outcome.outcome.is_sent(), "{}", outcome.outcome);
    }
    let reason = client.quit().expect("closed");
    assert!(reason.is_normal(), "{reason}");
    let caught = server.wait_for(3, Duration::from_secs(10)).expect("caught");
    let peers: std::collections::HashSet<_> = caught.iter().map(|m| m.peer).collect();
    assert_eq!(peers.len(), 1, "one connection for the three messages");
}

#[test]
fn an_unreachable_server_is_an_error_in_words() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let options = SendOptions::new([ServerAddress::new("127.0.0.1").with_port(port)]);
    let error = blocking::send_message(
        "From: a@example.org\r\nTo: b@example.org\r\n\r\nx\r\n",
        &options,
    )
    .expect_err("nothing listens");
    assert!(matches!(error, SendError::AllServersFailed(_)), "{error}");
    let text = error.to_string();
    assert!(text.contains("cannot connect to 127.0.0.1:"), "{text}");
    assert!(!text.contains("Connect {"), "{text}");
}
