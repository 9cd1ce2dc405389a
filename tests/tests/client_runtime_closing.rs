//! The mailwire client over loopback TCP against tiny scripted servers that
//! answer EHLO, HELO or STARTTLS with 221 (or HELO with another 2xx): the
//! session ends there, nothing more is written (no MAIL, no QUIT after a
//! 221), and `send_message` takes the message to the next server. On
//! tokio, smol and async-std.

#[macro_use]
#[path = "client_runtime/support.rs"]
mod support;

use mailwire_core::client::{CloseKind, Phase};
use mailwire_driver::client::{ClientError, SendOptions, ServerAddress};
use mailwire_driver::{Runtime, send_message};

use support::{Step, assert_script_ok, log, scripted_server};

const MESSAGE: &str = "From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n\r\nhi\r\n";

fn local(port: u16) -> ServerAddress {
    ServerAddress::new("127.0.0.1").with_port(port)
}

/// A server that takes the message.
fn good_server() -> Vec<Step> {
    vec![
        Step::Send("220 good ESMTP\r\n"),
        Step::Expect("EHLO localhost"),
        Step::Send("250 good\r\n"),
        Step::Expect("MAIL FROM:<a@example.org>"),
        Step::Send("250 ok\r\n"),
        Step::Expect("RCPT TO:<b@example.org>"),
        Step::Send("250 ok\r\n"),
        Step::Expect("DATA"),
        Step::Send("354 go\r\n"),
        Step::Data,
        Step::Send("250 queued\r\n"),
        Step::Expect("QUIT"),
        Step::Send("221 bye\r\n"),
        Step::Drain,
    ]
}

/// One scripted server per case: its script through the answer that ends
/// the session (and the QUIT the client may send after a refusal), and
/// the close it must give. Whatever the client writes after the script is
/// an error.
fn cases() -> Vec<(&'static str, Vec<Step>, CloseKind, Phase, u16)> {
    let greeting = || {
        vec![
            Step::Send("220 closing ESMTP\r\n"),
            Step::Expect("EHLO localhost"),
        ]
    };
    let with = |mut steps: Vec<Step>, more: Vec<Step>| {
        steps.extend(more);
        steps.push(Step::Drain);
        steps
    };
    vec![
        (
            "HELO answered 221",
            with(
                greeting(),
                vec![
                    Step::Send("502 5.5.1 no EHLO here\r\n"),
                    Step::Expect("HELO localhost"),
                    Step::Send("221 2.0.0 closing\r\n"),
                ],
            ),
            CloseKind::ServiceClosing,
            Phase::Helo,
            221,
        ),
        (
            "EHLO answered 221",
            with(greeting(), vec![Step::Send("221 2.0.0 closing\r\n")]),
            CloseKind::ServiceClosing,
            Phase::Ehlo,
            221,
        ),
        (
            "HELO answered 220",
            with(
                greeting(),
                vec![
                    Step::Send("502 5.5.1 no EHLO here\r\n"),
                    Step::Expect("HELO localhost"),
                    Step::Send("220 not a hello\r\n"),
                    Step::Expect("QUIT"),
                    Step::Send("221 bye\r\n"),
                ],
            ),
            CloseKind::HelloRefused,
            Phase::Helo,
            220,
        ),
        (
            "STARTTLS answered 221 (opportunistic TLS)",
            with(
                greeting(),
                vec![
                    Step::Send("250-closing\r\n250 STARTTLS\r\n"),
                    Step::Expect("STARTTLS"),
                    Step::Send("221 2.0.0 closing\r\n"),
                ],
            ),
            CloseKind::ServiceClosing,
            Phase::StartTls,
            221,
        ),
    ]
}

async fn a_closing_answer_ends_the_session_and_sends_no_mail<R: Runtime>(rt: R) {
    for (label, script, kind, phase, code) in cases() {
        let (closing, closing_logs) = scripted_server(&rt, vec![script]).await;
        let (good, good_logs) = scripted_server(&rt, vec![good_server()]).await;
        let options = SendOptions::new([local(closing.port()), local(good.port())]);
        let report = send_message(rt.clone(), MESSAGE, &options)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(report.is_sent(), "{label}: {report:?}");
        assert_eq!(report.port, good.port(), "{label}: the next server took it");
        match &report.failed_servers[0].error {
            ClientError::Closed(reason) => {
                assert_eq!(reason.kind, kind, "{label}: {reason:?}");
                assert_eq!(reason.phase, phase, "{label}: {reason:?}");
                let got = reason.reply.as_ref().map(|r| r.code().as_u16());
                assert_eq!(got, Some(code), "{label}");
            }
            other => panic!("{label}: {other:?}"),
        }
        assert_script_ok(&rt, &closing_logs[0]).await;
        let drained = String::from_utf8_lossy(&log(&closing_logs[0]).drained).into_owned();
        assert_eq!(drained, "", "{label}: the client wrote after the answer");
        assert_script_ok(&rt, &good_logs[0]).await;
    }
}

on_all_runtimes!(a_closing_answer_ends_the_session_and_sends_no_mail);
