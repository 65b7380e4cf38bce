//! Messages to patrons and admins: what they say, how they are queued and how they are
//! delivered.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod mailbox;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod templates;
#[cfg(feature = "ssr")]
pub mod transport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    /// To the new address: approve or reject.
    ProposalToNew,
    /// To the old address: a change was requested; "this wasn't me".
    ProposalToOld,
    /// To the patron's old and new address: approved or rejected.
    OutcomeToPatron,
    /// To the requesting admin (and managers, for "this wasn't me").
    OutcomeToAdmin,
}

impl MessageKind {
    pub const ALL: [MessageKind; 4] = [
        MessageKind::ProposalToNew,
        MessageKind::ProposalToOld,
        MessageKind::OutcomeToPatron,
        MessageKind::OutcomeToAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::ProposalToNew => "proposal_to_new",
            MessageKind::ProposalToOld => "proposal_to_old",
            MessageKind::OutcomeToPatron => "outcome_to_patron",
            MessageKind::OutcomeToAdmin => "outcome_to_admin",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}
