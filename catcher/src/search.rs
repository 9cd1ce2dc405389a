//! Mailpit's search syntax: free words and `"quoted phrases"`, `from:`,
//! `to:`, `cc:`, `bcc:`, `reply-to:`, `addressed:`, `subject:`,
//! `message-id:`, `is:read`, `is:unread`, `has:attachment`, `has:inline`,
//! `before:`, `after:`, `larger:`, `smaller:`, `tag:` and `is:tagged`
//! (mailwire has no tags: they match nothing), each negated by a leading
//! `-` or `!`; all terms must hold.
//!
//! Every term but the free words is decided from the index; a free word
//! is looked for in the header fields first and in the body (and
//! attachment names) only when that does not decide it.

use crate::entry::Entry;
use crate::meta::{Mailbox, Mailboxes};
use crate::time::parse_search_date;

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negate: bool,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    Text(String),
    To(String),
    From(String),
    Cc(String),
    Bcc(String),
    ReplyTo(String),
    Addressed(String),
    Subject(String),
    MessageId(String),
    Tag,
    IsTagged,
    IsRead,
    IsUnread,
    HasAttachment,
    HasInline,
    After(i64),
    Before(i64),
    Larger(u64),
    Smaller(u64),
}

/// What the index alone says of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It matches.
    Yes,
    /// It does not.
    No,
    /// Only the body can tell (a free word not found in the headers).
    NeedsBody,
}

impl Query {
    /// Parses `text` as Mailpit does; dates without an offset are read in
    /// `offset_minutes` east of UTC. Terms that mean nothing (an invalid
    /// date, an empty `from:`) are left out.
    #[must_use]
    pub fn parse(text: &str, offset_minutes: i64) -> Query {
        let mut terms = Vec::new();
        for word in split_args(text) {
            if clean(&word).is_empty() {
                continue;
            }
            let (negate, word) = match word.strip_prefix(['-', '!']) {
                Some(rest) if !rest.is_empty() => (true, rest.to_owned()),
                _ => (false, word),
            };
            let lower = word.to_lowercase();
            let value = |prefix: &str| clean(&word[prefix.len()..]);
            let what = if lower.starts_with("to:") {
                Some(What::To(value("to:")))
            } else if lower.starts_with("from:") {
                Some(What::From(value("from:")))
            } else if lower.starts_with("cc:") {
                Some(What::Cc(value("cc:")))
            } else if lower.starts_with("bcc:") {
                Some(What::Bcc(value("bcc:")))
            } else if lower.starts_with("reply-to:") {
                Some(What::ReplyTo(value("reply-to:")))
            } else if lower.starts_with("addressed:") {
                Some(What::Addressed(value("addressed:")))
            } else if lower.starts_with("subject:") {
                Some(What::Subject(word["subject:".len()..].to_lowercase()))
            } else if lower.starts_with("message-id:") {
                Some(What::MessageId(value("message-id:")))
            } else if lower.starts_with("tag:") {
                (!value("tag:").is_empty()).then_some(What::Tag)
            } else if lower == "is:read" {
                Some(What::IsRead)
            } else if lower == "is:unread" {
                Some(What::IsUnread)
            } else if lower == "is:tagged" {
                Some(What::IsTagged)
            } else if lower == "has:attachment" || lower == "has:attachments" {
                Some(What::HasAttachment)
            } else if lower == "has:inline" || lower == "has:inlines" {
                Some(What::HasInline)
            } else if let Some(date) = lower.strip_prefix("after:") {
                parse_search_date(&clean(date), offset_minutes).map(What::After)
            } else if let Some(date) = lower.strip_prefix("before:") {
                parse_search_date(&clean(date), offset_minutes).map(What::Before)
            } else if let Some(size) = lower.strip_prefix("larger:").and_then(size_to_bytes) {
                Some(What::Larger(size))
            } else if let Some(size) = lower.strip_prefix("smaller:").and_then(size_to_bytes) {
                Some(What::Smaller(size))
            } else {
                Some(What::Text(clean(&word)))
            };
            match what {
                Some(
                    What::To(v)
                    | What::From(v)
                    | What::Cc(v)
                    | What::Bcc(v)
                    | What::ReplyTo(v)
                    | What::Addressed(v)
                    | What::Subject(v)
                    | What::MessageId(v)
                    | What::Text(v),
                ) if v.is_empty() => {}
                Some(what) => terms.push(Term { negate, what }),
                None => {}
            }
        }
        Query { terms }
    }

