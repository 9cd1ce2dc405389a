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

mod bdat;
mod stuff;

pub use bdat::{BdatChecker, BdatReader, write_bdat_header};
pub use stuff::{LineNormalizer, Stuffer, normalize};

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
    /// Record a violation ([`Violations::nul`]) for a NUL octet, which
    /// neither RFC 5322 text nor 8BITMIME data (RFC 6152) may hold, so that
    /// the message can be refused at its end. Default false: kept as data.
    pub reject_nul: bool,
}

impl BodyPolicy {
    /// The strict policy: a bare LF, a bare CR or a NUL makes the message
    /// refused at its end; lines may be of any length.
    ///
    /// ```
    /// use mailwire_core::wire::dot::{BareCr, BareLf, BodyPolicy};
    ///
    /// let strict = BodyPolicy::strict();
    /// assert_eq!((strict.bare_lf, strict.bare_cr), (BareLf::Reject, BareCr::Reject));
    /// assert!(strict.reject_nul && strict.max_line_len.is_none());
    /// ```
    #[must_use]
    pub const fn strict() -> BodyPolicy {
        BodyPolicy {
            bare_lf: BareLf::Reject,
            bare_cr: BareCr::Reject,
            max_line_len: None,
            reject_nul: true,
        }
    }
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
    /// A NUL octet was seen under [`BodyPolicy::reject_nul`].
    pub nul: bool,
}

impl Violations {
    /// Whether any violation was seen (the server refuses the message).
    #[must_use]
    pub fn any(&self) -> bool {
        self.bare_lf || self.bare_cr || self.long_line || self.nul
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
        let fed = self.run(input, out);
        // Everything consumed is content but the terminator, which holds
        // no NUL: one search over it, off the hot path.
        if self.policy.reject_nul
            && !self.violations.nul
            && memchr(0, input.get(..fed.consumed).unwrap_or_default()).is_some()
        {
            self.violations.nul = true;
        }
        fed
    }

    /// [`feed`](Self::feed) without the NUL check.
    fn run(&mut self, input: &[u8], out: &mut BytesMut) -> Unstuffed {
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

#[cfg(test)]
mod tests;
