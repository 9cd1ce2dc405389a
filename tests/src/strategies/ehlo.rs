//! Strategies for `mailwire_core::wire::ehlo`.

use mailwire_core::wire::ehlo::{Capabilities, EhloReply, Extension};
use proptest::prelude::*;

/// A valid SASL mechanism name (uppercase, 1-20 of `A-Z 0-9 - _`), the
/// real ones more likely.
pub fn sasl_mechanism() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
            "XOAUTH2", "GSSAPI", "EXTERNAL", "ANONYMOUS",
        ])
        .prop_map(str::to_owned),
        1 => "[A-Z0-9_-]{1,20}",
    ]
}

/// An extension that is not one of the known keywords.
pub fn extension() -> impl Strategy<Value = Extension> {
    let keyword = prop_oneof![
        2 => prop::sample::select(vec![
            "VRFY", "ETRN", "XCLIENT", "XFORWARD", "DELIVERBY", "MT-PRIORITY", "X-EXPS",
            "HELP", "SIZEX", "AUTH-X",
        ])
        .prop_map(str::to_owned),
        3 => "[A-Za-z0-9][A-Za-z0-9-]{0,15}",
    ];
    let params = prop::collection::vec("[!-~]{1,12}", 0..4);
    (keyword, params).prop_filter_map("not a known keyword", |(keyword, params)| {
        Extension::new(&keyword, params)
    })
}

/// Capabilities in normal form: any mix of flags, any `SIZE`, distinct
/// uppercase SASL mechanisms (`auth_legacy` only with some), and unknown
/// extensions with distinct keywords.
pub fn capabilities() -> impl Strategy<Value = Capabilities> {
    capabilities_raw().prop_map(|c| c.normalized())
}

/// Capabilities as a caller might fill the public fields, not necessarily
/// in normal form: mechanisms in any case, repeated or invalid, legacy
/// AUTH without mechanisms, repeated unknown keywords.
pub fn capabilities_raw() -> impl Strategy<Value = Capabilities> {
    let size = prop_oneof![
        1 => Just(None),
        1 => Just(Some(0)),
        2 => (1u64..=100_000_000).prop_map(Some),
        1 => any::<u64>().prop_map(Some),
    ];
    let mechanism = prop_oneof![
        4 => sasl_mechanism(),
        1 => "[a-zA-Z0-9_-]{1,20}",
        1 => "[ -~]{0,24}",
    ];
    (
        prop::array::uniform10(any::<bool>()),
        size,
        prop::collection::vec(mechanism, 0..6),
        any::<bool>(),
        prop::collection::vec(extension(), 0..6),
    )
        .prop_map(|(flags, size, auth, auth_legacy, unknown)| {
            let [a, b, c, d, e, f, g, h, i, _] = flags;
            let mut caps = Capabilities::default();
            caps.pipelining = a;
            caps.eight_bit_mime = b;
            caps.smtputf8 = c;
            caps.chunking = d;
            caps.binary_mime = e;
            caps.dsn = f;
            caps.enhanced_status_codes = g;
            caps.starttls = h;
            caps.requiretls = i;
            caps.size = size;
            caps.auth = auth;
            caps.auth_legacy = auth_legacy;
            caps.unknown = unknown;
            caps
        })
}

/// A server name: host names, address literals, UTF-8 names, and the odd
/// one that reads like an enhanced status code.
pub fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?){0,3}",
        1 => (any::<[u8; 4]>()).prop_map(|[a, b, c, d]| format!("[{a}.{b}.{c}.{d}]")),
        1 => "[a-zäöüß例え]{1,8}\\.[a-z]{2,4}",
        1 => "[!-~]{1,20}",
        1 => "2\\.[0-9]{1,3}\\.[0-9]{1,3}",
    ]
}

/// An EHLO reply in normal form.
pub fn ehlo_reply() -> impl Strategy<Value = EhloReply> {
    let greeting = prop_oneof![
        2 => Just(String::new()),
        3 => "[ -~]{1,40}",
        1 => "[\\PC\t]{1,20}".prop_filter("no control characters", |s| {
            !s.chars().any(|c| c.is_control() && c != '\t')
        }),
        1 => "[ \t]{1,3}[a-z]{0,5}[ \t]{0,3}",
    ];
    (domain(), greeting, capabilities())
        .prop_map(|(domain, greeting, capabilities)| EhloReply {
            domain,
            greeting,
            capabilities,
        })
        .prop_filter("normal form", |e| e.normalized() == *e)
}

/// An EHLO reply as a caller might fill it in, not necessarily in normal
/// form (spaces or control characters in the domain or greeting, raw
/// capabilities).
pub fn ehlo_reply_raw() -> impl Strategy<Value = EhloReply> {
    let text = prop_oneof![
        3 => "[ -~]{0,30}",
        1 => "[\\PC\\p{Cc}]{0,20}",
        1 => Just(String::new()),
    ];
    (
        prop_oneof![domain(), text.clone()],
        text,
        capabilities_raw(),
    )
        .prop_map(|(domain, greeting, capabilities)| EhloReply {
            domain,
            greeting,
            capabilities,
        })
}
