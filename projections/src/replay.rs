//! Rebuilding every read model from the event log. The new tables are filled on the side (a
//! separate SQLite file, or a separate PostgreSQL schema) and copied over the live ones in one
//! transaction at the end, so a replay that fails or is killed leaves the old read models intact.

use crate::database::{Database, DatabaseError, POSTGRES_READ_MODELS_DDL, SQLITE_READ_MODELS_DDL};
use crate::event_log::Position;
use crate::projector::{
    lock_checkpoint_postgres, lock_checkpoint_sqlite, project_one, save_checkpoint_postgres,
    save_checkpoint_sqlite,
};
use crate::sql::{execute_postgres, execute_sqlite};
use crate::READ_MODEL_TABLES;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::time::{Duration, Instant};

const BATCH: i64 = 5_000;
const REPLAY_SCHEMA: &str = "packet_run_replay";

#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub events: u64,
    pub elapsed: Duration,
    pub position: Position,
}

impl ReplayReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Rebuilds the read models; `progress(done, total)` is called after every batch.
pub async fn replay(
    db: &Database,
    mut progress: impl FnMut(u64, u64),
) -> Result<ReplayReport, DatabaseError> {
    let started = Instant::now();
    let total = db.event_count().await? as u64;
    let (events, position) = match db {
        Database::Sqlite { pool, path } => {
            let side = path.with_extension("replay.db");
            remove_sqlite_files(&side);
            let options = SqliteConnectOptions::new()
                .filename(&side)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Off);
            let mut target = SqliteConnection::connect_with(&options).await?;
            sqlx::raw_sql(SQLITE_READ_MODELS_DDL)
                .execute(&mut target)
                .await?;
            let (mut done, mut at) = (0u64, Position::default());
            loop {
                let events = db.events_after(at, BATCH).await?;
                let Some(last) = events.last() else { break };
                at = last.position;
                let mut tx = target.begin().await?;
                for event in &events {
                    for sql in project_one(event)? {
                        execute_sqlite(&mut tx, &sql).await?;
                    }
                }
                tx.commit().await?;
                done += events.len() as u64;
                progress(done, total.max(done));
            }
            target.close().await?;

            let mut live = pool.acquire().await?.detach();
            sqlx::query("ATTACH DATABASE ? AS replay")
                .bind(side.to_string_lossy().to_string())
                .execute(&mut live)
                .await?;
            let swapped = async {
                let mut tx = live.begin_with("BEGIN IMMEDIATE").await?;
                lock_checkpoint_sqlite(&mut tx).await?;
                for table in READ_MODEL_TABLES {
                    sqlx::query(&format!("DELETE FROM main.{table}"))
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(&format!(
                        "INSERT INTO main.{table} SELECT * FROM replay.{table}"
                    ))
                    .execute(&mut *tx)
                    .await?;
                }
                save_checkpoint_sqlite(&mut tx, at).await?;
                tx.commit().await?;
                Ok::<_, DatabaseError>(())
            }
            .await;
            let _ = sqlx::query("DETACH DATABASE replay")
                .execute(&mut live)
                .await;
            let _ = live.close().await;
            remove_sqlite_files(&side);
            swapped?;
            (done, at)
        }
        Database::Postgres { pool, .. } => {
            let mut target = pool.acquire().await?.detach();
            sqlx::raw_sql(&format!(
                "DROP SCHEMA IF EXISTS {REPLAY_SCHEMA} CASCADE; CREATE SCHEMA {REPLAY_SCHEMA}; SET search_path TO {REPLAY_SCHEMA};"
            ))
            .execute(&mut target)
            .await?;
            sqlx::raw_sql(POSTGRES_READ_MODELS_DDL)
                .execute(&mut target)
                .await?;
            let (mut done, mut at) = (0u64, Position::default());
            loop {
                let events = db.events_after(at, BATCH).await?;
                let Some(last) = events.last() else { break };
                at = last.position;
                let mut tx = target.begin().await?;
                for event in &events {
                    for sql in project_one(event)? {
                        execute_postgres(&mut tx, &sql).await?;
                    }
                }
                tx.commit().await?;
                done += events.len() as u64;
                progress(done, total.max(done));
            }
            let mut tx = target.begin().await?;
            lock_checkpoint_postgres(&mut tx, "public.projection_checkpoints").await?;
            for table in READ_MODEL_TABLES {
                sqlx::query(&format!("DELETE FROM public.{table}"))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(&format!(
                    "INSERT INTO public.{table} SELECT * FROM {REPLAY_SCHEMA}.{table}"
                ))
                .execute(&mut *tx)
                .await?;
            }
            save_checkpoint_postgres(&mut tx, "public.projection_checkpoints", at).await?;
            tx.commit().await?;
            sqlx::raw_sql(&format!("DROP SCHEMA {REPLAY_SCHEMA} CASCADE"))
                .execute(&mut target)
                .await?;
            target.close().await?;
            (done, at)
        }
    };
    Ok(ReplayReport {
        events,
        elapsed: started.elapsed(),
        position,
    })
}

fn remove_sqlite_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
