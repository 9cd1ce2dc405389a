//! `Client::build` and `Client::send_built` against the real mailwire
//! server over loopback: ASCII headers (encoded words, A-labels) wherever
//! there is an ASCII form, UTF-8 only for an address that needs it and only
//! when the server offers SMTPUTF8, a clear refusal without it, and a file attachment streamed and
//! received byte for byte.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mail_parser::{MessageParser, MimeHeaders};
use mailwire_core::client::{MailOptions, Outcome};
use mailwire_core::message::{
    Attachment, BuildError, HeaderCharset, MessageBuilder, MessageDate, PrepareContext,
    PrepareOptions,
};
use mailwire_core::server::ServerConfig;
use mailwire_core::wire::address::Domain;
use mailwire_driver::client::{Client, ClientSettings, ServerAddress};
use mailwire_test_server::TestServer;
use mailwire_tokio::Tokio;

fn server(smtputf8: bool) -> TestServer {
    TestServer::builder()
        .options(|options| {
            let mut config = ServerConfig::clone(&options.config);
            config.extensions.smtputf8 = smtputf8;
            options.config = Arc::new(config);
        })
        .start()
}

fn builder(attachment: &std::path::Path) -> MessageBuilder {
    MessageBuilder::new()
        .from("José Núñez <jose@bücher.example>".parse().unwrap())
        .to("bob@example.org".parse().unwrap())
        .subject("Grüße")
        .text("text version")
        .html("<p>html version</p>")
        .attach(Attachment::from_file(attachment))
}

async fn send(server: &TestServer, builder: &MessageBuilder) -> Result<HeaderCharset, BuildError> {
    let address = ServerAddress::new("127.0.0.1").with_port(server.port());
    let mut client = Client::connect(Tokio, &address, &ClientSettings::default())
        .await
        .unwrap();
    let domain: Domain = "client.example".parse().unwrap();
    let settings = ClientSettings::default();
    let date = MessageDate::from_system_time(SystemTime::now(), 0).unwrap();
    let context = PrepareContext::new(date, settings.random.as_ref(), &domain);
    let charset = client.header_charset();
    let built = client.build(builder, &PrepareOptions::default(), &context)?;
    let outcome = client
        .send_built(&built, MailOptions::default())
        .await
        .unwrap();
    assert!(
        matches!(outcome.outcome, Outcome::Sent { .. }),
        "{outcome:?}"
    );
    let _ = client.quit().await;
    Ok(charset)
}

#[test]
fn built_messages_follow_what_the_server_offers() {
    let dir = std::env::temp_dir().join(format!("mailwire-client-built-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.pdf");
    let data: Vec<u8> = (0u32..300_000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(&path, &data).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    for smtputf8 in [false, true] {
        let server = server(smtputf8);
        let charset = runtime.block_on(send(&server, &builder(&path))).unwrap();
        assert_eq!(charset, HeaderCharset::for_server(smtputf8));
        let caught = server
            .wait_for(1, Duration::from_secs(10))
            .unwrap()
            .remove(0);
        let head = String::from_utf8_lossy(&caught.data)
            .split("\r\n\r\n")
            .next()
            .unwrap()
            .to_owned();
        // Everything here has an ASCII form: written so, with or without
        // SMTPUTF8 on offer, and sent without SMTPUTF8.
        assert!(caught.data.is_ascii(), "{head}");
        assert!(head.contains("jose@xn--bcher-kva.example"), "{head}");
        assert!(!caught.envelope.params.smtputf8);
        assert_eq!(caught.from, "jose@xn--bcher-kva.example");
        let parsed = MessageParser::default().parse(&caught.data[..]).unwrap();
        assert_eq!(parsed.subject(), Some("Grüße"));
        assert_eq!(
            parsed.from().and_then(|a| a.first()).and_then(|a| a.name()),
            Some("José Núñez")
        );
        assert_eq!(parsed.body_text(0).as_deref(), Some("text version"));
        assert_eq!(parsed.body_html(0).as_deref(), Some("<p>html version</p>"));
        let attachment = parsed.attachment(0).unwrap();
        assert_eq!(attachment.attachment_name(), Some("report.pdf"));
        assert!(
            attachment.contents() == &data[..],
            "the attachment's bytes differ"
        );
        server.stop();
    }

    // A non-ASCII local part: refused before MAIL by a server without
    // SMTPUTF8, sent to one with it.
    let utf8_local = builder(&path).to("zoë@example.org".parse().unwrap());
    let plain = server(false);
    let error = runtime.block_on(send(&plain, &utf8_local)).unwrap_err();
    assert!(matches!(error, BuildError::Utf8LocalPart { .. }));
    assert!(
        error
            .to_string()
            .contains("zoë@example.org has a non-ASCII local part")
    );
    plain.stop();
    let full = server(true);
    runtime.block_on(send(&full, &utf8_local)).unwrap();
    let caught = full.wait_for(1, Duration::from_secs(10)).unwrap();
    assert!(caught[0].to.contains(&"zoë@example.org".to_owned()));
    assert!(caught[0].envelope.params.smtputf8);
    assert!(
        caught[0]
            .text()
            .contains("To: bob@example.org, zoë@example.org\r\n")
    );
    full.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn send_built_message_fails_over_and_reports() {
    let server = server(false);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let options = mailwire_driver::client::SendOptions::new([
        ServerAddress::new("127.0.0.1").with_port(closed),
        ServerAddress::new("127.0.0.1").with_port(server.port()),
    ]);
    let message = MessageBuilder::new()
        .from("José Núñez <jose@example.org>".parse().unwrap())
        .to("bob@example.org".parse().unwrap())
        .bcc("carol@example.org".parse().unwrap())
        .subject("Grüße")
        .text("hello");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime
        .block_on(mailwire_driver::send_built_message(
            Tokio, &message, &options,
        ))
        .unwrap();
    assert!(report.is_sent());
    assert_eq!(report.failed_servers.len(), 1);
    assert_eq!(report.recipients.len(), 2);
    let caught = server.wait_for(1, Duration::from_secs(10)).unwrap();
    assert_eq!(caught[0].to, ["bob@example.org", "carol@example.org"]);
    assert!(!caught[0].text().contains("carol"));
    assert!(caught[0].data.is_ascii());
    assert_eq!(caught[0].subject().as_deref(), Some("Grüße"));

    // Nothing to send to: refused before any connection, in a sentence.
    let error = runtime
        .block_on(mailwire_driver::send_built_message(
            Tokio,
            &MessageBuilder::new().from("a@example.org".parse().unwrap()),
            &options,
        ))
        .unwrap_err();
    assert!(
        matches!(error, mailwire_driver::SendError::Build(_)),
        "{error:?}"
    );
    // A non-ASCII local part for a server without SMTPUTF8.
    let error = runtime
        .block_on(mailwire_driver::send_built_message(
            Tokio,
            &message.clone().to("zoë@example.org".parse().unwrap()),
            &options,
        ))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("zoë@example.org has a non-ASCII local part"),
        "{error}"
    );
    server.stop();
}
