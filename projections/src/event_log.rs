//! Reading the event log in its global order.

use crate::database::{Database, DatabaseError};
use packet_run_domain::{AddressEvent, RunEvent, TerminalEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use std::fmt;

/// Where an event stands in the log. On SQLite the transaction id is always 0 and the position
/// alone orders events; on PostgreSQL events are ordered by (transaction id, position).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    pub transaction_id: i64,
    pub position: i64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.transaction_id == 0 {
            write!(f, "{}", self.position)
        } else {
            write!(f, "{}/{}", self.transaction_id, self.position)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub position: Position,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DecodedEvent {
    Run(RunEvent),
    Terminal(TerminalEvent),
    Address(AddressEvent),
    /// An aggregate type this version does not know; projections skip it.
    Unknown,
}

impl StoredEvent {
    /// The typed event. Old versions would be upcast here, before deserialising; every event
    /// written so far is version 1.
    pub fn decode(&self) -> Result<DecodedEvent, DatabaseError> {
        let fail = |reason: String| DatabaseError::Decode {
            position: self.position.to_string(),
            aggregate_type: self.aggregate_type.clone(),
            event_type: self.event_type.clone(),
            version: self.event_version.clone(),
            reason,
        };
        if self.event_version != packet_run_domain::event_meta::EVENT_VERSION {
            return Err(fail(
                "unknown event version; this build reads version 1".into(),
            ));
        }
        let payload = self.payload.clone();
        let decoded = match self.aggregate_type.as_str() {
            "Run" => serde_json::from_value(payload).map(DecodedEvent::Run),
            "Terminal" => serde_json::from_value(payload).map(DecodedEvent::Terminal),
            "Address" => serde_json::from_value(payload).map(DecodedEvent::Address),
            _ => Ok(DecodedEvent::Unknown),
        };
        decoded.map_err(|e| fail(e.to_string()))
    }

    /// A number unique to this event, for ids of the rows it creates (stable across replays).
    pub fn row_id(&self, k: usize) -> i64 {
        self.position.position * 64 + k as i64
    }
}

const SQLITE_AFTER: &str = "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
   FROM events WHERE position > ? ORDER BY position LIMIT ?";
// Only transactions older than the snapshot's xmin: all of them have finished, so no event with a
// lower (transaction_id, position) can still appear after we read past it.
const POSTGRES_AFTER: &str = "SELECT transaction_id::text::bigint AS transaction_id, position, aggregate_type, aggregate_id, sequence,
        event_type, event_version, payload::text AS payload, metadata::text AS metadata
   FROM events
  WHERE (transaction_id, position) > ($1::text::xid8, $2)
    AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY transaction_id, position LIMIT $3";

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn from_sqlite_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        position: Position {
            transaction_id: 0,
            position: row.try_get("position")?,
        },
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: parse_json(row.try_get("payload")?),
        metadata: parse_json(row.try_get("metadata")?),
    })
}

fn from_postgres_row(row: &sqlx::postgres::PgRow) -> Result<StoredEvent, sqlx::Error> {
    Ok(StoredEvent {
        position: Position {
            transaction_id: row.try_get("transaction_id")?,
            position: row.try_get("position")?,
        },
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: parse_json(row.try_get("payload")?),
        metadata: parse_json(row.try_get("metadata")?),
    })
}

pub async fn read_after_sqlite(
    conn: &mut sqlx::SqliteConnection,
    after: Position,
    limit: i64,
) -> Result<Vec<StoredEvent>, DatabaseError> {
    let rows = sqlx::query(SQLITE_AFTER)
        .bind(after.position)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(from_sqlite_row).collect::<Result<_, _>>()?)
}

pub async fn read_after_postgres(
    conn: &mut sqlx::PgConnection,
    after: Position,
    limit: i64,
) -> Result<Vec<StoredEvent>, DatabaseError> {
    let rows = sqlx::query(POSTGRES_AFTER)
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .iter()
        .map(from_postgres_row)
        .collect::<Result<_, _>>()?)
}

