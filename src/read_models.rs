//! Reads of the read models: the rows the API serves, fetched in batches.

use packet_run_domain::LatLng;
use packet_run_projections::sql::{to_postgres, Arg};
use packet_run_projections::{Database, DatabaseError};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many read queries this process has sent (tests count them per operation).
pub static READ_QUERIES: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct TerminalRow {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub terminal_type: String,
    pub status: String,
    pub payload: Option<String>,
    pub run_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct ConnectionRow {
    pub from_id: i64,
    pub slot: i64,
    pub to_id: i64,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct PresenceRow {
    pub id: i64,
    pub terminal_id: i64,
    pub websocket_id: String,
    pub ip: String,
    pub connected_at: String,
    pub last_seen_at: String,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub nfc_id: String,
    pub url: String,
    pub destination_ip: Option<String>,
    pub server_id: i64,
    pub is_traceroute_finished: bool,
    pub traceroute_error: Option<String>,
    pub packet_type: String,
    pub current_hop_index: i64,
    pub image_path: Option<String>,
    pub screenshot_error: Option<String>,
    pub created_position: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct RunHopRow {
    pub id: i64,
    pub run_id: String,
    pub hop: i64,
    pub terminal_id: i64,
    #[sqlx(rename = "type")]
    pub hop_type: String,
    pub status: String,
    pub address_ip: Option<String>,
    pub may_perform_transformation: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct TracerouteHopRow {
    pub id: i64,
    pub run_id: String,
    pub hop: i64,
    pub address_ip: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct AddressRow {
    pub ip: String,
    pub info: Option<String>,
    pub is_in_alt_network: bool,
    pub is_internal_ip: bool,
    pub metadata_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub const RUN_COLUMNS: &str = "id, nfc_id, url, destination_ip, server_id, is_traceroute_finished, traceroute_error, \
    packet_type, current_hop_index, image_path, screenshot_error, created_position, created_at, updated_at";

/// Rows of `R` for `sql` (written with `?` placeholders) on either database.
pub async fn fetch_all<R>(db: &Database, sql: &str, args: &[Arg]) -> Result<Vec<R>, DatabaseError>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    READ_QUERIES.fetch_add(1, Ordering::Relaxed);
    Ok(match db {
        Database::Sqlite { pool, .. } => {
            packet_run_projections::bind_args!(sqlx::query_as::<Sqlite, R>(sql), args)
                .fetch_all(pool)
                .await?
        }
        Database::Postgres { pool, .. } => {
            let sql = to_postgres(sql);
            packet_run_projections::bind_args!(sqlx::query_as::<Postgres, R>(&sql), args)
                .fetch_all(pool)
                .await?
        }
    })
}

/// `?, ?, ?` for an IN list of `n` values.
pub fn placeholders(n: usize) -> String {
    vec!["?"; n.max(1)].join(", ")
}

/// The newest run carrying this tag (tags are re-used across runs).
pub async fn newest_run_for_tag(
    db: &Database,
    nfc_id: &str,
) -> Result<Option<String>, DatabaseError> {
    let rows: Vec<(String,)> = fetch_all(
        db,
        "SELECT id FROM runs WHERE nfc_id = ? ORDER BY created_position DESC LIMIT 1",
        &[Arg::from(nfc_id)],
    )
    .await?;
    Ok(rows.into_iter().next().map(|(id,)| id))
}

/// The known locations of a run's addresses (route and destination), from their metadata.
pub async fn locations_for_run(
    db: &Database,
    run_id: &str,
) -> Result<BTreeMap<String, LatLng>, DatabaseError> {
    let rows: Vec<(String, String)> = fetch_all(
        db,
        "SELECT ip, info FROM addresses
          WHERE info IS NOT NULL
            AND (ip IN (SELECT address_ip FROM traceroute_hops WHERE run_id = ?)
                 OR ip IN (SELECT destination_ip FROM runs WHERE id = ?))",
        &[Arg::from(run_id), Arg::from(run_id)],
    )
    .await?;
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
    let rows: Vec<(String,)> = fetch_all(
        db,
        "SELECT DISTINCT aggregate_id FROM events WHERE aggregate_type = 'Terminal'",
        &[],
    )
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub async fn all_terminals(db: &Database) -> Result<Vec<TerminalRow>, DatabaseError> {
    fetch_all(db, "SELECT * FROM terminals ORDER BY id", &[]).await
}

pub async fn terminal(db: &Database, id: i64) -> Result<Option<TerminalRow>, DatabaseError> {
    Ok(
        fetch_all(db, "SELECT * FROM terminals WHERE id = ?", &[Arg::Int(id)])
            .await?
            .into_iter()
            .next(),
    )
}

pub async fn run(db: &Database, id: &str) -> Result<Option<RunRow>, DatabaseError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?");
    Ok(fetch_all(db, &sql, &[Arg::from(id)])
        .await?
        .into_iter()
        .next())
}
