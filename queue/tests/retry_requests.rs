//! `mailwire queue retry`/`flush` request files reach a running queue
//! within a couple of seconds even while the scheduler is woken again and
//! again (a busy relay): the look at the request files must not wait for a
//! quiet second.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailwire_driver::client::{ClientSettings, ServerAddress};
use mailwire_queue::{
    Queue, QueueSettings, QueuedEnvelope, QueuedRecipient, RetryRequest, Spool, SpoolSync,
    read_entry, request_retry,
};
use mailwire_smol::Smol;

/// A loopback port nothing listens on: every delivery attempt is refused
/// (a temporary failure, tried again after the schedule's hour).
fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn attempts(root: &std::path::Path, id: &mailwire_queue::QueueId) -> u32 {
    read_entry(root, id)
        .expect("the spool reads")
        .map_or(0, |entry| entry.state.attempts)
}

#[test]
fn a_retry_request_is_taken_while_wakes_keep_coming() {
    let dir = std::env::temp_dir().join(format!("mailwire-retry-requests-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("spool directory");
    smol::block_on(async {
        let spool = Spool::open(&dir, SpoolSync::Off).expect("spool");
        let root = spool.root().to_path_buf();
        let settings = QueueSettings {
            smarthosts: vec![ServerAddress::new("127.0.0.1").with_port(refused_port())],
            client: ClientSettings::default(),
            schedule: "1h".parse().expect("schedule"),
            max_age: Duration::from_secs(5 * 24 * 3600),
            workers: 1,
            hostname: "relay.test".into(),
            retry_requests: Some(root.clone()),
            log: Arc::new(|_: &str| {}),
        };
        let queue = Queue::start(Arc::new(spool), Smol, settings)
            .await
            .expect("the queue starts");
        let envelope = QueuedEnvelope {
            from: "<a@example.org>".into(),
            recipients: vec![QueuedRecipient {
                to: "<b@example.org>".into(),
                notify: None,
                orcpt: None,
            }],
            body: "7BIT".into(),
            smtputf8: false,
            ret: None,
            envid: None,
            arrival: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64,
            client: None,
        };
        let id = queue
            .accept(envelope, b"Subject: retry\r\n\r\nhello\r\n".to_vec())
            .await
            .expect("accepted");

        // The first attempt is refused; the next is an hour away.
        let start = Instant::now();
        while attempts(&root, &id) < 1 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no first attempt"
            );
            smol::Timer::after(Duration::from_millis(20)).await;
        }
        assert_eq!(attempts(&root, &id), 1);

        // A wake every 50 ms (as a relay accepting mail has), and a retry
        // request file for the entry (as `mailwire queue retry ID` writes).
        request_retry(&root, std::slice::from_ref(&id)).expect("request written");
        let asked = Instant::now();
        while attempts(&root, &id) < 2 {
            assert!(
                asked.elapsed() < Duration::from_secs(4),
                "the retry request was not taken within 4 s while the scheduler kept being woken"
            );
            queue.retry(RetryRequest::Ids(Vec::new()));
            smol::Timer::after(Duration::from_millis(50)).await;
        }
        queue.stop(Duration::from_secs(1)).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}
