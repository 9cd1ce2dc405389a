//! `mailwire serve --http`: the guards. Basic authentication, the Host a
//! request names (DNS rebinding), cross-origin and non-JSON state
//! changes, crafted IDs, and how parts are served.

mod api_support;

use api_support::{Api, Events, TempDir, ids, names, send, shapes};

const HTML_ATTACHMENT: &str = "From: a@example.org\r
Subject: with html\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"b\"\r
\r
--b\r
Content-Type: text/plain\r
\r
see attached\r
--b\r
Content-Type: text/html; name=\"page.html\"\r
Content-Disposition: attachment; filename=\"page.html\"\r
\r
<script>alert(document.cookie)</script>\r
--b--\r
";

fn one_message(api: &Api) -> String {
    send(
        api.smtp,
        "a@example.org",
        &["b@example.org"],
        "Subject: one\r\n\r\nbody\r\n",
    );
    ids(&api.list("")).remove(0)
}

#[test]
fn basic_auth_is_required_when_configured() {
    let dir = TempDir::new("api-auth");
    let api = Api::start(
        &dir.0.join("mail"),
        &["--http", "127.0.0.1:0", "--http-auth", "alice:s3cret"],
    );
    // "alice:s3cret" and "alice:wrong" in base64.
    let right = ("Authorization", "Basic YWxpY2U6czNjcmV0");
    let wrong = ("Authorization", "Basic YWxpY2U6d3Jvbmc=");
    for headers in [&[][..], &[wrong][..], &[("Authorization", "Bearer x")][..]] {
        let reply = api.request("GET", "/api/v1/messages", headers, None);
        assert_eq!(reply.status, 401, "{headers:?}");
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Basic realm=\"mailwire\"")
        );
        assert!(!reply.text().contains("messages"));
    }
    let delete = api.request("DELETE", "/api/v1/messages", &[wrong], None);
    assert_eq!(delete.status, 401);
    assert_eq!(Events::connect(api.http, &[]).err(), Some(401));
    let ok = api.request("GET", "/api/v1/messages", &[right], None);
    assert_eq!(ok.status, 200);
    shapes::check(&ok.json(), &shapes::MESSAGES_SUMMARY);
    assert!(Events::connect(api.http, &[right]).is_ok());
}

#[test]
fn a_foreign_host_is_refused() {
    let dir = TempDir::new("api-host");
    let api = Api::start(
        &dir.0.join("mail"),
        &["--http", "127.0.0.1:0", "--http-host", "mail.test"],
    );
    let port = api.http.port();
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.2:{port}"),
        "localhost.evil.example".into(),
    ] {
        let reply = api.request("GET", "/api/v1/messages", &[("Host", &host)], None);
        assert_eq!(reply.status, 403, "{host}");
        assert!(!reply.text().contains("messages"), "{host}");
    }
    let reply = api.request(
        "DELETE",
        "/api/v1/messages",
        &[("Host", "rebind.example")],
        None,
    );
    assert_eq!(reply.status, 403);
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "mail.test".into(),
    ] {
        assert_eq!(
            api.request("GET", "/api/v1/messages", &[("Host", &host)], None)
                .status,
            200,
            "{host}"
        );
    }
}

