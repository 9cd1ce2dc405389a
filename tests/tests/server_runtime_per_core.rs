//! One server accepting on one socket from several threads (tokio, each
//! thread a current-thread runtime with a shared handle on the socket):
//! sessions on every thread share the hooks, the connection limits and the
//! stop, and no other socket can join the address.

mod server_runtime_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mailwire_driver::Runtime;
use mailwire_driver::server::RunningServer;
use mailwire_tokio::Tokio;
use server_runtime_support::*;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Opens `count` sessions (whichever thread is free takes each); each is
/// greeted and takes a message. Returns them, open.
async fn sessions(
    addr: SocketAddr,
    count: usize,
) -> Vec<TestClient<<Tokio as mailwire_driver::Runtime>::Stream>> {
    let mut held = Vec::new();
    for _ in 0..count {
        let mut c = connect(&Tokio, addr).await;
        assert_eq!(c.reply().await.0, 220);
        assert_eq!(c.cmd("EHLO client.test").await.0, 250);
        assert_eq!(c.cmd("MAIL FROM:<a@x.test>").await.0, 250);
        assert_eq!(c.cmd("RCPT TO:<b@y.test>").await.0, 250);
        assert_eq!(c.cmd("DATA").await.0, 354);
        c.send(b"Subject: hi\r\n\r\nbody\r\n").await;
        assert_eq!(c.cmd(".").await.0, 250);
        held.push(c);
    }
    held
}

#[test]
fn listeners_on_several_threads_share_limits_and_stop() {
    let main = current_thread();
    main.block_on(async {
        let recorder = Recorder::default();
        let mut options = options(DeliveryMode::Buffered);
        options.max_connections = 30;
        options.max_connections_per_ip = 30;
        let listener = Tokio.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let shared = Tokio::share_listener(&listener).unwrap();
        let running: Arc<RunningServer<Tokio>> =
            Arc::new(listen(Tokio, options, &recorder, listener).unwrap());
        let addr = running.local_addr();

        // A second thread with its own runtime, accepting on the same
        // socket.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
        let other = {
            let running = running.clone();
            std::thread::spawn(move || {
                let thread = std::thread::current().id();
                current_thread().block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(shared).unwrap();
                    assert_eq!(running.add_listener(Tokio, listener).unwrap(), addr);
                    ready_tx.send(thread).unwrap();
                    let _ = done_rx.recv().await;
                });
            })
        };
        ready_rx.recv().unwrap();

        // Nothing else can listen on the address: not a plain bind, not an
        // SO_REUSEPORT socket (which any process of the same user could
        // otherwise add to a group and split the connections with).
        let plain = std::net::TcpListener::bind(addr);
        assert_eq!(
            plain.map(drop).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AddrInUse)
        );
        let reuse = tokio::net::TcpSocket::new_v4().unwrap();
        reuse.set_reuseaddr(true).unwrap();
        reuse.set_reuseport(true).unwrap();
        assert_eq!(
            reuse.bind(addr).map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AddrInUse)
        );

        // Sessions land on both listeners; every one is served.
        let held = sessions(addr, 24).await;
        assert_eq!(recorder.messages().len(), 24);
        eventually(&Tokio, "24 sessions counted", || {
            running.active_sessions() == 24
        })
        .await;

        // The shared limit: 30 in all, whichever listener takes them.
        let more = sessions(addr, 6).await;
        let mut refused = connect(&Tokio, addr).await;
        let reply = refused.reply().await;
        assert_eq!(reply.0, 421, "{reply:?}");
        drop(refused);

        // Stop closes every listener and ends every session.
        drop(more);
        drop(held);
        running.stop(Duration::from_secs(5)).await;
        assert_eq!(running.active_sessions(), 0);
        for _ in 0..20 {
            assert!(
                tokio::net::TcpStream::connect(addr).await.is_err(),
                "a listener is still open after stop"
            );
        }
        drop(done_tx);
        other.join().unwrap();
    });
}
