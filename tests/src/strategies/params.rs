//! Strategies for `mailwire_core::wire::params`.
//!
//! Values are the ones the parser accepts back: `ENVID` printable ASCII of 1
//! to 100 octets, `AUTH=` identities and `ORCPT` addresses non-empty UTF-8
//! without control characters (spaces, `+`, `=` and `<>` included, to
//! exercise xtext), and unknown parameters with distinct keywords the command
//! does not model.

use mailwire_core::wire::params::{
    AuthIdentity, BodyType, MailParameters, Notify, NotifyOn, Orcpt, Parameter, RcptParameters, Ret,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Byte strings for xtext: any bytes, and bytes heavy in `+`, `=` and space.
pub fn xtext_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(
            prop_oneof![
                Just(b'+'),
                Just(b'='),
                Just(b' '),
                Just(0u8),
                Just(0xffu8),
                33u8..=126,
            ],
            0..64,
        ),
    ]
}

/// An `esmtp-value`: `%d33-60 / %d62-126 / UTF8-non-ascii`.
fn esmtp_value() -> impl Strategy<Value = String> {
    "[!-<>-~é一-龥]{1,20}"
}

/// Unknown parameters with distinct keywords (case-insensitively) drawn
/// from `X…` keywords and from `others`, the keywords of the other command.
fn unknown(others: &'static [&'static str]) -> impl Strategy<Value = Vec<Parameter>> {
    let keyword = prop_oneof![
        4 => "[Xx][A-Za-z0-9-]{0,12}",
        1 => prop::sample::select(others).prop_map(str::to_owned),
    ];
    vec((keyword, option::of(esmtp_value())), 0..4).prop_map(|params| {
        let mut out: Vec<Parameter> = Vec::new();
        for (keyword, value) in params {
            let param = Parameter::new(&keyword, value.as_deref()).expect("valid parameter");
            if out.iter().all(|p| p.keyword() != param.keyword()) {
                out.push(param);
            }
        }
        out
    })
}

/// `AUTH=` values: `<>`, identities with characters xtext must encode, and
/// the identity that is literally `<>`.
fn auth() -> impl Strategy<Value = AuthIdentity> {
    prop_oneof![
        2 => Just(AuthIdentity::Unknown),
        6 => "[ -~é\u{a0}一-龥]{1,30}".prop_map(AuthIdentity::Identity),
        1 => Just(AuthIdentity::Identity("<>".to_owned())),
    ]
}

/// Parameters of `MAIL FROM:`.
pub fn mail_parameters() -> impl Strategy<Value = MailParameters> {
    let body = prop_oneof![
        Just(BodyType::SevenBit),
        Just(BodyType::EightBitMime),
        Just(BodyType::BinaryMime),
    ];
    let ret = prop_oneof![Just(Ret::Full), Just(Ret::Headers)];
    let size = prop_oneof![any::<u64>(), 0u64..100_000, Just(u64::MAX)];
    (
        option::of(size),
        option::of(body),
        any::<bool>(),
        option::of(auth()),
        option::of(ret),
        option::of("[ -~]{1,100}"),
        any::<bool>(),
        unknown(&["NOTIFY", "ORCPT"]),
    )
        .prop_map(
            |(size, body, smtputf8, auth, ret, envid, requiretls, unknown)| {
                let mut params = MailParameters::default();
                params.size = size;
                params.body = body;
                params.smtputf8 = smtputf8;
                params.auth = auth;
                params.ret = ret;
                params.envid = envid;
                params.requiretls = requiretls;
                params.unknown = unknown;
                params
            },
        )
}

/// `NOTIFY=` values: `NEVER` or a non-empty set of conditions.
fn notify() -> impl Strategy<Value = Notify> {
    prop_oneof![
        1 => Just(Notify::Never),
        3 => (any::<bool>(), any::<bool>(), any::<bool>())
            .prop_filter("at least one condition", |&(s, f, d)| s || f || d)
            .prop_map(|(success, failure, delay)| Notify::On(NotifyOn {
                success,
                failure,
                delay,
            })),
    ]
}

/// `ORCPT=` values: registered and made-up address types, addresses with
/// characters xtext must encode.
fn orcpt() -> impl Strategy<Value = Orcpt> {
    let addr_type = prop_oneof![
        Just("rfc822".to_owned()),
        Just("utf-8".to_owned()),
        "[A-Za-z0-9!#$%&'*+/?^_`{|}~-]{1,10}",
    ];
    (addr_type, "[ -~é一-龥]{1,40}")
        .prop_map(|(addr_type, address)| Orcpt::new(&addr_type, &address).expect("valid ORCPT"))
}

/// Parameters of `RCPT TO:`.
pub fn rcpt_parameters() -> impl Strategy<Value = RcptParameters> {
    (
        option::of(notify()),
        option::of(orcpt()),
        unknown(&[
            "SIZE",
            "BODY",
            "SMTPUTF8",
            "AUTH",
            "RET",
            "ENVID",
            "REQUIRETLS",
        ]),
    )
        .prop_map(|(notify, orcpt, unknown)| {
            let mut params = RcptParameters::default();
            params.notify = notify;
            params.orcpt = orcpt;
            params.unknown = unknown;
            params
        })
}
