//! Delivery status notifications (RFC 3464) in a `multipart/report`
//! (RFC 6522), written the way Postfix's bounce daemon writes them.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::entry::{QueuedEnvelope, QueuedRecipient, from_unix_ms};

/// Most octets of the original message returned whole (`RET=FULL` or no
/// `RET`); a larger one is returned as its header section only, as
/// Postfix's `bounce_size_limit`.
pub const RETURN_LIMIT: usize = 50_000;

/// One recipient the report is about.
#[derive(Debug, Clone)]
pub struct Failed<'a> {
    /// The recipient as queued (its `ORCPT` is reported).
    pub recipient: &'a QueuedRecipient,
    /// The enhanced status (`5.1.1`).
    pub status: &'a str,
    /// The reply that settled it, as one line (`550 5.1.1 No such user`).
    pub diagnostic: &'a str,
    /// The next hop that answered, `host:port`.
    pub remote: Option<&'a str>,
}

/// The envelope and octets of a failure report for `envelope`'s sender,
/// about `failed`, from the null sender. `reporting_mta` names this host;
/// `message` is the original message.
///
/// ```
/// use mailwire_queue::dsn::{Failed, failure_report};
/// use mailwire_queue::{QueuedEnvelope, QueuedRecipient};
///
/// let rcpt = QueuedRecipient { to: "<b@example.net>".into(), notify: None, orcpt: None };
/// let envelope = QueuedEnvelope {
///     from: "<a@example.org>".into(), recipients: vec![rcpt.clone()],
///     body: "7BIT".into(), smtputf8: false, ret: None, envid: None,
///     arrival: 0, client: None,
/// };
/// let failed = [Failed { recipient: &rcpt, status: "5.1.1",
///                        diagnostic: "550 5.1.1 No such user", remote: None }];
/// let (dsn, octets) = failure_report("relay.example.org", &envelope, &failed,
///                                    b"Subject: hi\r\n\r\nhello\r\n", "X1");
/// assert_eq!(dsn.from, "<>");
/// assert_eq!(dsn.recipients[0].to, "<a@example.org>");
/// assert!(String::from_utf8_lossy(&octets).contains("Status: 5.1.1"));
/// ```
#[must_use]
pub fn failure_report(
    reporting_mta: &str,
    envelope: &QueuedEnvelope,
    failed: &[Failed<'_>],
    message: &[u8],
    id: &str,
) -> (QueuedEnvelope, Vec<u8>) {
    let now = SystemTime::now();
    let sender = envelope
        .from
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    let boundary = format!("{id}.{}/{reporting_mta}", seconds(now));
    let headers_only = matches!(
        envelope.ret(),
        Some(mailwire_core::wire::params::Ret::Headers)
    ) || message.len() > RETURN_LIMIT;
    let returned: &[u8] = if headers_only {
        header_section(message)
    } else {
        message
    };
    let eight_bit = returned.iter().any(|&b| b >= 0x80);

    let mut out = String::new();
    let mut h = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    };
    h("Date", &rfc5322_date(now));
    h(
        "From",
        &format!("Mail Delivery System <MAILER-DAEMON@{reporting_mta}>"),
    );
    h("To", &sender);
    h("Subject", "Undelivered Mail Returned to Sender");
    h("Message-ID", &format!("<{id}.dsn@{reporting_mta}>"));
    h("Auto-Submitted", "auto-replied");
    h("MIME-Version", "1.0");
    h(
        "Content-Type",
        &format!("multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\""),
    );
    if eight_bit {
        h("Content-Transfer-Encoding", "8bit");
    }
    out.push_str("\r\nThis is a MIME-encapsulated message.\r\n\r\n");

    // The part for people.
    out.push_str(&format!("--{boundary}\r\n"));
    out.push_str("Content-Description: Notification\r\n");
    out.push_str("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    out.push_str(&format!(
        "This is the mail system at host {reporting_mta}.\r\n\r\n"
    ));
    out.push_str("I'm sorry to have to inform you that your message could not\r\n");
    out.push_str("be delivered to one or more recipients. It's attached below.\r\n\r\n");
    for f in failed {
        out.push_str(&format!(
            "{}: {}\r\n",
            ascii(&f.recipient.to),
            ascii(f.diagnostic)
        ));
    }
    out.push_str("\r\n");

    // The part for programs (RFC 3464).
    out.push_str(&format!("--{boundary}\r\n"));
    out.push_str("Content-Description: Delivery report\r\n");
    out.push_str("Content-Type: message/delivery-status\r\n\r\n");
    out.push_str(&format!("Reporting-MTA: dns; {reporting_mta}\r\n"));
    if let Some(envid) = &envelope.envid {
        out.push_str(&format!("Original-Envelope-Id: {}\r\n", ascii(envid)));
    }
    out.push_str(&format!(
        "Arrival-Date: {}\r\n",
        rfc5322_date(from_unix_ms(envelope.arrival))
    ));
    for f in failed {
        out.push_str("\r\n");
        let to = f.recipient.to.trim_start_matches('<').trim_end_matches('>');
        let kind = if to.is_ascii() { "rfc822" } else { "utf-8" };
        out.push_str(&format!("Final-Recipient: {kind}; {}\r\n", ascii(to)));
        if let Some(o) = f.recipient.orcpt() {
            out.push_str(&format!(
                "Original-Recipient: {}; {}\r\n",
                o.addr_type(),
                ascii(o.address())
            ));
        }
        out.push_str("Action: failed\r\n");
        out.push_str(&format!("Status: {}\r\n", f.status));
        if let Some(remote) = f.remote {
            let host = remote.rsplit_once(':').map_or(remote, |(h, _)| h);
            out.push_str(&format!("Remote-MTA: dns; {}\r\n", ascii(host)));
        }
        out.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\n",
            ascii(f.diagnostic)
        ));
        out.push_str(&format!("Last-Attempt-Date: {}\r\n", rfc5322_date(now)));
    }
    out.push_str("\r\n");

    // The message, or its header section.
    out.push_str(&format!("--{boundary}\r\n"));
    if headers_only {
        out.push_str("Content-Description: Undelivered Message Headers\r\n");
        out.push_str("Content-Type: text/rfc822-headers\r\n");
    } else {
        out.push_str("Content-Description: Undelivered Message\r\n");
        out.push_str("Content-Type: message/rfc822\r\n");
    }
    if eight_bit {
        out.push_str("Content-Transfer-Encoding: 8bit\r\n");
    }
    out.push_str("\r\n");
    let mut octets = out.into_bytes();
    octets.extend_from_slice(returned);
    if !octets.ends_with(b"\r\n") {
        octets.extend_from_slice(b"\r\n");
    }
    octets.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());

    let dsn = QueuedEnvelope {
        from: "<>".to_owned(),
        recipients: vec![QueuedRecipient {
            to: envelope.from.clone(),
            notify: None,
            orcpt: None,
        }],
        body: if eight_bit { "8BITMIME" } else { "7BIT" }.to_owned(),
        smtputf8: envelope.smtputf8 && !sender.is_ascii(),
        ret: None,
        envid: None,
        arrival: crate::entry::unix_ms(now),
        client: None,
    };
    (dsn, octets)
}

