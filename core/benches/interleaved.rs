//! Interleaved ratio benchmark: each round times every case once, in a
//! rotating order, on the same bytes, so a noisy neighbour slows all cases of
//! a round alike and the per-round ratio to `memcpy` stays meaningful.
//!
//! ```text
//! cargo bench -p mailwire-core --bench interleaved            # 15 rounds
//! MAILWIRE_BENCH_ROUNDS=5 cargo bench -p mailwire-core --bench interleaved
//! ```
//!
//! Prints, per case, the median MB/s (or commands/s) and the min / median /
//! max of the per-round ratio to memcpy of the same bytes.

// A benchmark measures wall time; the core's ban on clocks is for the
// library, not for this harness.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use mailwire_core::wire::command::Command;
use mailwire_core::wire::dot::{BodyPolicy, Stuffer, Unstuffer};

const BODY: usize = 10 * 1024 * 1024;

fn lines(size: usize, line_len: usize, prefix: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + line_len);
    let mut n = 0u8;
    while body.len() < size {
        body.extend_from_slice(prefix);
        let fill = line_len - 2 - prefix.len();
        body.extend((0..fill).map(|i| b'a' + ((i as u8).wrapping_add(n)) % 26));
        body.extend_from_slice(b"\r\n");
        n = n.wrapping_add(1);
    }
    body
}

/// Seconds for `reps` runs of `f`.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed().as_secs_f64()
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // useful either way. A smoke run is two rounds.
    let rounds: usize = std::env::var("MAILWIRE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::args().any(|a| a == "--bench") {
            15
        } else {
            2
        });
    let reps = 8; // 80 MiB per sample: long enough to dwarf timer noise

    let inputs = [
        ("78-octet lines", lines(BODY, 78, b"")),
        ("10-octet dot lines", lines(BODY, 10, b"..")),
    ];
    println!("interleaved rounds: {rounds}, {reps} × 10 MiB per sample\n");
    println!("| input | case | median MB/s | ratio to memcpy min / median / max |");
    println!("| --- | --- | ---: | ---: |");
    for (name, body) in &inputs {
        let mut input = body.clone();
        input.extend_from_slice(b".\r\n");
        let mut out = BytesMut::with_capacity(input.len() + 1024);
        let mut copy: Vec<u8> = Vec::with_capacity(input.len());
        let cases: [&str; 4] = ["unstuff", "stuff", "memchr_lf", "memcpy"];
        let mut secs: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
        for round in 0..rounds {
            for k in 0..cases.len() {
                let case = (k + round) % cases.len();
                let t = match case {
                    0 => time(reps, || {
                        out.clear();
                        let mut u = Unstuffer::new(BodyPolicy::default());
                        let r = u.feed(black_box(&input), &mut out);
                        assert!(r.done);
                    }),
                    1 => time(reps, || {
                        out.clear();
                        let mut s = Stuffer::new();
                        s.feed(black_box(body), &mut out);
                        s.finish(&mut out);
                    }),
                    2 => time(reps, || {
                        black_box(memchr::memchr_iter(b'\n', black_box(&input)).count());
                    }),
                    _ => time(reps, || {
                        copy.clear();
                        copy.extend_from_slice(black_box(&input));
                        black_box(&copy);
                    }),
                };
                secs[case].push(t);
            }
        }
        let bytes = (input.len() * reps) as f64;
        for (i, case) in cases.iter().enumerate() {
            let mbs: Vec<f64> = secs[i].iter().map(|s| bytes / s / 1e6).collect();
            let ratios: Vec<f64> = secs[i].iter().zip(&secs[3]).map(|(s, m)| m / s).collect();
            let (_, med, _) = stats(mbs);
            let (lo, rmed, hi) = stats(ratios);
            println!("| {name} | `{case}` | {med:.0} | {lo:.2} / {rmed:.2} / {hi:.2} |");
        }
    }

    // Command parsing: MAIL/RCPT lines per second, beside a memcpy of the
    // same lines.
    let lines: [&[u8]; 6] = [
        b"MAIL FROM:<alice.sender@mail.example.org> SIZE=1048576 BODY=8BITMIME",
        b"RCPT TO:<bob@example.com>",
        b"RCPT TO:<carol.recipient+tag@sub.example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol@example.net",
        b"MAIL FROM:<> SIZE=2048",
        b"RCPT TO:<\"dave smith\"@[192.0.2.7]>",
        b"mail from:<bounce-123456@lists.example.org> BODY=7BIT ENVID=QQ314159",
    ];
    let iters = 50_000;
    let mut parse = Vec::new();
    let mut memcpy = Vec::new();
    let mut copy = Vec::with_capacity(512);
    for round in 0..rounds {
        let p = || {
            time(iters, || {
                for l in &lines {
                    let parsed = Command::parse(black_box(l));
                    assert!(parsed.is_ok());
                    black_box(&parsed);
                }
            })
        };
        let mut m = || {
            time(iters, || {
                copy.clear();
                for l in &lines {
                    copy.extend_from_slice(black_box(l));
                }
                black_box(&copy);
            })
        };
        if round % 2 == 0 {
            parse.push(p());
            memcpy.push(m());
        } else {
            memcpy.push(m());
            parse.push(p());
        }
    }
    let n = (iters * lines.len()) as f64;
    let (_, med, _) = stats(parse.iter().map(|s| n / s).collect());
    let (_, mmed, _) = stats(memcpy.iter().map(|s| n / s).collect());
    let (lo, rmed, hi) = stats(parse.iter().zip(&memcpy).map(|(p, m)| m / p).collect());
    println!("\n| case | median commands/s | ratio to memcpy min / median / max |");
    println!("| --- | ---: | ---: |");
    println!("| MAIL/RCPT `Command::parse` | {med:.0} | {lo:.3} / {rmed:.3} / {hi:.3} |");
    println!("| memcpy of the same lines | {mmed:.0} | 1 |");
}
