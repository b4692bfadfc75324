//! The job planner: a process manager that follows the event log from its own checkpoint and
//! enqueues the jobs events call for. Each job's id is derived from the event's position, so
//! reading an event twice (after a crash between enqueueing and saving the checkpoint, or in
//! two processes at once) never enqueues its jobs twice. While Redis is away the checkpoint
//! stays put and the jobs are enqueued when it is back.

use crate::queue::{JobKind, NewJob, Queue};
use packet_run_domain::RunEvent;
use packet_run_projections::projector::{advance_checkpoint, named_checkpoint};
use packet_run_projections::{Database, DecodedEvent, Position, StoredEvent};
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;

/// The planner's name in `projection_checkpoints`.
pub const CHECKPOINT: &str = "job_planner";
const BATCH: i64 = 200;

/// The jobs one event calls for.
pub fn jobs_for(event: &StoredEvent) -> Vec<NewJob> {
    let Ok(DecodedEvent::Run(run_event)) = event.decode() else {
        return Vec::new();
    };
    let key = |kind: JobKind| format!("{}-{}", event.position.position, kind.name());
    let run_id = &event.aggregate_id;
    match run_event {
        RunEvent::RunCreated { .. } => vec![
            NewJob {
                id: key(JobKind::Traceroute),
                kind: JobKind::Traceroute,
                data: json!({ "runId": run_id }),
            },
            NewJob {
                id: key(JobKind::Screenshot),
                kind: JobKind::Screenshot,
                data: json!({ "runId": run_id }),
            },
        ],
        RunEvent::OriginRecorded { address, .. }
        | RunEvent::TracerouteHopRecorded {
            address: Some(address),
            ..
        }
        | RunEvent::DestinationResolved { address, .. } => vec![NewJob {
            id: key(JobKind::Metadata),
            kind: JobKind::Metadata,
            data: json!({ "ip": address }),
        }],
        _ => Vec::new(),
    }
}

/// Follows the log until `shutdown`. `woken` (the projector's progress, when this process
/// has one) wakes it at once; otherwise it looks every 250 ms.
pub async fn follow(
    db: Database,
    queue: Queue,
    mut woken: Option<watch::Receiver<Position>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        match step(&db, &queue).await {
            Ok(true) => {
                if failing {
                    tracing::info!("job queue reachable again; queued the jobs that waited");
                    failing = false;
                }
                continue;
            }
            Ok(false) => {}
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "jobs wait for the queue; they will be queued when it is back");
                    failing = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => return,
                }
                continue;
            }
        }
        let idle = tokio::time::sleep(Duration::from_millis(250));
        tokio::select! {
            _ = idle => {}
            _ = async { match woken.as_mut() { Some(w) => { let _ = w.changed().await; } None => std::future::pending().await } } => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One batch: read, enqueue, save the checkpoint. `Ok(true)` when there may be more.
async fn step(db: &Database, queue: &Queue) -> Result<bool, String> {
    let from = named_checkpoint(db, CHECKPOINT)
        .await
        .map_err(|e| e.to_string())?;
    let events = db
        .events_after(from, BATCH)
        .await
        .map_err(|e| e.to_string())?;
    let Some(last) = events.last().map(|e| e.position) else {
        return Ok(false);
    };
    let jobs: Vec<NewJob> = events.iter().flat_map(jobs_for).collect();
    if !jobs.is_empty() {
        queue.enqueue(&jobs).await.map_err(|e| e.to_string())?;
    }
    advance_checkpoint(db, CHECKPOINT, last)
        .await
        .map_err(|e| e.to_string())?;
    Ok(events.len() as i64 == BATCH)
}
