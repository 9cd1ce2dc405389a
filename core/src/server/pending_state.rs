//! A decision the connection waits for: which step it answers and what
//! the step was about.

use crate::wire::address::{Domain, ForwardPath, ReversePath};
use crate::wire::params::{MailParameters, RcptParameters};

use super::auth_state::AuthWait;
use super::decision::{Step, Token};

/// What a pending decision is about.
#[derive(Debug)]
pub(crate) enum Waiting {
    Connect,
    Helo {
        domain: Domain,
        extended: bool,
    },
    Mail {
        from: ReversePath,
        params: MailParameters,
    },
    Rcpt {
        to: ForwardPath,
        params: RcptParameters,
        local_postmaster: bool,
    },
    Auth(AuthWait),
    Message,
}

#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) token: Token,
    pub(crate) step: Step,
    pub(crate) waiting: Waiting,
}
