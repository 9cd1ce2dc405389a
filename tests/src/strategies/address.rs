//! Strategies for `mailwire_core::wire::address`.
//!
//! Every value is built through the public constructors, so it is one the
//! parser must read back unchanged. The mix covers dot-atoms, quoted local
//! parts full of spaces, quotes and backslashes, UTF-8 local parts and
//! domains, IPv4/IPv6/general address literals, the null path,
//! `<Postmaster>`, and mailboxes whose path is at or just under the 256-octet
//! limit.

use std::net::{Ipv4Addr, Ipv6Addr};

use mailwire_core::wire::address::{Domain, ForwardPath, LocalPart, Mailbox, ReversePath};
use proptest::prelude::*;

/// `atext` characters for the regexes below (`-` last so it is literal).
const ATEXT: &str = "a-zA-Z0-9!#$%&'*+/=?^_`{|}~-";

/// A strategy from a regex built at run time.
fn regex(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    proptest::string::string_regex(pattern).expect("valid regex")
}

/// One label of a domain name: ASCII letters-digits-hyphens, an A-label, a
/// U-label, or a label of exactly 63 octets.
fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?",
        1 => "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
        1 => "xn--[a-z0-9]{1,12}",
        2 => "[a-zà-ÿ一-龥]{0,3}[à-ÿ一-龥][a-z0-9à-ÿ一-龥-]{0,6}[a-zà-ÿ一-龥]",
        1 => "[a-z][a-z0-9-]{61}[a-z]",
    ]
}

/// A domain name of exactly `len` octets (1..=255) made of ASCII labels.
fn name_of_len(len: usize, letter: char) -> String {
    let mut out = String::new();
    let mut rest = len.clamp(1, 255);
    while rest > 63 {
        // Never leave nothing for the last label.
        let take = if rest == 64 { 62 } else { 63 };
        out.extend(std::iter::repeat_n(letter, take));
        out.push('.');
        rest -= take + 1;
    }
    out.extend(std::iter::repeat_n(letter, rest));
    out
}

/// Domain names: one to five labels, plus names of 250 to 255 octets.
pub fn domain_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::collection::vec(label(), 1..=5)
            .prop_map(|labels| labels.join("."))
            .prop_filter("at most 255 octets", |name| name.len() <= 255),
        1 => (250usize..=255, prop::sample::select(vec!['a', 'Z', '7']))
            .prop_map(|(len, letter)| name_of_len(len, letter)),
    ]
}

/// IPv6 addresses, often with runs of zero groups so that `::` shows up.
fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<u128>().prop_map(Ipv6Addr::from),
        proptest::array::uniform8(prop_oneof![3 => Just(0u16), 1 => any::<u16>()])
            .prop_map(Ipv6Addr::from),
        Just(Ipv6Addr::LOCALHOST),
        any::<u32>().prop_map(|v4| Ipv4Addr::from(v4).to_ipv6_mapped()),
    ]
}

/// Domains: names (ASCII and UTF-8) and address literals of every kind.
pub fn domain() -> impl Strategy<Value = Domain> {
    prop_oneof![
        8 => domain_name().prop_map(Domain::Name),
        2 => any::<[u8; 4]>().prop_map(|octets| Domain::Ipv4(Ipv4Addr::from(octets))),
        2 => ipv6().prop_map(Domain::Ipv6),
        1 => (
            "[a-zA-Z0-9][a-zA-Z0-9-]{0,8}[a-zA-Z0-9]|[a-zA-Z0-9]",
            "[!-Z^-~]{1,40}",
        )
            .prop_filter("the IPv6 tag is not a general literal", |(tag, _)| {
                !tag.eq_ignore_ascii_case("IPv6")
            })
            .prop_map(|(tag, content)| Domain::General { tag, content }),
    ]
}

/// Decoded local parts: dot-atoms, quoted strings with spaces, quotes and
/// backslashes, UTF-8, `postmaster` in any case, and lengths near 64 octets.
pub fn local_part() -> impl Strategy<Value = LocalPart> {
    let atom = format!("[{ATEXT}]{{1,12}}");
    let dot_atom = format!("{atom}(\\.{atom}){{0,3}}");
    prop_oneof![
        6 => regex(&dot_atom),
        3 => "[ -~]{0,30}",
        2 => "[ a-zé\"\\\\.@<>一-龥]{0,20}",
        2 => "[a-zà-ÿ一-龥]{1,10}(\\.[a-z0-9à-ÿ]{1,5}){0,2}",
        1 => "[Pp][Oo][Ss][Tt][Mm][Aa][Ss][Tt][Ee][Rr]",
        1 => regex(&format!("[{ATEXT}]{{60,64}}")),
        1 => "[ \"\\\\a-z]{50,62}",
        1 => Just(String::new()),
    ]
    .prop_filter_map("wire form over 64 octets", |s| LocalPart::new(&s).ok())
}

/// Mailboxes whose path is exactly 256 octets or a little shorter.
fn long_mailbox() -> impl Strategy<Value = Mailbox> {
    (
        1usize..=64,
        0usize..=5,
        prop::sample::select(vec!['q', 'R', '9']),
    )
        .prop_filter_map("fits a path", |(local_len, slack, letter)| {
            let local = LocalPart::new(&"l".repeat(local_len)).ok()?;
            // `<` local `@` domain `>` = 256 - slack.
            let domain_len = 256 - slack - 3 - local_len;
            Mailbox::new(local, Domain::Name(name_of_len(domain_len, letter))).ok()
        })
}

/// Mailboxes: any local part with any domain (as long as the path fits 256
/// octets), plus paths at the length limit.
pub fn mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![
        9 => (local_part(), domain())
            .prop_filter_map("path over 256 octets", |(local, domain)| {
                Mailbox::new(local, domain).ok()
            }),
        1 => long_mailbox(),
    ]
}

/// Reverse paths: the null path or a mailbox.
pub fn reverse_path() -> impl Strategy<Value = ReversePath> {
    prop_oneof![
        1 => Just(ReversePath::Null),
        8 => mailbox().prop_map(ReversePath::Mailbox),
    ]
}

/// Forward paths: `<Postmaster>` or a mailbox.
pub fn forward_path() -> impl Strategy<Value = ForwardPath> {
    prop_oneof![
        1 => Just(ForwardPath::Postmaster),
        8 => mailbox().prop_map(ForwardPath::Mailbox),
    ]
}
