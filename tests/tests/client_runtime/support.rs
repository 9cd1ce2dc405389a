//! Shared pieces of the client runtime tests: a scripted SMTP server that
//! replays a script over any stream (plain or TLS, loopback or pipe), a
//! timeout wrapper, and a macro that instantiates one scenario per runtime.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use mailwire_driver::{Runtime, ServerTls, Transport};
use mailwire_tests::certs::TestPki;

/// One step of a scripted server.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes (in one write).
    Send(&'static str),
    /// Read one line; it must start with this text (ASCII case-insensitive).
    Expect(&'static str),
    /// Read a DATA body up to the terminating dot line; kept in the log.
    Data,
    /// Run the server side of a TLS handshake.
    Tls,
    /// Read until the client closes (or 5 s pass); what is read is kept
    /// in [`Log::drained`].
    Drain,
}

/// What the scripted server saw.
#[derive(Debug, Default)]
pub struct Log {
    /// Every command line received (without CRLF).
    pub lines: Vec<String>,
    /// Every DATA body received (dot-stuffed as on the wire, without the
    /// final dot line).
    pub bodies: Vec<Vec<u8>>,
    /// What the client sent during `Drain` steps (after the script's
    /// last expected line).
    pub drained: Vec<u8>,
    /// Script mismatches and I/O errors.
    pub errors: Vec<String>,
    /// The script ran to its end.
    pub finished: bool,
}

/// The log, shared with the server task.
pub type SharedLog = Arc<Mutex<Log>>;

/// Locks the log.
pub fn log(shared: &SharedLog) -> std::sync::MutexGuard<'_, Log> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The test PKI, made once per test binary.
pub fn pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(TestPki::localhost)
}

/// The server TLS configuration from the test PKI.
pub fn server_tls() -> ServerTls {
    let pki = pki();
    ServerTls::from_pem(
        pki.server_chain_pem.as_bytes(),
        pki.server_key_pem.as_bytes(),
    )
    .expect("server TLS")
}

/// Runs `script` over `stream`, recording into `log`.
pub async fn run_script<S>(stream: S, script: Vec<Step>, log_: SharedLog)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut transport = Transport::Plain(stream);
    let mut buf: Vec<u8> = Vec::new();
    let result = async {
        for step in script {
            match step {
                Step::Send(text) => {
                    transport.write_all(text.as_bytes()).await?;
                    transport.flush().await?;
                }
                Step::Expect(prefix) => {
                    let line = read_line(&mut transport, &mut buf).await?;
                    let ok = line.len() >= prefix.len()
                        && line.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
                    if !ok {
                        log(&log_)
                            .errors
                            .push(format!("expected {prefix:?}, got {line:?}"));
                    }
                    log(&log_).lines.push(line);
                }
                Step::Data => {
                    let mut body = Vec::new();
                    loop {
                        let line = read_raw_line(&mut transport, &mut buf).await?;
                        if line == b".\r\n" {
                            break;
                        }
                        body.extend_from_slice(&line);
                    }
                    log(&log_).bodies.push(body);
                }
                Step::Tls => {
                    if !buf.is_empty() {
                        log(&log_)
                            .errors
                            .push(format!("bytes before the TLS handshake: {buf:?}"));
                        buf.clear();
                    }
                    transport
                        .accept_tls(&server_tls().acceptor())
                        .await
                        .map_err(|e| std::io::Error::other(format!("TLS accept: {e}")))?;
                }
                Step::Drain => {
                    let mut scratch = [0u8; 1024];
                    log(&log_).drained.append(&mut buf);
                    let drain = async {
                        loop {
                            let n = transport.read(&mut scratch).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            log(&log_).drained.extend_from_slice(&scratch[..n]);
                        }
                    };
                    drain
                        .or(async {
                            smol::Timer::after(Duration::from_secs(5)).await;
                        })
                        .await;
                }
            }
        }
        Ok::<(), std::io::Error>(())
    }
    .await;
    let _ = transport.close().await;
    let mut log = log(&log_);
    match result {
        Ok(()) => log.finished = true,
        Err(e) => log.errors.push(format!("I/O: {e}")),
    }
}

