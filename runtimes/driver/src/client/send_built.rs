//! [`send_built_message`]: [`send_message`](super::send_message) for a
//! message made with [`MessageBuilder`]: built for the server that is
//! ready for it, its attachments streamed from their files.

use std::time::SystemTime;

use mailwire_core::client::{MailOptions, Recipient, SendPolicy};
use mailwire_core::message::{
    HeaderCharset, MessageBuilder, MessageDate, PrepareContext, PrepareOptions,
};
use mailwire_core::wire::address::Domain;

use super::built::{BuiltBody, built_size};
use super::failover::{Tried, first_server};
use super::send::{conclude, finish};
use super::{SendError, SendOptions, SendReport, default_client_name};
use crate::Runtime;

/// Builds `message` and sends it to the first of `options.servers` that is
/// ready for it, as [`send_message`](super::send_message) does (the same
/// failover, envelope rules, options and report).
///
/// The message is checked before any connection, then built for the
/// server that is ready ([`Client::build`](super::Client::build)): ASCII
/// unless an address has a non-ASCII local part and the server offers
/// SMTPUTF8. File attachments are read as the message is sent
/// ([`Client::send_built`](super::Client::send_built)).
///
/// # Errors
///
/// As [`send_message`](super::send_message), and [`SendError::Build`]
/// when the message cannot be built: before any connection, or for the
/// server that was ready (a non-ASCII local part and no SMTPUTF8; no other
/// server is tried then).
pub async fn send_built_message<R: Runtime>(
    runtime: R,
    message: &MessageBuilder,
    options: &SendOptions,
) -> Result<SendReport, SendError> {
    if options.servers.is_empty() {
        return Err(SendError::NoServers);
    }
    let settings = &options.settings;
    if let Some(name) = &settings.client_name
        && (name.validate().is_err() || name.is_utf8())
    {
        return Err(SendError::InvalidOption(format!(
            "client name {name}: not an ASCII domain or address literal"
        )));
    }
    let domain = settings
        .client_name
        .clone()
        .or_else(default_client_name)
        .unwrap_or_else(|| Domain::Name("localhost".into()));
    let date = MessageDate::from_system_time(SystemTime::now(), 0)
        .map_err(|e| SendError::InvalidOption(format!("the system clock: {e}")))?;
    let context = PrepareContext::new(date, settings.random.as_ref(), &domain);
    let mut prepare_options = PrepareOptions::default();
    prepare_options.originator = options.originator.clone();
    prepare_options.recipients = options.recipients.clone();
    prepare_options.extra_headers = options.headers.clone();
    // Every problem but a need for SMTPUTF8, before any connection.
    let _checked = message.build(HeaderCharset::Utf8, &prepare_options, &context)?;

    let mail = MailOptions::default()
        .with_policy(if options.at_least_one {
            SendPolicy::AtLeastOne
        } else {
            SendPolicy::AllOrNothing
        })
        .with_requiretls(options.requiretls)
        .with_dsn(options.dsn_ret, options.dsn_envid.clone());

    let (mail, prepare_options, context) = (&mail, &prepare_options, &context);
    let tried = first_server(
        runtime,
        &options.servers,
        settings,
        |mut client, server| async move {
            let built = match client.build(message, prepare_options, context) {
                Ok(built) => built,
                Err(error) => {
                    let _ = client.quit().await;
                    return Tried::Done(Err(SendError::Build(error)));
                }
            };
            let size = built_size(&built).await;
            let mut envelope = built.envelope(size).with_merged_options(mail.clone());
            if let Some(notify) = options.dsn_notify {
                envelope.recipients = envelope
                    .recipients
                    .into_iter()
                    .map(|r: Recipient| r.with_notify(notify))
                    .collect();
            }
            let mut body = BuiltBody::new(&built);
            let result = client.engine.transaction(envelope, &mut body).await;
            let prepared = &built.prepared;
            conclude(
                client,
                server,
                result,
                &prepared.reverse_path,
                &prepared.recipients,
            )
            .await
        },
    )
    .await;
    finish(tried)
}
