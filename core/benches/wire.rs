//! Criterion micro-benchmarks for the wire codecs.
//!
//! ```text
//! cargo bench -p mailwire-core --bench wire
//! MAILWIRE_BENCH_QUICK=1 cargo bench -p mailwire-core --bench wire   # CI-sized: 1 MiB, short runs
//! ```
//!
//! Results and how to read them: `BENCHMARKS.md` at the top of the workspace.

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use mailwire_core::wire::command::Command;
use mailwire_core::wire::dot::{BareCr, BareLf, BodyPolicy, Stuffer, Unstuffer};

/// Whether to run the CI-sized variant (small inputs, short measurements).
fn quick() -> bool {
    std::env::var_os("MAILWIRE_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The body size: 10 MiB, or 1 MiB in quick mode.
fn body_size() -> usize {
    if quick() { 1 << 20 } else { 10 << 20 }
}

/// Lines of `line_len` octets (CRLF included) until `size` octets, each line
/// starting with `prefix` and filled with letters (no dots, no CR or LF).
fn lines(size: usize, line_len: usize, prefix: &[u8]) -> Vec<u8> {
    let fill = line_len - 2 - prefix.len();
    let mut body = Vec::with_capacity(size + line_len);
    let mut n = 0usize;
    while body.len() + line_len <= size {
        body.extend_from_slice(prefix);
        body.extend((0..fill).map(|i| b'a' + ((n + i) % 26) as u8));
        body.extend_from_slice(b"\r\n");
        n += 1;
    }
    body
}

/// A benchmark group with this file's settings: modest sample counts so that
/// the whole run takes minutes, shorter still in quick mode. Quick runs get
/// their own group name so that criterion never compares them with
/// full-size baselines.
fn configured_group<'c>(c: &'c mut Criterion, name: &str) -> BenchmarkGroup<'c, WallTime> {
    let mut group = if quick() {
        c.benchmark_group(format!("{name}-quick"))
    } else {
        c.benchmark_group(name)
    };
    if quick() {
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
    } else {
        group
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
    }
    group
}

// ---------------------------------------------------------------------------
// DATA dot codec: unstuff / stuff against the memchr and memcpy ceilings.
// ---------------------------------------------------------------------------

fn dot_codec(c: &mut Criterion) {
    let size = body_size();
    let inputs = [
        // Typical mail: 76 characters + CRLF.
        ("78-octet lines", lines(size, 78, b"")),
        // Worst case: short lines that all start with a (stuffed) dot.
        ("10-octet dot lines", lines(size, 10, b"..")),
    ];
    let mut group = configured_group(c, "dot");
    for (name, body) in &inputs {
        // The unstuffer's input: the body (already stuffed) and the terminator.
        let mut data = body.clone();
        data.extend_from_slice(b".\r\n");
        group.throughput(Throughput::Bytes(data.len() as u64));

        let mut out = BytesMut::with_capacity(data.len() * 2);
        group.bench_with_input(BenchmarkId::new("unstuff", name), &data, |b, data| {
            b.iter(|| {
                out.clear();
                let mut unstuffer = Unstuffer::new(BodyPolicy::default());
                let r = unstuffer.feed(black_box(data), &mut out);
                assert!(r.done && r.consumed == data.len());
                black_box(out.len())
            });
        });

        // The strict policy takes the other scan path (CR and LF searched).
        let strict = BodyPolicy {
            bare_lf: BareLf::Reject,
            bare_cr: BareCr::Reject,
            max_line_len: Some(1000),
            reject_nul: true,
        };
        group.bench_with_input(
            BenchmarkId::new("unstuff_strict", name),
            &data,
            |b, data| {
                b.iter(|| {
                    out.clear();
                    let mut unstuffer = Unstuffer::new(strict);
                    let r = unstuffer.feed(black_box(data), &mut out);
                    assert!(r.done && !unstuffer.violations().any());
                    black_box(out.len())
                });
            },
        );

        group.bench_with_input(BenchmarkId::new("stuff", name), &data, |b, data| {
            b.iter(|| {
                out.clear();
                let mut stuffer = Stuffer::new();
                stuffer.feed(black_box(data), &mut out);
                stuffer.finish(&mut out);
                black_box(out.len())
            });
        });

        group.bench_with_input(BenchmarkId::new("memchr_lf", name), &data, |b, data| {
            b.iter(|| memchr::memchr_iter(b'\n', black_box(data)).count());
        });

        let mut copy: Vec<u8> = Vec::with_capacity(data.len());
        group.bench_with_input(BenchmarkId::new("memcpy", name), &data, |b, data| {
            b.iter(|| {
                copy.clear();
                copy.extend_from_slice(black_box(data));
                black_box(copy.len())
            });
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// MAIL/RCPT command parsing: whole command lines (as the server sees them
// after framing) into typed commands, next to memchr and memcpy of the same
// lines.
// ---------------------------------------------------------------------------

/// Realistic MAIL and RCPT lines, without their CRLF.
fn command_lines() -> Vec<&'static [u8]> {
    vec![
        b"MAIL FROM:<alice.sender@mail.example.org> SIZE=1048576 BODY=8BITMIME",
        b"RCPT TO:<bob@example.com>",
        b"RCPT TO:<carol.recipient+tag@sub.example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;carol@example.net",
        b"MAIL FROM:<> SIZE=2048",
        b"RCPT TO:<\"dave smith\"@[192.0.2.7]>",
        b"mail from:<bounce-123456@lists.example.org> BODY=7BIT ENVID=QQ314159",
    ]
}

fn command_parsing(c: &mut Criterion) {
    let lines = command_lines();
    let bytes: usize = lines.iter().map(|l| l.len()).sum();
    let mut group = configured_group(c, "command");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("parse_mail_rcpt", |b| {
        b.iter(|| {
            for line in &lines {
                let cmd = Command::parse(black_box(line));
                black_box(&cmd);
            }
        })
    });
    group.bench_function("memchr_lines", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(memchr::memchr(b'>', black_box(line)));
            }
        })
    });
    let mut copy = Vec::with_capacity(bytes);
    group.bench_function("memcpy_lines", |b| {
        b.iter(|| {
            copy.clear();
            for line in &lines {
                copy.extend_from_slice(black_box(line));
            }
            black_box(&copy);
        })
    });
    group.finish();
}

criterion_group!(benches, dot_codec, command_parsing);
criterion_main!(benches);
