//! Change requests: a proposed change to a patron's key data and the one outcome it reaches.
//!
//! The lifecycle fits in this screen. `RequestStatus::after` says which transitions exist;
//! `ssr` holds the SQL that enforces them (every transition is an
//! `UPDATE … WHERE status = 'pending'` under the request's row lock).

use serde::{Deserialize, Serialize};

use crate::email::EmailError;

pub mod dashboard;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod token;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
    Expired,
    Superseded,
}

/// What can happen to a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transition {
    /// The patron approved from the new address.
    Approve,
    /// The patron rejected from the new address.
    Reject,
    /// An admin withdrew it, the old address said "this wasn't me", or the new address
    /// was taken by another patron before approval.
    Cancel,
    /// The clock ran out.
    Expire,
    /// A newer request for the same patron and field replaced it.
    Supersede,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 6] = [
        RequestStatus::Pending,
        RequestStatus::Approved,
        RequestStatus::Rejected,
        RequestStatus::Cancelled,
        RequestStatus::Expired,
        RequestStatus::Superseded,
    ];

    /// The state a transition leads to, or `None` when it is not allowed. Only a pending
    /// request moves, and every move ends it: each request has exactly one terminal state.
    pub fn after(self, transition: Transition) -> Option<RequestStatus> {
        match (self, transition) {
            (RequestStatus::Pending, Transition::Approve) => Some(RequestStatus::Approved),
            (RequestStatus::Pending, Transition::Reject) => Some(RequestStatus::Rejected),
            (RequestStatus::Pending, Transition::Cancel) => Some(RequestStatus::Cancelled),
            (RequestStatus::Pending, Transition::Expire) => Some(RequestStatus::Expired),
            (RequestStatus::Pending, Transition::Supersede) => Some(RequestStatus::Superseded),
            _ => None,
        }
    }

    pub fn is_terminal(self) -> bool {
        self != RequestStatus::Pending
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
            RequestStatus::Expired => "expired",
            RequestStatus::Superseded => "superseded",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// The admin's reason for a change, shown to the patron. One line of plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason(String);

pub const MAX_REASON_CHARS: usize = 500;

impl Reason {
    pub fn parse(input: &str) -> Result<Self, ChangeError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ChangeError::ReasonRequired);
        }
        if trimmed.chars().count() > MAX_REASON_CHARS || trimmed.chars().any(char::is_control) {
            return Err(ChangeError::InvalidReason);
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Errors an admin can meet when acting on a change, each with a message for the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    InvalidEmail(EmailError),
    #[error("Give a reason; the patron will read it.")]
    ReasonRequired,
    #[error("The reason must be one line of at most 500 characters.")]
    InvalidReason,
    #[error("That is already the patron's address.")]
    SameAsCurrent,
    #[error("That address belongs to another patron.")]
    BelongsToAnotherPatron,
    #[error("No such patron.")]
    PatronNotFound,
    #[error("No such change request.")]
    RequestNotFound,
    #[error("This request is no longer pending.")]
    NotPending,
    #[error("Your account may not do that.")]
    Forbidden,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl From<EmailError> for ChangeError {
    fn from(value: EmailError) -> Self {
        ChangeError::InvalidEmail(value)
    }
}

/// What a link from an email leads to, as the patron's page shows it. The closed states
/// carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    /// The request is pending and this link may act on it.
    Open(OpenRequest),
    Approved,
    Rejected,
    /// Withdrawn by the venue or by the patron.
    Cancelled,
    /// Closed because the new address now belongs to another account.
    Conflict,
    Expired,
    /// A newer request, or a newer link for this request, replaced this one.
    Replaced,
    /// Unknown, malformed or for another purpose; says nothing about whether it existed.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkPurpose {
    /// Sent to the new address: approve or reject.
    Decide,
    /// Sent to the old address: "this wasn't me".
    NotMe,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Decide => "decide",
            LinkPurpose::NotMe => "not_me",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "decide" => Some(LinkPurpose::Decide),
            "not_me" => Some(LinkPurpose::NotMe),
            _ => None,
        }
    }
}

/// What the patron is shown before deciding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRequest {
    pub purpose: LinkPurpose,
    pub patron_name: String,
    pub locale: crate::locale::Locale,
    pub old_email_masked: String,
    pub new_email: String,
    pub reason: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What the patron can do from a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkAction {
    Approve,
    Reject,
    NotMe,
}

impl LinkAction {
    pub fn purpose(self) -> LinkPurpose {
        match self {
            LinkAction::Approve | LinkAction::Reject => LinkPurpose::Decide,
            LinkAction::NotMe => LinkPurpose::NotMe,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "approve" => Some(LinkAction::Approve),
            "reject" => Some(LinkAction::Reject),
            "not_me" => Some(LinkAction::NotMe),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pending_requests_move_and_every_move_is_final() {
        let transitions = [
            Transition::Approve,
            Transition::Reject,
            Transition::Cancel,
            Transition::Expire,
            Transition::Supersede,
        ];
        for status in RequestStatus::ALL {
            for transition in transitions {
                match status.after(transition) {
                    Some(next) => {
                        assert_eq!(status, RequestStatus::Pending);
                        assert!(next.is_terminal());
                    }
                    None => assert!(status.is_terminal()),
                }
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RequestStatus::parse("done"), None);
    }

    #[test]
    fn a_reason_is_required_and_one_line() {
        assert_eq!(Reason::parse("  "), Err(ChangeError::ReasonRequired));
        assert_eq!(
            Reason::parse("moved\r\nBcc: x"),
            Err(ChangeError::InvalidReason)
        );
        assert_eq!(
            Reason::parse(&"x".repeat(501)),
            Err(ChangeError::InvalidReason)
        );
        assert_eq!(
            Reason::parse(" Patron called the box office ")
                .unwrap()
                .as_str(),
            "Patron called the box office"
        );
    }
}
