//! Admins and what they may do.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod password;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Proposes, resends and cancels changes.
    Agent,
    /// An agent who also manages admins and settings.
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Manager => "manager",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "viewer" => Some(Role::Viewer),
            "agent" => Some(Role::Agent),
            "manager" => Some(Role::Manager),
            _ => None,
        }
    }

    pub fn can_propose(self) -> bool {
        self >= Role::Agent
    }

    pub fn can_manage(self) -> bool {
        self == Role::Manager
    }
}
