//! The mailwire server over real loopback TCP (and real TLS with the test
//! PKI), on tokio, smol and async-std: each scenario is written once,
//! generic over `R: Runtime`, and instantiated per runtime.

mod server_runtime_support;

use std::time::Duration;

use mailwire_driver::Runtime;
use mailwire_driver::core::sasl::encode_base64;
use mailwire_driver::server::{MemoryBudget, Server};
use mailwire_tests::certs::TestPki;
use server_runtime_support::*;

const BODY: &str = "Subject: hello\r\nFrom: <a@x.test>\r\n\r\nline one\r\n..dotted\r\n";

/// EHLO, one message, QUIT; returns the EHLO reply.
async fn one_message<S>(c: &mut TestClient<S>, from: &str, to: &[&str], body: &str) -> Vec<Reply>
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send,
{
    let mut replies = vec![c.cmd(&format!("MAIL FROM:<{from}>")).await];
    for rcpt in to {
        replies.push(c.cmd(&format!("RCPT TO:<{rcpt}>")).await);
    }
    replies.push(c.cmd("DATA").await);
    c.send(body.as_bytes()).await;
    replies.push(c.cmd(".").await);
    replies
}

fn data_of(seen: &Seen) -> String {
    match seen {
        Seen::Message { data, .. } => String::from_utf8_lossy(data).into_owned(),
        other => panic!("not a message: {other:?}"),
    }
}

async fn plain<R: Runtime>(rt: R) {
    for delivery in [DeliveryMode::Buffered, DeliveryMode::Streaming] {
        let (server, rec, addr) = start(&rt, options(delivery)).await;
        let mut c = connect(&rt, addr).await;
        let greeting = c.reply().await;
        assert_eq!(greeting.0, 220, "{greeting:?}");
        assert!(greeting.1.starts_with("220 mx.test ESMTP"));
        let ehlo = c.cmd("EHLO client.test").await;
        assert_eq!(ehlo.0, 250);
        assert!(!ehlo.1.contains("STARTTLS"), "no certificate, no STARTTLS");
        let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
        let codes: Vec<u16> = r.iter().map(|r| r.0).collect();
        assert_eq!(codes, [250, 250, 354, 250]);
        assert_eq!(c.cmd("QUIT").await.0, 221);
        let seen = rec.messages();
        assert_eq!(seen.len(), 1, "{delivery:?}");
        let data = data_of(&seen[0]);
        assert!(
            data.starts_with("Received: from client.test ([127.0.0.1]) by mx.test with ESMTP"),
            "{data}"
        );
        assert!(data.ends_with("\r\n\r\nline one\r\n.dotted\r\n"), "{data}");
        let Seen::Message { from, to, tls, .. } = &seen[0] else {
            unreachable!()
        };
        assert_eq!(
            (from.as_str(), to.as_slice(), *tls),
            ("<a@x.test>", &["<b@y.test>".to_owned()][..], false)
        );
        server.stop(Duration::from_secs(5)).await;
    }
}

