//! Who must hear about what. After each projected batch, the hub works out which terminals and
//! runs the batch touched and wakes the subscriptions of exactly those, one broadcast channel
//! per subject; subscriptions then read the fresh state from the read models.

use crate::read_models::{fetch_all, placeholders};
use packet_run_projections::sql::Arg;
use packet_run_projections::{Database, ProjectorHandle, StoredEvent};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

type Channels<K> = Mutex<HashMap<K, broadcast::Sender<()>>>;

pub struct Hub {
    db: Database,
    projector: ProjectorHandle,
    all_terminals: broadcast::Sender<()>,
    jobs: broadcast::Sender<()>,
    terminals: Channels<i64>,
    runs: Channels<String>,
}

fn subscribe<K: std::hash::Hash + Eq>(channels: &Channels<K>, key: K) -> broadcast::Receiver<()> {
    let mut map = channels.lock().expect("hub lock");
    map.entry(key)
        .or_insert_with(|| broadcast::channel(16).0)
        .subscribe()
}

fn notify<K: std::hash::Hash + Eq>(channels: &Channels<K>, key: &K) {
    let mut map = channels.lock().expect("hub lock");
    if let Some(sender) = map.get(key) {
        if sender.send(()).is_err() {
            map.remove(key); // nobody listens any more
        }
    }
}

impl Hub {
    pub fn new(db: Database, projector: ProjectorHandle) -> Arc<Hub> {
        Arc::new(Hub {
            db,
            projector,
            all_terminals: broadcast::channel(16).0,
            jobs: broadcast::channel(16).0,
            terminals: Mutex::default(),
            runs: Mutex::default(),
        })
    }

    pub fn all_terminals(&self) -> broadcast::Receiver<()> {
        self.all_terminals.subscribe()
    }

    pub fn terminal(&self, id: i64) -> broadcast::Receiver<()> {
        subscribe(&self.terminals, id)
    }

    pub fn run(&self, id: &str) -> broadcast::Receiver<()> {
        subscribe(&self.runs, id.to_string())
    }

    pub fn jobs(&self) -> broadcast::Receiver<()> {
        self.jobs.subscribe()
    }

    pub fn projected(&self) -> broadcast::Receiver<Arc<Vec<StoredEvent>>> {
        self.projector.projected()
    }

    /// Something changed outside the event log (a screen's `lastSeenAt`).
    pub fn terminals_changed(&self, ids: &[i64]) {
        for id in ids {
            notify(&self.terminals, id);
        }
        let _ = self.all_terminals.send(());
    }

    pub fn jobs_changed(&self) {
        let _ = self.jobs.send(());
    }

    /// Follows the projector until it stops.
    pub async fn run_forever(self: Arc<Self>) {
        let mut batches = self.projector.projected();
        loop {
            match batches.recv().await {
                Ok(batch) => {
                    if let Err(error) = self.route(&batch).await {
                        tracing::warn!(%error, "working out whom to notify failed; notifying everyone");
                        self.notify_everyone();
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.notify_everyone(),
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn notify_everyone(&self) {
        let terminals: Vec<i64> = self
            .terminals
            .lock()
            .expect("hub lock")
            .keys()
            .copied()
            .collect();
        let runs: Vec<String> = self
            .runs
            .lock()
            .expect("hub lock")
            .keys()
            .cloned()
            .collect();
        terminals.iter().for_each(|t| notify(&self.terminals, t));
        runs.iter().for_each(|r| notify(&self.runs, r));
        let _ = self.all_terminals.send(());
    }

    async fn route(
        &self,
        batch: &[StoredEvent],
    ) -> Result<(), packet_run_projections::DatabaseError> {
        let mut terminals: BTreeSet<i64> = BTreeSet::new();
        let mut runs: BTreeSet<String> = BTreeSet::new();
        let mut ips: BTreeSet<String> = BTreeSet::new();
        for event in batch {
            match event.aggregate_type.as_str() {
                "Terminal" => drop(event.aggregate_id.parse().map(|id| terminals.insert(id))),
                "Run" => drop(runs.insert(event.aggregate_id.clone())),
                "Address" => drop(ips.insert(event.aggregate_id.clone())),
                _ => {}
            }
        }
        if !ips.is_empty() {
            // New metadata shows on every run whose route or offers pass the address.
            let n = placeholders(ips.len());
            let sql = format!(
                "SELECT run_id FROM run_hops WHERE address_ip IN ({n}) UNION SELECT run_id FROM traceroute_hops WHERE address_ip IN ({n})"
            );
            let args: Vec<Arg> = ips
                .iter()
                .chain(ips.iter())
                .map(|ip| Arg::Text(ip.clone()))
                .collect();
            let rows: Vec<(String,)> = fetch_all(&self.db, &sql, &args).await?;
            runs.extend(rows.into_iter().map(|(r,)| r));
        }
        if !runs.is_empty() {
            let sql = format!(
                "SELECT id FROM terminals WHERE run_id IN ({})",
                placeholders(runs.len())
            );
            let args: Vec<Arg> = runs.iter().map(|r| Arg::Text(r.clone())).collect();
            let rows: Vec<(i64,)> = fetch_all(&self.db, &sql, &args).await?;
            terminals.extend(rows.into_iter().map(|(t,)| t));
        }
        terminals.iter().for_each(|t| notify(&self.terminals, t));
        runs.iter().for_each(|r| notify(&self.runs, r));
        let _ = self.all_terminals.send(());
        Ok(())
    }
}
