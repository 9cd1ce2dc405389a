//! `mailwire serve --runtime tokio --threads N`: one single-threaded tokio
//! runtime per thread, all accepting on the same listening sockets.
//!
//! Each address is bound once, normally (no `SO_REUSEPORT`), so a second
//! `mailwire serve` on it fails at once with "address in use" instead of
//! silently taking half of the connections (and of the mail) into its own
//! Maildir. The other threads accept on duplicates of that one socket
//! ([`Tokio::share_listener`]), which no other process can join.

use mailwire_driver::Runtime;
use mailwire_tokio::Tokio;

use super::{Listening, Plan, listen_error, start, wait_and_stop};

/// Serves on tokio: this thread and `threads - 1` more each run a
/// single-threaded runtime accepting on every address (one server each,
/// so limits and stopping are shared); a session never leaves the thread
/// that accepted it.
pub(super) fn serve_tokio(
    plan: Plan,
    stop: smol::channel::Receiver<()>,
    threads: usize,
) -> Result<(), String> {
    let current = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start tokio: {e}"))
    };
    current()?.block_on(async {
        // For each address in the order `start` binds them, one shared
        // handle per other thread.
        let shares = std::cell::RefCell::new(Vec::new());
        let running = start(Tokio, &plan, |addr| {
            let shares = &shares;
            async move {
                let listener = Tokio.bind(addr).await?;
                let copies = (1..threads)
                    .map(|_| Tokio::share_listener(&listener))
                    .collect::<std::io::Result<Vec<_>>>()?;
                shares.borrow_mut().push(copies);
                Ok(listener)
            }
        })
        .await?;
        let mut shares = shares.into_inner();
        let (done, finished) = smol::channel::bounded::<()>(1);
        let mut workers = Vec::new();
        for index in 1..threads {
            // This thread's handle on every address, in `running`'s order.
            let mine = shares
                .iter_mut()
                .map(Vec::pop)
                .collect::<Option<Vec<std::net::TcpListener>>>()
                .ok_or("a listener was not shared with every thread")?;
            let worker = spawn_worker(index, running.clone(), mine, finished.clone())?;
            workers.push(worker);
        }
        wait_and_stop(&plan, &running, stop).await;
        drop(done);
        for worker in workers {
            let _ = worker.join();
        }
        Ok(())
    })
}

/// Starts serving thread `index` on its handles (`mine[i]` for
/// `running[i]`) and waits until it accepts; it serves until `finished`
/// closes.
fn spawn_worker(
    index: usize,
    running: Vec<Listening<Tokio>>,
    mine: Vec<std::net::TcpListener>,
    finished: smol::channel::Receiver<()>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let (ready, joined) = std::sync::mpsc::channel::<Result<(), String>>();
    let worker = std::thread::Builder::new()
        .name(format!("mailwire-serve-{index}"))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready.send(Err(format!("cannot start tokio: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let mut result = Ok(());
                for ((server, addr, _), shared) in running.iter().zip(mine) {
                    let added = tokio::net::TcpListener::from_std(shared)
                        .and_then(|l| server.add_listener(Tokio, l));
                    if let Err(e) = added {
                        result = Err(listen_error(*addr, &e));
                        break;
                    }
                }
                let failed = result.is_err();
                let _ = ready.send(result);
                if !failed {
                    // Serve until the servers have stopped.
                    let _ = finished.recv().await;
                }
            });
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    joined
        .recv()
        .map_err(|_| "a serving thread ended at start".to_owned())??;
    Ok(worker)
}
