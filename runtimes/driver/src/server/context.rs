//! [`Context`]: what every hook of a session sees — the connection's
//! facts and the mail transaction so far.

use std::net::SocketAddr;

use mailwire_core::TlsInfo;
use mailwire_core::server::{Authentication, MailTransaction, ServerConnection};
use mailwire_core::wire::address::Domain;

/// The facts of a session as a hook sees them: addresses, TLS, the
/// client's greeting, its authenticated identity, and the mail transaction
/// so far (the accepted sender and the recipients accepted before this
/// hook).
///
/// Hooks get a fresh view each time: in
/// [`rcpt`](super::Session::rcpt) the transaction holds the sender and
/// every recipient accepted so far; in [`deliver`](super::Session::deliver)
/// all of them; in [`reset`](super::Session::reset) the transaction that
/// just ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context {
    /// The server's address of the connection, when known.
    pub local: Option<SocketAddr>,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// The TLS facts, once TLS is on (STARTTLS or implicit).
    pub tls: Option<TlsInfo>,
    /// The HELO/EHLO name the client gave, once accepted.
    pub helo: Option<Domain>,
    /// Whether that greeting was EHLO.
    pub extended: bool,
    /// The authenticated identity, once AUTH succeeded.
    pub authenticated: Option<Authentication>,
    /// The open mail transaction: after an accepted MAIL, until it ends.
    pub transaction: Option<MailTransaction>,
}

impl Context {
    /// The context of a session about to start.
    pub(crate) fn new(local: Option<SocketAddr>, peer: Option<SocketAddr>) -> Context {
        Context {
            local,
            peer,
            ..Context::default()
        }
    }

    /// The authenticated user name, once AUTH succeeded.
    #[must_use]
    pub fn user(&self) -> Option<&str> {
        self.authenticated.as_ref().map(|a| a.username.as_str())
    }

    /// Whether this view still matches the connection.
    pub(crate) fn is_current(&self, conn: &ServerConnection) -> bool {
        self.helo.as_ref() == conn.helo_domain()
            && self.tls.is_some() == conn.is_tls()
            && self.authenticated.as_ref() == conn.authenticated()
            && match (&self.transaction, conn.mail_from()) {
                (None, None) => true,
                (Some(t), Some((from, _))) => {
                    t.recipients.len() == conn.recipients().len() && &t.from == from
                }
                _ => false,
            }
    }

    /// Brings this view up to date with the connection (copying only what
    /// changed: a new recipient is one clone, not the whole list).
    pub(crate) fn update(&mut self, conn: &ServerConnection) {
        self.tls = conn.tls_info().cloned();
        self.helo = conn.helo_domain().cloned();
        self.extended = conn.is_extended();
        self.authenticated = conn.authenticated().cloned();
        match (conn.mail_from(), &mut self.transaction) {
            (None, t) => *t = None,
            (Some((from, _)), Some(t)) if &t.from == from => {
                let have = t.recipients.len().min(conn.recipients().len());
                t.recipients.truncate(have);
                t.recipients
                    .extend_from_slice(conn.recipients().get(have..).unwrap_or_default());
            }
            (Some((from, params)), t) => {
                *t = Some(MailTransaction::new(
                    from.clone(),
                    params.clone(),
                    conn.recipients().to_vec(),
                ));
            }
        }
    }
}
