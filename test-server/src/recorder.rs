//! The test server's sessions: accept (or check credentials), and record
//! every message into the [`Inbox`].

use std::sync::Arc;

use mailwire_driver::core::sasl::{Mechanism, StoredSecret};
use mailwire_driver::core::server::{AuthCheck, replies};
use mailwire_driver::core::wire::address::{ForwardPath, ReversePath};
use mailwire_driver::server::{Context, HookError, HookResult, Mail, Session, SessionFactory};

use crate::inbox::{Caught, Inbox};

/// Who may log in.
#[derive(Debug, Clone, Default)]
pub(crate) enum Logins {
    /// No AUTH offered.
    #[default]
    None,
    /// Any user name with any password (PLAIN, LOGIN, CRAM-MD5).
    Any,
    /// These users with these passwords (every mechanism).
    Users(Vec<(String, String)>),
}

impl Logins {
    fn check(&self, check: &AuthCheck) -> HookResult<Option<StoredSecret>> {
        let refused = || HookError::Reply(replies::auth_failed());
        match (self, check) {
            (Logins::Any, AuthCheck::NeedSecret { .. }) => Ok(Some(StoredSecret::AnyProof)),
            (Logins::Any, _) => Ok(None),
            (
                Logins::Users(users),
                AuthCheck::VerifyPassword {
                    username, password, ..
                },
            ) => {
                let known = users
                    .iter()
                    .any(|(u, p)| u == username && password.constant_time_eq(p));
                if known { Ok(None) } else { Err(refused()) }
            }
            (Logins::Users(users), AuthCheck::NeedSecret { username, .. }) => Ok(users
                .iter()
                .find(|(u, _)| u == username)
                .map(|(_, p)| StoredSecret::password(p))),
            (
                Logins::Users(_),
                AuthCheck::Authorize {
                    authzid, username, ..
                },
            ) => {
                if authzid == username {
                    Ok(None)
                } else {
                    Err(refused())
                }
            }
            _ => Err(refused()),
        }
    }
}

/// Makes one [`Recording`] session per connection.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) inbox: Arc<Inbox>,
    pub(crate) logins: Arc<Logins>,
}

/// One session of the test server.
#[derive(Debug)]
pub(crate) struct Recording {
    inbox: Arc<Inbox>,
    logins: Arc<Logins>,
}

impl SessionFactory for Recorder {
    type Session = Recording;

    async fn new_session(&self, _ctx: &Context) -> HookResult<Recording> {
        Ok(Recording {
            inbox: self.inbox.clone(),
            logins: self.logins.clone(),
        })
    }
}

fn bare_reverse(path: &ReversePath) -> String {
    path.mailbox().map(ToString::to_string).unwrap_or_default()
}

fn bare_forward(path: &ForwardPath) -> String {
    path.mailbox()
        .map_or_else(|| "Postmaster".to_owned(), ToString::to_string)
}

impl Session for Recording {
    type Message = Mail;

    async fn auth(
        &mut self,
        _ctx: &Context,
        _mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<StoredSecret>> {
        self.logins.check(check)
    }

    async fn deliver(&mut self, ctx: &Context, mail: Mail) -> HookResult {
        let envelope = mail.envelope;
        // The trace header (present only with `trace_headers`) is stored
        // in front of the message, as a mail store keeps it.
        let data = if mail.trace.is_empty() {
            mail.data
        } else {
            [mail.trace, mail.data].concat()
        };
        self.inbox.push(Caught {
            from: bare_reverse(&envelope.from),
            to: envelope
                .recipients
                .iter()
                .map(|r| bare_forward(&r.to))
                .collect(),
            envelope,
            data,
            helo: ctx.helo.as_ref().map(ToString::to_string),
            tls: ctx.tls.is_some(),
            user: ctx.user().map(str::to_owned),
            peer: ctx.peer,
        });
        Ok(())
    }
}
