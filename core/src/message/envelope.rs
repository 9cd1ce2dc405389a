//! The envelope from the headers: originator (RFC 5322 §3.6.2) and
//! recipients (§3.6.3), or their `Resent-` forms (§3.6.6). `Dcc` (and
//! `Resent-Dcc`), an older name for a blind copy, plays the `Bcc` role.

use std::collections::HashSet;

use super::MessageError;
use super::address::mailboxes;
use crate::wire::address::{ForwardPath, Mailbox, ReversePath};

/// A header field as derivation sees it: from the message or from the
/// caller's extra headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    /// The name as spelt.
    pub(crate) name: &'a str,
    /// The raw value (after the colon).
    pub(crate) value: &'a [u8],
}

impl Field<'_> {
    /// Whether the field has this name (ASCII case-insensitively).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// The header names that play each role: the plain ones or the `Resent-`
/// ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Roles {
    pub(crate) from: &'static str,
    pub(crate) sender: &'static str,
    pub(crate) to: &'static str,
    pub(crate) cc: &'static str,
    pub(crate) bcc: &'static str,
    pub(crate) dcc: &'static str,
    pub(crate) date: &'static str,
    pub(crate) message_id: &'static str,
    /// The recipient headers, for [`MessageError::NoRecipients`].
    pub(crate) recipients_label: &'static str,
}

/// Roles of an ordinary message.
pub(crate) const PLAIN: Roles = Roles {
    from: "From",
    sender: "Sender",
    to: "To",
    cc: "Cc",
    bcc: "Bcc",
    dcc: "Dcc",
    date: "Date",
    message_id: "Message-ID",
    recipients_label: "To, Cc, Bcc, Dcc",
};

/// Roles of a resent message.
pub(crate) const RESENT: Roles = Roles {
    from: "Resent-From",
    sender: "Resent-Sender",
    to: "Resent-To",
    cc: "Resent-Cc",
    bcc: "Resent-Bcc",
    dcc: "Resent-Dcc",
    date: "Resent-Date",
    message_id: "Resent-Message-ID",
    recipients_label: "Resent-To, Resent-Cc, Resent-Bcc, Resent-Dcc",
};

/// Whether a field name is one of the `Resent-*` family.
pub(crate) fn is_resent(name: &str) -> bool {
    name.get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("resent-"))
}

/// The names of the fields that are never transmitted.
const BLIND: [&str; 4] = ["Bcc", "Dcc", "Resent-Bcc", "Resent-Dcc"];

/// Whether a field is never transmitted: `Bcc`, `Dcc` and their
/// `Resent-` forms.
pub(crate) fn is_blind(name: &str) -> bool {
    BLIND.iter().any(|blind| name.eq_ignore_ascii_case(blind))
}

/// What two paths are compared on when removing duplicates: the local
/// part exactly, the domain without ASCII case.
fn dedup_key(path: &ForwardPath) -> (String, String) {
    match path.mailbox() {
        Some(mailbox) => (
            mailbox.local().as_str().to_owned(),
            mailbox.domain().to_string().to_ascii_lowercase(),
        ),
        None => (String::new(), "postmaster".to_owned()),
    }
}

/// Removes later duplicates, keeping the first of each in order.
pub(crate) fn dedup(paths: impl IntoIterator<Item = ForwardPath>) -> Vec<ForwardPath> {
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter(|path| seen.insert(dedup_key(path)))
        .collect()
}

/// The distinct mailboxes of every field named `name` in `fields`.
fn collect(fields: &[Field<'_>], name: &str) -> Result<Vec<Mailbox>, MessageError> {
    let mut all = Vec::new();
    for field in fields.iter().filter(|f| f.is(name)) {
        all.extend(
            mailboxes(field.name, field.value)?
                .into_iter()
                .map(ForwardPath::Mailbox),
        );
    }
    Ok(dedup(all)
        .into_iter()
        .filter_map(|path| path.mailbox().cloned())
        .collect())
}

/// The envelope sender from the headers: the single mailbox of `From`
/// (all `From` fields together); when `From` has none or several, the
/// single mailbox of `Sender`. Nothing else is parsed.
pub(crate) fn originator(fields: &[Field<'_>], roles: &Roles) -> Result<ReversePath, MessageError> {
    let from = collect(fields, roles.from)?;
    if let [only] = from.as_slice() {
        return Ok(ReversePath::Mailbox(only.clone()));
    }
    let sender = collect(fields, roles.sender)?;
    match sender.as_slice() {
        [only] => Ok(ReversePath::Mailbox(only.clone())),
        [] if from.is_empty() => Err(MessageError::NoOriginator { header: roles.from }),
        [] => Err(MessageError::TooManyMailboxes {
            header: roles.from,
            count: from.len(),
        }),
        several => Err(MessageError::TooManyMailboxes {
            header: roles.sender,
            count: several.len(),
        }),
    }
}

/// The addresses of every field named one of `names`, name by name (each
/// in field order), duplicates kept.
fn addresses(fields: &[Field<'_>], names: &[&str]) -> Result<Vec<ForwardPath>, MessageError> {
    let mut all = Vec::new();
    for name in names {
        for field in fields.iter().filter(|f| f.is(name)) {
            all.extend(
                mailboxes(field.name, field.value)?
                    .into_iter()
                    .map(ForwardPath::Mailbox),
            );
        }
    }
    Ok(all)
}

/// The envelope recipients from the headers: `To`, then `Cc`, then `Bcc`,
/// then `Dcc` (each in field order), duplicates removed.
pub(crate) fn recipients(
    fields: &[Field<'_>],
    roles: &Roles,
) -> Result<Vec<ForwardPath>, MessageError> {
    let all = dedup(addresses(
        fields,
        &[roles.to, roles.cc, roles.bcc, roles.dcc],
    )?);
    if all.is_empty() {
        return Err(MessageError::NoRecipients {
            headers: roles.recipients_label,
        });
    }
    Ok(all)
}

/// The blind recipients from the headers: `Bcc`, then `Dcc` (each in
/// field order). They are recipients even when the caller names the
/// others explicitly: their fields are removed from what is transmitted,
/// so leaving them out would lose them without a word.
pub(crate) fn blind_recipients(
    fields: &[Field<'_>],
    roles: &Roles,
) -> Result<Vec<ForwardPath>, MessageError> {
    addresses(fields, &[roles.bcc, roles.dcc])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_resent("RESENT-to") && is_resent("Resent-X") && !is_resent("Resent"));
        assert!(!is_resent("Résent-To") && !is_resent("To"));
        assert!(is_blind("bcc") && is_blind("Resent-BCC") && !is_blind("Cc"));
        assert!(is_blind("DCC") && is_blind("resent-dcc") && !is_blind("Dcc-Note"));
    }

    #[test]
    fn dedup_ignores_domain_case_only() {
        let p = |s: &str| ForwardPath::parse(s.as_bytes()).unwrap();
        let out = dedup([
            p("<a@x.org>"),
            p("<a@X.ORG>"),
            p("<A@x.org>"),
            p("<Postmaster>"),
            p("<postmaster>"),
        ]);
        assert_eq!(out, [p("<a@x.org>"), p("<A@x.org>"), p("<Postmaster>")]);
    }
}
