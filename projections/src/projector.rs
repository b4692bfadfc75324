//! The projector: follows the event log from its checkpoint and keeps the read models current.

use crate::database::{Database, DatabaseError};
use crate::event_log::{read_after_postgres, read_after_sqlite, Position, StoredEvent};
use crate::sql::{execute_postgres, execute_sqlite};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch, Notify};

/// The checkpoint name of the read models' projector.
pub const READ_MODELS: &str = "read_models";
const BATCH: i64 = 500;
/// Events written by other processes (workers) are noticed within this time.
const POLL: Duration = Duration::from_millis(200);

/// What the rest of the service sees of the projector: how far it is, and a way to wake it.
#[derive(Clone)]
pub struct ProjectorHandle {
    position: watch::Receiver<Position>,
    projected: broadcast::Sender<Arc<Vec<StoredEvent>>>,
    wake: Arc<Notify>,
    failure: Arc<Mutex<Option<String>>>,
}

impl ProjectorHandle {
    /// Call after appending events, so they are projected at once rather than at the next poll.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    pub fn position(&self) -> Position {
        *self.position.borrow()
    }

    /// Every batch of events, right after the read models include it.
    pub fn projected(&self) -> broadcast::Receiver<Arc<Vec<StoredEvent>>> {
        self.projected.subscribe()
    }

    /// Changes whenever the read models move to a new position.
    pub fn subscribe(&self) -> watch::Receiver<Position> {
        self.position.clone()
    }

    /// Waits until the read models include `target`; false when `timeout` passed first.
    pub async fn wait_for(&self, target: Position, timeout: Duration) -> bool {
        self.notify();
        let mut rx = self.position.clone();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= target)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// The last error that stopped a catch-up, if the projector is failing.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().map(|f| f.clone()).unwrap_or(None)
    }
}

pub struct Projector {
    db: Database,
    position: watch::Sender<Position>,
    projected: broadcast::Sender<Arc<Vec<StoredEvent>>>,
    wake: Arc<Notify>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Projector {
    pub async fn new(db: Database) -> Result<(Projector, ProjectorHandle), DatabaseError> {
        let start = checkpoint(&db).await?;
        let (tx, rx) = watch::channel(start);
        let wake = Arc::new(Notify::new());
        let failure = Arc::new(Mutex::new(None));
        let (projected, _) = broadcast::channel(1024);
        let handle = ProjectorHandle {
            position: rx,
            projected: projected.clone(),
            wake: wake.clone(),
            failure: failure.clone(),
        };
        Ok((
            Projector {
                db,
                position: tx,
                projected,
                wake,
                failure,
            },
            handle,
        ))
    }

    /// Projects every event there is now; returns how many.
    pub async fn catch_up(&self) -> Result<u64, DatabaseError> {
        let mut total = 0;
        loop {
            let n = self.step().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
        }
    }

    /// Runs until `shutdown` turns true, catching up whenever woken or every poll interval.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            match self.catch_up().await {
                Ok(_) => {
                    if let Ok(mut f) = self.failure.lock() {
                        *f = None;
                    }
                }
                Err(error) => {
                    let text = error.to_string();
                    let mut f = self.failure.lock().expect("failure lock");
                    if f.as_deref() != Some(text.as_str()) {
                        tracing::error!(%error, "projecting the event log failed; retrying");
                    }
                    *f = Some(text);
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One batch, in one transaction with the checkpoint.
    async fn step(&self) -> Result<usize, DatabaseError> {
        // Cheap look first, so an idle projector never takes the write lock.
        let known = *self.position.borrow();
        if self.db.events_after(known, 1).await?.is_empty() {
            return Ok(0);
        }
        let (events, last) = match &self.db {
            Database::Sqlite { pool, .. } => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let from = lock_checkpoint_sqlite(&mut tx).await?;
                let events = read_after_sqlite(&mut tx, from, BATCH).await?;
                for event in &events {
                    for sql in project_one(event)? {
                        execute_sqlite(&mut tx, &sql).await?;
                    }
                }
                let last = events.last().map(|e| e.position).unwrap_or(from);
                save_checkpoint_sqlite(&mut tx, last).await?;
                tx.commit().await?;
                (events, last)
            }
            Database::Postgres { pool, .. } => {
                let mut tx = pool.begin().await?;
                let from = lock_checkpoint_postgres(&mut tx, "projection_checkpoints").await?;
                let events = read_after_postgres(&mut tx, from, BATCH).await?;
                for event in &events {
                    for sql in project_one(event)? {
                        execute_postgres(&mut tx, &sql).await?;
                    }
                }
                let last = events.last().map(|e| e.position).unwrap_or(from);
                save_checkpoint_postgres(&mut tx, "projection_checkpoints", last).await?;
                tx.commit().await?;
                (events, last)
            }
        };
        self.position.send_replace(last);
        let count = events.len();
        let _ = self.projected.send(Arc::new(events));
        Ok(count)
    }
}

pub(crate) fn project_one(event: &StoredEvent) -> Result<Vec<crate::sql::Sql>, DatabaseError> {
    let decoded = event.decode()?;
    Ok(crate::project(event, &decoded))
}

/// The read models' checkpoint as stored.
pub async fn checkpoint(db: &Database) -> Result<Position, DatabaseError> {
    const Q: &str =
        "SELECT transaction_id, position FROM projection_checkpoints WHERE name = 'read_models'";
    let row: Option<(i64, i64)> = match db {
        Database::Sqlite { pool, .. } => sqlx::query_as(Q).fetch_optional(pool).await?,
        Database::Postgres { pool, .. } => sqlx::query_as(Q).fetch_optional(pool).await?,
    };
    Ok(row
        .map(|(transaction_id, position)| Position {
            transaction_id,
            position,
        })
        .unwrap_or_default())
}

pub(crate) async fn lock_checkpoint_sqlite(
    conn: &mut sqlx::SqliteConnection,
) -> Result<Position, DatabaseError> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name) VALUES (?) ON CONFLICT (name) DO NOTHING",
    )
    .bind(READ_MODELS)
    .execute(&mut *conn)
    .await?;
    let (transaction_id, position): (i64, i64) = sqlx::query_as(
        "SELECT transaction_id, position FROM projection_checkpoints WHERE name = ?",
    )
    .bind(READ_MODELS)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Position {
        transaction_id,
        position,
    })
}

