//! Proptest strategies for [`Scenario`]s and networks.

use std::time::Duration;

use bytes::Bytes;
use mailwire_core::client::{BodyType, Envelope, MailOptions, Recipient, SendPolicy};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::reply::Reply;
use proptest::prelude::*;

use super::{ClientTls, Scenario, Setup, StartTls};
use crate::pair::net::{LinkPlan, Network};
use crate::pair::scripted::{Answer, MessagePlan, ServerScript};
use crate::strategies::address::{forward_path, reverse_path};

/// How often gaps and slow decisions appear, and how large they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gaps {
    /// Allow idle gaps and slow decisions at all.
    pub enabled: bool,
}

fn a_reply(code: u16, enhanced: &'static str, text: &'static str) -> Reply {
    Reply::simple(code, enhanced, text).expect("a valid reply")
}

/// A decision delay: mostly none; with gaps, sometimes around the
/// 60-second decision deadline.
fn delay(gaps: Gaps) -> BoxedStrategy<Duration> {
    if gaps.enabled {
        prop_oneof![
            60 => Just(Duration::ZERO),
            1 => Just(Duration::from_secs(1)),
            1 => Just(Duration::from_secs(59)),
            1 => Just(Duration::from_secs(61)),
        ]
        .boxed()
    } else {
        Just(Duration::ZERO).boxed()
    }
}

/// Verdicts for MAIL.
fn mail_answer(gaps: Gaps) -> impl Strategy<Value = Answer> {
    let reply = prop_oneof![
        20 => Just(None),
        1 => Just(Some(a_reply(250, "", "Sender fine"))),
        1 => Just(Some(a_reply(451, "4.7.1", "Try later"))),
        1 => Just(Some(a_reply(550, "5.7.1", "Not from you"))),
    ];
    (reply, delay(gaps)).prop_map(|(reply, delay)| Answer { reply, delay })
}

/// Verdicts for RCPT: accept, 251, 4xx, 5xx, and with `deferrals` also
/// `452 4.5.3` (too many recipients) and, rarely, `421` (closing).
fn rcpt_answer(gaps: Gaps, deferrals: bool) -> impl Strategy<Value = Answer> {
    let mut replies: Vec<Option<Reply>> = vec![None; 24];
    replies.push(Some(a_reply(251, "", "Will forward")));
    replies.push(Some(a_reply(550, "5.1.1", "No such user")));
    replies.push(Some(a_reply(550, "5.1.1", "No such user")));
    replies.push(Some(a_reply(450, "4.2.1", "Mailbox busy")));
    replies.push(Some(a_reply(553, "", "Mailbox name not allowed")));
    if deferrals {
        replies.push(Some(a_reply(452, "4.5.3", "Too many recipients")));
        replies.push(Some(a_reply(452, "4.5.3", "Too many recipients")));
    }
    let closing = if deferrals && gaps.enabled { 1 } else { 0 };
    let reply = prop_oneof![
        200 => prop::sample::select(replies),
        closing => Just(Some(a_reply(421, "4.3.2", "Closing"))),
    ];
    (reply, delay(gaps)).prop_map(|(reply, delay)| Answer { reply, delay })
}

/// Verdicts for the end of a message.
fn message_answer(gaps: Gaps) -> impl Strategy<Value = Answer> {
    let reply = prop_oneof![
        16 => Just(None),
        1 => Just(Some(a_reply(250, "", "Queued as 42"))),
        1 => Just(Some(a_reply(451, "4.3.0", "Try again"))),
        1 => Just(Some(a_reply(554, "5.7.1", "Spam"))),
    ];
    (reply, delay(gaps)).prop_map(|(reply, delay)| Answer { reply, delay })
}

/// A server script: the connection and HELO are mostly accepted.
pub fn script(gaps: Gaps, deferrals: bool) -> impl Strategy<Value = ServerScript> {
    let connect = prop_oneof![
        60 => Just(Answer::accept()),
        1 => Just(Answer::refuse(554, "", "No service")),
    ];
    let helo = prop_oneof![
        40 => Just(Vec::new()),
        1 => Just(vec![Answer::refuse(550, "", "Go away")]),
        1 => Just(vec![Answer::refuse(502, "", "No EHLO")]),
    ];
    (
        connect,
        helo,
        prop::collection::vec(mail_answer(gaps), 0..6),
        prop::collection::vec(rcpt_answer(gaps, deferrals), 0..10),
        prop_oneof![3 => Just(Answer::accept()), 1 => rcpt_answer(gaps, false)],
        prop::collection::vec(message_answer(gaps), 0..6),
    )
        .prop_map(
            |(connect, helo, mail, rcpt, rcpt_again, message)| ServerScript {
                connect,
                helo,
                mail,
                rcpt,
                rcpt_again,
                message,
                users: Vec::new(),
            },
        )
}

