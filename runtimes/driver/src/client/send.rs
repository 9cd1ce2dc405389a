//! [`send_message`]: one call that prepares a message, finds a server that
//! takes it, sends it and reports (tcllib's `smtp::sendmessage`).

use std::time::SystemTime;

use bytes::Bytes;
use mailwire_core::client::{Envelope, MailOptions, Recipient, SendPolicy};
use mailwire_core::message::{MessageDate, PrepareContext, PrepareOptions, prepare};
use mailwire_core::wire::address::Domain;

use mailwire_core::client::TransactionOutcome;
use mailwire_core::wire::address::{ForwardPath, ReversePath};

use super::failover::{Tried, first_server};
use super::{
    Client, ClientError, SendError, SendOptions, SendReport, ServerAddress, ServerFailure,
    default_client_name,
};
use crate::Runtime;

/// Sends `message` to the first of `options.servers` that is ready for
/// it, and reports what happened.
///
/// 1. **Before any connection** the message is prepared
///    ([`prepare`](mailwire_core::message::prepare)): the envelope is
///    explicit ([`SendOptions::originator`], [`SendOptions::recipients`])
///    or comes from `From`/`Sender` and `To`/`Cc`/`Bcc`/`Dcc` (or the
///    newest `Resent-*` block); `Date`, `Message-ID` and `From` are added
///    when missing, the extra headers are added, `Bcc` and `Dcc` are
///    removed (their recipients receive these same bytes, also when the
///    other recipients are explicit). An unusable address, a header
///    injection or no recipient is a [`SendError::Message`] naming the
///    header.
/// 2. **Failover**: each server in turn; the next is tried when the
///    connection fails or times out, the greeting is not 220, EHLO/HELO is
///    refused, TLS is refused by the policy (or its hook) or fails, or
///    AUTH fails — that is, whenever the session ends before it is ready
///    for mail. Once MAIL is written, no other server is tried.
/// 3. **The report**: the server used, the TLS facts, the outcome
///    ([`Outcome::Sent`](mailwire_core::client::Outcome::Sent) only when
///    the server accepted the message; `Unknown` when the connection broke
///    after the end of the data), the final reply and each recipient's
///    reply. A message that was refused is a report, not an error.
///
/// The EHLO name defaults to `localhost` for a local server and to the
/// host's fully qualified name otherwise; the connection uses QUIT after
/// the message.
///
/// # Errors
///
/// [`SendError::Message`] and [`SendError::NoServers`] before any
/// connection; [`SendError::AllServersFailed`] with each server's reason;
/// [`SendError::Refused`] when the server that was ready cannot take this
/// message (an extension it needs is missing, an invalid DSN `ENVID`).
pub async fn send_message<R: Runtime>(
    runtime: R,
    message: impl AsRef<[u8]>,
    options: &SendOptions,
) -> Result<SendReport, SendError> {
    let setup = SendSetup::new(options)?;
    let context = setup.context(options);
    let prepared = prepare(message.as_ref(), &setup.prepare, &context)?;
    let envelope = setup.envelope(prepared.envelope(), options);
    let body = Bytes::from(prepared.bytes);
    let (envelope, body) = (&envelope, &body);
    let (reverse_path, recipients) = (&prepared.reverse_path, &prepared.recipients);
    let tried = first_server(
        runtime,
        &options.servers,
        &options.settings,
        |mut client, server| async move {
            let result = client.send(envelope.clone(), body.clone()).await;
            conclude(client, server, result, reverse_path, recipients).await
        },
    )
    .await;
    finish(tried)
}

/// What [`send_message`] and
/// [`send_built_message`](super::send_built_message) work out from the
/// options before any connection: the EHLO name (also the right-hand side
/// of an added `Message-ID`), the date, how the message is prepared, and
/// the mail options.
pub(super) struct SendSetup {
    domain: Domain,
    date: MessageDate,
    /// How the message is prepared.
    pub(super) prepare: PrepareOptions,
    /// The mail options the options ask for (the message's needs are
    /// merged in by [`envelope`](Self::envelope)).
    pub(super) mail: MailOptions,
}

