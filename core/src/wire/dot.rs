//! The DATA dot codec and BDAT chunk framing.
//!
//! # DATA (RFC 5321 §4.1.1.4, §4.5.2)
//!
//! The server side is the [`Unstuffer`]: it finds the end of the data, removes
//! the transparency dots and applies a [`BodyPolicy`] to bare line ends. The
//! client side is the [`Stuffer`]: it normalises line ends, adds the
//! transparency dots and the terminator.
//!
//! Framing is strict, as a defence against SMTP smuggling: only the literal
//! bytes CRLF `.` CRLF end the data (the start of the data counts as just after
//! a CRLF, so `.` CRLF first is an empty message). A line starts only after a
//! literal CRLF — never after a bare LF or a bare CR — so `LF . CRLF`,
//! `CR . CRLF` and `CRLF . LF` are content, never a terminator, and a dot
//! reached through a bare line end is not unstuffed.
//!
//! The client never lets a body form a terminator: it normalises every bare CR
//! and bare LF to CRLF *before* dot-stuffing, so every dot that follows any
//! line end is stuffed. For any body, `unstuff(stuff(body)) == normalize(body)`
//! (see [`normalize`]).
//!
//! ```
//! use bytes::BytesMut;
//! use mailwire_core::wire::dot::{BodyPolicy, Stuffer, Unstuffer, normalize};
//!
//! let body = b"Hi\n.\nbye";
//! let mut wire = BytesMut::new();
//! let mut stuffer = Stuffer::new();
//! stuffer.feed(body, &mut wire);
//! stuffer.finish(&mut wire);
//! assert_eq!(&wire[..], b"Hi\r\n..\r\nbye\r\n.\r\n");
//!
//! let mut message = BytesMut::new();
//! let mut unstuffer = Unstuffer::new(BodyPolicy::default());
//! let result = unstuffer.feed(&wire, &mut message);
//! assert!(result.done);
//! assert_eq!(result.consumed, wire.len());
//! assert_eq!(&message[..], &normalize(body)[..]);
//! ```
//!
//! # BDAT (RFC 3030)
//!
//! BDAT chunks are counted, not delimited: [`write_bdat_header`] writes the
//! command and [`BdatReader`] takes exactly the announced number of octets.
//! For 7BIT and 8BITMIME bodies the client normalises line ends with
//! [`LineNormalizer`] (no dots), and the server may apply its [`BodyPolicy`]
//! with [`BdatChecker`], whose state persists across the chunks of one
//! message. BINARYMIME bodies are sent and received as raw bytes.
//!
//! # Memory and speed
//!
//! Every type here keeps only a few bytes of state and appends its output to
//! the caller's [`BytesMut`] (which the caller splits into `Bytes` chunks).
//! Input is scanned with `memchr` for CR and LF and copied in whole runs.
//! Under the default policy the unstuffer also skips 1 KiB blocks that need
//! no work (every LF is part of a CRLF and no dot follows it) with a
//! branch-free check that compiles to vector code; see `BENCHMARKS.md`.

use bytes::{BufMut, BytesMut};
use memchr::{memchr, memchr2};

const CRLF: &[u8] = b"\r\n";

/// What the server does with a bare LF (an LF not preceded by CR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BareLf {
    /// Replace it with CRLF in the output (as Postfix's `normalize`).
    #[default]
    Normalize,
    /// Record a violation ([`Violations::bare_lf`]) so that the message can be
    /// refused at its end; the output is normalised meanwhile.
    Reject,
}

/// What the server does with a bare CR (a CR not followed by LF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BareCr {
    /// Keep it as data.
    #[default]
    Keep,
    /// Replace it with CRLF in the output.
    Normalize,
    /// Record a violation ([`Violations::bare_cr`]) so that the message can be
    /// refused at its end; the CR is kept meanwhile.
    Reject,
}

/// How the server treats line ends and line lengths in a message body.
///
/// Whatever the policy, a line start is only ever after a literal CRLF: a
/// normalised bare line end does not start a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyPolicy {
    /// What to do with a bare LF.
    pub bare_lf: BareLf,
    /// What to do with a bare CR.
    pub bare_cr: BareCr,
    /// The longest line allowed, in octets including its CRLF and excluding a
    /// transparency dot (RFC 5321 §4.5.3.1.6 says 1000). `None` (the default)
    /// allows any length: real mail exceeds 1000 octets.
    pub max_line_len: Option<usize>,
}

/// The policy violations seen in a message body (see [`BodyPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Violations {
    /// A bare LF was seen under [`BareLf::Reject`].
    pub bare_lf: bool,
    /// A bare CR was seen under [`BareCr::Reject`].
    pub bare_cr: bool,
    /// A line was longer than [`BodyPolicy::max_line_len`].
    pub long_line: bool,
}

impl Violations {
    /// Whether any violation was seen (the server refuses the message).
    #[must_use]
    pub fn any(&self) -> bool {
        self.bare_lf || self.bare_cr || self.long_line
    }
}

/// The result of one [`Unstuffer::feed`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Unstuffed {
    /// Input bytes used. Less than the input's length only when `done`: the
    /// rest belongs to whatever follows the data (pipelined commands).
    pub consumed: usize,
    /// The terminator has been read; the message is complete.
    pub done: bool,
}

/// Where the body filter stands between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Right after a literal CRLF, or at the start of the data.
    LineStart,
    /// Inside a line (also after a bare line end).
    Mid,
    /// A line-start `.` was read and not emitted.
    Dot,
    /// A line-start `.` and a CR were read, neither emitted.
    DotCr,
    /// A CR was read and not emitted: an LF may follow.
    Cr,
    /// The terminator was read.
    Done,
}

/// Octets checked at a time by the bulk pre-filter of [`Filter::scan_lf`].
const BLOCK: usize = 1024;

