//! Round trips of addresses and ESMTP parameters: every value built through
//! the constructors is written and parsed back unchanged; no input makes a
//! parser panic; whatever parses, written again, parses to the same value;
//! and a control byte anywhere in a path is always `ForbiddenByte`.

use mailwire_core::wire::address::{
    AddressError, Domain, ForwardPath, MAX_PATH, Mailbox, ReversePath,
};
use mailwire_core::wire::params::{MailParameters, RcptParameters, xtext_decode, xtext_encode};
use mailwire_tests::strategies::address::{domain, forward_path, mailbox, reverse_path};
use mailwire_tests::strategies::params::{mail_parameters, rcpt_parameters, xtext_bytes};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Collects what a `write_to` writes.
fn written(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    out
}

fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
}

/// Applies small edits (replace, insert, delete, truncate) to `bytes`.
fn mutate(mut bytes: Vec<u8>, edits: Vec<(Index, u8, u8)>) -> Vec<u8> {
    for (at, byte, op) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let i = at.index(bytes.len());
        match op % 4 {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            2 => {
                bytes.remove(i);
            }
            _ => bytes.truncate(i),
        }
    }
    bytes
}

/// Bytes that matter to the address and parameter grammars.
const ALPHABET: &[u8] = b"<>@\"\\[]:,.;=+- aZz09IPvV6!~\xc3\xa9\xff";

/// Control bytes, the ones a smuggler would use.
const CONTROLS: &[u8] = b"\r\n\0\t\x7f";

/// A valid path with a source route in front of the mailbox.
fn routed_path() -> impl Strategy<Value = Vec<u8>> {
    (vec("[a-z0-9]{1,8}(\\.[a-z]{1,5})?", 1..3), mailbox()).prop_map(|(hops, m)| {
        let route: Vec<String> = hops.iter().map(|h| format!("@{h}")).collect();
        format!("<{}:{m}>", route.join(",")).into_bytes()
    })
}

