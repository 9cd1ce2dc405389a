//! Sessions over real loopback sockets on tokio, smol and async-std: a
//! factory makes one session per connection; hooks keep state in `&mut
//! self`, see the transaction so far, hear about every transaction that
//! ends without a delivery (`reset`) and about the end of the session
//! (`end`), however it ended; each delivery kind is called for every
//! message the client saw accepted.

mod server_runtime_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailwire_driver::Runtime;
use mailwire_driver::core::server::{CloseKind, TimeoutKind, TransactionEnd};
use mailwire_driver::core::wire::address::{ForwardPath, ReversePath};
use mailwire_driver::core::wire::params::RcptParameters;
use mailwire_driver::server::{
    BoxedFactory, Context, Delivery, HookError, HookResult, Mail, MailStream, ParsedMail,
    RunningServer, Server, ServerOptions, Session, SessionEnd, SessionFactory,
};
use server_runtime_support::*;

/// What the sessions of one server did, each line prefixed with the
/// session's number.
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// The lines of session `n`, without the prefix.
    fn of(&self, n: usize) -> Vec<String> {
        let prefix = format!("{n}: ");
        self.lines()
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }
}

/// Numbers its sessions from 1.
struct Numbered {
    next: AtomicUsize,
    log: Log,
}

/// One connection's session: counts its messages, refuses bounces to
/// anyone but a postmaster, logs its resets and its end.
struct Counting {
    n: usize,
    messages: usize,
    log: Log,
}

impl Counting {
    fn log(&self, what: String) {
        self.log.push(format!("{}: {what}", self.n));
    }
}

impl SessionFactory for Numbered {
    type Session = Counting;

    async fn new_session(&self, _ctx: &Context) -> HookResult<Counting> {
        let n = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Counting {
            n,
            messages: 0,
            log: self.log.clone(),
        })
    }
}

impl Session for Counting {
    type Message = Mail;

    async fn rcpt(&mut self, ctx: &Context, to: &ForwardPath, _: &RcptParameters) -> HookResult {
        let txn = ctx
            .transaction
            .as_ref()
            .expect("a transaction is open at RCPT");
        let postmaster = match to {
            ForwardPath::Postmaster => true,
            ForwardPath::Mailbox(m) => m.is_postmaster(),
            _ => false,
        };
        self.log(format!(
            "rcpt {to} after {} recipients",
            txn.recipients.len()
        ));
        if txn.from == ReversePath::Null && !postmaster {
            return Err(HookError::refuse(
                550,
                "5.7.1",
                "Bounces are for the postmaster only",
            ));
        }
        Ok(())
    }

    async fn deliver(&mut self, ctx: &Context, mail: Mail) -> HookResult {
        self.messages += 1;
        let seen = ctx.transaction.as_ref().map_or(0, |t| t.recipients.len());
        self.log(format!(
            "message {} with {} recipients (context {seen})",
            self.messages,
            mail.envelope.recipients.len()
        ));
        if String::from_utf8_lossy(&mail.data).contains("REFUSE") {
            return Err(HookError::refuse(554, "5.6.0", "Refused on purpose"));
        }
        Ok(())
    }

    async fn reset(&mut self, ctx: &Context, end: TransactionEnd) {
        let rcpts = ctx.transaction.as_ref().map_or(0, |t| t.recipients.len());
        self.log(format!("reset {end:?} with {rcpts} recipients"));
    }

    async fn end(&mut self, _ctx: &Context, end: SessionEnd) {
        // The kind of a protocol end (its reply is checked on the wire).
        let end = match end {
            SessionEnd::Closed(reason) => format!("Closed({:?})", reason.kind),
            other => format!("{other:?}"),
        };
        self.log(format!("end {end} after {} messages", self.messages));
    }
}

fn options() -> ServerOptions {
    let mut options = ServerOptions::new("mx.test");
    options.close_linger = Duration::from_millis(100);
    options.config_mut().extensions.chunking = true;
    options
}

