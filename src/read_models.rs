//! Reads of the read models that the operations need.

use packet_run_domain::LatLng;
use packet_run_projections::{Database, DatabaseError};
use std::collections::BTreeMap;

/// The newest run carrying this tag (tags are re-used across runs).
pub async fn newest_run_for_tag(
    db: &Database,
    nfc_id: &str,
) -> Result<Option<String>, DatabaseError> {
    const Q: &str = "SELECT id FROM runs WHERE nfc_id = ? ORDER BY created_position DESC LIMIT 1";
    Ok(match db {
        Database::Sqlite { pool, .. } => {
            sqlx::query_scalar(Q)
                .bind(nfc_id)
                .fetch_optional(pool)
                .await?
        }
        Database::Postgres { pool, .. } => {
            sqlx::query_scalar(&packet_run_projections::sql::to_postgres(Q))
                .bind(nfc_id)
                .fetch_optional(pool)
                .await?
        }
    })
}

/// The known locations of a run's addresses (route and destination), from their metadata.
pub async fn locations_for_run(
    db: &Database,
    run_id: &str,
) -> Result<BTreeMap<String, LatLng>, DatabaseError> {
    const Q: &str = "SELECT ip, info FROM addresses
                      WHERE info IS NOT NULL
                        AND (ip IN (SELECT address_ip FROM traceroute_hops WHERE run_id = ?)
                             OR ip IN (SELECT destination_ip FROM runs WHERE id = ?))";
    let rows: Vec<(String, String)> = match db {
        Database::Sqlite { pool, .. } => {
            sqlx::query_as(Q)
                .bind(run_id)
                .bind(run_id)
                .fetch_all(pool)
                .await?
        }
        Database::Postgres { pool, .. } => {
            sqlx::query_as(&packet_run_projections::sql::to_postgres(Q))
                .bind(run_id)
                .bind(run_id)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|(ip, info)| {
            let info: serde_json::Value = serde_json::from_str(&info).ok()?;
            let location = info.get("location")?;
            let lat = location.get("latitude")?.as_f64()?;
            let lng = location.get("longitude")?.as_f64()?;
            Some((ip, LatLng { lat, lng }))
        })
        .collect())
}

/// Ids of every terminal ever registered, from the event log itself.
pub async fn registered_terminal_ids(db: &Database) -> Result<Vec<String>, DatabaseError> {
    const Q: &str = "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = 'Terminal'";
    Ok(match db {
        Database::Sqlite { pool, .. } => sqlx::query_scalar(Q).fetch_all(pool).await?,
        Database::Postgres { pool, .. } => sqlx::query_scalar(Q).fetch_all(pool).await?,
    })
}
