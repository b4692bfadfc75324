//! The one database the service uses: an SQLite file (the embedded default) or PostgreSQL.
//! The event store, the checkpoints and the read models live in it together, so a projector
//! can write read-model rows and its checkpoint in one transaction.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Database {
    Sqlite { pool: SqlitePool, path: PathBuf },
    Postgres { pool: PgPool, url: String },
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("DATABASE_URL {0:?} is not supported: use sqlite://PATH (e.g. sqlite://data/packet-run.db) or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("cannot create the folder {path} for the database: {source}")]
    CreateFolder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "event {position} ({aggregate_type} {event_type} v{version}) cannot be read: {reason}"
    )]
    Decode {
        position: String,
        aggregate_type: String,
        event_type: String,
        version: String,
        reason: String,
    },
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The read-model tables' DDL, also used to build fresh tables for a replay.
pub const SQLITE_READ_MODELS_DDL: &str =
    include_str!("../../migrations/sqlite/0002_read_models.sql");
pub const POSTGRES_READ_MODELS_DDL: &str =
    include_str!("../../migrations/postgres/0002_read_models.sql");

impl Database {
    /// Opens (and for SQLite creates, with its folder) the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = PathBuf::from(path.split('?').next().unwrap_or(path));
            Self::connect_sqlite(&path).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|source| DatabaseError::Connect {
                    url: url.to_string(),
                    source,
                })?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|source| DatabaseError::Connect {
                    url: url.to_string(),
                    source,
                })?;
            Ok(Database::Postgres {
                pool,
                url: url.to_string(),
            })
        } else {
            Err(DatabaseError::UnsupportedUrl(url.to_string()))
        }
    }

    pub async fn connect_sqlite(path: &Path) -> Result<Self, DatabaseError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| DatabaseError::CreateFolder {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged command survives a power cut, not only a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(15))
            .foreign_keys(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(20))
            .connect_with(options)
            .await
            .map_err(|source| DatabaseError::Connect {
                url: format!("sqlite://{}", path.display()),
                source,
            })?;
        Ok(Database::Sqlite {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// Applies the migrations that have not been applied yet.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        match self {
            Database::Sqlite { pool, .. } => SQLITE_MIGRATIONS.run(pool).await?,
            Database::Postgres { pool, .. } => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Database::Postgres { .. })
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        match self {
            Database::Sqlite { pool, .. } => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
            Database::Postgres { pool, .. } => {
                sqlx::query("SELECT 1").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite { pool, .. } => pool.close().await,
            Database::Postgres { pool, .. } => pool.close().await,
        }
    }
}
