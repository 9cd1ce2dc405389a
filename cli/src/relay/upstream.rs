//! The relay's side towards the smarthost: one connection per client
//! session (opened at the first MAIL with the first smarthost that
//! answers), the checks of what the client asks for against what the
//! smarthost offers, and the smarthost's replies turned into ours.

use mailwire_core::client::{MailOptions, Recipient};
use mailwire_core::wire::address::ReversePath;
use mailwire_core::wire::ehlo::Capabilities;
use mailwire_core::wire::params::{BodyType, MailParameters};
use mailwire_core::wire::reply::Reply;
use mailwire_driver::client::{Client, ClientError, ClientSettings, ServerAddress, connect_first};
use mailwire_driver::server::HookError;
use mailwire_tokio::Tokio;

use crate::common::text::escape_control;

/// A client connection to a smarthost.
pub type SmarthostClient = Client<<Tokio as mailwire_driver::Runtime>::Stream, Tokio>;

/// The connection to the smarthost of one client session.
pub struct Upstream {
    pub client: SmarthostClient,
    /// What the smarthost offered.
    pub caps: Capabilities,
}

impl Upstream {
    /// Connects to the first smarthost that answers; an outage is `451
    /// 4.4.1` (the sender keeps the message and tries again).
    pub async fn connect(
        smarthosts: &[ServerAddress],
        settings: &ClientSettings,
    ) -> Result<Upstream, HookError> {
        match connect_first(Tokio, smarthosts, settings).await {
            Ok((client, _)) => Ok(Upstream {
                caps: client.capabilities().clone(),
                client,
            }),
            Err(failures) => {
                for f in &failures {
                    let line = format!("smarthost {}:{}: {}", f.host, f.port, f.error);
                    eprintln!("mailwire relay: {}", escape_control(&line));
                }
                // Application policy: the CLI's own reply, not one the protocol implies.
                Err(HookError::refuse(
                    451,
                    "4.4.1",
                    "No smarthost is reachable now; try again later",
                ))
            }
        }
    }

    /// The options for MAIL towards the smarthost, or the refusal when the
    /// client asks for something the smarthost does not offer (never
    /// downgraded in silence).
    pub fn mail_options(&self, params: &MailParameters) -> Result<MailOptions, HookError> {
        let caps = &self.caps;
        let mut options = MailOptions::default();
        if let (Some(size), Some(limit)) = (params.size, caps.size)
            && limit > 0
            && size > limit
        {
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                552,
                "5.3.4",
                &format!("Message size exceeds the smarthost's limit of {limit} octets"),
            ));
        }
        options.size = params.size;
        options.body = match params.body {
            Some(BodyType::BinaryMime) if caps.chunking && caps.binary_mime => BodyType::BinaryMime,
            Some(BodyType::BinaryMime) => {
                return Err(conversion("BINARYMIME"));
            }
            Some(BodyType::EightBitMime) if caps.eight_bit_mime => BodyType::EightBitMime,
            Some(BodyType::EightBitMime) => return Err(conversion("8BITMIME")),
            // Undeclared: 8BITMIME when the smarthost takes it (7-bit data
            // is 8BITMIME data too), so 8-bit octets a client sends without
            // saying so still pass; otherwise any is refused at the end.
            _ if caps.eight_bit_mime => BodyType::EightBitMime,
            _ => BodyType::SevenBit,
        };
        if params.smtputf8 && !caps.smtputf8 {
            // Application policy: the CLI's own reply, not one the protocol implies.
            return Err(HookError::refuse(
                553,
                "5.6.7",
                "The smarthost does not take SMTPUTF8 mail",
            ));
        }
        options.smtputf8 = params.smtputf8;
        if (params.ret.is_some() || params.envid.is_some()) && !caps.dsn {
            return Err(no_dsn());
        }
        options.ret = params.ret;
        options.envid.clone_from(&params.envid);
        if params.requiretls {
            let verified = self.client.tls_info().is_some_and(|t| t.peer_verified);
            if !(caps.requiretls && verified) {
                // Application policy: the CLI's own reply, not one the protocol implies.
                return Err(HookError::refuse(
                    550,
                    "5.7.30",
                    "REQUIRETLS support required: the smarthost cannot guarantee it",
                ));
            }
            options.requiretls = true;
        }
        Ok(options)
    }

    /// A recipient with its DSN parameters, or the refusal when the
    /// smarthost has no DSN to carry them.
    pub fn recipient(
        &self,
        to: &mailwire_core::wire::address::ForwardPath,
        params: &mailwire_core::wire::params::RcptParameters,
    ) -> Result<Recipient, HookError> {
        if (params.notify.is_some() || params.orcpt.is_some()) && !self.caps.dsn {
            return Err(no_dsn());
        }
        let mut rcpt = Recipient::new(to.clone());
        rcpt.notify = params.notify;
        rcpt.orcpt.clone_from(&params.orcpt);
        Ok(rcpt)
    }

    /// Sends MAIL; the smarthost's reply as ours.
    pub async fn mail(
        &mut self,
        from: &ReversePath,
        options: MailOptions,
    ) -> Result<(), HookError> {
        let reply = self
            .client
            .open_mail(from.clone(), options)
            .await
            .map_err(|e| lost(&e))?;
        accepted(&reply)
    }
}

/// The smarthost's reply as this hook's answer: positive is `Ok`, a
/// refusal is passed on (same code and enhanced code, its text).
pub fn accepted(reply: &Reply) -> Result<(), HookError> {
    if reply.code().is_positive() {
        Ok(())
    } else {
        Err(pass_on(reply))
    }
}

/// A refusal for something the smarthost cannot carry.
fn conversion(what: &str) -> HookError {
    // Application policy: the CLI's own reply, not one the protocol implies.
    HookError::refuse(
        550,
        "5.6.3",
        &format!("The smarthost does not take {what}: conversion required but not supported"),
    )
}

fn no_dsn() -> HookError {
    // Application policy: the CLI's own reply, not one the protocol implies.
    HookError::refuse(
        555,
        "5.5.4",
        "The smarthost does not take DSN parameters (RET, ENVID, NOTIFY, ORCPT)",
    )
}

/// The connection to the smarthost broke: a temporary failure.
pub fn lost(error: &ClientError) -> HookError {
    let line = format!("smarthost connection lost: {error}");
    eprintln!("mailwire relay: {}", escape_control(&line));
    // Application policy: the CLI's own reply, not one the protocol implies.
    HookError::refuse(
        451,
        "4.4.2",
        "Connection to the smarthost lost; try again later",
    )
}

/// A smarthost refusal as our reply: same class and code, its enhanced
/// code (or `X.0.0`), its text. A positive or unusable reply becomes a
/// transient failure.
pub fn pass_on(reply: &Reply) -> HookError {
    let code = reply.code();
    if !(code.is_transient() || code.is_permanent()) {
        return outage();
    }
    let number = code.as_u16();
    let enhanced = reply
        .enhanced()
        .map_or_else(|| format!("{}.0.0", number / 100), |e| e.to_string());
    let text: String = reply
        .lines()
        .join(" / ")
        .chars()
        .filter(|c| !c.is_control())
        .take(400)
        .collect();
    let text = if text.is_empty() {
        "Refused by the smarthost".to_owned()
    } else {
        text
    };
    match HookError::refuse(number, &enhanced, &text) {
        refusal @ HookError::Reply(_) => refusal,
        _ => outage(),
    }
}

/// The smarthost cannot be used now.
pub fn outage() -> HookError {
    // Application policy: the CLI's own reply, not one the protocol implies.
    HookError::refuse(451, "4.4.2", "Smarthost unavailable; try again later")
}