/// Inputs for the "never panics" properties: random bytes, strings over the
/// grammar's special characters, and valid paths (with parameters after
/// them), mailboxes, domains and parameter lists, with none to three small
/// edits.
fn fuzz_input() -> impl Strategy<Value = Vec<u8>> {
    let seed = prop_oneof![
        reverse_path().prop_map(|p| written(|o| p.write_to(o))),
        forward_path().prop_map(|p| written(|o| p.write_to(o))),
        routed_path(),
        mailbox().prop_map(|m| written(|o| m.write_to(o))),
        domain().prop_map(|d| written(|o| d.write_to(o))),
        mail_parameters().prop_map(|p| written(|o| p.write_to(o))),
        rcpt_parameters().prop_map(|p| written(|o| p.write_to(o))),
    ];
    let suffix = prop_oneof![
        2 => Just(Vec::new()),
        1 => mail_parameters().prop_map(|p| written(|o| p.write_to(o))),
        1 => rcpt_parameters().prop_map(|p| written(|o| p.write_to(o))),
    ];
    let byte = prop_oneof![3 => select(ALPHABET), 1 => select(CONTROLS), 1 => any::<u8>()];
    let edits = vec((any::<Index>(), byte, any::<u8>()), 0..3);
    let edited = (seed, suffix, edits).prop_map(|(mut input, suffix, edits)| {
        input.extend_from_slice(&suffix);
        mutate(input, edits)
    });
    prop_oneof![
        1 => vec(any::<u8>(), 0..80),
        2 => vec(select(ALPHABET), 0..60),
        6 => edited,
    ]
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!("roundtrip_address_params", 512))]

    #[test]
    fn domain_round_trips(d in domain()) {
        let out = written(|o| d.write_to(o));
        prop_assert_eq!(String::from_utf8(out.clone()), Ok(d.to_string()));
        prop_assert_eq!(Domain::parse(&out), Ok(d.clone()));
        prop_assert_eq!(d.to_string().parse::<Domain>(), Ok(d.clone()));
        prop_assert_eq!(d.validate(), Ok(()));
        prop_assert_eq!(d.is_utf8(), !out.is_ascii());
    }

    #[test]
    fn mailbox_round_trips(m in mailbox()) {
        let out = written(|o| m.write_to(o));
        prop_assert_eq!(String::from_utf8(out.clone()), Ok(m.to_string()));
        prop_assert!(out.len() + 2 <= MAX_PATH);
        prop_assert!(!has_control(&out));
        prop_assert_eq!(Mailbox::parse(&out), Ok(m.clone()));
        prop_assert_eq!(m.to_string().parse::<Mailbox>(), Ok(m.clone()));
        prop_assert_eq!(m.is_utf8(), !out.is_ascii());
        let local = written(|o| m.local().write_to(o));
        prop_assert_eq!(m.local().needs_quoting(), local.first() == Some(&b'"'));
    }

    #[test]
    fn reverse_path_round_trips(p in reverse_path(), params in mail_parameters()) {
        let out = written(|o| p.write_to(o));
        prop_assert_eq!(String::from_utf8(out.clone()), Ok(p.to_string()));
        prop_assert!(out.len() <= MAX_PATH);
        prop_assert!(!has_control(&out));
        prop_assert_eq!(ReversePath::parse(&out), Ok(p.clone()));
        // As a command would carry it: path, then parameters.
        let mut line = out.clone();
        params.write_to(&mut line);
        let (parsed, used) = ReversePath::parse_prefix(&line).map_err(|e| {
            TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&line)))
        })?;
        prop_assert_eq!(&parsed, &p);
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(MailParameters::parse(&line[used..]), Ok(params));
    }

    #[test]
    fn forward_path_round_trips(p in forward_path(), params in rcpt_parameters()) {
        let out = written(|o| p.write_to(o));
        prop_assert_eq!(String::from_utf8(out.clone()), Ok(p.to_string()));
        prop_assert!(out.len() <= MAX_PATH);
        prop_assert!(!has_control(&out));
        prop_assert_eq!(ForwardPath::parse(&out), Ok(p.clone()));
        let mut line = out.clone();
        params.write_to(&mut line);
        let (parsed, used) = ForwardPath::parse_prefix(&line).map_err(|e| {
            TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&line)))
        })?;
        prop_assert_eq!(&parsed, &p);
        prop_assert_eq!(used, out.len());
        prop_assert_eq!(RcptParameters::parse(&line[used..]), Ok(params));
    }

    #[test]
    fn mail_parameters_round_trip(p in mail_parameters()) {
        let out = written(|o| p.write_to(o));
        prop_assert_eq!(out.is_empty(), p.is_empty());
        prop_assert!(!has_control(&out));
        prop_assert!(out.is_empty() || out.first() == Some(&b' '));
        // One parameter per space-separated word, at most one '=' in each.
        let words = out.split(|&b| b == b' ').filter(|w| !w.is_empty());
        prop_assert!(words.clone().all(|w| w.iter().filter(|&&b| b == b'=').count() <= 1));
        let count = usize::from(p.size.is_some()) + usize::from(p.body.is_some())
            + usize::from(p.smtputf8) + usize::from(p.auth.is_some())
            + usize::from(p.ret.is_some()) + usize::from(p.envid.is_some())
            + usize::from(p.requiretls) + p.unknown.len();
        prop_assert_eq!(words.count(), count);
        prop_assert_eq!(MailParameters::parse(&out), Ok(p));
    }

    #[test]
    fn rcpt_parameters_round_trip(p in rcpt_parameters()) {
        let out = written(|o| p.write_to(o));
        prop_assert_eq!(out.is_empty(), p.is_empty());
        prop_assert!(!has_control(&out));
        let words = out.split(|&b| b == b' ').filter(|w| !w.is_empty());
        prop_assert!(words.clone().all(|w| w.iter().filter(|&&b| b == b'=').count() <= 1));
        let count = usize::from(p.notify.is_some()) + usize::from(p.orcpt.is_some())
            + p.unknown.len();
        prop_assert_eq!(words.count(), count);
        prop_assert_eq!(RcptParameters::parse(&out), Ok(p));
    }

    #[test]
    fn xtext_round_trips(bytes in xtext_bytes()) {
        let encoded = written(|o| xtext_encode(&bytes, o));
        prop_assert!(encoded.iter().all(|&b| (33..=126).contains(&b) && b != b'='));
        prop_assert_eq!(xtext_decode(&encoded), Ok(bytes.clone()));
        // Whatever decodes, encoded again, decodes to the same bytes.
        if let Ok(decoded) = xtext_decode(&bytes) {
            let again = written(|o| xtext_encode(&decoded, o));
            prop_assert_eq!(xtext_decode(&again), Ok(decoded));
        }
    }

    #[test]
    fn parsers_never_panic_and_reparse(input in fuzz_input()) {
        if let Ok(d) = Domain::parse(&input) {
            prop_assert_eq!(Domain::parse(&written(|o| d.write_to(o))), Ok(d));
        }
        if let Ok(m) = Mailbox::parse(&input) {
            prop_assert_eq!(Mailbox::parse(&written(|o| m.write_to(o))), Ok(m));
        }
        if let Ok(p) = ReversePath::parse(&input) {
            prop_assert_eq!(ReversePath::parse(&written(|o| p.write_to(o))), Ok(p));
        }
        if let Ok(p) = ForwardPath::parse(&input) {
            prop_assert_eq!(ForwardPath::parse(&written(|o| p.write_to(o))), Ok(p));
        }
        if let Ok((p, used)) = ReversePath::parse_prefix(&input) {
            prop_assert!(used <= input.len() && used <= MAX_PATH);
            prop_assert_eq!(input.get(used - 1), Some(&b'>'));
            prop_assert_eq!(ReversePath::parse(&written(|o| p.write_to(o))), Ok(p));
        }
        if let Ok((p, used)) = ForwardPath::parse_prefix(&input) {
            prop_assert!(used <= input.len() && used <= MAX_PATH);
            prop_assert_eq!(input.get(used - 1), Some(&b'>'));
            prop_assert_eq!(ForwardPath::parse(&written(|o| p.write_to(o))), Ok(p));
        }
        if let Ok(p) = MailParameters::parse(&input) {
            prop_assert!(!has_control(&input));
            prop_assert_eq!(MailParameters::parse(&written(|o| p.write_to(o))), Ok(p));
        }
        if let Ok(p) = RcptParameters::parse(&input) {
            prop_assert!(!has_control(&input));
            prop_assert_eq!(RcptParameters::parse(&written(|o| p.write_to(o))), Ok(p));
        }
        if let Ok(decoded) = xtext_decode(&input) {
            let encoded = written(|o| xtext_encode(&decoded, o));
            prop_assert_eq!(xtext_decode(&encoded), Ok(decoded));
        }
    }

    #[test]
    fn control_bytes_in_a_path_are_always_forbidden(
        p in reverse_path(),
        at in any::<Index>(),
        control in prop_oneof![select(&b"\r\n\0\t\x0b\x0c\x1b\x7f"[..]), 0u8..0x20],
    ) {
        let mut input = written(|o| p.write_to(o));
        input.insert(at.index(input.len() + 1), control);
        let forbidden = AddressError::ForbiddenByte(control);
        prop_assert_eq!(ReversePath::parse(&input).err(), Some(forbidden.clone()));
        prop_assert_eq!(ReversePath::parse_prefix(&input).err(), Some(forbidden.clone()));
        prop_assert_eq!(ForwardPath::parse(&input).err(), Some(forbidden.clone()));
        prop_assert_eq!(ForwardPath::parse_prefix(&input).err(), Some(forbidden));
    }

    #[test]
    fn control_bytes_in_parameters_are_refused(
        p in mail_parameters(),
        r in rcpt_parameters(),
        at in any::<Index>(),
        control in prop_oneof![select(&b"\r\n\0\t\x7f"[..]), 0u8..0x20],
    ) {
        let mut mail = written(|o| p.write_to(o));
        mail.insert(at.index(mail.len() + 1), control);
        prop_assert!(MailParameters::parse(&mail).is_err());
        let mut rcpt = written(|o| r.write_to(o));
        rcpt.insert(at.index(rcpt.len() + 1), control);
        prop_assert!(RcptParameters::parse(&rcpt).is_err());
    }
}