/// The server and client configurations.
pub fn setup() -> impl Strategy<Value = Setup> {
    let server = (
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.6),
        prop_oneof![
            2 => Just(None),
            4 => Just(Some(10_240_000u64)),
            1 => (0u64..1500).prop_map(Some),
        ],
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.8),
        prop_oneof![
            4 => Just(StartTls::Absent),
            2 => Just(StartTls::Offered),
            1 => Just(StartTls::Required),
        ],
        prop::bool::weighted(0.25),
        prop_oneof![4 => Just(100usize), 1 => 1usize..4],
        prop::bool::weighted(0.2),
    );
    let client = (
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.5),
        prop_oneof![
            6 => Just(ClientTls::Disabled),
            6 => Just(ClientTls::Opportunistic),
            1 => Just(ClientTls::Required),
        ],
        prop_oneof![16 => Just(true), 1 => Just(false)],
        prop::bool::weighted(0.05),
        prop_oneof![4 => Just(None), 1 => (1usize..3).prop_map(Some)],
        prop::bool::weighted(0.1),
    );
    (server, client).prop_map(
        |(
            (pipe, eight, utf8, size, chunking, binary, esc, starttls, auth, max_rcpt, lf),
            (c_pipe, c_chunk, c_tls, right_password, odd_credentials, per_txn, implicit),
        )| Setup {
            pipelining: pipe,
            eight_bit_mime: eight,
            smtputf8: utf8,
            size_limit: size,
            chunking,
            binary_mime: binary,
            enhanced_status_codes: esc,
            starttls,
            auth,
            max_recipients: max_rcpt,
            max_errors: 1000,
            reject_bare_lf: lf,
            client_pipelining: c_pipe,
            client_chunking: c_chunk,
            client_tls: c_tls,
            // Credentials where the server asks for AUTH (mostly right),
            // and now and then where it does not (or the other way round).
            credentials: (auth != odd_credentials).then_some(right_password),
            max_per_transaction: per_txn,
            implicit_tls: implicit,
        },
    )
}

/// One piece of a hazardous body.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    const HAZARDS: &[&[u8]] = &[
        b".",
        b"..",
        b"\r",
        b"\n",
        b"\r\n",
        b"\r\n.\r\n",
        b".\r\n",
        b"\n.\n",
        b"\r.\r",
        b"\n.\r\n",
        b"\r.\r\n",
        b"\r\n.\n",
        b"\r\n.\r",
        b"\r\n..\r\n",
        b"\r\r\n",
        b"\n\r",
        b"QUIT\r\n",
        b"\r\nMAIL FROM:<smuggled@example.com>\r\n",
    ];
    prop_oneof![
        24 => prop::sample::select(HAZARDS).prop_map(<[u8]>::to_vec),
        12 => prop::collection::vec(b'a'..=b'z', 1..12),
        1 => prop::collection::vec(0x80u8..=0xff, 1..4),
        2 => (prop::sample::select(&b"x.\n"[..]), 60usize..1100).prop_map(|(b, n)| vec![b; n]),
    ]
}

/// A body built from framing hazards (leading dots, lines that are only a
/// dot, bare CR and LF, `CRLF . CRLF` inside, 8-bit octets, long lines), or
/// empty.
pub fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        8 => prop::collection::vec(piece(), 1..12).prop_map(|p| p.concat()),
    ]
}

/// A recipient: mostly from a small pool (so that they repeat, include the
/// postmaster and local domains), sometimes any forward path at all.
fn recipient() -> impl Strategy<Value = ForwardPath> {
    let pool: Vec<&'static str> = vec![
        "<bob@example.org>",
        "<carol@example.org>",
        "<dave@example.net>",
        "<erin@example.net>",
        "<frank@example.com>",
        "<Postmaster>",
        "<postmaster@example.org>",
        "<\"john doe\"@example.com>",
    ];
    prop_oneof![
        16 => prop::sample::select(pool).prop_map(|s| s.parse().expect("a valid path")),
        1 => Just("<jörg@bücher.example>".parse().expect("a valid path")),
        2 => forward_path(),
    ]
}

fn sender() -> impl Strategy<Value = ReversePath> {
    let pool: Vec<&'static str> = vec!["<alice@example.net>", "<>", "<ålice@exämple.net>"];
    prop_oneof![
        16 => Just("<alice@example.net>".parse().expect("a valid path")),
        2 => prop::sample::select(pool).prop_map(|s| s.parse().expect("a valid path")),
        1 => reverse_path(),
    ]
}

