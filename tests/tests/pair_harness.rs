//! The Pair harness itself: a plain session, reads of any size, the TLS
//! switch, a broken connection, time jumps, and livelock detection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mailwire_core::SeededRandom;
use mailwire_core::client::{ClientConfig, Envelope, Outcome, TlsPolicy};
use mailwire_core::server::{ServerConfig, ServerEvent};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_tests::pair::{
    Answer, Cut, Direction, Injection, LinkPlan, MessageEnd, MessagePlan, Network, Pair, PairError,
    ScriptedClient, ScriptedServer, ServerApp, ServerCx, ServerScript, What, check,
};

fn server_config() -> ServerConfig {
    ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(1)))
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        "client.example".parse().unwrap(),
        Arc::new(SeededRandom::new(2)),
    )
    .with_tls(TlsPolicy::Disabled)
}

fn envelope() -> Envelope {
    Envelope::new(
        "<alice@example.net>".parse::<ReversePath>().unwrap(),
        ["<bob@example.org>".parse::<ForwardPath>().unwrap()],
    )
}

fn plan(body: &[u8]) -> MessagePlan {
    MessagePlan::new(envelope(), body.to_vec())
}

#[test]
fn a_message_goes_through() {
    let mut pair = Pair::new(
        Arc::new(server_config()),
        Arc::new(client_config()),
        ScriptedServer::default(),
        ScriptedClient::new([plan(b"Subject: hi\n\n.dot\nbye")]),
    )
    .unwrap();
    pair.run().unwrap();
    let t = pair.transcript();
    let messages = t.server_messages();
    assert_eq!(messages.len(), 1, "{t}");
    assert_eq!(messages[0].end, MessageEnd::Accepted);
    assert_eq!(messages[0].body, b"Subject: hi\r\n\r\n.dot\r\nbye\r\n");
    let sent = t.client_messages();
    assert!(matches!(
        sent[0].outcome.as_ref().unwrap().outcome,
        Outcome::Sent { .. }
    ));
    assert!(t.client_closed().unwrap().is_normal());
}

#[test]
fn one_byte_reads_change_nothing() {
    let run = |network: Network| {
        let mut pair = Pair::new(
            Arc::new(server_config()),
            Arc::new(client_config()),
            ScriptedServer::default(),
            ScriptedClient::new([plan(b"a\r\n.\r\nb"), plan(b"")]),
        )
        .unwrap()
        .with_network(network);
        pair.run().unwrap();
        pair.into_parts().0
    };
    let whole = run(Network::default());
    let bytes = run(Network::symmetric(LinkPlan::reads([1])));
    assert_eq!(whole.wire, bytes.wire);
    let view = |t: &mailwire_tests::pair::Transcript| {
        t.server_messages()
            .into_iter()
            .map(|m| (m.body, m.end))
            .collect::<Vec<_>>()
    };
    assert_eq!(view(&whole), view(&bytes));
    assert_eq!(view(&whole).len(), 2);
}

/// Never decides, and asks to be woken at a time already past, for ever.
struct Spinner(Instant);

impl ServerApp for Spinner {
    fn on_event(&mut self, _cx: &mut ServerCx<'_>, _event: &ServerEvent) {}
    fn next_wake(&self) -> Option<Instant> {
        Some(self.0)
    }
}

#[test]
fn a_livelock_is_reported() {
    let mut pair = Pair::new(
        Arc::new(server_config()),
        Arc::new(client_config()),
        Spinner(Instant::now()),
        ScriptedClient::new([]),
    )
    .unwrap()
    .with_step_limit(10_000);
    assert!(matches!(pair.run(), Err(PairError::Livelock { .. })));
}

#[test]
fn a_cut_connection_ends_both_sides() {
    let mut pair = Pair::new(
        Arc::new(server_config()),
        Arc::new(client_config()),
        ScriptedServer::new(ServerScript::default()),
        ScriptedClient::new([plan(b"hello")]),
    )
    .unwrap()
    .with_network(Network::default().with_cut(Cut {
        direction: Direction::ClientToServer,
        after: 60,
    }));
    pair.run().unwrap();
    let t = pair.transcript();
    assert!(
        t.entries
            .iter()
            .any(|e| matches!(e.what, What::ConnectionCut { .. }))
    );
    assert!(t.server_closed().is_some());
    // Nothing the client reports was invented by the break.
    check::all(t).unwrap();
}

#[test]
fn starttls_switches_both_sides_and_drops_injections() {
    let mut server = server_config();
    server.extensions.starttls = true;
    let client = client_config().with_tls(TlsPolicy::opportunistic());
    let mut pair = Pair::new(
        Arc::new(server),
        Arc::new(client),
        ScriptedServer::default(),
        ScriptedClient::new([plan(b"secret")]),
    )
    .unwrap()
    .with_injection(Injection {
        after_starttls: b"MAIL FROM:<mallory@example.com>\r\n".to_vec(),
        after_220: b"250 2.0.0 forged\r\n".to_vec(),
    });
    pair.run().unwrap();
    let t = pair.transcript();
    assert!(
        t.entries
            .iter()
            .any(|e| matches!(e.what, What::TlsSwitched { .. })),
        "{t}"
    );
    // Both injections arrived in the same read as what they followed, and
    // the connections dropped them.
    for (_, event) in t.server_events() {
        assert!(!format!("{event:?}").contains("mallory"), "{t}");
    }
    for (_, event) in t.client_events() {
        assert!(!format!("{event:?}").contains("forged"), "{t}");
    }
    let messages = t.server_messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].is_accepted());
    assert!(
        t.client_messages()[0]
            .outcome
            .as_ref()
            .unwrap()
            .tls
            .is_some()
    );
    check::all(t).unwrap();
}

#[test]
fn implicit_tls_starts_inside_tls() {
    let mut pair = Pair::new(
        Arc::new(server_config()),
        Arc::new(client_config().with_tls(TlsPolicy::required())),
        ScriptedServer::default(),
        ScriptedClient::new([plan(b"x")]),
    )
    .unwrap()
    .with_implicit_tls();
    pair.run().unwrap();
    let t = pair.transcript();
    assert!(pair.server().is_tls());
    assert!(
        t.client_messages()[0]
            .outcome
            .as_ref()
            .unwrap()
            .tls
            .is_some(),
        "{t}"
    );
}

#[test]
fn a_slow_decision_takes_virtual_time_only() {
    let script = ServerScript {
        message: vec![Answer::accept().after(Duration::from_secs(45))],
        ..ServerScript::default()
    };
    let mut pair = Pair::new(
        Arc::new(server_config()),
        Arc::new(client_config()),
        ScriptedServer::new(script),
        ScriptedClient::new([plan(b"x")]),
    )
    .unwrap();
    pair.run().unwrap();
    assert_eq!(pair.elapsed(), Duration::from_secs(45));
    assert!(pair.transcript().server_messages()[0].is_accepted());
}
