//! `--auth USER:PASS` users and the AUTH hook that checks them.

use mailwire_driver::core::sasl::StoredSecret;
use mailwire_driver::core::server::{AuthCheck, replies};
use mailwire_driver::server::{HookError, HookResult};

/// The users given with `--auth USER:PASS`, or any user at all
/// (`--auth-accept-any`).
#[derive(Debug, Clone, Default)]
pub struct Users {
    list: Vec<(String, String)>,
    any: bool,
}

impl Users {
    /// Parses `USER:PASS` entries (the password may contain `:`).
    ///
    /// # Errors
    ///
    /// An entry without `:`, with an empty user or an empty password.
    pub fn parse(entries: &[String]) -> Result<Users, String> {
        entries
            .iter()
            .map(|entry| match entry.split_once(':') {
                Some((user, pass)) if !user.is_empty() && !pass.is_empty() => {
                    Ok((user.to_owned(), pass.to_owned()))
                }
                _ => Err(format!("--auth {entry:?}: expected USER:PASS")),
            })
            .collect::<Result<_, _>>()
            .map(|list| Users { list, any: false })
    }

    /// The same users, and besides them any user name with any password
    /// (CRAM-MD5's digest is not checked either): applications configured
    /// with real credentials log in unchanged.
    #[must_use]
    pub fn accepting_any(mut self) -> Users {
        self.any = true;
        self
    }

    /// Whether no user was given (AUTH is off).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && !self.any
    }

    /// The password of `user`.
    #[must_use]
    pub fn password_of(&self, user: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
    }

    /// The AUTH hook: a password checked in constant time (PLAIN, LOGIN),
    /// or the stored secret for a challenge mechanism (CRAM-MD5, SCRAM);
    /// a user may only act as itself. Anything else is the core's
    /// [`replies::auth_failed`] (`535`).
    pub fn authenticate(&self, check: &AuthCheck) -> HookResult<Option<StoredSecret>> {
        let invalid = || HookError::Reply(replies::auth_failed());
        if self.any {
            return match check {
                AuthCheck::NeedSecret { .. } => Ok(Some(StoredSecret::AnyProof)),
                _ => Ok(None),
            };
        }
        match check {
            AuthCheck::VerifyPassword {
                authzid,
                username,
                password,
            } => {
                let known = self
                    .password_of(username)
                    .is_some_and(|p| password.constant_time_eq(p));
                let as_self = authzid.as_deref().is_none_or(|a| a == username);
                if known && as_self {
                    Ok(None)
                } else {
                    Err(invalid())
                }
            }
            AuthCheck::NeedSecret { username, .. } => {
                Ok(self.password_of(username).map(StoredSecret::password))
            }
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries() {
        let users = Users::parse(&["alice:s3cr:et".into(), "bob:pw".into()]).unwrap();
        assert_eq!(users.password_of("alice"), Some("s3cr:et"));
        assert_eq!(users.password_of("bob"), Some("pw"));
        assert_eq!(users.password_of("carol"), None);
        for bad in ["alice", ":pw", "alice:"] {
            assert!(Users::parse(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(Users::parse(&[]).unwrap().is_empty());
    }
}
