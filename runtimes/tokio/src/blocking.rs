//! A blocking API for programs that are not async, with no runtime in the
//! caller (as lettre's `SmtpTransport`): [`send_message`] for one message
//! and [`Client`] for one connection that sends many. Each runs a
//! single-threaded tokio runtime of its own, on the calling thread.
//!
//! ```no_run
//! use mailwire_tokio::blocking;
//! use mailwire_tokio::client::{SendOptions, ServerAddress};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let message = "From: Alice <alice@example.org>\r\n\
//!                    To: Bob <bob@example.org>\r\n\
//!                    Subject: hello\r\n\r\nHi Bob!\r\n";
//!     let options = SendOptions::new([ServerAddress::new("127.0.0.1").with_port(2525)]);
//!     let report = blocking::send_message(message, &options)?;
//!     println!("{}", report.outcome);
//!     Ok(())
//! }
//! ```

use std::io;

use mailwire_driver::client::{
    ClientError, ClientSettings, SendError, SendOptions, SendReport, ServerAddress,
};
use mailwire_driver::core::TlsInfo;
use mailwire_driver::core::client::{CloseReason, Envelope, MailOptions, TransactionOutcome};
use mailwire_driver::core::message::PreparedMessage;
use mailwire_driver::core::wire::ehlo::Capabilities;

use crate::Tokio;

/// A runtime for one blocking call or one blocking client.
fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// [`send_message`](crate::send_message), blocking: prepares `message`,
/// sends it to the first of `options.servers` ready for it, and reports.
///
/// Must not be called from inside an async runtime (it runs one).
///
/// # Errors
///
/// As [`send_message`](crate::send_message); [`SendError::Runtime`] when
/// the runtime cannot start.
pub fn send_message(
    message: impl AsRef<[u8]>,
    options: &SendOptions,
) -> Result<SendReport, SendError> {
    let runtime = runtime().map_err(SendError::Runtime)?;
    runtime.block_on(crate::send_message(Tokio, message, options))
}

/// One SMTP connection, set up and ready for mail, used from synchronous
/// code: [`send`](Self::send) one message after another, then
/// [`quit`](Self::quit) (dropping it quits too).
///
/// ```no_run
/// use mailwire_tokio::blocking::Client;
/// use mailwire_tokio::client::{ClientSettings, ServerAddress};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = ServerAddress::new("127.0.0.1").with_port(2525);
/// let mut client = Client::connect(&server, &ClientSettings::default())?;
/// use mailwire_tokio::core::wire::address::{ForwardPath, ReversePath};
/// let envelope = mailwire_tokio::core::client::Envelope::new(
///     "<alice@example.org>".parse::<ReversePath>()?,
///     ["<bob@example.org>".parse::<ForwardPath>()?],
/// );
/// let outcome = client.send(envelope, &b"Subject: hi\r\n\r\nHello\r\n"[..])?;
/// println!("{}", outcome.outcome);
/// client.quit();
/// # Ok(())
/// # }
/// ```
pub struct Client {
    runtime: tokio::runtime::Runtime,
    client: Option<crate::client::Client<<Tokio as crate::Runtime>::Stream, Tokio>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Client")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `server` and sets the session up (greeting, EHLO,
    /// STARTTLS, AUTH as `settings` say).
    ///
    /// # Errors
    ///
    /// As [`Client::connect`](crate::client::Client::connect);
    /// [`ClientError::Runtime`] when the runtime cannot start.
    pub fn connect(
        server: &ServerAddress,
        settings: &ClientSettings,
    ) -> Result<Client, ClientError> {
        let runtime = runtime().map_err(ClientError::Runtime)?;
        let client = runtime.block_on(crate::client::Client::connect(Tokio, server, settings))?;
        Ok(Client {
            runtime,
            client: Some(client),
        })
    }

    /// Sends one message (`body` as it is to be transmitted) with
    /// `envelope`; returns its outcome.
    ///
    /// # Errors
    ///
    /// As [`Client::send`](crate::client::Client::send).
    pub fn send(
        &mut self,
        envelope: Envelope,
        body: impl Into<bytes::Bytes>,
    ) -> Result<TransactionOutcome, ClientError> {
        let body = body.into();
        let Client { runtime, client } = self;
        let client = client.as_mut().ok_or(ClientError::Usage(
            mailwire_driver::core::UsageError::Closed,
        ))?;
        runtime.block_on(client.send(envelope, body))
    }

    /// Sends a prepared message with its own envelope.
    ///
    /// # Errors
    ///
    /// As [`Client::send_prepared`](crate::client::Client::send_prepared).
    pub fn send_prepared(
        &mut self,
        prepared: &PreparedMessage,
        options: MailOptions,
    ) -> Result<TransactionOutcome, ClientError> {
        let Client { runtime, client } = self;
        let client = client.as_mut().ok_or(ClientError::Usage(
            mailwire_driver::core::UsageError::Closed,
        ))?;
        runtime.block_on(client.send_prepared(prepared, options))
    }

    /// What the server offered in its (last) EHLO reply.
    #[must_use]
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.client.as_ref().map(|c| c.capabilities())
    }

    /// The TLS session, when the connection is encrypted.
    #[must_use]
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.client.as_ref().and_then(|c| c.tls_info())
    }

    /// Whether the connection can take another message.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.client.as_ref().is_some_and(|c| c.is_open())
    }

    /// Sends QUIT and closes; returns how the connection ended.
    pub fn quit(mut self) -> Option<CloseReason> {
        self.finish()
    }

    fn finish(&mut self) -> Option<CloseReason> {
        let client = self.client.take()?;
        self.runtime.block_on(client.quit())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
