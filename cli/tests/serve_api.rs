//! `mailwire serve --http`: Mailpit's API over the Maildir, driven over
//! real SMTP and HTTP. Every response is checked against the shapes of
//! `catcher/API.md`; each message is looked for right after its 250.

mod api_support;

use api_support::{Api, Events, TempDir, eventually, ids, names, send, shapes};
use serde_json::json;

const PLAIN: &str = "From: =?utf-8?q?Alice_=C3=84rger?= <alice@example.org>\r
To: Bob <bob@example.org>\r
Cc: carol@example.org\r
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r
Message-ID: <plain-1@example.org>\r
Date: Mon, 01 Jan 2024 10:00:00 +0000\r
\r
Plain words here, zebra crossing.\r
";

const RICH: &str = "From: Dave <dave@example.net>\r
To: bob@example.org\r
Reply-To: replies@example.net\r
Subject: Report attached\r
Message-ID: <rich-2@example.net>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"m\"\r
\r
--m\r
Content-Type: multipart/related; boundary=\"r\"\r
\r
--r\r
Content-Type: multipart/alternative; boundary=\"a\"\r
\r
--a\r
Content-Type: text/plain; charset=utf-8\r
\r
See the report. Kangaroo.\r
--a\r
Content-Type: text/html; charset=utf-8\r
\r
<p>See the <b>report</b>. Kangaroo. <img src=\"cid:logo@example.net\"></p>\r
--a--\r
--r\r
Content-Type: image/png\r
Content-ID: <logo@example.net>\r
Content-Transfer-Encoding: base64\r
\r
iVBORw0KGgo=\r
--r--\r
--m\r
Content-Type: application/pdf; name=\"report.pdf\"\r
Content-Disposition: attachment; filename=\"report.pdf\"\r
Content-Transfer-Encoding: base64\r
\r
JVBERi0xLjQK\r
--m--\r
";

fn big() -> String {
    format!(
        "From: erin@example.com\r\nTo: Frank <frank@example.com>\r\nSubject: Quarterly numbers\r\n\
Message-ID: <big-3@example.com>\r\n\r\nOnce in a blue moon.\r\n{}\r\n",
        "lorem ipsum dolor sit amet\r\n".repeat(400)
    )
}

/// The file of a message in `cur/` or `new/`.
fn file_of(api: &Api, message_id: &str) -> Option<(String, String)> {
    for folder in ["new", "cur"] {
        for name in names(&api.maildir, folder) {
            let text =
                std::fs::read_to_string(api.maildir.join(folder).join(&name)).unwrap_or_default();
            if text.contains(&format!("Message-ID: <{message_id}>")) {
                return Some((folder.to_owned(), name));
            }
        }
    }
    None
}

