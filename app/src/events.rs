//! Live events: every change a dashboard should see is announced with Postgres NOTIFY,
//! inside the transaction that makes it, so it is heard only once committed and by
//! every server instance that listens.

use serde::{Deserialize, Serialize};

pub const CHANNEL: &str = "assent_events";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// `proposed`, `approved`, `rejected`, `cancelled`, `expired`, `superseded`,
    /// `resent`, `message_sent`, `message_dead`.
    pub kind: String,
    pub request_id: Option<i64>,
    pub patron_id: Option<i64>,
}

#[cfg(feature = "ssr")]
pub async fn notify(
    conn: &mut sqlx::PgConnection,
    kind: &str,
    request_id: Option<i64>,
    patron_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    let payload = serde_json::to_string(&LiveEvent {
        kind: kind.to_string(),
        request_id,
        patron_id,
    })
    .unwrap_or_default();
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// Relays this database's NOTIFY events to the instance's connected dashboards. sqlx's
/// listener reconnects by itself after a connection loss; dashboards catch up on their own
/// (they reload their list whenever their stream opens).
#[cfg(feature = "ssr")]
pub async fn relay(pool: sqlx::PgPool, to: tokio::sync::broadcast::Sender<LiveEvent>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for live events; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "cannot listen for live events; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    if let Ok(event) = serde_json::from_str::<LiveEvent>(notification.payload()) {
                        // No dashboard connected is not an error.
                        let _ = to.send(event);
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "live event listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
