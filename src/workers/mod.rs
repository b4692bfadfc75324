//! The slow work: the job planner that turns events into jobs, and the workers that run
//! them and record their results as events.

pub mod metadata;
pub mod planner;
pub mod runner;
pub mod screenshot;
pub mod traceroute;

use crate::app::App;
use crate::configuration::Settings;
use crate::ip_metadata::IpRegistry;
use crate::notifications::Hub;
use crate::queue::board::JobBoard;
use crate::queue::{JobKind, Queue};
use crate::resolver::TargetResolver;
use packet_run_projections::Position;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The run a traceroute or screenshot job is for.
fn run_id(job: &crate::queue::Delivery) -> Result<String, String> {
    job.data["runId"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("job {} names no run: {}", job.id, job.data))
}

/// Records a job's result on its run.
async fn record(
    app: &App,
    run_id: &str,
    command: packet_run_domain::RunCommand,
) -> Result<(), String> {
    app.run_command(run_id, command)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Connects to the queue, waiting as long as it takes; says once that it waits.
pub async fn connect_queue(
    settings: &Settings,
    mut shutdown: watch::Receiver<bool>,
) -> Option<Queue> {
    let mut said = false;
    loop {
        match Queue::connect(&settings.redis_url, &settings.workers.queue_prefix).await {
            Ok(queue) => {
                if said {
                    tracing::info!(url = %settings.redis_url, "job queue reachable");
                }
                return Some(queue);
            }
            Err(error) => {
                if !said {
                    tracing::warn!(%error, "jobs wait until the queue is reachable; GraphQL serves meanwhile");
                    said = true;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return None,
        }
    }
}

/// What `serve` or `worker` runs: the planner always, the workers when `with_workers`, and
/// the dashboard's job board when given one.
pub fn start(
    app: Arc<App>,
    settings: &Settings,
    woken: Option<watch::Receiver<Position>>,
    with_workers: bool,
    board: Option<(Arc<JobBoard>, Arc<Hub>)>,
    shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, String> {
    let handlers = if with_workers {
        Some(handlers(app.clone(), settings)?)
    } else {
        None
    };
    let settings = settings.clone();
    Ok(tokio::spawn(async move {
        let Some(queue) = connect_queue(&settings, shutdown.clone()).await else {
            return;
        };
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(planner::follow(
            app.database().clone(),
            queue.clone(),
            woken,
            shutdown.clone(),
        ));
        if let Some((board, hub)) = board {
            tasks.spawn(board.follow(queue.clone(), hub, shutdown.clone()));
        }
        if let Some(handlers) = handlers {
            tasks.spawn(runner::promote_delayed(queue.clone(), shutdown.clone()));
            for (kind, concurrency, handler) in handlers {
                tasks.spawn(runner::run_jobs(
                    queue.clone(),
                    kind,
                    concurrency,
                    handler,
                    shutdown.clone(),
                ));
            }
            tracing::info!("workers take traceroute, ip-metadata and screenshot jobs");
        }
        while tasks.join_next().await.is_some() {}
    }))
}

type Handlers = Vec<(JobKind, usize, Arc<dyn runner::JobHandler>)>;

fn handlers(app: Arc<App>, settings: &Settings) -> Result<Handlers, String> {
    let w = &settings.workers;
    let resolver = TargetResolver::new(w.dns_server, settings.targets.clone())?;
    if w.metadata.api_key.is_none() {
        tracing::warn!(
            "IPREGISTRY_API_KEY is not set: addresses outside the venue get no owner details"
        );
    }
    let screenshots = screenshot::ScreenshotJob::new(app.clone(), settings, resolver.clone())?;
    Ok(vec![
        (
            JobKind::Traceroute,
            w.traceroute_concurrency,
            Arc::new(traceroute::TracerouteJob {
                app: app.clone(),
                resolver,
                tracer: w.tracer.clone(),
            }),
        ),
        (
            JobKind::Metadata,
            w.metadata_concurrency,
            Arc::new(metadata::MetadataJob {
                app: app.clone(),
                registry: Arc::new(IpRegistry::new(w.metadata.clone())),
            }),
        ),
        (
            JobKind::Screenshot,
            w.screenshot_concurrency,
            Arc::new(screenshots),
        ),
    ])
}
