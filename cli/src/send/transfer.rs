//! Connecting with failover and sending: the same steps as the driver's
//! `send_message`, kept here so one prepared message can be reported in
//! full (and bulk mode can reuse a connection for many messages).

use mailwire_core::TlsInfo;
use mailwire_core::client::{CloseReason, Envelope, MailOptions, TransactionOutcome};
use mailwire_core::wire::address::{Domain, ForwardPath};
use mailwire_driver::client::{
    ClientError, ServerAddress, ServerFailure, Tried, default_client_name, first_server,
};
use mailwire_tokio::Tokio;

use super::compose::Draft;
use super::settings::{Plan, TokioClient};
use crate::common::text::label;

/// The name on the right-hand side of added Message-IDs.
#[must_use]
pub fn message_id_domain(plan: &Plan) -> Domain {
    plan.settings
        .client_name
        .clone()
        .or_else(default_client_name)
        .unwrap_or_else(|| Domain::Name("localhost".into()))
}

/// Connects to the first server of `plan` that is ready for mail; each
/// server given up is added to `failures`.
pub async fn connect_any(
    plan: &Plan,
    failures: &mut Vec<Failure>,
) -> Option<(TokioClient, ServerAddress)> {
    let found = first_server(
        Tokio,
        &plan.servers,
        &plan.settings,
        |client, server| async move { Tried::Done((client, server.clone())) },
    )
    .await;
    let (found, given_up) = match found {
        Ok((found, given_up)) => (Some(found), given_up),
        Err(given_up) => (None, given_up),
    };
    failures.extend(given_up.into_iter().map(Failure::from));
    found
}

/// One server given up before it was ready for mail.
#[derive(Debug)]
pub struct Failure {
    /// `host:port`.
    pub server: String,
    /// Why.
    pub error: ClientError,
}

/// What one message did on a server that was ready for it.
#[derive(Debug)]
pub struct Delivery {
    /// `host:port` of the server.
    pub server: String,
    /// The TLS session (`None`: plaintext).
    pub tls: Option<TlsInfo>,
    /// The envelope recipients, in order.
    pub recipients: Vec<ForwardPath>,
    /// The transaction's outcome, or why the message could not go on this
    /// connection at all (refused before MAIL).
    pub outcome: Result<TransactionOutcome, String>,
    /// Why the connection ended when it ended with the message (not by our
    /// QUIT): says what made an unknown outcome unknown.
    pub close: Option<CloseReason>,
}

/// The result of [`send_once`].
#[derive(Debug)]
pub enum SendResult {
    /// Refused before any connection (the message or an option).
    Usage(String),
    /// Every server failed before it was ready for mail.
    AllFailed {
        /// Each server's reason, in order.
        failures: Vec<Failure>,
        /// The envelope recipients.
        recipients: Vec<ForwardPath>,
    },
    /// A server was ready: what it did.
    Delivered {
        /// The servers given up before it.
        failures: Vec<Failure>,
        /// What happened.
        delivery: Box<Delivery>,
    },
}

/// Prepares the message and sends it to the first server that takes the
/// transaction (tcllib's `smtp::sendmessage` order: once MAIL is written,
/// no other server is tried).
pub async fn send_once(plan: &Plan, draft: &Draft) -> SendResult {
    let domain = message_id_domain(plan);
    let prepared = match draft.prepare(plan.settings.random.as_ref(), &domain) {
        Ok(prepared) => prepared,
        Err(problem) => return SendResult::Usage(problem),
    };
    let mut envelope = draft.envelope(&prepared);
    envelope.options = envelope.options.with_policy(plan.policy());
    let body = bytes::Bytes::from(prepared.bytes.clone());
    let (envelope, body, domain, recipients) = (&envelope, &body, &domain, &prepared.recipients);
    let found = first_server(Tokio, &plan.servers, &plan.settings, |client, server| {
        deliver(
            plan, draft, client, server, envelope, body, domain, recipients,
        )
    })
    .await;
    match found {
        Ok((delivery, given_up)) => SendResult::Delivered {
            failures: given_up.into_iter().map(Failure::from).collect(),
            delivery: Box::new(delivery),
        },
        Err(given_up) => SendResult::AllFailed {
            failures: given_up.into_iter().map(Failure::from).collect(),
            recipients: prepared.recipients,
        },
    }
}

/// Sends the message on `client`, ready for mail: [`Tried::NotStarted`]
/// when the session ended before MAIL (the next server may try).
#[allow(clippy::too_many_arguments)]
async fn deliver(
    plan: &Plan,
    draft: &Draft,
    mut client: TokioClient,
    server: &ServerAddress,
    envelope: &Envelope,
    body: &bytes::Bytes,
    domain: &Domain,
    recipients: &[ForwardPath],
) -> Tried<Delivery> {
    let tls = client.tls_info().cloned();
    let sent = if draft.compose.is_some() {
        // Built for this server: ASCII unless an address needs UTF-8
        // and the server offers SMTPUTF8.
        match draft.build(
            client.header_charset(),
            plan.settings.random.as_ref(),
            domain,
        ) {
            Ok(built) => {
                let options = MailOptions::default().with_policy(plan.policy());
                client.send_built(&built, options).await
            }
            Err(problem) => {
                let close = client.close_reason().cloned();
                if client.is_open() {
                    let _ = client.quit().await;
                }
                return Tried::Done(Delivery {
                    server: label(&server.host, server.port),
                    tls,
                    recipients: recipients.to_vec(),
                    outcome: Err(problem),
                    close,
                });
            }
        }
    } else {
        draft
            .transmit(&mut client, envelope.clone(), body.clone())
            .await
    };
    let outcome = match sent {
        Ok(outcome) => Ok(outcome),
        Err(ClientError::Usage(error)) => Err(error.to_string()),
        // Closed while idle, before MAIL: the next server may try.
        Err(error) => return Tried::NotStarted(error),
    };
    let close = client.close_reason().cloned();
    if client.is_open() {
        let _ = client.quit().await;
    }
    let tls = match &outcome {
        Ok(outcome) => outcome.tls.clone().or(tls),
        Err(_) => tls,
    };
    Tried::Done(Delivery {
        server: label(&server.host, server.port),
        tls,
        recipients: recipients.to_vec(),
        outcome,
        close,
    })
}

impl From<ServerFailure> for Failure {
    fn from(given_up: ServerFailure) -> Failure {
        Failure {
            server: label(&given_up.host, given_up.port),
            error: given_up.error,
        }
    }
}