#[test]
fn every_endpoint_over_smtp_and_http() {
    let dir = TempDir::new("api");
    let api = Api::start(&dir.0.join("mail"), &["--http", "127.0.0.1:0"]);
    assert_eq!(api.get("/livez").status, 200);
    assert_eq!(api.get("/readyz").status, 200);
    let mut events = Events::connect(api.http, &[]).expect("websocket");

    // Each message is listed right after its 250, newest first.
    send(
        api.smtp,
        "alice@example.org",
        &["bob@example.org", "carol@example.org"],
        PLAIN,
    );
    let page = api.list("");
    assert_eq!(
        (page["total"].as_u64(), page["unread"].as_u64()),
        (Some(1), Some(1))
    );
    let plain = page["messages"][0].clone();
    assert_eq!(plain["Subject"], "Grüße aus Köln");
    assert_eq!(
        plain["From"],
        json!({"Name": "Alice Ärger", "Address": "alice@example.org"})
    );
    assert_eq!(
        plain["To"],
        json!([{"Name": "Bob", "Address": "bob@example.org"}])
    );
    assert_eq!(
        plain["Cc"],
        json!([{"Name": "", "Address": "carol@example.org"}])
    );
    assert_eq!(plain["MessageID"], "plain-1@example.org");
    assert_eq!(plain["Snippet"], "Plain words here, zebra crossing.");
    assert_eq!(plain["Read"], false);
    let plain_id = plain["ID"].as_str().unwrap().to_owned();
    assert_eq!(plain_id.len(), 22);
    assert_eq!(events.next_of("new")["ID"], plain_id.as_str());

    send(api.smtp, "dave@example.net", &["bob@example.org"], RICH);
    let page = api.list("");
    assert_eq!(page["total"], 2);
    let rich = page["messages"][0].clone();
    assert_eq!(rich["Subject"], "Report attached");
    assert_eq!(rich["Attachments"], 1);
    let rich_id = rich["ID"].as_str().unwrap().to_owned();
    assert_eq!(events.next_of("new")["ID"], rich_id.as_str());

    send(api.smtp, "erin@example.com", &["frank@example.com"], &big());
    let page = api.list("");
    let big_id = page["messages"][0]["ID"].as_str().unwrap().to_owned();
    assert_eq!(
        ids(&page),
        [big_id.as_str(), rich_id.as_str(), plain_id.as_str()]
    );
    assert_eq!(events.next_of("new")["ID"], big_id.as_str());

    // Paging.
    let first = api.list("?limit=2");
    assert_eq!(ids(&first), [big_id.as_str(), rich_id.as_str()]);
    assert_eq!(
        (
            first["count"].as_u64(),
            first["total"].as_u64(),
            first["start"].as_u64()
        ),
        (Some(2), Some(3), Some(0))
    );
    let second = api.list("?start=2&limit=2");
    assert_eq!(ids(&second), [plain_id.as_str()]);
    assert_eq!(
        (second["count"].as_u64(), second["start"].as_u64()),
        (Some(1), Some(2))
    );

    // The whole message; viewing it marks it read (the S flag in cur/).
    let message = api.get_json(&format!("/api/v1/message/{rich_id}"), &shapes::MESSAGE);
    assert_eq!(message["ID"], rich_id.as_str());
    assert_eq!(
        message["ReplyTo"],
        json!([{"Name": "", "Address": "replies@example.net"}])
    );
    assert_eq!(message["ReturnPath"], "dave@example.net");
    assert!(
        message["Text"].as_str().unwrap().contains("Kangaroo"),
        "{message}"
    );
    assert!(
        message["HTML"].as_str().unwrap().contains("<b>report</b>"),
        "{message}"
    );
    assert_eq!(message["Inline"].as_array().unwrap().len(), 1);
    assert_eq!(message["Inline"][0]["PartID"], "1.2");
    assert_eq!(message["Inline"][0]["ContentType"], "image/png");
    assert_eq!(message["Inline"][0]["ContentID"], "logo@example.net");
    let attachment = &message["Attachments"][0];
    assert_eq!(message["Attachments"].as_array().unwrap().len(), 1);
    assert_eq!(attachment["PartID"], "2");
    assert_eq!(attachment["FileName"], "report.pdf");
    assert_eq!(attachment["ContentType"], "application/pdf");
    assert_eq!(attachment["Size"], 9);
    // The checksums of "%PDF-1.4\n" (md5sum, sha1sum, sha256sum).
    assert_eq!(
        attachment["Checksums"],
        json!({
            "MD5": "6446a98080f5e51ab7f0abc0e8eda635",
            "SHA1": "95607b02d48a786cb786897d727114fc79814b1e",
            "SHA256": "e5c62df5dab5c87b6a015ef3d43597074d1eec433b15f51aec63b8582d0e4ab4"
        })
    );
    let update = events.next_of("update");
    assert_eq!(update, json!({"ID": rich_id, "Read": true}));
    let (folder, name) = file_of(&api, "rich-2@example.net").expect("file");
    assert_eq!(folder, "cur");
    assert!(name.ends_with(":2,S"), "{name}");
    let page = api.list("");
    assert_eq!(page["unread"], 2);
    assert_eq!(page["messages"][1]["Read"], true);

    // A part: served as an attachment, never sniffed or run.
    let part = api.get(&format!("/api/v1/message/{rich_id}/part/2"));
    assert_eq!(part.status, 200);
    assert_eq!(part.body, b"%PDF-1.4\n");
    assert_eq!(part.header("content-type"), Some("application/pdf"));
    assert_eq!(
        part.header("content-disposition"),
        Some("attachment; filename=\"report.pdf\"")
    );
    assert_eq!(part.header("x-content-type-options"), Some("nosniff"));
    assert!(
        part.header("content-security-policy")
            .is_some_and(|c| c.contains("sandbox") && c.contains("default-src 'none'"))
    );
    let image = api.get(&format!("/api/v1/message/{rich_id}/part/1.2"));
    assert_eq!(
        (image.status, image.header("content-type")),
        (200, Some("image/png"))
    );
    assert_eq!(
        api.get(&format!("/api/v1/message/{rich_id}/part/9")).status,
        404
    );

    // Raw: the stored file as it is.
    let raw = api.get(&format!("/api/v1/message/{plain_id}/raw"));
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let (folder, name) = file_of(&api, "plain-1@example.org").expect("file");
    assert_eq!(
        raw.body,
        std::fs::read(api.maildir.join(folder).join(name)).unwrap()
    );
    assert_eq!(raw.header("content-disposition"), None);
    let download = api.get(&format!("/api/v1/message/{plain_id}/raw?dl=1"));
    assert_eq!(
        download.header("content-disposition"),
        Some(format!("attachment; filename=\"{plain_id}.eml\"").as_str())
    );

    // Headers.
    let headers = api.get_json(
        &format!("/api/v1/message/{plain_id}/headers"),
        &shapes::HEADERS,
    );
    assert_eq!(headers["Message-Id"], json!(["<plain-1@example.org>"]));
    assert_eq!(
        headers["X-Envelope-To"],
        json!(["<bob@example.org>", "<carol@example.org>"])
    );
    assert_eq!(headers["Return-Path"], json!(["<alice@example.org>"]));

    // `latest`, also of a search (headers do not mark read).
    let latest = api.get_json("/api/v1/message/latest/headers", &shapes::HEADERS);
    assert_eq!(latest["Message-Id"], json!(["<big-3@example.com>"]));
    let latest = api.get_json(
        "/api/v1/message/latest/headers?query=to%3Abob",
        &shapes::HEADERS,
    );
    assert_eq!(latest["Message-Id"], json!(["<rich-2@example.net>"]));

    // Every search operator (the rich message is read, the others not).
    let cases: &[(&str, &[&String])] = &[
        ("zebra", &[&plain_id]),
        ("\"blue moon\"", &[&big_id]),
        ("kangaroo", &[&rich_id]),
        ("report.pdf", &[&rich_id]),
        ("from:alice", &[&plain_id]),
        ("from:Dave", &[&rich_id]),
        ("to:frank", &[&big_id]),
        ("to:bob", &[&rich_id, &plain_id]),
        ("cc:carol", &[&plain_id]),
        ("subject:quarterly", &[&big_id]),
        ("subject:\"grüße aus\"", &[&plain_id]),
        ("message-id:rich-2", &[&rich_id]),
        ("is:read", &[&rich_id]),
        ("is:unread", &[&big_id, &plain_id]),
        ("has:attachment", &[&rich_id]),
        ("larger:5k", &[&big_id]),
        ("smaller:5k", &[&rich_id, &plain_id]),
        ("after:2000-01-01", &[&big_id, &rich_id, &plain_id]),
        ("after:2099-01-01", &[]),
        (
            "before:2099-01-01T00:00:00Z",
            &[&big_id, &rich_id, &plain_id],
        ),
        ("before:2000-01-01", &[]),
        ("-from:alice", &[&big_id, &rich_id]),
        ("!is:read", &[&big_id, &plain_id]),
        ("-zebra", &[&big_id, &rich_id]),
        ("to:bob is:unread", &[&plain_id]),
        ("-has:attachment -larger:5k", &[&plain_id]),
    ];
    for (query, expected) in cases {
        let found = api.search_ids(query);
        let expected: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
        assert_eq!(found, expected, "search {query:?}");
    }
    let page = api.get_json(
        "/api/v1/search?query=to%3Abob&limit=1",
        &shapes::MESSAGES_SUMMARY,
    );
    assert_eq!(ids(&page), [rich_id.as_str()]);
    assert_eq!(
        (
            page["messages_count"].as_u64(),
            page["messages_unread"].as_u64(),
            page["total"].as_u64(),
            page["unread"].as_u64()
        ),
        (Some(2), Some(1), Some(3), Some(2))
    );
    let none = api.get("/api/v1/search?query=");
    assert_eq!(
        (none.status, none.text().as_str()),
        (400, "Error: no search query")
    );

    // Read state by ID, by search, all: the S flag follows.
    api.send_json(
        "PUT",
        "/api/v1/messages",
        &json!({"IDs": [plain_id], "Read": true}),
    );
    assert_eq!(
        events.next_of("update"),
        json!({"ID": plain_id, "Read": true})
    );
    assert!(
        file_of(&api, "plain-1@example.org")
            .unwrap()
            .1
            .ends_with(":2,S")
    );
    api.send_json(
        "PUT",
        "/api/v1/messages",
        &json!({"IDs": [plain_id], "Read": false}),
    );
    assert_eq!(
        events.next_of("update"),
        json!({"ID": plain_id, "Read": false})
    );
    let (folder, name) = file_of(&api, "plain-1@example.org").unwrap();
    assert_eq!(folder, "cur");
    assert!(name.ends_with(":2,"), "{name}");
    api.send_json(
        "PUT",
        "/api/v1/messages",
        &json!({"Read": true, "Search": "to:frank"}),
    );
    assert_eq!(
        events.next_of("update"),
        json!({"ID": big_id, "Read": true})
    );
    assert_eq!(
        api.search_ids("is:read"),
        [big_id.as_str(), rich_id.as_str()]
    );
    api.send_json("PUT", "/api/v1/messages", &json!({"Read": false}));
    assert_eq!(api.list("")["unread"], 3);
    for name in names(&api.maildir, "cur") {
        assert!(!name.ends_with('S'), "{name}");
    }
    let both = api.request(
        "PUT",
        "/api/v1/messages",
        &[("Content-Type", "application/json")],
        Some(br#"{"IDs":["x"],"Search":"y","Read":true}"#),
    );
    assert_eq!(
        (both.status, both.text().as_str()),
        (
            400,
            "You may specify either IDs or a search query, not both"
        )
    );
    let broken = api.request(
        "PUT",
        "/api/v1/messages",
        &[("Content-Type", "application/json")],
        Some(b"{"),
    );
    assert_eq!(broken.status, 400);

    // Delete by ID and by search: the files go.
    api.send_json("DELETE", "/api/v1/messages", &json!({"IDs": [rich_id]}));
    assert_eq!(events.next_of("delete"), json!({"ID": rich_id}));
    assert!(file_of(&api, "rich-2@example.net").is_none());
    assert_eq!(api.list("")["total"], 2);
    assert_eq!(api.get(&format!("/api/v1/message/{rich_id}")).status, 404);
    let deleted = api.request("DELETE", "/api/v1/search?query=from%3Aalice", &[], None);
    assert_eq!((deleted.status, deleted.text().as_str()), (200, "ok"));
    assert_eq!(events.next_of("delete"), json!({"ID": plain_id}));
    assert!(file_of(&api, "plain-1@example.org").is_none());

    let info = api.get_json("/api/v1/info", &shapes::APP_INFORMATION);
    assert_eq!(info["Messages"], 1);
    assert_eq!(info["Unread"], 1);
    assert_eq!(info["RuntimeStats"]["SMTPAccepted"], 3);
    assert_eq!(info["RuntimeStats"]["MessagesDeleted"], 2);
    assert_eq!(info["LatestVersion"], "disabled");

    // Delete everything.
    let all = api.request("DELETE", "/api/v1/messages", &[], None);
    assert_eq!((all.status, all.text().as_str()), (200, "ok"));
    events.next_of("truncate");
    let stats = events.next_of("stats");
    assert_eq!(
        (stats["Total"].as_u64(), stats["Unread"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(names(&api.maildir, "new").is_empty() && names(&api.maildir, "cur").is_empty());
    assert_eq!(api.list("")["total"], 0);
    let latest = api.get("/api/v1/message/latest");
    assert_eq!(
        (latest.status, latest.text().as_str()),
        (404, "Message not found")
    );
    let unknown = api.get("/api/v1/nothing");
    assert_eq!(
        (unknown.status, unknown.text().as_str()),
        (404, "404 page not found")
    );
}

#[test]
fn restart_keeps_ids_order_and_read_state_and_hand_made_changes_follow() {
    let dir = TempDir::new("api-restart");
    let maildir = dir.0.join("mail");
    let api = Api::start(&maildir, &["--http", "127.0.0.1:0"]);
    for n in 0..5 {
        let message = format!(
            "From: a@example.org\r\nSubject: number {n}\r\nMessage-ID: <n{n}@example.org>\r\n\r\nbody {n}\r\n"
        );
        send(api.smtp, "a@example.org", &["b@example.org"], &message);
    }
    let before = api.list("");
    let order = ids(&before);
    assert_eq!(order.len(), 5);
    let subjects: Vec<&str> = before["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        ["number 4", "number 3", "number 2", "number 1", "number 0"],
        "newest first, also within a second"
    );
    api.send_json(
        "PUT",
        "/api/v1/messages",
        &json!({"IDs": [order[1]], "Read": true}),
    );
    api.kill();

    let api = Api::start(&maildir, &["--http", "127.0.0.1:0"]);
    let after = api.list("");
    assert_eq!(ids(&after), order, "same IDs in the same order");
    let read: Vec<bool> = after["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Read"].as_bool().unwrap())
        .collect();
    assert_eq!(read, [false, true, false, false, false]);
    assert_eq!(after["unread"], 4);

    // A file written into new/ by another program appears; removed, it
    // disappears; renamed into cur/ with S (as a mail reader does), it is
    // read.
    let mut events = Events::connect(api.http, &[]).expect("websocket");
    let hand = maildir.join("new").join("1700000000.M1P1Q1.elsewhere");
    std::fs::write(
        &hand,
        "From: hand@example.org\r\nSubject: by hand\r\n\r\nwritten by hand\r\n",
    )
    .unwrap();
    let new = events.next_of("new");
    assert_eq!(new["Subject"], "by hand");
    let hand_id = new["ID"].as_str().unwrap().to_owned();
    let page = api.list("");
    assert_eq!(page["total"], 6);
    assert_eq!(
        ids(&page).last(),
        Some(&hand_id),
        "oldest by its name's time"
    );
    std::fs::rename(
        &hand,
        maildir.join("cur").join("1700000000.M1P1Q1.elsewhere:2,S"),
    )
    .unwrap();
    assert_eq!(
        events.next_of("update"),
        json!({"ID": hand_id, "Read": true})
    );
    let (folder, name) = ("new", names(&maildir, "new").remove(0));
    std::fs::remove_file(maildir.join(folder).join(&name)).unwrap();
    let gone = events.next_of("delete");
    assert!(order.contains(&gone["ID"].as_str().unwrap().to_owned()));
    eventually("the list follows", || api.list("")["total"] == 5);
}

#[test]
fn max_messages_and_max_age_prune_the_oldest() {
    let dir = TempDir::new("api-prune");
    let maildir = dir.0.join("mail");
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::create_dir_all(maildir.join("cur")).unwrap();
    std::fs::create_dir_all(maildir.join("tmp")).unwrap();
    // Arrived in 2001: older than any --max-age.
    std::fs::write(
        maildir.join("cur").join("1000000000.M1P1Q1.old:2,S"),
        "Subject: ancient\r\n\r\nx\r\n",
    )
    .unwrap();
    let api = Api::start(
        &maildir,
        &[
            "--http",
            "127.0.0.1:0",
            "--max-messages",
            "2",
            "--max-age",
            "1d",
        ],
    );
    assert_eq!(
        api.list("")["total"],
        0,
        "the old message was pruned at start"
    );
    assert!(names(&maildir, "cur").is_empty());
    for n in 0..3 {
        let message = format!("Subject: keep {n}\r\nMessage-ID: <k{n}@example.org>\r\n\r\nx\r\n");
        send(api.smtp, "a@example.org", &["b@example.org"], &message);
    }
    let page = api.list("");
    let subjects: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["keep 2", "keep 1"]);
    assert_eq!(
        names(&maildir, "new").len(),
        2,
        "the oldest file was removed"
    );
}