/// The pre-filter copies skipped octets out once this many are pending, so
/// that they are copied while still in cache.
const COPY_AT: usize = 8 * BLOCK;

/// Whether no LF in the middle of `window` needs work: `window` is one octet
/// of context, a block, and one octet of lookahead; an LF needs work when it
/// is bare, or (with `dots`) when a dot follows it. Branch-free, so that it
/// compiles to vector code.
#[inline]
fn block_is_plain(window: &[u8], dots: bool) -> bool {
    let n = window.len().saturating_sub(2);
    let prev = window.get(..n).unwrap_or_default();
    let cur = window.get(1..n + 1).unwrap_or_default();
    let next = window.get(2..n + 2).unwrap_or_default();
    let dots = u8::from(dots);
    let mut work = 0u8;
    for ((&p, &c), &x) in prev.iter().zip(cur).zip(next) {
        work |= u8::from(c == b'\n') & (u8::from(p != b'\r') | (u8::from(x == b'.') & dots));
    }
    work == 0
}

/// The policy filter shared by [`Unstuffer`] (with dots) and [`BdatChecker`]
/// (without).
#[derive(Debug, Clone)]
struct Filter {
    policy: BodyPolicy,
    /// DATA (dot-unstuffing and terminator) or BDAT (neither).
    dots: bool,
    state: State,
    /// Content octets of the current line so far (saturating).
    line_len: usize,
    violations: Violations,
}

impl Filter {
    fn new(policy: BodyPolicy, dots: bool) -> Self {
        Self {
            policy,
            dots,
            state: State::LineStart,
            line_len: 0,
            violations: Violations::default(),
        }
    }

    fn reset(&mut self) {
        *self = Self::new(self.policy, self.dots);
    }

    fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> Unstuffed {
        let mut i = 0;
        loop {
            if self.state == State::Done {
                return Unstuffed {
                    consumed: i,
                    done: true,
                };
            }
            let Some(&b) = input.get(i) else {
                return Unstuffed {
                    consumed: i,
                    done: false,
                };
            };
            match self.state {
                State::LineStart => {
                    if self.dots && b == b'.' {
                        i += 1;
                        self.state = State::Dot;
                    } else {
                        self.state = State::Mid;
                    }
                }
                // Not the terminator: the dot is a transparency dot, dropped.
                State::Dot => {
                    if b == b'\r' {
                        i += 1;
                        self.state = State::DotCr;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::DotCr => {
                    if b == b'\n' {
                        i += 1;
                        self.state = State::Done;
                    } else {
                        self.bare_cr(out);
                        self.state = State::Mid;
                    }
                }
                State::Cr => {
                    if b == b'\n' {
                        i += 1;
                        out.extend_from_slice(CRLF);
                        self.end_line();
                        self.state = State::LineStart;
                    } else {
                        self.bare_cr(out);
                        self.state = State::Mid;
                    }
                }
                State::Mid => i = self.scan(input, i, out),
                State::Done => {}
            }
        }
    }

    /// Ends a BDAT body: a CR still pending is a bare CR, and the last line
    /// is measured as if it ended with CRLF.
    fn finish(&mut self, out: &mut BytesMut) {
        if self.state == State::Cr {
            self.bare_cr(out);
        }
        if self.line_len > 0 {
            self.end_line();
        }
        self.state = State::LineStart;
        self.line_len = 0;
    }

    /// The hot path, in state `Mid` from `input[start]`: copies whole runs
    /// between the bytes that need a change, and returns where it stopped
    /// with the state set accordingly: the end of the input, or just after
    /// the terminator.
    fn scan(&mut self, input: &[u8], start: usize, out: &mut BytesMut) -> usize {
        if self.policy.bare_cr == BareCr::Keep {
            self.scan_lf(input, start, out)
        } else {
            self.scan_cr_lf(input, start, out)
        }
    }

    /// [`scan`](Self::scan) when bare CRs are kept: only LFs matter, so only
    /// LFs are searched for. A CR is data unless it comes just before an LF
    /// (then it is part of a CRLF) or ends the input (then it is held).
    /// Without a line-length limit, blocks in which no LF needs work are
    /// skipped whole ([`block_is_plain`]).
    fn scan_lf(&mut self, input: &[u8], start: usize, out: &mut BytesMut) -> usize {
        // `run`: the first byte not yet copied; `line`: where the content of
        // the current line starts (output and input agree inside a run);
        // `pos`: where to search next. All are <= input.len().
        let mut run = start;
        let mut line = start;
        let mut pos = start;
        // The bulk pre-filter, used when line lengths are not measured: whole
        // blocks in which no LF needs work are skipped without a search per
        // line, and copied while still in cache. `retry`: a block found to
        // need work is not checked again until the scan has passed it.
        let skip = self.policy.max_line_len.is_none();
        let mut retry = start;
        loop {
            if skip && pos > start && pos >= retry {
                while let Some(window) = input.get(pos - 1..pos + BLOCK + 1) {
                    if !block_is_plain(window, self.dots) {
                        retry = pos + BLOCK;
                        break;
                    }
                    pos += BLOCK;
                    if pos - run >= COPY_AT {
                        out.extend_from_slice(input.get(run..pos).unwrap_or_default());
                        run = pos;
                    }
                }
            }
            let rest = input.get(pos..).unwrap_or_default();
            let Some(j) = memchr(b'\n', rest).map(|off| pos + off) else {
                let end = match rest.last() {
                    Some(b'\r') => input.len() - 1,
                    _ => input.len(),
                };
                out.extend_from_slice(input.get(run..end).unwrap_or_default());
                self.add_line_len(end - line);
                if end < input.len() {
                    self.state = State::Cr;
                }
                return input.len();
            };
            // A CR before this LF counts only if it was not consumed already
            // (`j > start`: the byte before `start` was the state machine's).
            if j > start && input.get(j - 1) == Some(&b'\r') {
                self.add_line_len(j - 1 - line);
                self.end_line();
                pos = j + 1;
                match self.line_start(input, run, pos, out) {
                    Ok((r, p)) => (run, pos, line) = (r, p, p),
                    Err(stop) => return stop,
                }
            } else {
                self.bare_lf(input.get(run..j).unwrap_or_default(), out);
                self.add_line_len(j - line);
                self.end_line();
                pos = j + 1;
                run = pos;
                line = pos;
            }
        }
    }

    /// [`scan`](Self::scan) when bare CRs are normalised or flagged: CRs and
    /// LFs are searched for.
    fn scan_cr_lf(&mut self, input: &[u8], start: usize, out: &mut BytesMut) -> usize {
        // As in `scan_lf`.
        let mut run = start;
        let mut line = start;
        let mut pos = start;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let Some(j) = memchr2(b'\r', b'\n', rest).map(|off| pos + off) else {
                out.extend_from_slice(input.get(run..).unwrap_or_default());
                self.add_line_len(input.len() - line);
                return input.len();
            };
            if input.get(j) == Some(&b'\n') {
                // A bare LF: a CR before it would have been taken with it.
                self.bare_lf(input.get(run..j).unwrap_or_default(), out);
                self.add_line_len(j - line);
                self.end_line();
                pos = j + 1;
                run = pos;
                line = pos;
                continue;
            }
            match input.get(j + 1) {
                Some(b'\n') => {
                    self.add_line_len(j - line);
                    self.end_line();
                    pos = j + 2;
                    match self.line_start(input, run, pos, out) {
                        Ok((r, p)) => (run, pos, line) = (r, p, p),
                        Err(stop) => return stop,
                    }
                }
                Some(_) => {
                    // A bare CR.
                    pos = j + 1;
                    if self.policy.bare_cr == BareCr::Normalize {
                        out.extend_from_slice(input.get(run..j).unwrap_or_default());
                        out.extend_from_slice(CRLF);
                        self.add_line_len(j - line);
                        self.end_line();
                        run = pos;
                        line = pos;
                    } else {
                        self.violations.bare_cr = true;
                    }
                }
                None => {
                    // A CR at the end of the input: decided by the next byte.
                    out.extend_from_slice(input.get(run..j).unwrap_or_default());
                    self.add_line_len(j - line);
                    self.state = State::Cr;
                    return input.len();
                }
            }
        }
    }

    /// At a line start `pos` just after a literal CRLF, inside a scan whose
    /// uncopied run starts at `run`: removes a transparency dot or finds the
    /// terminator. `Ok((run, pos))` to go on scanning; `Err(i)` to return
    /// `i` from the scan, the state set.
    #[inline(always)]
    fn line_start(
        &mut self,
        input: &[u8],
        run: usize,
        pos: usize,
        out: &mut BytesMut,
    ) -> Result<(usize, usize), usize> {
        let flush = |out: &mut BytesMut| {
            out.extend_from_slice(input.get(run..pos).unwrap_or_default());
        };
        match input.get(pos) {
            Some(b'.') if self.dots => {}
            Some(_) => return Ok((run, pos)),
            None => {
                flush(out);
                self.state = State::LineStart;
                return Err(input.len());
            }
        }
        flush(out);
        match (input.get(pos + 1), input.get(pos + 2)) {
            (Some(b'\r'), Some(b'\n')) => {
                self.state = State::Done;
                Err(pos + 3)
            }
            (None, _) => {
                self.state = State::Dot;
                Err(input.len())
            }
            (Some(b'\r'), None) => {
                self.state = State::DotCr;
                Err(input.len())
            }
            // The dot is a transparency dot: skip it. A CR after it is a
            // bare CR, which the scan finds next.
            _ => Ok((pos + 1, pos + 1)),
        }
    }

    /// Writes `before` and a bare LF (as CRLF), flagging it if rejected.
    fn bare_lf(&mut self, before: &[u8], out: &mut BytesMut) {
        if self.policy.bare_lf == BareLf::Reject {
            self.violations.bare_lf = true;
        }
        out.extend_from_slice(before);
        out.extend_from_slice(CRLF);
    }

    /// Emits a bare CR (one that was pending) according to the policy.
    fn bare_cr(&mut self, out: &mut BytesMut) {
        match self.policy.bare_cr {
            BareCr::Normalize => {
                out.extend_from_slice(CRLF);
                self.end_line();
            }
            BareCr::Reject | BareCr::Keep => {
                if self.policy.bare_cr == BareCr::Reject {
                    self.violations.bare_cr = true;
                }
                out.put_u8(b'\r');
                self.add_line_len(1);
            }
        }
    }

    fn add_line_len(&mut self, n: usize) {
        self.line_len = self.line_len.saturating_add(n);
    }

    /// A line of `line_len` content octets ended (with CRLF, or a bare line
    /// end written out as CRLF).
    fn end_line(&mut self) {
        if let Some(max) = self.policy.max_line_len
            && self.line_len.saturating_add(2) > max
        {
            self.violations.long_line = true;
        }
        self.line_len = 0;
    }
}

/// The server side of DATA: finds the terminator, removes transparency dots
/// and applies a [`BodyPolicy`], streaming.
///
/// Feed it the bytes that follow the DATA command's CRLF (after the 354
/// reply) in chunks of any size; every state survives any chunk boundary. It
/// keeps a few bytes of state, no buffer; the message is appended to `out`.
#[derive(Debug, Clone)]
pub struct Unstuffer {
    filter: Filter,
}

impl Unstuffer {
    /// An unstuffer for one message under `policy`.
    #[must_use]
    pub fn new(policy: BodyPolicy) -> Self {
        Self {
            filter: Filter::new(policy, true),
        }
    }