async fn read_raw_line<S>(
    transport: &mut Transport<S>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Vec<u8>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        if let Some(pos) = buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = buf.drain(..pos + 2).collect();
            return Ok(line);
        }
        let mut chunk = [0u8; 4096];
        let n = transport.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn read_line<S>(transport: &mut Transport<S>, buf: &mut Vec<u8>) -> std::io::Result<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let line = read_raw_line(transport, buf).await?;
    Ok(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned())
}

/// A scripted server on 127.0.0.1: one script per connection, in order.
/// Returns its address and the logs (one per script).
pub async fn scripted_server<R: Runtime>(
    rt: &R,
    scripts: Vec<Vec<Step>>,
) -> (SocketAddr, Vec<SharedLog>) {
    let listener = rt
        .bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = R::local_addr(&listener).expect("local addr");
    let logs: Vec<SharedLog> = scripts.iter().map(|_| SharedLog::default()).collect();
    let task_logs = logs.clone();
    let spawner = rt.clone();
    rt.spawn(async move {
        for (script, log_) in scripts.into_iter().zip(task_logs) {
            match R::accept(&listener).await {
                Ok((stream, _)) => {
                    spawner.spawn(run_script(stream, script, log_));
                }
                Err(e) => log(&log_).errors.push(format!("accept: {e}")),
            }
        }
    });
    (addr, logs)
}

/// An address on 127.0.0.1 where nothing listens (connection refused).
pub async fn closed_port<R: Runtime>(rt: &R) -> SocketAddr {
    let listener = rt
        .bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = R::local_addr(&listener).expect("local addr");
    drop(listener);
    addr
}

/// Waits (bounded) until the script has finished, then checks it had no
/// errors.
pub async fn assert_script_ok<R: Runtime>(rt: &R, log_: &SharedLog) {
    let deadline = rt.now() + Duration::from_secs(10);
    while !log(log_).finished && log(log_).errors.is_empty() && rt.now() < deadline {
        rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
    }
    let log = log(log_);
    assert!(
        log.errors.is_empty(),
        "script errors: {:?}\n{log:?}",
        log.errors
    );
    assert!(log.finished, "script did not finish: {log:?}");
}

/// Runs `future` and fails the test if it takes more than 30 s.
pub async fn bounded<R: Runtime, F: std::future::Future<Output = ()>>(rt: R, future: F) {
    let deadline = rt.now() + Duration::from_secs(30);
    future
        .or(async move {
            rt.sleep_until(deadline).await;
            panic!("the test timed out");
        })
        .await;
}

/// Instantiates `async fn $scenario<R: Runtime>(rt: R)` as one test per
/// runtime, each bounded in time.
macro_rules! on_all_runtimes {
    ($($scenario:ident),* $(,)?) => {
        mod tokio_rt {
            $(
                #[test]
                fn $scenario() {
                    let rt = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("tokio runtime");
                    rt.block_on(crate::support::bounded(
                        mailwire_tokio::Tokio,
                        super::$scenario(mailwire_tokio::Tokio),
                    ));
                }
            )*
        }
        mod smol_rt {
            $(
                #[test]
                fn $scenario() {
                    smol::block_on(crate::support::bounded(
                        mailwire_smol::Smol,
                        super::$scenario(mailwire_smol::Smol),
                    ));
                }
            )*
        }
        mod async_std_rt {
            $(
                #[test]
                fn $scenario() {
                    async_std::task::block_on(crate::support::bounded(
                        mailwire_async_std::AsyncStd,
                        super::$scenario(mailwire_async_std::AsyncStd),
                    ));
                }
            )*
        }
    };
}
