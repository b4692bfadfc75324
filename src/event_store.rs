//! Executing commands against the event store (cqrs-es with sqlite-es or postgres-es).
//!
//! One aggregate's commands go through one in-process queue (a lock striped by aggregate id),
//! so commands within this process never race; a conflict with another process (a worker) is
//! retried on fresh state. After an append the caller can wait until the read models include
//! the new events, so a mutation's response reflects what it did.

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventStore as _};
use packet_run_projections::{Database, Position, ProjectorHandle};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;
use tokio::sync::Mutex;

const LOCK_STRIPES: usize = 256;
const CONFLICT_RETRIES: u32 = 10;
/// How long a mutation waits for the read models to include its events before answering.
pub const READ_YOUR_WRITES_BOUND: Duration = Duration::from_secs(5);

/// How often an aggregate's state is saved as a snapshot, so that loading it does not read
/// its whole history. Terminals gain events with every packet that passes and presence that
/// comes and goes; without snapshots a busy terminal's commands slowed to ~100 ms at 10,000
/// events (`cargo bench --bench aggregate_load`). Runs and addresses stay short.
pub trait SnapshotPolicy {
    const SNAPSHOT_EVERY: Option<usize> = None;
}

impl SnapshotPolicy for packet_run_domain::Run {}
impl SnapshotPolicy for packet_run_domain::Address {}
impl SnapshotPolicy for packet_run_domain::Terminal {
    const SNAPSHOT_EVERY: Option<usize> = Some(100);
}

fn persisted_store<R: PersistedEventRepository, A: Aggregate + SnapshotPolicy>(
    repo: R,
) -> PersistedEventStore<R, A> {
    match A::SNAPSHOT_EVERY {
        Some(every) => PersistedEventStore::new_snapshot_store(repo, every),
        None => PersistedEventStore::new_event_store(repo),
    }
}

/// The outcome of an accepted command.
#[derive(Debug)]
pub struct Committed<A: Aggregate> {
    /// The aggregate's state after the command.
    pub state: A,
    /// The events it recorded (none for a command that changed nothing).
    pub events: Vec<A::Event>,
    /// Where the last of them stands in the log.
    pub position: Option<Position>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command; its message is for the user.
    #[error("{0}")]
    Rejected(E),
    #[error("{aggregate} {id} kept changing under this command; try again")]
    Conflict { aggregate: &'static str, id: String },
    #[error("the event store failed: {0}")]
    Store(String),
}

pub struct EventStore {
    db: Database,
    locks: Vec<Mutex<()>>,
    projector: Option<ProjectorHandle>,
}

impl EventStore {
    pub fn new(db: Database, projector: Option<ProjectorHandle>) -> Self {
        EventStore {
            db,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            projector,
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn projector(&self) -> Option<&ProjectorHandle> {
        self.projector.as_ref()
    }

    fn lock_for(&self, aggregate_type: &str, id: &str) -> &Mutex<()> {
        let mut hasher = DefaultHasher::new();
        (aggregate_type, id).hash(&mut hasher);
        &self.locks[hasher.finish() as usize % LOCK_STRIPES]
    }

    /// Loads the aggregate, lets it handle the command and appends what it recorded.
    pub async fn execute<A>(
        &self,
        id: &str,
        command: A::Command,
        services: &A::Services,
    ) -> Result<Committed<A>, CommandError<A::Error>>
    where
        A: Aggregate + Clone + SnapshotPolicy,
        A::Command: Clone,
    {
        let _queue = self.lock_for(A::TYPE, id).lock().await;
        let mut attempt = 0;
        loop {
            let result = match &self.db {
                Database::Sqlite { pool, .. } => {
                    handle_and_append::<_, A>(
                        SqliteEventRepository::new(pool.clone()),
                        id,
                        command.clone(),
                        services,
                    )
                    .await
                }
                Database::Postgres { pool, .. } => {
                    handle_and_append::<_, A>(
                        PostgresEventRepository::new(pool.clone()),
                        id,
                        command.clone(),
                        services,
                    )
                    .await
                }
            };
            match result {
                Ok((state, events)) => {
                    let position = if events.is_empty() {
                        None
                    } else {
                        if let Some(projector) = &self.projector {
                            projector.notify();
                        }
                        self.db
                            .last_position_of(A::TYPE, id)
                            .await
                            .map_err(|e| CommandError::Store(e.to_string()))?
                    };
                    return Ok(Committed {
                        state,
                        events,
                        position,
                    });
                }
                Err(AggregateError::UserError(e)) => return Err(CommandError::Rejected(e)),
                Err(AggregateError::AggregateConflict) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    // Another process appended to this aggregate first: back off a little, reload.
                    let jitter = rand::random::<u64>() % (5 * attempt as u64 + 1);
                    tokio::time::sleep(Duration::from_millis(2 * attempt as u64 + jitter)).await;
                }
                Err(AggregateError::AggregateConflict) => {
                    return Err(CommandError::Conflict {
                        aggregate: A::TYPE,
                        id: id.to_string(),
                    })
                }
                Err(e) => return Err(CommandError::Store(e.to_string())),
            }
        }
    }

    /// The aggregate's current state, straight from its events.
    pub async fn load<A>(&self, id: &str) -> Result<A, CommandError<A::Error>>
    where
        A: Aggregate + Clone + SnapshotPolicy,
    {
        let loaded = match &self.db {
            Database::Sqlite { pool, .. } => {
                load::<_, A>(SqliteEventRepository::new(pool.clone()), id).await
            }
            Database::Postgres { pool, .. } => {
                load::<_, A>(PostgresEventRepository::new(pool.clone()), id).await
            }
        };
        loaded.map_err(|e| CommandError::Store(e.to_string()))
    }

    /// Waits (bounded) until the read models include `position`. Without a projector in this
    /// process it returns at once.
    pub async fn wait_for_read_models(&self, position: Option<Position>) {
        if let (Some(projector), Some(position)) = (&self.projector, position) {
            if !projector.wait_for(position, READ_YOUR_WRITES_BOUND).await {
                tracing::warn!(%position, "read models did not catch up within the bound; answering anyway");
            }
        }
    }
}

async fn handle_and_append<R, A>(
    repo: R,
    id: &str,
    command: A::Command,
    services: &A::Services,
) -> Result<(A, Vec<A::Event>), AggregateError<A::Error>>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone + SnapshotPolicy,
{
    let store = persisted_store::<R, A>(repo);
    let context = store.load_aggregate(id).await?;
    // Handle on a copy: the sink applies events to it, and a snapshot commit applies them to
    // the context's own aggregate, which must still be the state before the command.
    let mut state = context.aggregate.clone();
    let sink = EventSink::default();
    state
        .handle(command, services, &sink)
        .await
        .map_err(AggregateError::UserError)?;
    let events = sink.collect().await;
    if !events.is_empty() {
        store
            .commit(events.clone(), context, HashMap::new())
            .await?;
    }
    Ok((state, events))
}

async fn load<R, A>(repo: R, id: &str) -> Result<A, AggregateError<A::Error>>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone + SnapshotPolicy,
{
    let store = persisted_store::<R, A>(repo);
    Ok(store.load_aggregate(id).await?.aggregate)
}