    /// Unstuffs `input` into `out`. Stops right after the terminator:
    /// `consumed` may be < `input.len()` when `done`; the rest belongs to the
    /// next command. Once done, further calls consume nothing until
    /// [`reset`](Self::reset).
    ///
    /// When not done, all of `input` is consumed, though up to two bytes of
    /// it (a line-start dot, a CR) may be held as state until the next call
    /// decides what they are.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> Unstuffed {
        self.filter.feed(input, out)
    }

    /// The violations of the policy seen so far in this message. Check them
    /// when [`Unstuffed::done`]: the message is refused if
    /// [`Violations::any`].
    #[must_use]
    pub fn violations(&self) -> Violations {
        self.filter.violations
    }

    /// Whether the terminator has been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.filter.state == State::Done
    }

    /// Prepares for the next message (same policy).
    pub fn reset(&mut self) {
        self.filter.reset();
    }
}

/// Where the client-side normaliser stands between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// At a line start (start of the body or after a line end was written).
    LineStart,
    /// At a line start just after a CR written out as CRLF: an LF here is
    /// that CR's partner and is dropped.
    AfterCr,
    /// Inside a line.
    Mid,
}

/// The line-end normaliser shared by [`Stuffer`] (with dots) and
/// [`LineNormalizer`] (without).
#[derive(Debug, Clone)]
struct Normalizer {
    stuff: bool,
    state: LineState,
}

impl Normalizer {
    fn new(stuff: bool) -> Self {
        Self {
            stuff,
            state: LineState::LineStart,
        }
    }

    fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.state {
                LineState::AfterCr => {
                    if b == b'\n' {
                        i += 1;
                    }
                    self.state = LineState::LineStart;
                }
                LineState::LineStart => {
                    if self.stuff && b == b'.' {
                        out.put_u8(b'.');
                    }
                    self.state = LineState::Mid;
                }
                LineState::Mid => i = self.scan(input, i, out),
            }
        }
    }

    /// The hot path, inside a line from `input[start]`: copies whole runs,
    /// writes every line end as CRLF and stuffs line-start dots. Consumes
    /// the whole input.
    fn scan(&mut self, input: &[u8], start: usize, out: &mut BytesMut) -> usize {
        let mut run = start;
        let mut pos = start;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let Some(j) = memchr2(b'\r', b'\n', rest).map(|off| pos + off) else {
                out.extend_from_slice(input.get(run..).unwrap_or_default());
                return input.len();
            };
            // `next`: the first byte of the next line.
            let next = if input.get(j) == Some(&b'\r') {
                match input.get(j + 1) {
                    Some(b'\n') => j + 2,
                    Some(_) => {
                        out.extend_from_slice(input.get(run..j).unwrap_or_default());
                        out.extend_from_slice(CRLF);
                        run = j + 1;
                        j + 1
                    }
                    None => {
                        out.extend_from_slice(input.get(run..j).unwrap_or_default());
                        out.extend_from_slice(CRLF);
                        self.state = LineState::AfterCr;
                        return input.len();
                    }
                }
            } else {
                out.extend_from_slice(input.get(run..j).unwrap_or_default());
                out.extend_from_slice(CRLF);
                run = j + 1;
                j + 1
            };
            match input.get(next) {
                Some(b'.') if self.stuff => {
                    out.extend_from_slice(input.get(run..next).unwrap_or_default());
                    out.put_u8(b'.');
                    run = next;
                    pos = next + 1;
                }
                Some(_) => pos = next,
                None => {
                    out.extend_from_slice(input.get(run..).unwrap_or_default());
                    self.state = LineState::LineStart;
                    return input.len();
                }
            }
        }
    }

    /// Adds the final CRLF if the body did not end with a line end, and
    /// prepares for the next body.
    fn finish(&mut self, out: &mut BytesMut) {
        if self.state == LineState::Mid {
            out.extend_from_slice(CRLF);
        }
        self.state = LineState::LineStart;
    }
}

/// The client side of DATA: normalises line ends, dot-stuffs and terminates
/// a body, streaming.
///
/// Every bare CR and bare LF becomes CRLF *before* stuffing, so a dot after
/// any line end is stuffed and no body can form a terminator. The stream
/// written for one body is exactly `normalize(body)` with a dot added to
/// every line that starts with one, then `.` CRLF.
#[derive(Debug, Clone)]
pub struct Stuffer {
    inner: Normalizer,
}

impl Stuffer {
    /// A stuffer at the start of a body.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Normalizer::new(true),
        }
    }

    /// Normalises line ends (bare CR and bare LF -> CRLF), dot-stuffs (a line
    /// starting with '.' gets one more '.'), streaming across chunks.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        self.inner.feed(input, out);
    }

    /// Ends the body: adds CRLF if the body did not end with one (non-empty
    /// body), then `.` CRLF. The stuffer is then ready for the next body.
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.inner.finish(out);
        out.extend_from_slice(b".\r\n");
    }
}

impl Default for Stuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// The client's line-end normalisation without dot-stuffing, streaming: for
/// BDAT bodies of 7BIT and 8BITMIME messages.
///
/// Writes exactly [`normalize`]`(body)` for the concatenation of what it is
/// fed.
#[derive(Debug, Clone)]
pub struct LineNormalizer {
    inner: Normalizer,
}

impl LineNormalizer {
    /// A normaliser at the start of a body.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Normalizer::new(false),
        }
    }

    /// Normalises line ends (bare CR and bare LF -> CRLF), streaming across
    /// chunks.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        self.inner.feed(input, out);
    }

    /// Ends the body: adds CRLF if a non-empty body did not end with one.
    /// The normaliser is then ready for the next body.
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.inner.finish(out);
    }
}

impl Default for LineNormalizer {
    fn default() -> Self {
        Self::new()
    }
}