impl SendSetup {
    /// Checks the options (at least one server, a usable client name) and
    /// reads the clock.
    pub(super) fn new(options: &SendOptions) -> Result<SendSetup, SendError> {
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
        let mut prepare = PrepareOptions::default();
        prepare.originator = options.originator.clone();
        prepare.recipients = options.recipients.clone();
        prepare.extra_headers = options.headers.clone();
        let mail = MailOptions::default()
            .with_policy(if options.at_least_one {
                SendPolicy::AtLeastOne
            } else {
                SendPolicy::AllOrNothing
            })
            .with_requiretls(options.requiretls)
            .with_dsn(options.dsn_ret, options.dsn_envid.clone());
        Ok(SendSetup {
            domain,
            date,
            prepare,
            mail,
        })
    }

    /// The context the message is prepared (or built) in.
    pub(super) fn context<'a>(&'a self, options: &'a SendOptions) -> PrepareContext<'a> {
        PrepareContext::new(self.date, options.settings.random.as_ref(), &self.domain)
    }

    /// The prepared message's envelope with the mail options merged in and
    /// the DSN `NOTIFY` of the options on every recipient.
    pub(super) fn envelope(&self, envelope: Envelope, options: &SendOptions) -> Envelope {
        let mut envelope = envelope.with_merged_options(self.mail.clone());
        if let Some(notify) = options.dsn_notify {
            envelope.recipients = envelope
                .recipients
                .into_iter()
                .map(|r: Recipient| r.with_notify(notify))
                .collect();
        }
        envelope
    }
}

/// What [`first_server`] returns for a send.
pub(super) type Sent =
    Result<(Result<SendReport, SendError>, Vec<ServerFailure>), Vec<ServerFailure>>;

/// The answer of a send that tried servers in turn: the report (with the
/// servers given up before it), the refusal of a message the chosen server
/// cannot take, or every server's failure.
pub(super) fn finish(tried: Sent) -> Result<SendReport, SendError> {
    match tried {
        Ok((Ok(mut report), failures)) => {
            report.failed_servers = failures;
            Ok(report)
        }
        Ok((Err(error), _)) => Err(error),
        Err(mut failures) => match failures.pop() {
            // A refused call ends the failover: the chosen server cannot
            // take this message.
            Some(ServerFailure {
                host,
                port,
                error: ClientError::Usage(error),
            }) => Err(SendError::Refused { host, port, error }),
            Some(last) => {
                failures.push(last);
                Err(SendError::AllServersFailed(failures))
            }
            None => Err(SendError::AllServersFailed(failures)),
        },
    }
}

/// What one server's transaction means for a send that tries servers in
/// turn: the report when the transaction ran, [`Tried::NotStarted`] when
/// the session ended (or the call was refused) before it started. The
/// connection is ended either way.
pub(super) async fn conclude<R: Runtime>(
    client: Client<R::Stream, R>,
    server: &ServerAddress,
    result: Result<TransactionOutcome, ClientError>,
    reverse_path: &ReversePath,
    recipients: &[ForwardPath],
) -> Tried<Result<SendReport, SendError>> {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            // Closed while idle, before MAIL was written, or a call the
            // core refused (then the session is still open).
            if client.is_open() {
                let _ = client.quit().await;
            }
            return Tried::NotStarted(error);
        }
    };
    let addr = client.peer_addr();
    let authenticated = client.authenticated();
    let close = if client.is_open() {
        client.quit().await
    } else {
        client.close_reason().cloned()
    };
    Tried::Done(Ok(SendReport {
        host: server.host.clone(),
        port: server.port,
        addr,
        failed_servers: Vec::new(),
        tls: outcome.tls.clone(),
        authenticated,
        reverse_path: reverse_path.clone(),
        recipients: SendReport::recipients_from(recipients, &outcome),
        outcome: outcome.outcome,
        close,
    }))
}
