//! The dashboard's view of the queue: lists jobs for the `jobs` subscription and wakes it
//! whenever any job changes state (from the capped stream of changes, so changes made by
//! workers in other processes arrive too).

use super::{JobInfo, Queue};
use crate::notifications::Hub;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, OnceCell};

/// Jobs listed per state.
const PER_STATE: isize = 200;

#[derive(Default)]
pub struct JobBoard {
    queue: OnceCell<Queue>,
}

impl JobBoard {
    /// The listed jobs; empty while the queue has not been reached.
    pub async fn list(&self) -> Result<Vec<JobInfo>, String> {
        match self.queue.get() {
            Some(queue) => queue.list(PER_STATE).await.map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        }
    }

    /// Follows the changes stream and wakes the subscription; reconnects as needed.
    pub async fn follow(
        self: Arc<Self>,
        queue: Queue,
        hub: Arc<Hub>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let _ = self.queue.set(queue.clone());
        hub.jobs_changed();
        let mut after: Option<String> = None;
        let mut reader = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let step = async {
                if reader.is_none() {
                    reader = Some(queue.reader().await?);
                }
                let from = match &after {
                    Some(a) => a.clone(),
                    None => queue.last_change().await?,
                };
                let (next, changed) = queue
                    .wait_for_changes(
                        reader.as_mut().expect("set above"),
                        &from,
                        Duration::from_secs(2),
                    )
                    .await?;
                after = Some(next);
                Ok::<bool, super::QueueError>(changed)
            };
            let result = tokio::select! {
                result = step => result,
                _ = shutdown.changed() => return,
            };
            match result {
                Ok(true) => hub.jobs_changed(),
                Ok(false) => {}
                Err(_) => {
                    reader = None;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