/// The reference normalisation of a body, as the client sends it: every bare
/// CR and bare LF becomes CRLF (a CRLF stays one CRLF), and a non-empty body
/// that does not end with CRLF gets one. An empty body stays empty.
///
/// For any body, unstuffing the [`Stuffer`]'s output gives `normalize(body)`.
/// This is a plain, allocating reference implementation for tests and small
/// bodies; stream with [`Stuffer`] or [`LineNormalizer`].
#[must_use]
pub fn normalize(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut bytes = body.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                out.extend_from_slice(CRLF);
            }
            b'\n' => out.extend_from_slice(CRLF),
            _ => out.push(b),
        }
    }
    if !out.is_empty() && !out.ends_with(CRLF) {
        out.extend_from_slice(CRLF);
    }
    out
}

/// Writes a BDAT command: `BDAT <size>[ LAST]` CRLF (RFC 3030 §2).
pub fn write_bdat_header(size: u64, last: bool, out: &mut BytesMut) {
    // u64::MAX has 20 decimal digits.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(b"BDAT ");
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
    if last {
        out.extend_from_slice(b" LAST");
    }
    out.extend_from_slice(CRLF);
}

/// The server side of one BDAT chunk: takes exactly the announced number of
/// octets from the input, across feeds.
#[derive(Debug, Clone)]
pub struct BdatReader {
    remaining: u64,
}

impl BdatReader {
    /// A reader for a chunk of `size` octets (the BDAT command's argument).
    #[must_use]
    pub fn new(size: u64) -> Self {
        Self { remaining: size }
    }

    /// Appends up to [`remaining`](Self::remaining) octets from the start of
    /// `input` to `out` and returns how many it took; the rest of `input`
    /// belongs to the next command.
    #[must_use = "bytes not consumed belong to the next command"]
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> usize {
        let chunk = self.take(input);
        out.extend_from_slice(chunk);
        chunk.len()
    }

    /// Like [`feed`](Self::feed), passing the octets through `checker` (the
    /// server's [`BodyPolicy`] for 7BIT and 8BITMIME bodies) on their way to
    /// `out`.
    #[must_use = "bytes not consumed belong to the next command"]
    pub fn feed_checked(
        &mut self,
        input: &[u8],
        checker: &mut BdatChecker,
        out: &mut BytesMut,
    ) -> usize {
        let chunk = self.take(input);
        checker.feed(chunk, out);
        chunk.len()
    }

    fn take<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let n = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        // n <= input.len(), and n <= remaining so the subtraction holds.
        self.remaining = self.remaining.saturating_sub(n as u64);
        input.get(..n).unwrap_or_default()
    }

    /// Octets of the chunk still to come.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Whether the whole chunk has been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }
}

/// Applies a [`BodyPolicy`] to a BDAT body (7BIT or 8BITMIME, never
/// BINARYMIME), streaming: bare LF and bare CR are normalised or flagged and
/// long lines flagged, exactly as [`Unstuffer`] does, but without dots or a
/// terminator.
///
/// Its state persists across feeds and across the BDAT chunks of one message;
/// call [`finish`](Self::finish) after the LAST chunk.
#[derive(Debug, Clone)]
pub struct BdatChecker {
    filter: Filter,
}

impl BdatChecker {
    /// A checker for one message under `policy`.
    #[must_use]
    pub fn new(policy: BodyPolicy) -> Self {
        Self {
            filter: Filter::new(policy, false),
        }
    }

