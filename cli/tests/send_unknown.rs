//! `mailwire send` against scripted servers on loopback that take the whole
//! message but give no usable reply to its end — they hang up, answer with
//! a malformed reply, or answer 221 and close: the outcome is unknown (exit
//! 4) in every case, and the error text (JSON, text, bulk summary) says
//! which of them happened.
//! (The fourth case, a timeout, takes the ten minutes RFC 5321 gives the
//! final reply; its text is checked by the report's unit tests.)

mod send_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use send_support::{at, send};

/// A server for one session that accepts everything and then answers the
/// end of the data with `after_dot` (nothing: hangs up) and closes.
fn scripted(after_dot: &'static [u8]) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let thread = std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let Ok(mut write) = stream.try_clone() else {
            return;
        };
        let mut lines = BufReader::new(stream).lines();
        let _ = write.write_all(b"220 scripted.test ESMTP\r\n");
        let mut in_data = false;
        while let Some(Ok(line)) = lines.next() {
            if in_data {
                if line == "." {
                    let _ = write.write_all(after_dot);
                    return; // and close
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250 scripted.test\r\n"
            } else if upper.starts_with("DATA") {
                in_data = true;
                b"354 go ahead\r\n"
            } else {
                b"250 ok\r\n"
            };
            let _ = write.write_all(reply);
        }
    });
    (port, thread)
}

const ARGS: [&str; 4] = ["--from", "a@x.test", "--to", "b@y.test"];

#[test]
fn no_usable_final_reply_is_unknown_and_says_why() {
    for (after_dot, want) in [
        (
            &b""[..],
            "the connection closed after the end of the data, before the reply",
        ),
        (
            b"2x0 garbled\r\n",
            "the reply to the end of the data is malformed (malformed reply line)",
        ),
        (
            b"221 2.0.0 bye\r\n",
            "the server answered the end of the data with 221 and closed the connection",
        ),
    ] {
        let label = String::from_utf8_lossy(after_dot).into_owned();
        let full = format!("{want}: the message may have been delivered");

        // JSON.
        let (port, thread) = scripted(after_dot);
        let server = at(port);
        let mut args = vec!["--server", server.as_str(), "--json"];
        args.extend_from_slice(&ARGS);
        let run = send(&args);
        let _ = thread.join();
        assert_eq!(run.status, 4, "{label:?}: {run:#?}");
        let json = run.json();
        assert_eq!(json["outcome"], "unknown", "{label:?}");
        assert_eq!(json["sent"], false, "{label:?}");
        assert_eq!(json["error"], full.as_str(), "{label:?}: {json}");
        assert_eq!(json["recipients"][0]["status"], "unknown", "{label:?}");

        // Text, for people.
        let (port, thread) = scripted(after_dot);
        let server = at(port);
        let mut args = vec!["--server", server.as_str()];
        args.extend_from_slice(&ARGS);
        let run = send(&args);
        let _ = thread.join();
        assert_eq!(run.status, 4, "{label:?}: {run:#?}");
        let first = run.stdout.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!("unknown via {server} (no TLS): {full}"),
            "{label:?}: {run:#?}"
        );

        // Bulk mode's summary.
        let (port, thread) = scripted(after_dot);
        let server = at(port);
        let mut args = vec!["--server", server.as_str(), "--repeat", "1", "--json"];
        args.extend_from_slice(&ARGS);
        let run = send(&args);
        let _ = thread.join();
        assert_eq!(run.status, 4, "{label:?}: {run:#?}");
        assert_eq!(run.json()["error"], full.as_str(), "{label:?}: {run:#?}");
    }
}
