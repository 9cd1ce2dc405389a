//! Wire codecs: the byte-level grammar of SMTP.
//!
//! Every codec here is a pure function (or a small streaming state machine)
//! over bytes. Parsers never panic on peer input and never allocate without a
//! bound; serialisers produce exactly what the matching parser accepts, so
//! `parse(serialise(x)) == x` holds for every value a caller can build.
//!
//! | module | grammar |
//! | --- | --- |
//! | [`address`] | RFC 5321 §4.1.2 `Path`/`Mailbox`, RFC 6531 UTF-8 |
//! | [`params`] | ESMTP `MAIL`/`RCPT` parameters, xtext (RFC 3461) |
//! | [`command`] | command lines (RFC 5321 §4.1.1, 3207, 4954, 3030, 2033) |
//! | [`reply`] | replies and enhanced status codes (RFC 5321 §4.2, 3463) |
//! | [`ehlo`] | EHLO capabilities (RFC 5321 §4.1.1.1 and extensions) |
//! | [`line`](mod@line) | command-line framing with a length cap |
//! | [`dot`] | DATA dot-stuffing and unstuffing, BDAT chunk framing |
//! | [`proxy`] | HAProxy's PROXY protocol header, versions 1 and 2 |

pub mod address;
pub mod command;
pub mod dot;
pub mod ehlo;
pub mod line;
pub mod params;
pub mod proxy;
pub mod reply;
