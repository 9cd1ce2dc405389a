//! Where a JetStream queue lives:
//! `nats://[USER:PASSWORD@|TOKEN@]HOST:PORT[,HOST:PORT…]/STREAM`.

use std::fmt;

/// A parsed `--queue nats://…` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamAddress {
    /// The NATS servers to connect to (`nats://HOST:PORT` each); the
    /// client learns the rest of a cluster from them.
    pub servers: Vec<String>,
    /// The work-queue stream's name; the key-value bucket and the object
    /// store are named after it.
    pub stream: String,
    /// How to log in to the servers (NATS's `user:password@` or
    /// `token@` in the address), if they ask.
    pub auth: Option<NatsAuth>,
}

/// Credentials for the NATS servers. Neither `Debug` nor the address's
/// `Display` shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum NatsAuth {
    /// A user and a password (`nats://USER:PASSWORD@…`).
    UserPassword {
        /// The user.
        user: String,
        /// The password.
        password: String,
    },
    /// A token (`nats://TOKEN@…`).
    Token(String),
}

impl fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatsAuth::UserPassword { user, .. } => f
                .debug_struct("UserPassword")
                .field("user", user)
                .field("password", &"***")
                .finish(),
            NatsAuth::Token(_) => f.write_str("Token(***)"),
        }
    }
}

/// `%XX` escapes decoded (for `:`, `@`, `/` and `,` in credentials).
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a % in the credentials is not followed by two hexadecimal digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the credentials are not UTF-8 once decoded".to_owned())
}

impl JetStreamAddress {
    /// Whether a `--queue` value names a JetStream queue rather than a
    /// directory.
    #[must_use]
    pub fn is_nats(text: &str) -> bool {
        text.starts_with("nats://")
    }

    /// Parses `nats://[USER:PASSWORD@|TOKEN@]HOST:PORT[,HOST:PORT…]/STREAM`
    /// (credentials `%XX`-escaped where they hold `:`, `@`, `/` or `,`).
    ///
    /// ```
    /// use mailwire_queue::jetstream::{JetStreamAddress, NatsAuth};
    /// let a = JetStreamAddress::parse("nats://127.0.0.1:4222,127.0.0.1:4223/MAIL").unwrap();
    /// assert_eq!(a.servers, ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"]);
    /// assert_eq!(a.stream, "MAIL");
    /// assert!(JetStreamAddress::parse("nats://127.0.0.1:4222").is_err());
    ///
    /// let b = JetStreamAddress::parse("nats://relay:s%40cret@10.0.0.1:4222/MAIL").unwrap();
    /// assert_eq!(
    ///     b.auth,
    ///     Some(NatsAuth::UserPassword { user: "relay".into(), password: "s@cret".into() })
    /// );
    /// // Shown without the secret.
    /// assert_eq!(b.to_string(), "nats://relay:***@10.0.0.1:4222/MAIL");
    /// ```
    ///
    /// # Errors
    ///
    /// A sentence saying what is wrong with the text.
    pub fn parse(text: &str) -> Result<JetStreamAddress, String> {
        let rest = text
            .strip_prefix("nats://")
            .ok_or_else(|| format!("{text:?} is not a nats:// address"))?;
        let (hosts, stream) = rest.split_once('/').ok_or_else(|| {
            format!(
                "{} names no stream: write nats://HOST:PORT/STREAM",
                hidden(text)
            )
        })?;
        let (auth, hosts) = match hosts.rsplit_once('@') {
            None => (None, hosts),
            Some((userinfo, hosts)) => {
                let auth = match userinfo.split_once(':') {
                    Some((user, password)) => NatsAuth::UserPassword {
                        user: percent_decode(user)?,
                        password: percent_decode(password)?,
                    },
                    None => NatsAuth::Token(percent_decode(userinfo)?),
                };
                (Some(auth), hosts)
            }
        };
        if stream.is_empty()
            || stream.len() > 64
            || !stream
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "{stream:?} is not a stream name (letters, digits, '_' and '-', at most 64)"
            ));
        }
        let servers: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("nats://{h}"))
            .collect();
        if servers.is_empty() {
            return Err(format!("{} names no server", hidden(text)));
        }
        Ok(JetStreamAddress {
            servers,
            stream: stream.to_owned(),
            auth,
        })
    }

    /// The subject the entries are published on.
    #[must_use]
    pub fn subject(&self) -> String {
        format!("mailwire.{}.entries", self.stream)
    }

    /// The key-value bucket of per-recipient state.
    #[must_use]
    pub fn state_bucket(&self) -> String {
        format!("mailwire-{}-state", self.stream)
    }

    /// The object store of bodies too large for one message.
    #[must_use]
    pub fn body_bucket(&self) -> String {
        format!("mailwire-{}-bodies", self.stream)
    }
}

impl fmt::Display for JetStreamAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<&str> = self
            .servers
            .iter()
            .map(|s| s.trim_start_matches("nats://"))
            .collect();
        let login = match &self.auth {
            None => String::new(),
            Some(NatsAuth::UserPassword { user, .. }) => format!("{user}:***@"),
            Some(NatsAuth::Token(_)) => "***@".to_owned(),
        };
        write!(f, "nats://{login}{}/{}", hosts.join(","), self.stream)
    }
}

/// `text` for an error message, without what stands before an `@` (the
/// credentials).
fn hidden(text: &str) -> String {
    match text
        .strip_prefix("nats://")
        .and_then(|rest| rest.split_once('@'))
    {
        Some((_, after)) => format!("\"nats://***@{after}\""),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_address_never_show() {
        let token = JetStreamAddress::parse("nats://t0ken@127.0.0.1:4222/MAIL").unwrap();
        assert_eq!(token.auth, Some(NatsAuth::Token("t0ken".into())));
        assert_eq!(token.to_string(), "nats://***@127.0.0.1:4222/MAIL");
        assert!(!format!("{token:?}").contains("t0ken"));
        let user = JetStreamAddress::parse("nats://u:p%3Aw@a:1,b:2/S").unwrap();
        assert_eq!(user.servers, ["nats://a:1", "nats://b:2"]);
        assert!(!format!("{user:?}").contains("p:w"));
        let error = JetStreamAddress::parse("nats://u:secret@a:1").unwrap_err();
        assert!(!error.contains("secret"), "{error}");
        assert!(JetStreamAddress::parse("nats://u:%zz@a:1/S").is_err());
    }
}