async fn start<R: Runtime>(rt: &R, options: ServerOptions) -> (RunningServer<R>, Log) {
    let log = Log::default();
    let factory = Numbered {
        next: AtomicUsize::new(0),
        log: log.clone(),
    };
    let running = Server::new(options, factory)
        .bind(rt.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (running, log)
}

async fn send_message<S>(c: &mut TestClient<S>, from: &str, to: &[&str], body: &str) -> u16
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send,
{
    assert_eq!(c.cmd(&format!("MAIL FROM:<{from}>")).await.0, 250);
    for rcpt in to {
        c.cmd(&format!("RCPT TO:<{rcpt}>")).await;
    }
    assert_eq!(c.cmd("DATA").await.0, 354);
    c.send(body.as_bytes()).await;
    c.cmd(".").await.0
}

async fn per_session_state<R: Runtime>(rt: R) {
    let (server, log) = start(&rt, options()).await;
    let addr = server.local_addr();
    let mut a = connect(&rt, addr).await;
    a.reply().await;
    a.cmd("EHLO a.test").await;
    let mut b = connect(&rt, addr).await;
    b.reply().await;
    b.cmd("EHLO b.test").await;
    // Interleaved: each session counts only its own messages.
    assert_eq!(
        send_message(&mut a, "x@a.test", &["r@y.test"], "1\r\n").await,
        250
    );
    assert_eq!(
        send_message(&mut b, "x@b.test", &["r@y.test"], "1\r\n").await,
        250
    );
    assert_eq!(
        send_message(&mut a, "x@a.test", &["r@y.test", "s@y.test"], "2\r\n").await,
        250
    );
    assert_eq!(a.cmd("QUIT").await.0, 221);
    assert_eq!(b.cmd("QUIT").await.0, 221);
    eventually(&rt, "both sessions to end", || {
        log.lines().iter().filter(|l| l.contains("end ")).count() == 2
    })
    .await;
    let (first, second) = if log.of(1).iter().any(|l| l.contains("message 2")) {
        (1, 2)
    } else {
        (2, 1)
    };
    let a_lines = log.of(first);
    assert!(a_lines.contains(&"message 1 with 1 recipients (context 1)".to_owned()));
    assert!(a_lines.contains(&"message 2 with 2 recipients (context 2)".to_owned()));
    assert!(a_lines.contains(&"rcpt <s@y.test> after 1 recipients".to_owned()));
    assert_eq!(a_lines.last().unwrap(), "end Closed(Quit) after 2 messages");
    let b_lines = log.of(second);
    assert_eq!(b_lines.last().unwrap(), "end Closed(Quit) after 1 messages");
    server.stop(Duration::from_secs(5)).await;
}

async fn recipient_hook_sees_the_sender<R: Runtime>(rt: R) {
    let (server, _log) = start(&rt, options()).await;
    let mut c = connect(&rt, server.local_addr()).await;
    c.reply().await;
    c.cmd("EHLO c.test").await;
    // A bounce: only a postmaster may receive it (not a local one: the
    // hook decides, not the core's postmaster rule).
    assert_eq!(c.cmd("MAIL FROM:<>").await.0, 250);
    let refused = c.cmd("RCPT TO:<bob@y.test>").await;
    assert!(refused.1.starts_with("550 5.7.1"), "{refused:?}");
    assert_eq!(c.cmd("RCPT TO:<postmaster@y.test>").await.0, 250);
    assert_eq!(c.cmd("RSET").await.0, 250);
    // An ordinary sender may write to anyone.
    assert_eq!(c.cmd("MAIL FROM:<alice@x.test>").await.0, 250);
    assert_eq!(c.cmd("RCPT TO:<bob@y.test>").await.0, 250);
    assert_eq!(c.cmd("QUIT").await.0, 221);
    server.stop(Duration::from_secs(5)).await;
}

async fn reset_hook<R: Runtime>(rt: R) {
    let mut opts = options();
    opts.config_mut().limits.max_message_size = Some(1000);
    let (server, log) = start(&rt, opts).await;
    let mut c = connect(&rt, server.local_addr()).await;
    c.reply().await;
    c.cmd("EHLO c.test").await;

    // RSET with two recipients.
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    c.cmd("RCPT TO:<c@y.test>").await;
    assert_eq!(c.cmd("RSET").await.0, 250);

    // A second MAIL inside a transaction is refused and abandons nothing;
    // the transaction goes on and is delivered.
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    let nested = c.cmd("MAIL FROM:<other@x.test>").await;
    assert_eq!(nested.0, 503, "{nested:?}");
    assert_eq!(c.cmd("DATA").await.0, 354);
    assert_eq!(c.cmd("hello\r\n.").await.0, 250);
    // A second MAIL after it starts a fresh transaction.
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<d@y.test>").await;
    // ... abandoned by a new EHLO.
    c.cmd("EHLO again.test").await;

    // An abandoned DATA: over the size limit, and refused at its end.
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    c.cmd("DATA").await;
    c.send("x".repeat(2000).as_bytes()).await;
    assert_eq!(c.cmd("\r\n.").await.0, 552);
    assert_eq!(
        send_message(&mut c, "a@x.test", &["b@y.test"], "REFUSE\r\n").await,
        554
    );
    // A BDAT message abandoned by RSET between its chunks.
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    c.send(b"BDAT 5\r\nhello").await;
    assert_eq!(c.reply().await.0, 250);
    assert_eq!(c.cmd("RSET").await.0, 250);
    // An open transaction when the client quits.
    c.cmd("MAIL FROM:<a@x.test>").await;
    assert_eq!(c.cmd("QUIT").await.0, 221);

    eventually(&rt, "the session to end", || {
        log.lines().iter().any(|l| l.contains("end "))
    })
    .await;
    let resets: Vec<String> = log
        .of(1)
        .into_iter()
        .filter(|l| l.starts_with("reset"))
        .collect();
    assert_eq!(
        resets,
        [
            "reset Reset with 2 recipients",
            "reset Helo with 1 recipients",
            "reset Aborted(SizeExceeded) with 1 recipients",
            "reset Refused with 1 recipients",
            "reset Aborted(Reset) with 1 recipients",
            "reset Closed with 0 recipients",
        ]
    );
    // The delivered message had no reset; the end comes last.
    let lines = log.of(1);
    assert!(lines.contains(&"message 1 with 1 recipients (context 1)".to_owned()));
    assert_eq!(lines.last().unwrap(), "end Closed(Quit) after 2 messages");
    server.stop(Duration::from_secs(5)).await;
}

async fn end_hook<R: Runtime>(rt: R) {
    let mut opts = options();
    opts.config_mut().timeouts.command = Duration::from_millis(300);
    let (server, log) = start(&rt, opts).await;
    let addr = server.local_addr();

    // QUIT.
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    assert_eq!(c.cmd("QUIT").await.0, 221);
    eventually(&rt, "end after QUIT", || !log.of(1).is_empty()).await;
    assert_eq!(log.of(1), ["end Closed(Quit) after 0 messages"]);

    // A dropped connection, in the middle of a message.
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO c.test").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    c.cmd("DATA").await;
    c.send(b"half a message\r\n").await;
    drop(c);
    eventually(&rt, "end after a drop", || {
        log.of(2).iter().any(|l| l.starts_with("end"))
    })
    .await;
    assert_eq!(
        log.of(2),
        [
            "rcpt <b@y.test> after 0 recipients",
            "reset Aborted(PeerClosed) with 1 recipients",
            "end Closed(PeerClosed) after 0 messages",
        ]
    );

    // A timeout: the client says nothing after EHLO.
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO c.test").await;
    let timeout = c.reply().await;
    assert!(timeout.1.starts_with("421 4.4.2"), "{timeout:?}");
    eventually(&rt, "end after a timeout", || !log.of(3).is_empty()).await;
    assert_eq!(
        log.of(3),
        [format!(
            "end Closed({:?}) after 0 messages",
            CloseKind::Timeout(TimeoutKind::Command)
        )]
    );
    server.stop(Duration::from_secs(5)).await;
}

/// Counts deliveries of one kind, reading each message whole.
#[derive(Clone, Default)]
struct Tally(Arc<AtomicUsize>);

impl Tally {
    fn count(&self, data: &[u8]) -> HookResult {
        if String::from_utf8_lossy(data).contains("REFUSE") {
            return Err(HookError::refuse(550, "5.6.0", "Refused on purpose"));
        }
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Session for Tally {
    type Message = Mail;
    async fn deliver(&mut self, _: &Context, mail: Mail) -> HookResult {
        self.count(&mail.data)
    }
}

struct StreamTally(Tally);

impl Session for StreamTally {
    type Message = MailStream;
    async fn deliver(&mut self, _: &Context, mut mail: MailStream) -> HookResult {
        let mut data = Vec::new();
        while let Some(chunk) = mail.body.next_chunk().await? {
            data.extend_from_slice(&chunk);
        }
        self.0.count(&data)
    }
}

struct ParsedTally(Tally);

impl Session for ParsedTally {
    type Message = ParsedMail;
    async fn deliver(&mut self, _: &Context, mail: ParsedMail) -> HookResult {
        assert!(mail.message().is_some(), "every test message has headers");
        self.0.count(mail.data())
    }
}

/// Sends a mix of messages (DATA and BDAT, pipelined and not, refused
/// recipients, refused and cut-off messages) and returns how many the
/// client saw accepted.
async fn mixed_traffic<S>(c: &mut TestClient<S>) -> usize
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send,
{
    let mut accepted = 0;
    for i in 0..12 {
        let body = match i % 4 {
            3 => format!("Subject: {i}\r\n\r\nREFUSE\r\n"),
            _ => format!("Subject: {i}\r\n\r\nmessage {i}\r\n.. dot\r\n"),
        };
        let code = if i % 2 == 0 {
            c.send(
                format!(
                    "MAIL FROM:<a@x.test>\r\nRCPT TO:<b{i}@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n"
                )
                .as_bytes(),
            )
            .await;
            let replies = [c.reply().await, c.reply().await, c.reply().await];
            assert_eq!(c.reply().await.0, 354, "{replies:?}");
            c.send(format!("{body}.\r\n").as_bytes()).await;
            c.reply().await.0
        } else {
            c.cmd("MAIL FROM:<a@x.test>").await;
            c.cmd(&format!("RCPT TO:<b{i}@y.test>")).await;
            c.send(format!("BDAT {} LAST\r\n", body.len()).as_bytes())
                .await;
            c.send(body.as_bytes()).await;
            c.reply().await.0
        };
        if code == 250 {
            accepted += 1;
        }
    }
    // One message cut off by RSET between BDAT chunks.
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    c.send(b"BDAT 4\r\nSubj").await;
    c.reply().await;
    c.cmd("RSET").await;
    accepted
}

async fn each_kind_delivers_every_accepted_message<R: Runtime>(rt: R) {
    let whole = Tally::default();
    let streamed = Tally::default();
    let parsed = Tally::default();
    let factories: Vec<(&str, Tally, RunningServer<R>)> = vec![
        (
            "whole",
            whole.clone(),
            Server::new(options(), {
                let t = whole.clone();
                move |_: &Context| t.clone()
            })
            .bind(rt.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        ),
        (
            "streamed",
            streamed.clone(),
            Server::new(options(), {
                let t = streamed.clone();
                move |_: &Context| StreamTally(t.clone())
            })
            .bind(rt.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        ),
        (
            "parsed",
            parsed.clone(),
            Server::new(options(), {
                let t = parsed.clone();
                move |_: &Context| ParsedTally(t.clone())
            })
            .bind(rt.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
        ),
    ];
    for (kind, tally, server) in factories {
        let mut c = connect(&rt, server.local_addr()).await;
        c.reply().await;
        c.cmd("EHLO c.test").await;
        let accepted = mixed_traffic(&mut c).await;
        assert_eq!(c.cmd("QUIT").await.0, 221);
        assert_eq!(accepted, 9, "{kind}: the mix has 9 good messages");
        assert_eq!(
            tally.0.load(Ordering::SeqCst),
            accepted,
            "{kind}: every accepted message reached deliver, and only those"
        );
        server.stop(Duration::from_secs(5)).await;
    }
}

/// A factory chosen at run time, boxed: the same sessions behind
/// `BoxedFactory`.
async fn boxed_factory<R: Runtime>(rt: R) {
    fn choose<M: Delivery>(
        factory: impl SessionFactory<Session: Session<Message = M>>,
    ) -> BoxedFactory<M> {
        Arc::new(factory)
    }
    let log = Log::default();
    let factory: BoxedFactory<Mail> = choose(Numbered {
        next: AtomicUsize::new(0),
        log: log.clone(),
    });
    let server = Server::new(options(), factory)
        .bind(rt.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut c = connect(&rt, server.local_addr()).await;
    c.reply().await;
    c.cmd("EHLO c.test").await;
    assert_eq!(
        send_message(&mut c, "a@x.test", &["b@y.test"], "hi\r\n").await,
        250
    );
    c.cmd("RSET").await;
    assert_eq!(c.cmd("QUIT").await.0, 221);
    eventually(&rt, "the end", || {
        log.of(1).iter().any(|l| l.starts_with("end"))
    })
    .await;
    assert_eq!(
        log.of(1),
        [
            "rcpt <b@y.test> after 0 recipients",
            "message 1 with 1 recipients (context 1)",
            "end Closed(Quit) after 1 messages",
        ]
    );
    server.stop(Duration::from_secs(5)).await;
}

/// A session whose hook hangs: its step is answered 451 when the
/// decision deadline passes, the next steps wait for the session (each
/// bounded by its own deadline), and nothing is ever answered 250 in its
/// place.
struct Hangs;

impl Session for Hangs {
    type Message = Mail;
    async fn rcpt(&mut self, _: &Context, to: &ForwardPath, _: &RcptParameters) -> HookResult {
        if to.to_string().contains("hang") {
            std::future::pending::<()>().await;
        }
        Ok(())
    }
    async fn deliver(&mut self, _: &Context, _: Mail) -> HookResult {
        Ok(())
    }
}

async fn hung_hook_never_gives_250<R: Runtime>(rt: R) {
    let mut opts = options();
    opts.config_mut().timeouts.decision = Duration::from_millis(200);
    let server = Server::new(opts, |_: &Context| Hangs)
        .bind(rt.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut c = connect(&rt, server.local_addr()).await;
    c.reply().await;
    c.cmd("EHLO c.test").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    let hung = c.cmd("RCPT TO:<hang@y.test>").await;
    assert!(hung.1.starts_with("451 4.3.0"), "{hung:?}");
    let next = c.cmd("RCPT TO:<b@y.test>").await;
    assert!(next.1.starts_with("451 4.3.0"), "{next:?}");
    // Commands that need no hook still work.
    assert_eq!(c.cmd("NOOP").await.0, 250);
    assert_eq!(c.cmd("QUIT").await.0, 221);
    server.stop(Duration::from_millis(300)).await;
}

on_all_runtimes!(
    per_session_state,
    recipient_hook_sees_the_sender,
    reset_hook,
    end_hook,
    each_kind_delivers_every_accepted_message,
    boxed_factory,
    hung_hook_never_gives_250,
);