async fn parsed_and_no_received<R: Runtime>(rt: R) {
    let mut opts = options(DeliveryMode::Parsed);
    let (server, rec, addr) = start(&rt, opts.clone()).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    let r = one_message(&mut c, "a@x.test", &["b@y.test", "c@y.test"], BODY).await;
    assert_eq!(r.last().unwrap().0, 250);
    assert_eq!(
        rec.seen(),
        [Seen::Parsed {
            subject: Some("hello".into()),
            received_first: true,
            recipients: 2
        }]
    );
    server.stop(Duration::from_secs(5)).await;

    opts.delivery = DeliveryMode::Buffered;
    opts.add_received = false;
    let (server, rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
    assert!(data_of(&rec.messages()[0]).starts_with("Subject: hello\r\n"));
    server.stop(Duration::from_secs(5)).await;
}

async fn starttls<R: Runtime>(rt: R) {
    let pki = TestPki::localhost();
    let opts = options(DeliveryMode::Buffered).with_starttls(server_tls(&pki));
    let (server, rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    assert!(c.cmd("EHLO client.test").await.1.contains("STARTTLS"));
    assert_eq!(c.cmd("STARTTLS").await.0, 220);
    c.tls(&pki).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert_eq!(ehlo.0, 250);
    assert!(!ehlo.1.contains("STARTTLS"));
    let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
    assert_eq!(r.last().unwrap().0, 250);
    assert_eq!(c.cmd("QUIT").await.0, 221);
    let seen = rec.messages();
    assert!(matches!(&seen[0], Seen::Message { tls: true, .. }));
    assert!(data_of(&seen[0]).contains("with ESMTPS"));
    server.stop(Duration::from_secs(5)).await;
}

async fn implicit_tls<R: Runtime>(rt: R) {
    let pki = TestPki::localhost();
    let opts = options(DeliveryMode::Streaming).with_implicit_tls(server_tls(&pki));
    let (server, rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.tls(&pki).await;
    assert_eq!(c.reply().await.0, 220);
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(!ehlo.1.contains("STARTTLS"), "{ehlo:?}");
    let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
    assert_eq!(r.last().unwrap().0, 250);
    c.cmd("QUIT").await;
    assert!(matches!(
        &rec.messages()[0],
        Seen::Message { tls: true, .. }
    ));
    server.stop(Duration::from_secs(5)).await;
}

async fn auth<R: Runtime>(rt: R) {
    let pki = TestPki::localhost();
    let mut opts = options(DeliveryMode::Buffered).with_starttls(server_tls(&pki));
    opts.config_mut().auth_mechanisms = vec![
        mailwire_driver::core::sasl::Mechanism::Plain,
        mailwire_driver::core::sasl::Mechanism::Login,
    ];
    let (server, rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    assert!(
        !c.cmd("EHLO client.test").await.1.contains("AUTH"),
        "no PLAIN before TLS"
    );
    c.cmd("STARTTLS").await;
    c.tls(&pki).await;
    assert!(
        c.cmd("EHLO client.test")
            .await
            .1
            .contains("AUTH PLAIN LOGIN")
    );
    let bad = encode_base64(format!("\0{USER}\0wrong").as_bytes());
    assert_eq!(c.cmd(&format!("AUTH PLAIN {bad}")).await.0, 535);
    assert_eq!(c.cmd("AUTH LOGIN").await.0, 334);
    assert_eq!(c.cmd(&encode_base64(USER.as_bytes())).await.0, 334);
    assert_eq!(c.cmd(&encode_base64(PASSWORD.as_bytes())).await.0, 235);
    let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
    assert_eq!(r.last().unwrap().0, 250);
    let seen = rec.messages();
    assert!(matches!(&seen[0], Seen::Message { user: Some(u), .. } if u == USER));
    assert!(data_of(&seen[0]).contains("with ESMTPSA"));
    server.stop(Duration::from_secs(5)).await;
}

async fn pipelining_refused_and_several<R: Runtime>(rt: R) {
    let (server, rec, addr) = start(&rt, options(DeliveryMode::Buffered)).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    assert!(c.cmd("EHLO client.test").await.1.contains("PIPELINING"));
    for i in 0..3 {
        let batch = format!(
            "MAIL FROM:<s{i}@x.test>\r\nRCPT TO:<r{i}@y.test>\r\nRCPT TO:<refuse{i}@y.test>\r\n\
             RCPT TO:<q{i}@y.test>\r\nDATA\r\n"
        );
        c.send(batch.as_bytes()).await;
        let codes = [
            c.reply().await,
            c.reply().await,
            c.reply().await,
            c.reply().await,
            c.reply().await,
        ];
        let codes: Vec<u16> = codes.iter().map(|r| r.0).collect();
        assert_eq!(codes, [250, 250, 550, 250, 354]);
        c.send(format!("Subject: {i}\r\n\r\nbody {i}\r\n.\r\n").as_bytes())
            .await;
        assert_eq!(c.reply().await.0, 250);
    }
    assert_eq!(c.cmd("QUIT").await.0, 221);
    let seen = rec.messages();
    assert_eq!(seen.len(), 3);
    for (i, s) in seen.iter().enumerate() {
        let Seen::Message { from, to, .. } = s else {
            unreachable!()
        };
        assert_eq!(from, &format!("<s{i}@x.test>"));
        // Recipients never accumulate across messages.
        assert_eq!(to, &[format!("<r{i}@y.test>"), format!("<q{i}@y.test>")]);
        assert!(data_of(s).ends_with(&format!("body {i}\r\n")));
    }
    server.stop(Duration::from_secs(5)).await;
}

async fn failing_delivery_is_451<R: Runtime>(rt: R) {
    for delivery in [
        DeliveryMode::Buffered,
        DeliveryMode::Streaming,
        DeliveryMode::Parsed,
    ] {
        let (server, rec, addr) = start(&rt, options(delivery)).await;
        let mut c = connect(&rt, addr).await;
        c.reply().await;
        c.cmd("EHLO client.test").await;
        for how in ["error", "panic"] {
            let body = format!("X-Fail: {how}\r\n\r\nnope\r\n");
            let r = one_message(&mut c, "a@x.test", &["b@y.test"], &body).await;
            let last = r.last().unwrap();
            assert!(
                last.1.starts_with("451 4.3.0"),
                "{delivery:?} {how}: {last:?}"
            );
        }
        // The session survives: the next message is accepted.
        let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
        assert_eq!(r.last().unwrap().0, 250, "{delivery:?}");
        let whole = rec
            .seen()
            .iter()
            .filter(|s| !matches!(s, Seen::StreamError { .. }))
            .count();
        assert_eq!(whole, 1, "{delivery:?}: {:?}", rec.seen());
        server.stop(Duration::from_secs(5)).await;
    }
}

async fn slow_hook_answered_451<R: Runtime>(rt: R) {
    for delivery in [DeliveryMode::Buffered, DeliveryMode::Streaming] {
        let mut opts = options(delivery);
        opts.config_mut().timeouts.decision = Duration::from_millis(300);
        let (server, rec, addr) = start(&rt, opts).await;
        let mut c = connect(&rt, addr).await;
        c.reply().await;
        c.cmd("EHLO client.test").await;
        let r = one_message(
            &mut c,
            "a@x.test",
            &["b@y.test"],
            "X-Fail: hang\r\n\r\nzzz\r\n",
        )
        .await;
        let last = r.last().unwrap();
        assert!(last.1.starts_with("451 4.3.0"), "{delivery:?}: {last:?}");
        let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
        assert_eq!(r.last().unwrap().0, 250, "{delivery:?}");
        assert_eq!(rec.messages().len(), 1);
        drop(c);
        // The hung hook is cut when the server stops after its grace.
        server.stop(Duration::from_millis(500)).await;
    }
}

async fn bdat_chunks<R: Runtime>(rt: R) {
    for delivery in [DeliveryMode::Buffered, DeliveryMode::Streaming] {
        let (server, rec, addr) = start(&rt, options(delivery)).await;
        let mut c = connect(&rt, addr).await;
        c.reply().await;
        assert!(c.cmd("EHLO client.test").await.1.contains("CHUNKING"));
        c.cmd("MAIL FROM:<a@x.test>").await;
        c.cmd("RCPT TO:<b@y.test>").await;
        let first = "Subject: bdat\r\n\r\n";
        let last = ".not stuffed\r\n";
        c.send(format!("BDAT {}\r\n{first}", first.len()).as_bytes())
            .await;
        assert_eq!(c.reply().await.0, 250);
        c.send(format!("BDAT {} LAST\r\n{last}", last.len()).as_bytes())
            .await;
        assert_eq!(c.reply().await.0, 250, "{delivery:?}");
        let data = data_of(&rec.messages()[0]);
        assert!(
            data.ends_with("Subject: bdat\r\n\r\n.not stuffed\r\n"),
            "{data}"
        );
        server.stop(Duration::from_secs(5)).await;
    }
}

async fn several_servers<R: Runtime>(rt: R) {
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(start(&rt, options(DeliveryMode::Buffered)).await);
    }
    for (i, (_, _, addr)) in servers.iter().enumerate() {
        let mut c = connect(&rt, *addr).await;
        c.reply().await;
        c.cmd("EHLO client.test").await;
        let to = format!("n{i}@y.test");
        let r = one_message(&mut c, "a@x.test", &[to.as_str()], BODY).await;
        assert_eq!(r.last().unwrap().0, 250);
    }
    for (i, (server, rec, _)) in servers.into_iter().enumerate() {
        let seen = rec.messages();
        assert!(
            matches!(seen.as_slice(), [Seen::Message { to, .. }] if to == &[format!("<n{i}@y.test>")]),
            "{seen:?}"
        );
        server.stop(Duration::from_secs(5)).await;
    }
}

async fn memory_budget<R: Runtime>(rt: R) {
    let mut opts = options(DeliveryMode::Buffered);
    opts.memory_budget = MemoryBudget::new(4096);
    let budget = opts.memory_budget.clone();
    let (server, rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(10_000));
    let r = one_message(&mut c, "a@x.test", &["b@y.test"], &big).await;
    assert!(r.last().unwrap().1.starts_with("552 5.3.4"), "{r:?}");
    let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
    assert_eq!(r.last().unwrap().0, 250);
    assert_eq!(rec.messages().len(), 1);
    eventually(&rt, "budget released", || budget.used() == 0).await;
    server.stop(Duration::from_secs(5)).await;
}

async fn stream_cut_off<R: Runtime>(rt: R) {
    let (server, rec, addr) = start(&rt, options(DeliveryMode::Streaming)).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send(format!("Subject: cut\r\n\r\n{}", "y".repeat(100_000)).as_bytes())
        .await;
    drop(c);
    eventually(&rt, "the stream error", || !rec.seen().is_empty()).await;
    let seen = rec.seen();
    assert!(
        matches!(seen.as_slice(), [Seen::StreamError { kind, .. }] if *kind == std::io::ErrorKind::ConnectionAborted),
        "{seen:?}"
    );
    server.stop(Duration::from_secs(5)).await;
}

async fn stop_mid_message<R: Runtime>(rt: R) {
    // Graceful: the message in progress completes, then 421.
    let (server, rec, addr) = start(&rt, options(DeliveryMode::Streaming)).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send(b"Subject: half\r\n\r\nfirst half\r\n").await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    rt.spawn(async move {
        server.stop(Duration::from_secs(20)).await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    // The listener closes at once.
    let mut attempts = 0;
    while rt.connect(addr).await.is_ok() {
        attempts += 1;
        assert!(attempts < 500, "the listener did not close");
        rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
    }
    c.send(b"second half\r\n").await;
    let end = c.cmd(".").await;
    assert_eq!(end.0, 250, "{end:?}");
    let next = c.cmd("NOOP").await;
    assert!(next.1.starts_with("421 4.3.2"), "{next:?}");
    eventually(&rt, "stop to return", || {
        done.load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
    let seen = rec.seen();
    assert_eq!(seen.len(), 1);
    assert!(data_of(&seen[0]).ends_with("\r\n\r\nfirst half\r\nsecond half\r\n"));

    // Cut after the grace: the message is never delivered, its reader
    // fails, and the client is told 421 before the close.
    let (server, rec, addr) = start(&rt, options(DeliveryMode::Streaming)).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    c.cmd("DATA").await;
    c.send(b"Subject: never\r\n\r\nhalf\r\n").await;
    server.stop(Duration::from_millis(300)).await;
    let seen = rec.seen();
    assert!(
        matches!(seen.as_slice(), [Seen::StreamError { .. }]),
        "{seen:?}"
    );
    let told = c.reply().await;
    assert!(told.1.starts_with("421 4.3.2"), "{told:?}");
    assert_eq!(c.reply().await.0, 0, "then the connection was closed");
}

/// A stop whose grace runs out during a slow 50 MB transfer: the client
/// gets 421 while it is still sending, and nothing is delivered.
async fn stop_during_slow_transfer<R: Runtime>(rt: R) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let (server, rec, addr) = start(&rt, options(DeliveryMode::Streaming)).await;
    let stream = rt.connect(addr).await.unwrap();
    let (mut reader, mut writer) = futures_lite::io::split(stream);
    writer
        .write_all(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("354 ") {
        let n = reader.read(&mut buf).await.unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    // About 6 MB a second: 50 MB would take 8 s; the grace is 300 ms.
    let line = [b'x'; 1022];
    let writing = rt.clone();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = sent.clone();
    rt.spawn(async move {
        let mut block = Vec::with_capacity(64 << 10);
        for _ in 0..64 {
            block.extend_from_slice(&line);
            block.extend_from_slice(b"\r\n");
        }
        while count.load(std::sync::atomic::Ordering::SeqCst) < 50 << 20 {
            if writer.write_all(&block).await.is_err() {
                return;
            }
            count.fetch_add(block.len(), std::sync::atomic::Ordering::SeqCst);
            writing
                .sleep_until(writing.now() + Duration::from_millis(10))
                .await;
        }
    });
    rt.sleep_until(rt.now() + Duration::from_millis(200)).await;
    server.stop(Duration::from_millis(300)).await;
    let mut told = Vec::new();
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => told.extend_from_slice(&buf[..n]),
        }
    }
    let told = String::from_utf8_lossy(&told);
    assert!(told.starts_with("421 4.3.2"), "{told:?}");
    let sent = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(sent < 50 << 20, "cut while still sending ({sent} octets)");
    assert!(rec.messages().is_empty(), "nothing delivered");
}

async fn connection_limit<R: Runtime>(rt: R) {
    let mut opts = options(DeliveryMode::Buffered);
    opts.max_connections_per_ip = 2;
    let (server, _rec, addr) = start(&rt, opts).await;
    let mut a = connect(&rt, addr).await;
    let mut b = connect(&rt, addr).await;
    assert_eq!(a.reply().await.0, 220);
    assert_eq!(b.reply().await.0, 220);
    let mut c = connect(&rt, addr).await;
    let refused = c.reply().await;
    assert!(refused.1.starts_with("421 4.7.0"), "{refused:?}");
    assert_eq!(c.reply().await.0, 0, "closed after the 421");
    assert_eq!(a.cmd("QUIT").await.0, 221);
    drop(a);
    eventually(&rt, "a slot to free", || server.active_sessions() < 2).await;
    let mut d = connect(&rt, addr).await;
    assert_eq!(d.reply().await.0, 220);
    drop((b, d));
    server.stop(Duration::from_secs(5)).await;

    let mut opts = options(DeliveryMode::Buffered);
    opts.max_connections = 1;
    let (server, _rec, addr) = start(&rt, opts).await;
    let mut a = connect(&rt, addr).await;
    assert_eq!(a.reply().await.0, 220);
    let mut b = connect(&rt, addr).await;
    assert!(b.reply().await.1.starts_with("421 4.7.0"));
    server.stop(Duration::from_secs(5)).await;
}

async fn starttls_injection_ignored<R: Runtime>(rt: R) {
    let pki = TestPki::localhost();
    let opts = options(DeliveryMode::Buffered).with_starttls(server_tls(&pki));
    let (server, _rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO client.test").await;
    c.send(b"STARTTLS\r\nMAIL FROM:<x@y>\r\n").await;
    assert_eq!(c.reply().await.0, 220);
    c.tls(&pki).await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert_eq!(
        ehlo.0, 250,
        "the first reply under TLS answers EHLO: {ehlo:?}"
    );
    // Had the injected MAIL run, this RCPT would be accepted.
    let rcpt = c.cmd("RCPT TO:<b@y.test>").await;
    assert_eq!(rcpt.0, 503, "{rcpt:?}");
    assert_eq!(c.cmd("QUIT").await.0, 221);
    server.stop(Duration::from_secs(5)).await;
}

async fn pipe_session<R: Runtime>(rt: R) {
    let (client_end, server_end) = mailwire_driver::pipe(8192);
    let rec = Recorder::default();
    let server = Server::with_handler(
        options(DeliveryMode::Streaming).server,
        Streamed(rec.clone()),
    );
    let srt = rt.clone();
    let served = async move { server.serve_stream(srt, server_end, None, None).await };
    let client = async {
        let mut c = TestClient::new(client_end);
        assert_eq!(c.reply().await.0, 220);
        c.cmd("EHLO pipe.test").await;
        let r = one_message(&mut c, "a@x.test", &["b@y.test"], BODY).await;
        assert_eq!(r.last().unwrap().0, 250);
        assert_eq!(c.cmd("QUIT").await.0, 221);
    };
    futures_lite::future::zip(served, client).await;
    let data = data_of(&rec.messages()[0]);
    assert!(
        data.starts_with("Received: from pipe.test by mx.test"),
        "{data}"
    );
}

on_all_runtimes!(
    plain,
    parsed_and_no_received,
    starttls,
    implicit_tls,
    auth,
    pipelining_refused_and_several,
    failing_delivery_is_451,
    slow_hook_answered_451,
    memory_budget,
    bdat_chunks,
    several_servers,
    stream_cut_off,
    stop_mid_message,
    stop_during_slow_transfer,
    connection_limit,
    starttls_injection_ignored,
    pipe_session,
);