#[test]
fn cross_origin_and_non_json_changes_are_refused() {
    let dir = TempDir::new("api-origin");
    let api = Api::start(&dir.0.join("mail"), &["--http", "127.0.0.1:0"]);
    let id = one_message(&api);
    let body = format!(r#"{{"IDs":["{id}"]}}"#);
    let evil = ("Origin", "http://evil.example");
    let json = ("Content-Type", "application/json");

    let reply = api.request(
        "DELETE",
        "/api/v1/messages",
        &[evil, json],
        Some(body.as_bytes()),
    );
    assert_eq!(reply.status, 403);
    let reply = api.request("DELETE", "/api/v1/messages", &[evil], None);
    assert_eq!(reply.status, 403);
    let reply = api.request(
        "PUT",
        "/api/v1/messages",
        &[evil, json],
        Some(br#"{"Read":true}"#),
    );
    assert_eq!(reply.status, 403);
    // A form cannot send JSON: text/plain and form bodies are refused.
    for kind in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let reply = api.request(
            "DELETE",
            "/api/v1/messages",
            &[("Content-Type", kind)],
            Some(body.as_bytes()),
        );
        assert_eq!(reply.status, 415, "{kind}");
        let reply = api.request(
            "PUT",
            "/api/v1/messages",
            &[("Content-Type", kind)],
            Some(br#"{"Read":true}"#),
        );
        assert_eq!(reply.status, 415, "{kind}");
    }
    let reply = api.request("DELETE", "/api/v1/messages", &[], Some(body.as_bytes()));
    assert_eq!(reply.status, 415, "a body without a type");
    assert_eq!(Events::connect(api.http, &[evil]).err(), Some(403));

    // Nothing changed.
    let page = api.list("");
    assert_eq!(ids(&page), [id.as_str()]);
    assert_eq!(page["unread"], 1);
    assert_eq!(names(&api.maildir, "new").len(), 1);

    // From the interface's own origin, or with no Origin at all (curl),
    // the same requests work.
    let own = format!("http://{}", api.http);
    let own = ("Origin", own.as_str());
    assert!(Events::connect(api.http, &[own]).is_ok());
    let reply = api.request(
        "PUT",
        "/api/v1/messages",
        &[own, json],
        Some(br#"{"Read":true}"#),
    );
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));
    assert_eq!(api.list("")["unread"], 0);
    let reply = api.request(
        "DELETE",
        "/api/v1/messages",
        &[own, json],
        Some(body.as_bytes()),
    );
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok"));
    assert_eq!(api.list("")["total"], 0);
}

#[test]
fn crafted_ids_touch_nothing() {
    let dir = TempDir::new("api-ids");
    let maildir = dir.0.join("mail");
    let api = Api::start(&maildir, &["--http", "127.0.0.1:0"]);
    let id = one_message(&api);
    let secret = dir.0.join("secret");
    std::fs::write(&secret, "Subject: secret\r\n\r\nsecret\r\n").unwrap();
    let name = names(&maildir, "new").remove(0);
    for crafted in [
        "..%2F..%2Fsecret".to_owned(),
        "..%2Fnew%2F".to_owned() + &name,
        "%2E%2E".into(),
        "AAAAAAAAAAAAAAAAAAAAAA".into(),
        "zzzzzzzzzzzzzzzzzzzzzz".into(),
        format!("{id}x"),
        "latest%00".into(),
    ] {
        for suffix in ["", "/raw", "/headers", "/part/1"] {
            let path = format!("/api/v1/message/{crafted}{suffix}");
            let reply = api.get(&path);
            assert_eq!(reply.status, 404, "{path}");
            assert!(!reply.text().contains("secret"), "{path}");
        }
    }
    for path in [
        "/api/v1/message/../../secret",
        "/api/v1/../../secret",
        "/../secret",
    ] {
        assert_eq!(api.get(path).status, 404, "{path}");
    }
    for body in [
        r#"{"IDs":["../secret"]}"#.to_owned(),
        format!(r#"{{"IDs":["../new/{name}"]}}"#),
        r#"{"IDs":["AAAAAAAAAAAAAAAAAAAAAA"]}"#.into(),
    ] {
        let reply = api.request(
            "DELETE",
            "/api/v1/messages",
            &[("Content-Type", "application/json")],
            Some(body.as_bytes()),
        );
        assert_eq!(reply.status, 200, "{body}");
        let reply = api.request(
            "PUT",
            "/api/v1/messages",
            &[("Content-Type", "application/json")],
            Some(format!("{{\"Read\":true,{}", &body[1..]).as_bytes()),
        );
        assert_eq!(reply.status, 200, "{body}");
    }
    assert!(secret.exists());
    assert_eq!(names(&maildir, "new"), [name]);
    let page = api.list("");
    assert_eq!(
        (page["total"].as_u64(), page["unread"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn parts_are_attachments_never_sniffed_or_run() {
    let dir = TempDir::new("api-parts");
    let api = Api::start(&dir.0.join("mail"), &["--http", "127.0.0.1:0"]);
    send(
        api.smtp,
        "a@example.org",
        &["b@example.org"],
        HTML_ATTACHMENT,
    );
    let id = ids(&api.list("")).remove(0);
    let message = api.get_json(&format!("/api/v1/message/{id}"), &shapes::MESSAGE);
    assert_eq!(message["Attachments"][0]["FileName"], "page.html");
    let part_id = message["Attachments"][0]["PartID"]
        .as_str()
        .unwrap()
        .to_owned();
    let part = api.get(&format!("/api/v1/message/{id}/part/{part_id}"));
    assert_eq!(part.status, 200);
    assert!(part.text().contains("<script>"));
    assert_eq!(part.header("content-type"), Some("text/html"));
    assert_eq!(
        part.header("content-disposition"),
        Some("attachment; filename=\"page.html\"")
    );
    assert_eq!(part.header("x-content-type-options"), Some("nosniff"));
    let csp = part.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
}

#[test]
fn a_non_loopback_bind_without_auth_is_warned_about() {
    let dir = TempDir::new("api-warn");
    let api = Api::start(&dir.0.join("mail"), &["--http", "0.0.0.0:0"]);
    let port = api.http.port();
    // Bound to every address: any address literal is this server.
    let reply = api.request(
        "GET",
        "/api/v1/messages",
        &[("Host", &format!("127.0.0.1:{port}"))],
        None,
    );
    assert_eq!(reply.status, 200);
    let reply = api.request(
        "GET",
        "/api/v1/messages",
        &[("Host", &format!("evil.example:{port}"))],
        None,
    );
    assert_eq!(reply.status, 403);
    // Printed before the `web interface on` line; read from the pipe by
    // another thread.
    api_support::eventually("the warning", || {
        api.stderr().contains("warning: HTTP on 0.0.0.0:")
    });
    drop(api);

    let api = Api::start(&dir.0.join("mail"), &["--http", "127.0.0.1:0"]);
    assert_eq!(api.get("/readyz").status, 200);
    assert!(!api.stderr().contains("warning"), "{}", api.stderr());
}

/// Runs curl with `args` against the server's certificate; returns the
/// HTTP status and the body.
fn curl(cacert: &std::path::Path, args: &[&str]) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20", "--cacert"])
        .arg(cacert)
        .args(["--write-out", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed (scripts/install-peers)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn https_with_a_certificate() {
    let dir = TempDir::new("api-https");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.0.join("cert.pem"), dir.0.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let api = Api::start(
        &dir.0.join("mail"),
        &[
            "--http",
            "127.0.0.1:0",
            "--http-auth",
            "u:p",
            "--http-tls-cert",
            cert.to_str().unwrap(),
            "--http-tls-key",
            key.to_str().unwrap(),
        ],
    );
    send(
        api.smtp,
        "a@example.org",
        &["b@example.org"],
        "Subject: secure\r\n\r\nx\r\n",
    );
    let base = format!("https://{}", api.http);
    let (status, body) = curl(&cert, &["-u", "u:p", &format!("{base}/api/v1/messages")]);
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    shapes::check(&page, &shapes::MESSAGES_SUMMARY);
    assert_eq!(page["messages"][0]["Subject"], "secure");
    let (status, _) = curl(&cert, &[&format!("{base}/api/v1/messages")]);
    assert_eq!(status, 401);
    // The interface's origin is https://…: http://… is another origin.
    let url = format!("{base}/api/v1/messages");
    let plain_origin = format!("Origin: http://{}", api.http);
    let (status, _) = curl(
        &cert,
        &["-u", "u:p", "-X", "DELETE", "-H", &plain_origin, &url],
    );
    assert_eq!(status, 403);
    let own_origin = format!("Origin: {base}");
    let (status, body) = curl(
        &cert,
        &["-u", "u:p", "-X", "DELETE", "-H", &own_origin, &url],
    );
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert!(names(&api.maildir, "new").is_empty());

    // Plain HTTP gets no HTTP answer.
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(api.http).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(b"GET /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic dTpw\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}
