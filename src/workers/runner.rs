//! Runs jobs of one kind from the queue, a bounded number at a time, keeping each job's lease
//! while it works and turning its outcome into the queue's next state.

use crate::queue::{Delivery, JobKind, Queue, Refused};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// What a kind of job does. An `Err` is a failed attempt, retried after a back-off.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &Delivery) -> Result<(), String>;

    /// The job has failed for good (its last attempt failed or every worker running it
    /// died): record what the visitor should see.
    async fn give_up(&self, job: &Delivery, reason: &str);
}

/// A worker's name in the consumer group, unique per process and kind.
pub fn consumer_name(kind: JobKind) -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "host".into());
    format!(
        "{host}-{}-{}-{}",
        std::process::id(),
        kind.name(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Takes jobs of `kind` until `shutdown`, at most `concurrency` at once.
pub async fn run_jobs(
    queue: Queue,
    kind: JobKind,
    concurrency: usize,
    handler: Arc<dyn JobHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let consumer = consumer_name(kind);
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut reader = None;
    let mut complained = false;
    // Jobs in flight end with this task: when it is stopped, their leases run out and other
    // workers take them over.
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.expect("semaphore is never closed"),
            _ = shutdown.changed() => break,
        };
        if *shutdown.borrow() {
            break;
        }
        if reader.is_none() {
            match queue.reader().await {
                Ok(r) => reader = Some(r),
                Err(error) => {
                    if !complained {
                        tracing::warn!(%error, kind = kind.name(), "waiting for the job queue");
                        complained = true;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let next = tokio::select! {
            next = queue.next(reader.as_mut().expect("set above"), kind, &consumer, Duration::from_secs(1)) => next,
            _ = shutdown.changed() => break,
        };
        match next {
            Ok(None) | Ok(Some(Err(Refused::Stale))) => {}
            Ok(Some(Err(Refused::Exhausted(job)))) => {
                let reason = format!("the worker stopped during each of {} attempts", job.attempt);
                tracing::error!(job = %job.id, kind = kind.name(), "{reason}");
                handler.give_up(&job, &reason).await;
            }
            Ok(Some(Ok(job))) => {
                complained = false;
                let (queue, handler, consumer) = (queue.clone(), handler.clone(), consumer.clone());
                running.spawn(async move {
                    work(&queue, &*handler, job, &consumer).await;
                    drop(permit);
                });
            }
            Err(error) => {
                if !complained {
                    tracing::warn!(%error, kind = kind.name(), "cannot take jobs; retrying");
                    complained = true;
                }
                reader = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn work(queue: &Queue, handler: &dyn JobHandler, job: Delivery, consumer: &str) {
    tracing::debug!(job = %job.id, kind = job.kind.name(), attempt = job.attempt, "job started");
    let outcome = {
        let handling = handler.handle(&job);
        tokio::pin!(handling);
        let mut lease = tokio::time::interval(queue.lease() / 3);
        lease.tick().await;
        loop {
            tokio::select! {
                outcome = &mut handling => break outcome,
                _ = lease.tick() => {
                    if let Err(error) = queue.refresh_lease(&job, consumer).await {
                        tracing::warn!(%error, job = %job.id, "could not refresh a job's lease");
                    }
                }
            }
        }
    };
    // The outcome must reach Redis, or the job would run again after its lease: keep trying.
    let mut wait = Duration::from_millis(200);
    loop {
        let recorded = match &outcome {
            Ok(()) => queue.complete(&job).await.map(|_| false),
            Err(reason) => queue.fail(&job, reason).await,
        };
        match recorded {
            Ok(failed_for_good) => {
                match &outcome {
                    Ok(()) => tracing::debug!(job = %job.id, "job completed"),
                    Err(reason) if failed_for_good => {
                        tracing::error!(job = %job.id, kind = job.kind.name(), %reason, "job failed after its last attempt");
                        handler.give_up(&job, reason).await;
                    }
                    Err(reason) => {
                        tracing::warn!(job = %job.id, kind = job.kind.name(), attempt = job.attempt, %reason, "job attempt failed; it will be retried")
                    }
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, job = %job.id, "cannot record a job's outcome; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Puts delayed jobs back on their streams when their back-off is over.
pub async fn promote_delayed(queue: Queue, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let _ = queue.promote_due().await;
    }
}
