//! A 100 MiB message through the streaming hook, on each runtime, with the
//! process's RSS growth measured from /proc/self/status.
//!
//! **The bound: RSS may grow by at most 16 MiB** over the baseline taken
//! just before the transfer, sampled every MiB during it. What the server
//! legitimately holds per session is small: the 256 KiB body queue
//! (`ServerOptions::body_queue`), one 16 KiB read buffer, the core's line
//! buffer; the test's own client and handler hold a 64 KiB block each and
//! the first MiB of the body (to check it). The rest of the 16 MiB is
//! margin for the allocator, runtime worker stacks and TLS-free socket
//! I/O. A server that buffered the message would grow by more than 100 MiB,
//! six times the bound. The runtimes run one after the other in this one
//! test (its own process), so they do not disturb each other's figures.

mod server_runtime_support;

use std::time::Duration;

use futures_lite::AsyncWriteExt;
use mailwire_driver::Runtime;
use server_runtime_support::*;

const MESSAGE: u64 = 100 << 20;
const BOUND: u64 = 16 << 20;

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

async fn hundred_mib<R: Runtime>(rt: R) {
    let mut opts = options(DeliveryMode::Streaming);
    opts.config_mut().limits.max_message_size = Some(MESSAGE * 2);
    let (server, rec, addr) = start(&rt, opts).await;
    let mut c = connect(&rt, addr).await;
    c.reply().await;
    c.cmd("EHLO big.test").await;
    c.cmd("MAIL FROM:<a@x.test>").await;
    c.cmd("RCPT TO:<b@y.test>").await;
    assert_eq!(c.cmd("DATA").await.0, 354);

    // 64 KiB blocks of 998-character lines (64 lines + a filler line).
    let mut line = vec![b'm'; 998];
    line.extend_from_slice(b"\r\n");
    let mut block: Vec<u8> = line.iter().copied().cycle().take(65 * 1000).collect();
    block.truncate(64 * 1000);
    let baseline = rss();
    let mut peak = baseline;
    let mut sent = 0u64;
    while sent < MESSAGE {
        c.t.write_all(&block).await.unwrap();
        sent += block.len() as u64;
        if sent % (1 << 20) < block.len() as u64 {
            peak = peak.max(rss());
        }
    }
    c.t.flush().await.unwrap();
    let end = c.cmd(".").await;
    peak = peak.max(rss());
    assert_eq!(end.0, 250, "{end:?}");
    c.cmd("QUIT").await;
    let seen = rec.messages();
    let Some(Seen::Message { len, .. }) = seen.first() else {
        panic!("no message: {seen:?}");
    };
    assert!(*len >= sent, "{len} < {sent}");
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "100 MiB streamed: RSS baseline {} MiB, peak {} MiB, growth {} KiB (bound {} MiB)",
        baseline >> 20,
        peak >> 20,
        growth >> 10,
        BOUND >> 20
    );
    assert!(
        growth < BOUND,
        "RSS grew by {growth} octets (bound {BOUND})"
    );
    server.stop(Duration::from_secs(5)).await;
}

#[test]
fn hundred_mib_streamed_in_bounded_memory_on_every_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bounded(
        mailwire_tokio::Tokio,
        hundred_mib(mailwire_tokio::Tokio),
    ));
    drop(rt);
    smol::block_on(bounded(
        mailwire_smol::Smol,
        hundred_mib(mailwire_smol::Smol),
    ));
    async_std::task::block_on(bounded(
        mailwire_async_std::AsyncStd,
        hundred_mib(mailwire_async_std::AsyncStd),
    ));
}