    /// Filters `input` (all of it) into `out`. A CR at the end of `input` is
    /// held until the next byte (or [`finish`](Self::finish)) decides it.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        let _ = self.filter.feed(input, out);
    }

    /// Ends the message: a CR still held is a bare CR, and an unterminated
    /// last line is measured as if it ended with CRLF. Then check
    /// [`violations`](Self::violations).
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.filter.finish(out);
    }

    /// The violations of the policy seen so far in this message.
    #[must_use]
    pub fn violations(&self) -> Violations {
        self.filter.violations
    }

    /// Prepares for the next message (same policy).
    pub fn reset(&mut self) {
        self.filter.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Violations = Violations {
        bare_lf: false,
        bare_cr: false,
        long_line: false,
    };

    fn policy(bare_lf: BareLf, bare_cr: BareCr, max_line_len: Option<usize>) -> BodyPolicy {
        BodyPolicy {
            bare_lf,
            bare_cr,
            max_line_len,
        }
    }

    /// Every way to cut `input` into chunks that the tests try: whole, byte
    /// by byte, and at every single split point.
    fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
        let mut all = vec![vec![input], input.chunks(1).collect()];
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            all.push(vec![a, b]);
        }
        all
    }

    fn unstuff(policy: BodyPolicy, chunks: &[&[u8]]) -> (Vec<u8>, usize, bool, Violations) {
        let mut u = Unstuffer::new(policy);
        let mut out = BytesMut::new();
        let mut consumed = 0;
        let mut done = false;
        for chunk in chunks {
            let r = u.feed(chunk, &mut out);
            assert!(r.consumed <= chunk.len());
            assert!(r.done || r.consumed == chunk.len());
            assert!(!done || r.consumed == 0, "consumed after done");
            consumed += r.consumed;
            done = r.done;
            assert_eq!(u.is_done(), done);
        }
        (out.to_vec(), consumed, done, u.violations())
    }

    #[test]
    fn unstuffer_table() {
        let d = BodyPolicy::default();
        let lf_rej = policy(BareLf::Reject, BareCr::Keep, None);
        let cr_norm = policy(BareLf::Normalize, BareCr::Normalize, None);
        let cr_rej = policy(BareLf::Normalize, BareCr::Reject, None);
        let max5 = policy(BareLf::Normalize, BareCr::Keep, Some(5));
        let bare_lf = Violations {
            bare_lf: true,
            ..NONE
        };
        let bare_cr = Violations {
            bare_cr: true,
            ..NONE
        };
        let long = Violations {
            long_line: true,
            ..NONE
        };
        // (input, policy, output, consumed, done, violations)
        type Case<'c> = (&'c [u8], BodyPolicy, &'c [u8], usize, bool, Violations);
        let cases: &[Case<'_>] = &[
            // Terminators.
            (b".\r\n", d, b"", 3, true, NONE),
            (b"\r\n.\r\n", d, b"\r\n", 5, true, NONE),
            (b"abc\r\n.\r\n", d, b"abc\r\n", 8, true, NONE),
            (b"abc\r\n.\r\nQUIT\r\n", d, b"abc\r\n", 8, true, NONE),
            (b"a\r\n.\r\n.\r\n", d, b"a\r\n", 6, true, NONE),
            // Dot-unstuffing at line starts only.
            (b"..\r\n.\r\n", d, b".\r\n", 7, true, NONE),
            (b"...\r\n.\r\n", d, b"..\r\n", 8, true, NONE),
            (b"..x\r\n.\r\n", d, b".x\r\n", 8, true, NONE),
            (b".x\r\n.\r\n", d, b"x\r\n", 7, true, NONE),
            (b"a.\r\n.\r\n", d, b"a.\r\n", 7, true, NONE),
            (b"a\r\n..\r\n.\r\n", d, b"a\r\n.\r\n", 10, true, NONE),
            // Smuggling: a dot line reached through a bare line end is content.
            (b"a\n.\r\n", d, b"a\r\n.\r\n", 5, false, NONE),
            (b"a\n.\n", d, b"a\r\n.\r\n", 4, false, NONE),
            (b"a\r.\r\n", d, b"a\r.\r\n", 5, false, NONE),
            (b"a\r.\r", d, b"a\r.", 4, false, NONE),
            (b"a\r\n.\n", d, b"a\r\n\r\n", 5, false, NONE),
            (b"a\r\n.\r.\r\n", d, b"a\r\n\r.\r\n", 8, false, NONE),
            (b"a\r\n.\r\r\n", d, b"a\r\n\r\r\n", 7, false, NONE),
            (b"\n.\r\n", d, b"\r\n.\r\n", 4, false, NONE),
            (b".\n", d, b"\r\n", 2, false, NONE),
            (b".\r", d, b"", 2, false, NONE),
            (b"\r\n..\n.\r\n", d, b"\r\n.\r\n.\r\n", 8, false, NONE),
            (b"a\n\r\n.\r\n", d, b"a\r\n\r\n", 7, true, NONE),
            (b"a\r\r\n.\r\n", d, b"a\r\r\n", 7, true, NONE),
            (b"a\n..\r\n.\r\n", d, b"a\r\n..\r\n", 9, true, NONE),
            // Bare LF policy.
            (b"a\nb\r\n.\r\n", lf_rej, b"a\r\nb\r\n", 8, true, bare_lf),
            (b"\n.\r\n", lf_rej, b"\r\n.\r\n", 4, false, bare_lf),
            (b"a\r\nb\r\n.\r\n", lf_rej, b"a\r\nb\r\n", 9, true, NONE),
            // Bare CR policy.
            (b"a\rb\r\n.\r\n", d, b"a\rb\r\n", 8, true, NONE),
            (b"a\rb\r\n.\r\n", cr_norm, b"a\r\nb\r\n", 8, true, NONE),
            (b"a\rb\r\n.\r\n", cr_rej, b"a\rb\r\n", 8, true, bare_cr),
            (b"a\r\r\n.\r\n", cr_norm, b"a\r\n\r\n", 7, true, NONE),
            (b".\r.\r\n.\r\n", cr_norm, b"\r\n.\r\n", 8, true, NONE),
            (
                b"a\r\n.\rb\r\n.\r\n",
                cr_rej,
                b"a\r\n\rb\r\n",
                11,
                true,
                bare_cr,
            ),
            (b"\r\r\r\n.\r\n", cr_rej, b"\r\r\r\n", 7, true, bare_cr),
            // Line length, CRLF included, transparency dot excluded.
            (b"abc\r\n.\r\n", max5, b"abc\r\n", 8, true, NONE),
            (b"abcd\r\n.\r\n", max5, b"abcd\r\n", 9, true, long),
            (b"..bc\r\n.\r\n", max5, b".bc\r\n", 9, true, NONE),
            (b"abcd\n.\r\n", max5, b"abcd\r\n.\r\n", 8, false, long),
            (b"ab\rc\r\n.\r\n", max5, b"ab\rc\r\n", 9, true, long),
            (
                b"ab\rcd\r\n.\r\n",
                policy(BareLf::Normalize, BareCr::Normalize, Some(4)),
                b"ab\r\ncd\r\n",
                10,
                true,
                NONE,
            ),
            (
                b"\r\n.\r\n",
                policy(BareLf::Normalize, BareCr::Keep, Some(1)),
                b"\r\n",
                5,
                true,
                long,
            ),
            // Pending states at the end of the input.
            (b"abc\r", d, b"abc", 4, false, NONE),
            (b"abc\r\n", d, b"abc\r\n", 5, false, NONE),
            (b"abc\r\n.", d, b"abc\r\n", 6, false, NONE),
            (b"", d, b"", 0, false, NONE),
            // Eight-bit bytes and NULs pass through.
            (
                b"\xff\x00\x80\r\n.\r\n",
                d,
                b"\xff\x00\x80\r\n",
                8,
                true,
                NONE,
            ),
        ];
        for (input, policy, want, consumed, done, violations) in cases {
            for chunks in chunkings(input) {
                let got = unstuff(*policy, &chunks);
                assert_eq!(
                    got,
                    (want.to_vec(), *consumed, *done, *violations),
                    "input {:?} chunks {chunks:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    /// A deterministic body of CRLF lines of varied lengths with hazards
    /// sprinkled in (stuffed and unstuffed dots, bare LF, bare CR), but no
    /// terminator: large enough for the bulk pre-filter to skip blocks.
    fn big_body(seed: u64, size: usize) -> Vec<u8> {
        let mut x = seed;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as usize
        };
        let mut body = Vec::with_capacity(size + 256);
        while body.len() < size {
            match next() % 400 {
                0 => body.extend_from_slice(b".."),
                1 => body.push(b'.'),
                2 => body.push(b'\n'),
                3 => body.push(b'\r'),
                4 => body.extend_from_slice(b"\n.\r\n"),
                5 => body.extend_from_slice(b"\r\n..\r"),
                _ => {}
            }
            let len = next() % 120;
            body.extend((0..len).map(|i| b'a' + (i % 26) as u8));
            body.extend_from_slice(b"\r\n");
        }
        body
    }

    /// The bulk pre-filter (on when line lengths are not measured) changes
    /// nothing: compare with the same policy measuring lines against a
    /// limit no line reaches, for DATA and BDAT, whole and chunked.
    #[test]
    fn bulk_prefilter_agrees_with_line_scan() {
        let skip = BodyPolicy::default();
        let no_skip = BodyPolicy {
            max_line_len: Some(usize::MAX),
            ..skip
        };
        let mut bodies: Vec<Vec<u8>> = (1..=8).map(|seed| big_body(seed, 40_000)).collect();
        // CRLFs, dots and bare LFs around block edges.
        for shift in 0..6 {
            let mut body = b"x\r\n".to_vec();
            body.extend(std::iter::repeat_n(b'a', BLOCK - 5 + shift));
            body.extend_from_slice(b"\r\n");
            body.extend(std::iter::repeat_n(b'b', BLOCK - 3));
            body.extend_from_slice(b"\n.y\r\n");
            body.extend(std::iter::repeat_n(b'c', 3 * BLOCK + shift));
            body.extend_from_slice(b"\r\n..z\r\n");
            bodies.push(body);
        }
        for body in &bodies {
            let mut data = body.clone();
            data.extend_from_slice(b"\r\n.\r\nNEXT");
            let want = unstuff(no_skip, &[&data]);
            assert!(want.2, "terminator found");
            for size in [1, 7, 1000, BLOCK, BLOCK + 1, 3 * BLOCK + 5, data.len()] {
                let chunks: Vec<&[u8]> = data.chunks(size).collect();
                assert_eq!(unstuff(skip, &chunks), want, "chunks of {size}");

                let check = |policy| {
                    let mut c = BdatChecker::new(policy);
                    let mut out = BytesMut::new();
                    for chunk in body.chunks(size) {
                        c.feed(chunk, &mut out);
                    }
                    c.finish(&mut out);
                    (out, c.violations())
                };
                assert_eq!(check(skip), check(no_skip), "BDAT chunks of {size}");
            }
        }
    }

    #[test]
    fn unstuffer_after_done_and_reset() {
        let mut u = Unstuffer::new(policy(BareLf::Reject, BareCr::Keep, None));
        let mut out = BytesMut::new();
        let r = u.feed(b"a\nb\r\n.\r\nMAIL", &mut out);
        assert_eq!(
            r,
            Unstuffed {
                consumed: 8,
                done: true
            }
        );
        assert!(u.violations().any());
        let r = u.feed(b"MORE", &mut out);
        assert_eq!(
            r,
            Unstuffed {
                consumed: 0,
                done: true
            }
        );
        assert_eq!(&out[..], b"a\r\nb\r\n");
        u.reset();
        assert!(!u.is_done());
        assert!(!u.violations().any());
        out.clear();
        let r = u.feed(b"..\r\n.\r\n", &mut out);
        assert!(r.done);
        assert_eq!(&out[..], b".\r\n");
    }

    fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = Stuffer::new();
        let mut out = BytesMut::new();
        for chunk in chunks {
            s.feed(chunk, &mut out);
        }
        s.finish(&mut out);
        out.to_vec()
    }

    fn normalize_streaming(chunks: &[&[u8]]) -> Vec<u8> {
        let mut n = LineNormalizer::new();
        let mut out = BytesMut::new();
        for chunk in chunks {
            n.feed(chunk, &mut out);
        }
        n.finish(&mut out);
        out.to_vec()
    }

    #[test]
    fn stuffer_normalizer_table() {
        // (body, stuffed, normalised)
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"", b".\r\n", b""),
            (b"a", b"a\r\n.\r\n", b"a\r\n"),
            (b"a\r\n", b"a\r\n.\r\n", b"a\r\n"),
            (b".", b"..\r\n.\r\n", b".\r\n"),
            (b".\r\n", b"..\r\n.\r\n", b".\r\n"),
            (b"..", b"...\r\n.\r\n", b"..\r\n"),
            (b"x.y", b"x.y\r\n.\r\n", b"x.y\r\n"),
            (b"\r\n.\r\n", b"\r\n..\r\n.\r\n", b"\r\n.\r\n"),
            (b"a\n.b", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
            (b"a\r.b", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
            (b"\n.\n", b"\r\n..\r\n.\r\n", b"\r\n.\r\n"),
            (b"\r.\r", b"\r\n..\r\n.\r\n", b"\r\n.\r\n"),
            (b"a\r", b"a\r\n.\r\n", b"a\r\n"),
            (b"\r", b"\r\n.\r\n", b"\r\n"),
            (b"\n", b"\r\n.\r\n", b"\r\n"),
            (b"\r\r\n", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
            (b"\n\r", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
            (b"\n\r\n", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
            (b"a\r\n\n.", b"a\r\n\r\n..\r\n.\r\n", b"a\r\n\r\n.\r\n"),
            (
                b"\xff.\r\n\x80",
                b"\xff.\r\n\x80\r\n.\r\n",
                b"\xff.\r\n\x80\r\n",
            ),
        ];
        for (body, stuffed, normalised) in cases {
            assert_eq!(&normalize(body), normalised, "normalize {body:?}");
            for chunks in chunkings(body) {
                assert_eq!(&stuff(&chunks), stuffed, "stuff {chunks:?}");
                assert_eq!(
                    &normalize_streaming(&chunks),
                    normalised,
                    "LineNormalizer {chunks:?}"
                );
            }
            // And back again.
            let (out, consumed, done, violations) = unstuff(BodyPolicy::default(), &[stuffed]);
            assert_eq!(
                (&out[..], consumed, done, violations),
                (*normalised, stuffed.len(), true, NONE)
            );
        }
    }

    #[test]
    fn stuffer_is_reusable() {
        let mut s = Stuffer::default();
        let mut out = BytesMut::new();
        s.feed(b"a\r", &mut out);
        s.finish(&mut out);
        s.feed(b"\n.", &mut out);
        s.finish(&mut out);
        assert_eq!(&out[..], b"a\r\n.\r\n\r\n..\r\n.\r\n");
        let mut n = LineNormalizer::default();
        out.clear();
        n.feed(b"a", &mut out);
        n.finish(&mut out);
        n.finish(&mut out);
        assert_eq!(&out[..], b"a\r\n");
    }

    #[test]
    fn bdat_headers() {
        let cases: &[(u64, bool, &[u8])] = &[
            (0, false, b"BDAT 0\r\n"),
            (0, true, b"BDAT 0 LAST\r\n"),
            (7, false, b"BDAT 7\r\n"),
            (1234, true, b"BDAT 1234 LAST\r\n"),
            (u64::MAX, false, b"BDAT 18446744073709551615\r\n"),
        ];
        for (size, last, want) in cases {
            let mut out = BytesMut::new();
            write_bdat_header(*size, *last, &mut out);
            assert_eq!(&out[..], *want);
        }
    }

    #[test]
    fn bdat_reader_table() {
        // (size, chunks, consumed per chunk, output)
        type Case<'c> = (u64, &'c [&'c [u8]], &'c [usize], &'c [u8]);
        let cases: &[Case<'_>] = &[
            (0, &[b"QUIT\r\n"], &[0], b""),
            (5, &[b"abc", b"defg"], &[3, 2], b"abcde"),
            (5, &[b"", b"abcde", b"f"], &[0, 5, 0], b"abcde"),
            (3, &[b"a\r\n.\r\n"], &[3], b"a\r\n"),
            (u64::MAX, &[b"abc"], &[3], b"abc"),
        ];
        for (size, chunks, consumed, want) in cases {
            let mut r = BdatReader::new(*size);
            let mut out = BytesMut::new();
            let got: Vec<usize> = chunks.iter().map(|c| r.feed(c, &mut out)).collect();
            assert_eq!(&got, consumed);
            assert_eq!(&out[..], *want);
            let total: u64 = consumed.iter().map(|&n| n as u64).sum();
            assert_eq!(r.remaining(), size - total);
            assert_eq!(r.is_done(), r.remaining() == 0);
        }
    }

    #[test]
    fn bdat_checker_table() {
        let d = BodyPolicy::default();
        let strict = policy(BareLf::Reject, BareCr::Reject, Some(6));
        let cr_norm = policy(BareLf::Normalize, BareCr::Normalize, None);
        // (policy, chunks of one message across BDAT commands, output, violations)
        type Case<'c> = (BodyPolicy, &'c [&'c [u8]], &'c [u8], Violations);
        let cases: &[Case<'_>] = &[
            // No dots, no terminator.
            (d, &[b".\r\n", b"..\r\n"], b".\r\n..\r\n", NONE),
            (d, &[b"a\nb"], b"a\r\nb", NONE),
            (strict, &[b"a\r", b"\nb\r\n"], b"a\r\nb\r\n", NONE),
            (
                strict,
                &[b"a\r", b"b\r\n"],
                b"a\rb\r\n",
                Violations {
                    bare_cr: true,
                    ..NONE
                },
            ),
            (
                strict,
                &[b"a\r\n", b"\n"],
                b"a\r\n\r\n",
                Violations {
                    bare_lf: true,
                    ..NONE
                },
            ),
            // A CR at the very end is bare.
            (
                strict,
                &[b"a\r"],
                b"a\r",
                Violations {
                    bare_cr: true,
                    ..NONE
                },
            ),
            (cr_norm, &[b"a\r"], b"a\r\n", NONE),
            // Long lines, also an unterminated last one.
            (strict, &[b"abcd\r\n"], b"abcd\r\n", NONE),
            (
                strict,
                &[b"abc", b"de\r\n"],
                b"abcde\r\n",
                Violations {
                    long_line: true,
                    ..NONE
                },
            ),
            (
                strict,
                &[b"abcde"],
                b"abcde",
                Violations {
                    long_line: true,
                    ..NONE
                },
            ),
        ];
        for (policy, chunks, want, violations) in cases {
            let mut c = BdatChecker::new(*policy);
            let mut out = BytesMut::new();
            let mut reader = BdatReader::new(0);
            for chunk in *chunks {
                reader = BdatReader::new(chunk.len() as u64);
                let n = reader.feed_checked(chunk, &mut c, &mut out);
                assert_eq!(n, chunk.len());
            }
            assert!(reader.is_done());
            c.finish(&mut out);
            assert_eq!(&out[..], *want, "chunks {chunks:?}");
            assert_eq!(c.violations(), *violations, "chunks {chunks:?}");
            c.reset();
            assert!(!c.violations().any());
        }
    }

    #[test]
    fn violations_any() {
        assert!(!NONE.any());
        assert!(
            Violations {
                long_line: true,
                ..NONE
            }
            .any()
        );
    }
}