/// The header section of a message (up to and with its empty line).
fn header_section(message: &[u8]) -> &[u8] {
    if message.starts_with(b"\r\n") {
        return &message[..2];
    }
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &message[..i + 2],
        None => message,
    }
}

/// Text made safe for a header line: printable ASCII only.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `Thu, 3 Dec 2026 13:45:00 +0000`.
#[must_use]
pub fn rfc5322_date(time: SystemTime) -> String {
    let secs = seconds(time);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[(days.rem_euclid(7)) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(UNIX_EPOCH), "Thu, 1 Jan 1970 00:00:00 +0000");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_305_500);
        assert_eq!(rfc5322_date(t), "Thu, 3 Dec 2026 13:45:00 +0000");
    }

    #[test]
    fn headers_only_for_ret_hdrs() {
        let rcpt = QueuedRecipient {
            to: "<b@example.net>".into(),
            notify: None,
            orcpt: Some("rfc822;B@example.net".into()),
        };
        let envelope = QueuedEnvelope {
            from: "<a@example.org>".into(),
            recipients: vec![rcpt.clone()],
            body: "7BIT".into(),
            smtputf8: false,
            ret: Some("HDRS".into()),
            envid: Some("E1".into()),
            arrival: 0,
            client: None,
        };
        let failed = [Failed {
            recipient: &rcpt,
            status: "5.1.1",
            diagnostic: "550 5.1.1 no",
            remote: Some("127.0.0.1:25"),
        }];
        let (_, octets) = failure_report(
            "h.example",
            &envelope,
            &failed,
            b"Subject: s\r\n\r\nsecret body\r\n",
            "X",
        );
        let text = String::from_utf8(octets).unwrap();
        assert!(text.contains("text/rfc822-headers"));
        assert!(!text.contains("secret body"));
        assert!(text.contains("Original-Envelope-Id: E1\r\n"));
        assert!(text.contains("Original-Recipient: rfc822; B@example.net\r\n"));
        assert!(text.contains("Remote-MTA: dns; 127.0.0.1\r\n"));
    }
}
