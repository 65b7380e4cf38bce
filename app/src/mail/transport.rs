//! Where messages go: a real SMTP server, or in development a local mailbox folder that
//! the dev mailbox page reads.

use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

pub use lettre::message::Mailbox;
use std::time::Duration;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Mailbox {
        transport: AsyncFileTransport<Tokio1Executor>,
        dir: PathBuf,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

impl Mailer {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS) or
    /// `smtps://host:port` (TLS), with optional `user:password@`. Connections are pooled.
    pub fn smtp(url: &str) -> Result<Self, lettre::transport::smtp::Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Mailer::Smtp(transport))
    }

    pub fn mailbox(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Mailer::Mailbox {
            transport: AsyncFileTransport::new(&dir),
            dir,
        })
    }

    pub fn mailbox_dir(&self) -> Option<&PathBuf> {
        match self {
            Mailer::Mailbox { dir, .. } => Some(dir),
            Mailer::Smtp(_) => None,
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError(describe_smtp_error(&e))),
            Mailer::Mailbox { transport, .. } => transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError(format!("mailbox: {e}"))),
        }
    }
}

/// A short description that names the kind of failure, for the outbox and the logs. SMTP
/// replies can echo the recipient, so the server's text is not kept.
fn describe_smtp_error(error: &lettre::transport::smtp::Error) -> String {
    let kind = if error.is_transient() {
        "transient SMTP error"
    } else if error.is_permanent() {
        "permanent SMTP error"
    } else if error.is_timeout() {
        "SMTP timeout"
    } else if error.is_client() {
        "SMTP client error"
    } else {
        "SMTP connection failed"
    };
    match error.status() {
        Some(code) => format!("{kind} ({code})"),
        None => kind.to_string(),
    }
}
