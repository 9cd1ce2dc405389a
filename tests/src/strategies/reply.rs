//! Strategies for `mailwire_core::wire::reply`.

use mailwire_core::wire::reply::{EnhancedCode, Reply, ReplyCode, ReplyLimits};
use proptest::prelude::*;

/// Any valid reply code (first digit 2-5, second 0-5, third 0-9), with the
/// common ones more likely.
pub fn reply_code() -> impl Strategy<Value = ReplyCode> {
    let any = (2u16..=5, 0u16..=5, 0u16..=9).prop_filter_map("valid reply code", |(a, b, c)| {
        ReplyCode::new(a * 100 + b * 10 + c)
    });
    let common = prop::sample::select(vec![
        ReplyCode::SERVICE_READY,
        ReplyCode::CLOSING,
        ReplyCode::AUTH_SUCCESS,
        ReplyCode::OK,
        ReplyCode::AUTH_CHALLENGE,
        ReplyCode::START_MAIL_INPUT,
        ReplyCode::SERVICE_UNAVAILABLE,
        ReplyCode::LOCAL_ERROR,
        ReplyCode::SYNTAX_ERROR,
        ReplyCode::MAILBOX_UNAVAILABLE,
        ReplyCode::TRANSACTION_FAILED,
    ]);
    prop_oneof![2 => any, 1 => common]
}

/// Any enhanced status code: class 2, 4 or 5; subject and detail 0-999,
/// small values more likely.
pub fn enhanced_code() -> impl Strategy<Value = EnhancedCode> {
    enhanced_code_of_class(prop::sample::select(vec![2u8, 4, 5]))
}

/// An enhanced status code of a class drawn from `class`.
fn enhanced_code_of_class(class: impl Strategy<Value = u8>) -> impl Strategy<Value = EnhancedCode> {
    let part = || prop_oneof![3 => 0u16..=9, 1 => 0u16..=999];
    (class, part(), part()).prop_filter_map("valid enhanced code", |(c, s, d)| {
        EnhancedCode::new(c, s, d)
    })
}

/// One line of reply text: empty, ASCII, UTF-8, with tabs and odd spacing,
/// or text that itself looks like an enhanced status code.
pub fn reply_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        4 => "[ -~]{1,40}",
        2 => "[a-zA-Z0-9 .,:;<>@\\[\\]=+-]{0,30}",
        2 => "[\\PC\t]{0,20}".prop_filter("no control characters", |s| {
            !s.chars().any(|c| c.is_control() && c != '\t')
        }),
        1 => "[ \t]{1,4}[a-z]{0,4}[ \t]{0,4}",
        2 => "[245]\\.[0-9]{1,3}\\.[0-9]{1,3}( [ -~]{0,12})?",
        1 => "[245]\\.[0-9]{1,4}\\.[0-9]{1,4}[ \t.x]?[a-z]{0,3}",
    ]
}

/// A valid reply: 1 to 12 lines (sometimes up to 40) of [`reply_text`],
/// with or without an enhanced code of the matching class. Texts that
/// [`Reply::new`] refuses (a first line that reads as an enhanced code of
/// the reply's class when there is none) are filtered out.
pub fn reply() -> impl Strategy<Value = Reply> {
    let lines = prop_oneof![
        4 => prop::collection::vec(reply_text(), 1..=12),
        1 => prop::collection::vec(reply_text(), 1..=40),
    ];
    (
        reply_code(),
        prop::option::weighted(0.6, enhanced_code()),
        lines,
    )
        .prop_filter_map("constructible reply", |(code, enhanced, lines)| {
            // Give the enhanced code the reply's class where one exists.
            let class = u8::try_from(code.as_u16() / 100).ok()?;
            let enhanced = enhanced.and_then(|e| EnhancedCode::new(class, e.subject(), e.detail()));
            Reply::new(code, enhanced, lines).ok()
        })
}

/// Reply limits from tiny to default-sized, including degenerate zeros.
pub fn reply_limits() -> impl Strategy<Value = ReplyLimits> {
    prop_oneof![
        1 => Just(ReplyLimits::default()),
        3 => (0usize..=64, 0usize..=8, 0usize..=256).prop_map(
            |(max_line_len, max_lines, max_total)| ReplyLimits {
                max_line_len,
                max_lines,
                max_total,
            }
        ),
        2 => (1usize..=600, 1usize..=40, 1usize..=4096).prop_map(
            |(max_line_len, max_lines, max_total)| ReplyLimits {
                max_line_len,
                max_lines,
                max_total,
            }
        ),
    ]
}

/// Bytes that look like replies often enough to reach deep parser states:
/// pieces of reply lines, line ends, enhanced codes, and random octets.
pub fn reply_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => prop::sample::select(vec![
            &b"250"[..], b"250-", b"250 ", b"220 ", b"221", b"354 ", b"421-", b"550 ",
            b"251-", b"199 ", b"600-", b"2.1.0 ", b"5.7.1", b"4.0.0 ", b"\r\n", b"\n",
            b"\r", b" ", b"-", b"\t", b"\0", b"\xff",
        ])
        .prop_map(<[u8]>::to_vec),
        2 => "[ -~]{0,12}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..16),
        1 => reply().prop_map(|r| r.to_bytes()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}