    /// Whether the query has no term (then everything matches).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// What the index says of `entry`.
    #[must_use]
    pub fn check(&self, entry: &Entry) -> Verdict {
        let mut verdict = Verdict::Yes;
        for term in &self.terms {
            let holds = match &term.what {
                What::Text(word) => {
                    if !text_in_headers(entry, word) {
                        verdict = Verdict::NeedsBody;
                        continue;
                    }
                    true
                }
                what => field_holds(entry, what),
            };
            if holds == term.negate {
                return Verdict::No;
            }
        }
        verdict
    }

    /// Whether every free word holds against `text`, a message's whole
    /// search text (see [`body_search_text`](crate::view::body_search_text));
    /// the other terms are [`check`](Query::check)'s.
    #[must_use]
    pub fn texts_hold(&self, text: &str) -> bool {
        self.terms.iter().all(|term| match &term.what {
            What::Text(word) => text.contains(word.as_str()) != term.negate,
            _ => true,
        })
    }
}

fn field_holds(entry: &Entry, what: &What) -> bool {
    let meta = &entry.meta;
    let any = |list: Mailboxes<'_>, needle: &str| list.iter().any(|a| address_has(a, needle));
    match what {
        What::To(v) => any(meta.to(), v),
        What::From(v) => address_has(meta.from(), v),
        What::Cc(v) => any(meta.cc(), v),
        What::Bcc(v) => any(meta.bcc(), v),
        What::ReplyTo(v) => any(meta.reply_to(), v),
        What::Addressed(v) => {
            address_has(meta.from(), v)
                || any(meta.to(), v)
                || any(meta.cc(), v)
                || any(meta.bcc(), v)
                || any(meta.reply_to(), v)
        }
        What::Subject(v) => contains_ci(meta.subject(), v),
        What::MessageId(v) => contains_ci(meta.message_id(), v),
        What::Tag | What::IsTagged => false,
        What::IsRead => entry.read,
        What::IsUnread => !entry.read,
        What::HasAttachment => meta.attachments > 0,
        What::HasInline => meta.inline > 0,
        What::After(ms) => i128::from(entry.created_ms()) >= i128::from(*ms),
        What::Before(ms) => i128::from(entry.created_ms()) <= i128::from(*ms),
        What::Larger(n) => entry.size > *n,
        What::Smaller(n) => entry.size < *n,
        What::Text(_) => false,
    }
}

/// Whether a mailbox's name or address contains `needle`.
fn address_has(address: Mailbox<'_>, needle: &str) -> bool {
    contains_ci(address.name, needle) || contains_ci(address.address, needle)
}

/// Whether a free word is in the header fields Mailpit searches (the
/// addresses and the subject).
fn text_in_headers(entry: &Entry, word: &str) -> bool {
    let meta = &entry.meta;
    let has = |m: Mailbox<'_>| clean(m.name).contains(word) || clean(m.address).contains(word);
    let in_list = |list: Mailboxes<'_>| list.iter().any(has);
    clean(meta.subject()).contains(word)
        || has(meta.from())
        || in_list(meta.to())
        || in_list(meta.cc())
        || in_list(meta.bcc())
        || in_list(meta.reply_to())
}

/// Whether `hay` contains `needle` (already lower case), ignoring case.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        return contains_ascii_ci(hay.as_bytes(), needle.as_bytes());
    }
    hay.to_lowercase().contains(needle)
}

/// Whether ASCII `hay` contains ASCII `needle` (not empty), ignoring
/// case: candidates are found by the needle's first letter in either case
/// (memchr), then compared.
fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let Some(last) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    let first = needle[0];
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &hay[..=last],
    )
    .any(|at| hay[at..at + needle.len()].eq_ignore_ascii_case(needle))
}