pub(crate) async fn save_checkpoint_sqlite(
    conn: &mut sqlx::SqliteConnection,
    at: Position,
) -> Result<(), DatabaseError> {
    sqlx::query(
        "UPDATE projection_checkpoints SET transaction_id = ?, position = ? WHERE name = ?",
    )
    .bind(at.transaction_id)
    .bind(at.position)
    .bind(READ_MODELS)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the checkpoint row, so two projectors (two service processes) never interleave.
pub(crate) async fn lock_checkpoint_postgres(
    conn: &mut sqlx::PgConnection,
    table: &str,
) -> Result<Position, DatabaseError> {
    sqlx::query(&format!(
        "INSERT INTO {table} (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
    ))
    .bind(READ_MODELS)
    .execute(&mut *conn)
    .await?;
    let (transaction_id, position): (i64, i64) = sqlx::query_as(&format!(
        "SELECT transaction_id, position FROM {table} WHERE name = $1 FOR UPDATE"
    ))
    .bind(READ_MODELS)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Position {
        transaction_id,
        position,
    })
}

pub(crate) async fn save_checkpoint_postgres(
    conn: &mut sqlx::PgConnection,
    table: &str,
    at: Position,
) -> Result<(), DatabaseError> {
    sqlx::query(&format!(
        "UPDATE {table} SET transaction_id = $1, position = $2 WHERE name = $3"
    ))
    .bind(at.transaction_id)
    .bind(at.position)
    .bind(READ_MODELS)
    .execute(conn)
    .await?;
    Ok(())
}

/// A checkpoint of a follower other than the read models (such as the job planner), which
/// keeps its own place in the log.
pub async fn named_checkpoint(db: &Database, name: &str) -> Result<Position, DatabaseError> {
    let row: Option<(i64, i64)> = match db {
        Database::Sqlite { pool, .. } => {
            sqlx::query_as(
                "SELECT transaction_id, position FROM projection_checkpoints WHERE name = ?",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        }
        Database::Postgres { pool, .. } => {
            sqlx::query_as(
                "SELECT transaction_id, position FROM projection_checkpoints WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        }
    };
    Ok(row
        .map(|(transaction_id, position)| Position {
            transaction_id,
            position,
        })
        .unwrap_or_default())
}

/// Moves a named checkpoint forward to `at`; never backwards, so two processes following
/// the log at once cannot undo each other's progress.
pub async fn advance_checkpoint(
    db: &Database,
    name: &str,
    at: Position,
) -> Result<(), DatabaseError> {
    match db {
        Database::Sqlite { pool, .. } => {
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, transaction_id, position) VALUES (?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
                   position = excluded.position
                 WHERE (excluded.transaction_id, excluded.position)
                     > (projection_checkpoints.transaction_id, projection_checkpoints.position)",
            )
            .bind(name)
            .bind(at.transaction_id)
            .bind(at.position)
            .execute(pool)
            .await?;
        }
        Database::Postgres { pool, .. } => {
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, transaction_id, position) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,
                   position = excluded.position
                 WHERE (excluded.transaction_id, excluded.position)
                     > (projection_checkpoints.transaction_id, projection_checkpoints.position)",
            )
            .bind(name)
            .bind(at.transaction_id)
            .bind(at.position)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}