impl Database {
    /// Up to `limit` events after `after`, in log order.
    pub async fn events_after(
        &self,
        after: Position,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, DatabaseError> {
        match self {
            Database::Sqlite { pool, .. } => {
                read_after_sqlite(&mut *pool.acquire().await?, after, limit).await
            }
            Database::Postgres { pool, .. } => {
                read_after_postgres(&mut *pool.acquire().await?, after, limit).await
            }
        }
    }

    /// The position of an aggregate's newest event, once it is readable in log order.
    pub async fn last_position_of(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<Position>, DatabaseError> {
        Ok(match self {
            Database::Sqlite { pool, .. } => sqlx::query_scalar::<_, i64>(
                "SELECT position FROM events WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence DESC LIMIT 1",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_optional(pool)
            .await?
            .map(|position| Position { transaction_id: 0, position }),
            Database::Postgres { pool, .. } => sqlx::query_as::<_, (i64, i64)>(
                "SELECT transaction_id::text::bigint, position FROM events
                  WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence DESC LIMIT 1",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_optional(pool)
            .await?
            .map(|(transaction_id, position)| Position { transaction_id, position }),
        })
    }

    /// The newest position a reader can see now.
    pub async fn head(&self) -> Result<Position, DatabaseError> {
        Ok(match self {
            Database::Sqlite { pool, .. } => Position {
                transaction_id: 0,
                position: sqlx::query_scalar::<_, Option<i64>>("SELECT max(position) FROM events")
                    .fetch_one(pool)
                    .await?
                    .unwrap_or(0),
            },
            Database::Postgres { pool, .. } => sqlx::query_as::<_, (i64, i64)>(
                "SELECT transaction_id::text::bigint, position FROM events
                  WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY transaction_id DESC, position DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
            .map(|(transaction_id, position)| Position {
                transaction_id,
                position,
            })
            .unwrap_or_default(),
        })
    }

    /// How many events the log holds.
    pub async fn event_count(&self) -> Result<i64, DatabaseError> {
        Ok(match self {
            Database::Sqlite { pool, .. } => {
                sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(pool)
                    .await?
            }
            Database::Postgres { pool, .. } => {
                sqlx::query_scalar("SELECT count(*) FROM events")
                    .fetch_one(pool)
                    .await?
            }
        })
    }
}

impl Database {
    /// The full position of the event whose position number is `position`.
    pub async fn position_of(&self, position: i64) -> Result<Option<Position>, DatabaseError> {
        Ok(match self {
            Database::Sqlite { pool, .. } => {
                sqlx::query_scalar::<_, i64>("SELECT position FROM events WHERE position = ?")
                    .bind(position)
                    .fetch_optional(pool)
                    .await?
                    .map(|position| Position {
                        transaction_id: 0,
                        position,
                    })
            }
            Database::Postgres { pool, .. } => sqlx::query_as::<_, (i64, i64)>(
                "SELECT transaction_id::text::bigint, position FROM events WHERE position = $1",
            )
            .bind(position)
            .fetch_optional(pool)
            .await?
            .map(|(transaction_id, position)| Position {
                transaction_id,
                position,
            }),
        })
    }
}

impl Database {
    /// Every event of one aggregate, in order.
    pub async fn events_of(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>, DatabaseError> {
        Ok(match self {
            Database::Sqlite { pool, .. } => sqlx::query(
                "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
                   FROM events WHERE aggregate_type = ? AND aggregate_id = ? ORDER BY sequence",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(from_sqlite_row)
            .collect::<Result<_, _>>()?,
            Database::Postgres { pool, .. } => sqlx::query(
                "SELECT transaction_id::text::bigint AS transaction_id, position, aggregate_type, aggregate_id, sequence,
                        event_type, event_version, payload::text AS payload, metadata::text AS metadata
                   FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
            )
            .bind(aggregate_type)
            .bind(aggregate_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(from_postgres_row)
            .collect::<Result<_, _>>()?,
        })
    }
}