/// Mailpit's cleaning of search text and terms: line breaks, tabs and
/// `<>",;()` become spaces, runs of white space one space, all lower case.
#[must_use]
pub fn clean(text: &str) -> String {
    let replaced: String = text
        .chars()
        .map(|c| match c {
            '\r' | '\n' | '\t' | '<' | '>' | '"' | ',' | ';' | '(' | ')' | '\u{feff}' => ' ',
            c => c,
        })
        .collect();
    replaced
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Splits a query into words, a double-quoted phrase staying one word
/// (the quotes removed).
fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut push = |current: &mut String| {
        let word = current.replace('"', "");
        let word = word.trim();
        if !word.is_empty() {
            args.push(word.to_owned());
        }
        current.clear();
    };
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if !quoted && c == ' ' {
            push(&mut current);
        } else {
            current.push(c);
        }
    }
    push(&mut current);
    args
}

/// A size as Mailpit reads it: a number with an optional fraction and an
/// optional unit `k`/`kb` (1,024) or `m`/`mb` (1,048,576); `None` when it
/// is not one or is zero.
fn size_to_bytes(text: &str) -> Option<u64> {
    let text = clean(text);
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty()
        || number.starts_with('.')
        || number.matches('.').count() > 1
        || number.ends_with('.')
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let factor = match unit.trim_start() {
        "" => 1.0,
        "k" | "kb" => 1024.0,
        "m" | "mb" => 1024.0 * 1024.0,
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bytes = (value * factor) as u64;
    (bytes > 0).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_mailpit() {
        assert_eq!(
            split_args(r#"from:alice "hello world" -is:read  subject:"a b""#),
            ["from:alice", "hello world", "-is:read", "subject:a b"]
        );
    }

    #[test]
    fn parses_each_operator() {
        let q = Query::parse(
            "Word to:Bob from:<A@x> cc:c bcc:d reply-to:r addressed:z subject:Hi message-id:<m@x> \
             is:read -is:unread has:attachment !has:inline after:2024-01-01 before:2024-02-01 \
             larger:1.5k smaller:2MB tag:x is:tagged larger:huge after:never",
            0,
        );
        let whats: Vec<_> = q.terms.iter().map(|t| (t.negate, t.what.clone())).collect();
        assert_eq!(
            whats,
            [
                (false, What::Text("word".into())),
                (false, What::To("bob".into())),
                (false, What::From("a@x".into())),
                (false, What::Cc("c".into())),
                (false, What::Bcc("d".into())),
                (false, What::ReplyTo("r".into())),
                (false, What::Addressed("z".into())),
                (false, What::Subject("hi".into())),
                (false, What::MessageId("m@x".into())),
                (false, What::IsRead),
                (true, What::IsUnread),
                (false, What::HasAttachment),
                (true, What::HasInline),
                (false, What::After(1_704_067_200_000)),
                (false, What::Before(1_706_745_600_000)),
                (false, What::Larger(1536)),
                (false, What::Smaller(2_097_152)),
                (false, What::Tag),
                (false, What::IsTagged),
                (false, What::Text("larger:huge".into())),
            ]
        );
    }

    #[test]
    fn cleans_and_compares_ignoring_case() {
        assert_eq!(clean("  A\r\n<b@c>, \"D\"; (e)\t"), "a b@c d e");
        assert!(contains_ci("Alice@Example.ORG", "example.org"));
        assert!(contains_ci("Jürgen Groß", "groß"));
        assert!(!contains_ci("ab", "abc"));
        assert!(contains_ci("xxUSER123", "user123"));
        assert!(contains_ci("user123", "user123"));
        assert!(!contains_ci("user12", "user123"));
        assert!(!contains_ci("uuuuser12x", "user123"));
        assert!(contains_ci("a", "a") && !contains_ci("", "a"));
        assert_eq!(size_to_bytes("10"), Some(10));
        assert_eq!(size_to_bytes("0"), None);
        assert_eq!(size_to_bytes("1g"), None);
    }
}
