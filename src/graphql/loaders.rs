//! Batched reads for the resolvers: however many terminals, runs and hops a selection touches,
//! each kind of row costs one query per level of the selection.

use crate::read_models::{
    fetch_all, placeholders, AddressRow, ConnectionRow, PresenceRow, RunHopRow, RunRow,
    TerminalRow, TracerouteHopRow, RUN_COLUMNS,
};
use async_graphql::dataloader::Loader;
use packet_run_projections::sql::Arg;
use packet_run_projections::Database;
use std::collections::HashMap;
use std::sync::Arc;

/// One loader over the read models; each key type is one kind of batched read.
pub struct ReadModels {
    pub db: Database,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TerminalById(pub i64);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TerminalByRun(pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConnectionsFrom(pub i64);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConnectionsTo(pub i64);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PresencesOf(pub i64);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RunById(pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HopsOf(pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TracerouteHopsOf(pub String);
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AddressByIp(pub String);

type LoadError = Arc<packet_run_projections::DatabaseError>;

fn ints(keys: impl Iterator<Item = i64>) -> Vec<Arg> {
    keys.map(Arg::Int).collect()
}

fn texts<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<Arg> {
    keys.map(|k| Arg::Text(k.clone())).collect()
}

fn group<K: std::hash::Hash + Eq, R>(rows: Vec<R>, key: impl Fn(&R) -> K) -> HashMap<K, Vec<R>> {
    let mut out: HashMap<K, Vec<R>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}

impl Loader<TerminalById> for ReadModels {
    type Value = TerminalRow;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[TerminalById],
    ) -> Result<HashMap<TerminalById, TerminalRow>, LoadError> {
        let sql = format!(
            "SELECT * FROM terminals WHERE id IN ({})",
            placeholders(keys.len())
        );
        let rows: Vec<TerminalRow> =
            fetch_all(&self.db, &sql, &ints(keys.iter().map(|k| k.0))).await?;
        Ok(rows.into_iter().map(|r| (TerminalById(r.id), r)).collect())
    }
}

impl Loader<TerminalByRun> for ReadModels {
    type Value = TerminalRow;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[TerminalByRun],
    ) -> Result<HashMap<TerminalByRun, TerminalRow>, LoadError> {
        let sql = format!(
            "SELECT * FROM terminals WHERE run_id IN ({}) ORDER BY id",
            placeholders(keys.len())
        );
        let rows: Vec<TerminalRow> =
            fetch_all(&self.db, &sql, &texts(keys.iter().map(|k| &k.0))).await?;
        let mut out = HashMap::new();
        for row in rows {
            if let Some(run) = row.run_id.clone() {
                out.entry(TerminalByRun(run)).or_insert(row);
            }
        }
        Ok(out)
    }
}

impl Loader<ConnectionsFrom> for ReadModels {
    type Value = Vec<ConnectionRow>;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[ConnectionsFrom],
    ) -> Result<HashMap<ConnectionsFrom, Vec<ConnectionRow>>, LoadError> {
        let sql = format!(
            "SELECT from_id, slot, to_id FROM terminal_connections WHERE from_id IN ({}) ORDER BY from_id, slot",
            placeholders(keys.len())
        );
        let rows = fetch_all(&self.db, &sql, &ints(keys.iter().map(|k| k.0))).await?;
        Ok(group(rows, |r: &ConnectionRow| ConnectionsFrom(r.from_id)))
    }
}

impl Loader<ConnectionsTo> for ReadModels {
    type Value = Vec<ConnectionRow>;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[ConnectionsTo],
    ) -> Result<HashMap<ConnectionsTo, Vec<ConnectionRow>>, LoadError> {
        let sql = format!(
            "SELECT from_id, slot, to_id FROM terminal_connections WHERE to_id IN ({}) ORDER BY to_id, from_id, slot",
            placeholders(keys.len())
        );
        let rows = fetch_all(&self.db, &sql, &ints(keys.iter().map(|k| k.0))).await?;
        Ok(group(rows, |r: &ConnectionRow| ConnectionsTo(r.to_id)))
    }
}

impl Loader<PresencesOf> for ReadModels {
    type Value = Vec<PresenceRow>;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[PresencesOf],
    ) -> Result<HashMap<PresencesOf, Vec<PresenceRow>>, LoadError> {
        let sql = format!(
            "SELECT * FROM presences WHERE terminal_id IN ({}) ORDER BY id",
            placeholders(keys.len())
        );
        let rows = fetch_all(&self.db, &sql, &ints(keys.iter().map(|k| k.0))).await?;
        Ok(group(rows, |r: &PresenceRow| PresencesOf(r.terminal_id)))
    }
}

impl Loader<RunById> for ReadModels {
    type Value = RunRow;
    type Error = LoadError;
    async fn load(&self, keys: &[RunById]) -> Result<HashMap<RunById, RunRow>, LoadError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE id IN ({})",
            placeholders(keys.len())
        );
        let rows: Vec<RunRow> =
            fetch_all(&self.db, &sql, &texts(keys.iter().map(|k| &k.0))).await?;
        Ok(rows
            .into_iter()
            .map(|r| (RunById(r.id.clone()), r))
            .collect())
    }
}

impl Loader<HopsOf> for ReadModels {
    type Value = Vec<RunHopRow>;
    type Error = LoadError;
    async fn load(&self, keys: &[HopsOf]) -> Result<HashMap<HopsOf, Vec<RunHopRow>>, LoadError> {
        let sql = format!(
            "SELECT * FROM run_hops WHERE run_id IN ({}) ORDER BY hop, id",
            placeholders(keys.len())
        );
        let rows = fetch_all(&self.db, &sql, &texts(keys.iter().map(|k| &k.0))).await?;
        Ok(group(rows, |r: &RunHopRow| HopsOf(r.run_id.clone())))
    }
}

impl Loader<TracerouteHopsOf> for ReadModels {
    type Value = Vec<TracerouteHopRow>;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[TracerouteHopsOf],
    ) -> Result<HashMap<TracerouteHopsOf, Vec<TracerouteHopRow>>, LoadError> {
        let sql = format!(
            "SELECT * FROM traceroute_hops WHERE run_id IN ({}) ORDER BY hop",
            placeholders(keys.len())
        );
        let rows = fetch_all(&self.db, &sql, &texts(keys.iter().map(|k| &k.0))).await?;
        Ok(group(rows, |r: &TracerouteHopRow| {
            TracerouteHopsOf(r.run_id.clone())
        }))
    }
}

impl Loader<AddressByIp> for ReadModels {
    type Value = AddressRow;
    type Error = LoadError;
    async fn load(
        &self,
        keys: &[AddressByIp],
    ) -> Result<HashMap<AddressByIp, AddressRow>, LoadError> {
        let sql = format!(
            "SELECT * FROM addresses WHERE ip IN ({})",
            placeholders(keys.len())
        );
        let rows: Vec<AddressRow> =
            fetch_all(&self.db, &sql, &texts(keys.iter().map(|k| &k.0))).await?;
        Ok(rows
            .into_iter()
            .map(|r| (AddressByIp(r.ip.clone()), r))
            .collect())
    }
}
