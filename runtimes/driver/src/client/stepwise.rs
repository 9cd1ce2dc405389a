//! [`Client`]'s step-by-step transaction, for proxies: MAIL, then one
//! recipient at a time, each answered before the next, then the body —
//! so a relay gives its own client the server's verdict per command.

use futures_io::{AsyncRead, AsyncWrite};
use mailwire_core::client::{ClientEvent, MailOptions, Recipient, TransactionOutcome};
use mailwire_core::wire::address::ReversePath;
use mailwire_core::wire::reply::Reply;

use super::ClientError;
use super::body::{MemoryBody, ReaderBody};
use super::connection::Client;
use crate::Runtime;

impl<S, R> Client<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    /// Starts a message whose recipients come one at a time: sends MAIL
    /// and returns the server's reply. After a positive reply, add
    /// recipients with [`add_recipient`](Self::add_recipient) and end with
    /// [`finish_mail`](Self::finish_mail) or
    /// [`cancel_mail`](Self::cancel_mail); after a refusal the transaction
    /// is over (the connection takes the next message).
    ///
    /// The message goes to the recipients the server accepted, whatever it
    /// answered the others (the caller passes each answer on). Set
    /// `options.smtputf8` when a recipient may need it.
    ///
    /// ```
    /// # async fn demo<R: mailwire_driver::Runtime>(mut client: mailwire_driver::Client<R::Stream, R>) -> Result<(), mailwire_driver::ClientError> {
    /// use mailwire_driver::core::client::{MailOptions, Recipient};
    ///
    /// let mail = client.open_mail("<a@example.org>".parse().unwrap(), MailOptions::default()).await?;
    /// if mail.code().is_positive() {
    ///     for to in ["<b@example.net>", "<c@example.net>"] {
    ///         let reply = client.add_recipient(Recipient::from(to.parse::<mailwire_driver::core::wire::address::ForwardPath>().unwrap())).await?;
    ///         println!("{to}: {reply}");
    ///     }
    ///     let outcome = client.finish_mail(&b"Subject: hi\r\n\r\nHello\r\n"[..]).await?;
    ///     println!("sent: {}", outcome.outcome.is_sent());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Usage`] when MAIL cannot be written (the server
    /// lacks an extension the options need; nothing is written);
    /// [`ClientError::Closed`] when the connection ends first.
    pub async fn open_mail(
        &mut self,
        from: ReversePath,
        options: MailOptions,
    ) -> Result<Reply, ClientError> {
        let engine = &mut self.engine;
        if let Some(reason) = &engine.closed {
            return Err(ClientError::Closed(reason.clone()));
        }
        let now = engine.io.runtime.now();
        let id = engine.conn.open_mail(now, from, options)?;
        let reply = engine
            .until_event(|e| match e {
                ClientEvent::MailResult { transaction, reply } if *transaction == id => {
                    Some(reply.clone())
                }
                _ => None,
            })
            .await?;
        if !reply.code().is_positive() {
            // The transaction completes (RSET) before the next one.
            engine
                .outcome(id, &mut MemoryBody::new(Default::default()))
                .await?;
        }
        Ok(reply)
    }

    /// Sends one more RCPT of the envelope [`open_mail`](Self::open_mail)
    /// started, and returns the server's reply (a `452` is passed on as it
    /// is, not retried).
    ///
    /// # Errors
    ///
    /// [`ClientError::Usage`] when no envelope is open or the recipient
    /// cannot be written (DSN or SMTPUTF8 missing); nothing is written
    /// then. [`ClientError::Closed`] when the connection ends first.
    pub async fn add_recipient(&mut self, recipient: Recipient) -> Result<Reply, ClientError> {
        let engine = &mut self.engine;
        let now = engine.io.runtime.now();
        let index = engine.conn.add_recipient(now, recipient)?;
        engine
            .until_event(|e| match e {
                ClientEvent::RecipientResult {
                    recipient, reply, ..
                } if *recipient == index => Some(reply.clone()),
                _ => None,
            })
            .await
    }

    /// Ends the envelope and sends the body read from `reader` (streamed,
    /// bounded memory) to the recipients the server accepted; returns the
    /// outcome (with no accepted recipient: not sent, nothing read).
    ///
    /// # Errors
    ///
    /// [`ClientError::Usage`] when no envelope is open, or the body breaks
    /// the declared body type (an 8-bit octet in 7bit, a NUL outside
    /// BINARYMIME): the connection is then ended and nothing is reported
    /// sent. [`ClientError::Body`] when reading fails,
    /// [`ClientError::Closed`] when the connection ends first.
    pub async fn finish_mail<Rd>(
        &mut self,
        mut reader: Rd,
    ) -> Result<TransactionOutcome, ClientError>
    where
        Rd: AsyncRead + Unpin + Send,
    {
        let engine = &mut self.engine;
        let now = engine.io.runtime.now();
        let id = open_transaction(engine.conn.close_envelope(now), engine)?;
        let mut body = ReaderBody::new(&mut reader);
        engine.outcome(id, &mut body).await
    }

    /// Abandons the envelope [`open_mail`](Self::open_mail) started (RSET);
    /// the connection takes the next message.
    ///
    /// # Errors
    ///
    /// [`ClientError::Usage`] when no envelope is open;
    /// [`ClientError::Closed`] when the connection ends first.
    pub async fn cancel_mail(&mut self) -> Result<TransactionOutcome, ClientError> {
        let engine = &mut self.engine;
        let now = engine.io.runtime.now();
        let id = open_transaction(engine.conn.cancel_mail(now), engine)?;
        engine
            .outcome(id, &mut MemoryBody::new(Default::default()))
            .await
    }
}

/// The id of the transaction in progress, once `step` succeeded.
fn open_transaction<S, R>(
    step: Result<(), mailwire_core::UsageError>,
    engine: &super::engine::Engine<S, R>,
) -> Result<mailwire_core::client::TransactionId, ClientError> {
    step?;
    engine
        .conn
        .transaction_id()
        .ok_or(ClientError::Usage(mailwire_core::UsageError::InvalidState(
            "no envelope is open",
        )))
}
