//! Packet Run's read models and the projector that fills them from the event log.
//!
//! Every event has a global [`Position`]. The projector reads events after its stored checkpoint,
//! turns each into SQL with the small functions of the read-model modules, and writes the rows
//! and the new checkpoint in one transaction: a crash at any moment leaves the read models at
//! some checkpoint, and the projector catches up from there on the next start.

pub mod database;
pub mod dump;
pub mod event_log;
pub mod projector;
pub mod replay;
pub mod sql;

mod addresses;
mod presences;
mod run_hops;
mod runs;
mod terminal_connections;
mod terminals;
mod traceroute_hops;

pub use database::{Database, DatabaseError};
pub use event_log::{DecodedEvent, Position, StoredEvent};
pub use projector::{Projector, ProjectorHandle};

/// Every read-model table, in the order replay copies them.
pub const READ_MODEL_TABLES: [&str; 7] = [
    "terminals",
    "terminal_connections",
    "presences",
    "runs",
    "run_hops",
    "traceroute_hops",
    "addresses",
];

/// All SQL one event causes, from every read model.
pub fn project(event: &StoredEvent, decoded: &DecodedEvent) -> Vec<sql::Sql> {
    let mut out = Vec::new();
    terminals::project(event, decoded, &mut out);
    terminal_connections::project(event, decoded, &mut out);
    presences::project(event, decoded, &mut out);
    runs::project(event, decoded, &mut out);
    run_hops::project(event, decoded, &mut out);
    traceroute_hops::project(event, decoded, &mut out);
    addresses::project(event, decoded, &mut out);
    out
}

/// Times are stored and served as ISO-8601 UTC with milliseconds, as the API spells them.
pub fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
