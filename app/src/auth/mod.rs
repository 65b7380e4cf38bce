//! Admins and what they may do: roles, sign-in, sign-out, and the error every admin-facing
//! server function returns.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::changes::ChangeError;

mod admins;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod ssr;
mod views;

pub use admins::*;
pub use views::{AdminBar, SignInPage};

/// The signed-in admin, as the UI knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInAdmin {
    pub id: i64,
    pub display_name: String,
    pub role: Role,
}

/// What can go wrong in an admin's request, with a message for the person. The UI can tell
/// "that address belongs to another patron" from "the server is down".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AdminError {
    #[error("Sign in first.")]
    SignedOut,
    #[error("Your role may not do that.")]
    Forbidden,
    #[error("That email and password do not match an active admin.")]
    BadCredentials,
    #[error("Too many failed sign-ins. Wait 15 minutes, then try again.")]
    Throttled,
    #[error("{0}")]
    Change(ChangeError),
    /// Input the form must correct, with the message that says how.
    #[error("{0}")]
    Invalid(String),
    #[error("The server could not answer: {0}")]
    Server(String),
}

impl From<ChangeError> for AdminError {
    fn from(value: ChangeError) -> Self {
        AdminError::Change(value)
    }
}

impl FromServerFnError for AdminError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AdminError::Server(value.to_string())
    }
}

/// Who is signed in, if anyone.
#[server(endpoint = "current_admin")]
pub async fn current_admin() -> Result<Option<SignedInAdmin>, AdminError> {
    ssr::signed_in().await
}

/// Signs in with email and password; throttled per account and per address.
#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<SignedInAdmin, AdminError> {
    let admin = ssr::sign_in(&email, &password).await?;
    leptos_axum::redirect("/patrons");
    Ok(admin)
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AdminError> {
    ssr::sign_out().await?;
    leptos_axum::redirect("/signin");
    Ok(())
}

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