/// One message: envelope, body, body chunking, policy, size declaration,
/// and (with gaps) a wait before it and a pause in its body.
pub fn message(gaps: Gaps) -> impl Strategy<Value = MessagePlan> {
    let wait = if gaps.enabled {
        prop_oneof![
            40 => Just(Duration::ZERO),
            1 => Just(Duration::from_secs(299)),
            1 => Just(Duration::from_secs(301)),
        ]
        .boxed()
    } else {
        Just(Duration::ZERO).boxed()
    };
    let pause = if gaps.enabled {
        prop_oneof![
            40 => Just(None),
            1 => (0usize..200, prop_oneof![
                Just(Duration::from_secs(179)),
                Just(Duration::from_secs(181)),
                Just(Duration::from_secs(301)),
            ]).prop_map(Some),
        ]
        .boxed()
    } else {
        Just(None).boxed()
    };
    (
        sender(),
        prop::collection::vec(recipient(), 1..5),
        body(),
        prop::collection::vec(0usize..64, 0..4),
        0u8..8,
        any::<bool>(),
        0u8..4,
        wait,
        pause,
    )
        .prop_map(
            |(from, to, body, chunks, kind, at_least_one, size, wait, pause)| {
                let eight_bit = body.iter().any(|&b| b >= 0x80);
                let kind = match (kind, eight_bit) {
                    (0, _) => BodyType::BinaryMime,
                    (1, _) | (_, true) => BodyType::EightBitMime,
                    _ => BodyType::SevenBit,
                };
                let mut options =
                    MailOptions::default()
                        .with_body(kind)
                        .with_policy(if at_least_one {
                            SendPolicy::AtLeastOne
                        } else {
                            SendPolicy::AllOrNothing
                        });
                let real = match kind {
                    BodyType::BinaryMime => body.len() as u64,
                    _ => mailwire_core::wire::dot::normalize(&body).len() as u64,
                };
                options.size = match size {
                    0 => None,
                    1 => Some(real),
                    2 => Some(real / 2),
                    _ => Some(real + 500),
                };
                let envelope =
                    Envelope::new(from, to.into_iter().map(Recipient::new)).with_options(options);
                MessagePlan {
                    envelope,
                    body: Bytes::from(body),
                    chunks,
                    wait_before: wait,
                    pause,
                }
            },
        )
}

/// A whole scenario: 0–5 messages.
pub fn scenario(gaps: Gaps) -> impl Strategy<Value = Scenario> {
    scenario_with(gaps, true)
}

/// A whole scenario; without `deferrals`, the server application never
/// answers a RCPT with `452` or `421` (the server core's own limit still
/// defers recipients with `452 4.5.3`).
pub fn scenario_with(gaps: Gaps, deferrals: bool) -> impl Strategy<Value = Scenario> {
    (
        setup(),
        script(gaps, deferrals),
        prop_oneof![
            1 => Just(0usize),
            20 => 1usize..=5,
        ]
        .prop_flat_map(move |n| prop::collection::vec(message(gaps), n)),
    )
        .prop_map(|(setup, script, messages)| Scenario {
            setup,
            script,
            messages,
        })
}

/// Read sizes for one direction: whole, single octets, small and large
/// reads, in cycles.
pub fn link_plan() -> impl Strategy<Value = LinkPlan> {
    let size = prop_oneof![
        4 => 1usize..4,
        3 => 4usize..40,
        1 => Just(0usize),
        1 => 40usize..600,
    ];
    prop_oneof![
        2 => Just(LinkPlan::whole()),
        1 => Just(LinkPlan::reads([1])),
        5 => prop::collection::vec(size, 1..6).prop_map(LinkPlan::reads),
    ]
}

/// A network without delays: each direction cut into reads by its own
/// plan.
pub fn network() -> impl Strategy<Value = Network> {
    (link_plan(), link_plan()).prop_map(|(to_server, to_client)| Network {
        client_to_server: to_server,
        server_to_client: to_client,
        cut: None,
        scheduler_seed: None,
    })
}

/// A seeded network: random read sizes, delays up to `max_delay` on each
/// write, a seeded choice of which direction is read first.
pub fn seeded_network(max_delay: Duration) -> impl Strategy<Value = Network> {
    (any::<u64>(), 1usize..200).prop_map(move |(seed, max_read)| Network {
        client_to_server: LinkPlan::seeded(seed, max_read, max_delay),
        server_to_client: LinkPlan::seeded(seed.rotate_left(17), max_read, max_delay),
        cut: None,
        scheduler_seed: Some(seed.rotate_left(33)),
    })
}
