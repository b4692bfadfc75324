//! The job queue, on Redis Streams.
//!
//! One stream per job kind, read by the consumer group `workers`; an entry a worker has
//! read but not acknowledged is leased to it, and a worker that stops refreshing its lease
//! for [`LEASE`] loses the entry to the next worker that looks (`XAUTOCLAIM`). Failed
//! attempts wait in a sorted set until their back-off is over. Beside the streams, a small
//! index — a hash per job, a sorted set per state and a capped stream of state changes —
//! answers the dashboard's `jobs` subscription with a few cheap reads.

pub mod board;
mod scripts;

use redis::aio::ConnectionManager;
use redis::streams::{StreamReadOptions, StreamReadReply};
use serde_json::Value;
use std::time::Duration;

/// How long a job stays with a worker that no longer refreshes it.
pub const LEASE: Duration = Duration::from_secs(15);
/// Attempts per job, counting deliveries to workers that died.
pub const MAX_ATTEMPTS: u32 = 3;
/// The first retry's wait; each further one doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(2500);
const GROUP: &str = "workers";

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Traceroute,
    Metadata,
    Screenshot,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::Traceroute, JobKind::Metadata, JobKind::Screenshot];

    /// The job's name on the dashboard (and in Redis keys).
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Traceroute => "traceroute",
            JobKind::Metadata => "ip-metadata",
            JobKind::Screenshot => "screenshot",
        }
    }
}

/// A job to enqueue. Its id is its idempotency key: a second enqueue of the same id is a
/// no-op for as long as the job is remembered (a week after it ends).
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: String,
    pub kind: JobKind,
    pub data: Value,
}

/// A job handed to a worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub kind: JobKind,
    pub data: Value,
    /// 1 for the first attempt.
    pub attempt: u32,
    entry: String,
}

/// What became of a delivery that was not to be run.
#[derive(Debug)]
pub enum Refused {
    /// Already finished or replaced by a newer entry.
    Stale,
    /// Its earlier attempts all died with their workers; the job is now failed.
    Exhausted(Delivery),
}

/// A job as the dashboard lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub id: String,
    pub name: String,
    pub status: String,
    pub attempts: u32,
    pub timestamp: Option<i64>,
    pub processed_on: Option<i64>,
    pub finished_on: Option<i64>,
    pub failed_reason: Option<String>,
    pub stacktrace: Vec<String>,
    pub data: String,
}

/// The states the dashboard lists, in its order.
pub const LISTED_STATES: [&str; 4] = ["active", "waiting", "delayed", "failed"];

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("the job queue at {url} is unreachable: {source} (is redis-server running? scripts/ensure-redis starts one)")]
    Unreachable {
        url: String,
        source: redis::RedisError,
    },
    #[error("the job queue failed: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("job {id} holds something unreadable: {reason}")]
    Corrupt { id: String, reason: String },
}

/// A handle on the queue; cheap to clone, reconnects by itself.
#[derive(Clone)]
pub struct Queue {
    url: String,
    prefix: String,
    client: redis::Client,
    conn: ConnectionManager,
    lease: Duration,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Queue {
    /// Connects to `url`; every key starts with `prefix` (one Redis can hold several queues).
    pub async fn connect(url: &str, prefix: &str) -> Result<Queue, QueueError> {
        let unreachable = |source| QueueError::Unreachable {
            url: url.to_string(),
            source,
        };
        let client = redis::Client::open(url).map_err(unreachable)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(10))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unreachable)?;
        let queue = Queue {
            url: url.to_string(),
            prefix: prefix.to_string(),
            client,
            conn,
            lease: LEASE,
        };
        for kind in JobKind::ALL {
            let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(queue.key(&["stream", kind.name()]))
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut queue.conn.clone())
                .await;
            if let Err(e) = created {
                if e.code() != Some("BUSYGROUP") {
                    return Err(e.into());
                }
            }
        }
        Ok(queue)
    }

    /// A shorter (or longer) lease than [`LEASE`].
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn key(&self, parts: &[&str]) -> String {
        format!("{}:{}", self.prefix, parts.join(":"))
    }

    /// Adds the jobs that are not known yet; returns how many were new.
    pub async fn enqueue(&self, jobs: &[NewJob]) -> Result<usize, QueueError> {
        let script = scripts::script(scripts::ENQUEUE);
        let mut added = 0;
        for job in jobs {
            let new: i64 = script
                .arg(&self.prefix)
                .arg(&job.id)
                .arg(job.kind.name())
                .arg(job.data.to_string())
                .arg(now_ms())
                .invoke_async(&mut self.conn.clone())
                .await?;
            added += new as usize;
        }
        Ok(added)
    }

    /// A connection of its own for blocking reads, so they hold up nothing else.
    pub async fn reader(&self) -> Result<redis::aio::MultiplexedConnection, QueueError> {
        Ok(self.client.get_multiplexed_async_connection().await?)
    }

    /// Waits up to `block` for one job of `kind`: first one whose lease ran out, then a new one.
    pub async fn next(
        &self,
        reader: &mut redis::aio::MultiplexedConnection,
        kind: JobKind,
        consumer: &str,
        block: Duration,
    ) -> Result<Option<Result<Delivery, Refused>>, QueueError> {
        let stream = self.key(&["stream", kind.name()]);
        let reclaimed: (String, Vec<StreamEntry>, Vec<String>) = redis::cmd("XAUTOCLAIM")
            .arg(&stream)
            .arg(GROUP)
            .arg(consumer)
            .arg(self.lease.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        let entry = if let Some((entry, fields)) = reclaimed.1.into_iter().next() {
            Some((entry, field(&fields, "id")))
        } else {
            let options = StreamReadOptions::default()
                .group(GROUP, consumer)
                .count(1)
                .block(block.as_millis() as usize);
            let reply: Option<StreamReadReply> =
                redis::AsyncCommands::xread_options(reader, &[&stream], &[">"], &options).await?;
            reply
                .and_then(|r| r.keys.into_iter().next())
                .and_then(|k| k.ids.into_iter().next())
                .map(|e| {
                    let id = e.get::<String>("id");
                    (e.id, id)
                })
        };
        let Some((entry, id)) = entry else {
            return Ok(None);
        };
        let Some(id) = id else {
            self.drop_entry(kind, &entry).await?;
            return Ok(Some(Err(Refused::Stale)));
        };
        self.start(kind, id, entry).await.map(Some)
    }

    async fn start(
        &self,
        kind: JobKind,
        id: String,
        entry: String,
    ) -> Result<Result<Delivery, Refused>, QueueError> {
        let (verdict, attempts, _name, data): (String, u32, String, String) =
            scripts::script(scripts::START)
                .arg(&self.prefix)
                .arg(&id)
                .arg(&entry)
                .arg(now_ms())
                .arg(MAX_ATTEMPTS)
                .invoke_async(&mut self.conn.clone())
                .await?;
        if verdict == "stale" {
            self.drop_entry(kind, &entry).await?;
            return Ok(Err(Refused::Stale));
        }
        let data = serde_json::from_str(&data).map_err(|e| QueueError::Corrupt {
            id: id.clone(),
            reason: e.to_string(),
        })?;
        let delivery = Delivery {
            id,
            kind,
            data,
            attempt: attempts,
            entry,
        };
        Ok(match verdict.as_str() {
            "run" => Ok(delivery),
            _ => Err(Refused::Exhausted(delivery)),
        })
    }

    async fn drop_entry(&self, kind: JobKind, entry: &str) -> Result<(), QueueError> {
        let stream = self.key(&["stream", kind.name()]);
        redis::pipe()
            .cmd("XACK")
            .arg(&stream)
            .arg(GROUP)
            .arg(entry)
            .ignore()
            .cmd("XDEL")
            .arg(&stream)
            .arg(entry)
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Keeps the lease of a job that is still being worked on.
    pub async fn refresh_lease(&self, job: &Delivery, consumer: &str) -> Result<(), QueueError> {
        redis::cmd("XCLAIM")
            .arg(self.key(&["stream", job.kind.name()]))
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&job.entry)
            .arg("JUSTID")
            .query_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub async fn complete(&self, job: &Delivery) -> Result<(), QueueError> {
        scripts::script(scripts::COMPLETE)
            .arg(&self.prefix)
            .arg(&job.id)
            .arg(&job.entry)
            .arg(now_ms())
            .invoke_async::<i64>(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Records a failed attempt. Returns `true` when the job is failed for good, `false` when
    /// it will be tried again after its back-off.
    pub async fn fail(&self, job: &Delivery, reason: &str) -> Result<bool, QueueError> {
        let stack = serde_json::to_string(&reason.lines().collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        let outcome: i64 = scripts::script(scripts::FAIL)
            .arg(&self.prefix)
            .arg(&job.id)
            .arg(&job.entry)
            .arg(now_ms())
            .arg(reason)
            .arg(stack)
            .arg(MAX_ATTEMPTS)
            .arg(FIRST_BACKOFF.as_millis() as u64)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(outcome == 2)
    }

    /// Moves delayed jobs whose back-off is over back onto their streams.
    pub async fn promote_due(&self) -> Result<usize, QueueError> {
        let moved: i64 = scripts::script(scripts::PROMOTE)
            .arg(&self.prefix)
            .arg(now_ms())
            .arg(100)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(moved as usize)
    }

    /// The newest `per_state` jobs of each listed state, in [`LISTED_STATES`] order.
    pub async fn list(&self, per_state: isize) -> Result<Vec<JobInfo>, QueueError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for state in LISTED_STATES {
            pipe.cmd("ZRANGE")
                .arg(self.key(&["state", state]))
                .arg(0)
                .arg(per_state - 1)
                .arg("REV");
        }
        let ids: Vec<Vec<String>> = pipe.query_async(&mut conn).await?;
        let ids: Vec<String> = ids.into_iter().flatten().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.hgetall(self.key(&["job", id]));
        }
        let hashes: Vec<std::collections::HashMap<String, String>> =
            pipe.query_async(&mut conn).await?;
        Ok(ids
            .into_iter()
            .zip(hashes)
            .filter(|(_, h)| !h.is_empty())
            .map(|(id, h)| JobInfo::from_hash(id, &h))
            .collect())
    }

    /// One job, whatever its state (None when unknown or forgotten).
    pub async fn job(&self, id: &str) -> Result<Option<JobInfo>, QueueError> {
        let h: std::collections::HashMap<String, String> =
            redis::AsyncCommands::hgetall(&mut self.conn.clone(), self.key(&["job", id])).await?;
        Ok((!h.is_empty()).then(|| JobInfo::from_hash(id.to_string(), &h)))
    }

    /// Waits up to `block` for state changes after `after` (`$` for "from now"); returns the
    /// id to continue from and whether anything changed.
    pub async fn wait_for_changes(
        &self,
        reader: &mut redis::aio::MultiplexedConnection,
        after: &str,
        block: Duration,
    ) -> Result<(String, bool), QueueError> {
        let options = StreamReadOptions::default()
            .count(100)
            .block(block.as_millis() as usize);
        let reply: Option<StreamReadReply> = redis::AsyncCommands::xread_options(
            reader,
            &[self.key(&["changes"])],
            &[after],
            &options,
        )
        .await?;
        let last = reply
            .and_then(|r| r.keys.into_iter().next())
            .and_then(|k| k.ids.into_iter().last())
            .map(|e| e.id);
        Ok(match last {
            Some(id) => (id, true),
            None => (after.to_string(), false),
        })
    }

    /// The id of the newest state change, to wait for changes after it.
    pub async fn last_change(&self) -> Result<String, QueueError> {
        let newest: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
            .arg(self.key(&["changes"]))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(newest
            .into_iter()
            .next()
            .map(|(id, _)| id)
            .unwrap_or_else(|| "0-0".into()))
    }
}

/// A stream entry as XAUTOCLAIM returns it: its id and its fields.
type StreamEntry = (String, Vec<(String, String)>);

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

impl JobInfo {
    fn from_hash(id: String, h: &std::collections::HashMap<String, String>) -> JobInfo {
        let number = |k: &str| {
            h.get(k)
                .and_then(|v| v.parse::<f64>().ok())
                .map(|v| v as i64)
        };
        JobInfo {
            id,
            name: h.get("name").cloned().unwrap_or_default(),
            status: h.get("status").cloned().unwrap_or_default(),
            attempts: number("attempts").unwrap_or(0) as u32,
            timestamp: number("timestamp"),
            processed_on: number("processedOn"),
            finished_on: number("finishedOn"),
            failed_reason: h.get("failedReason").filter(|r| !r.is_empty()).cloned(),
            stacktrace: h
                .get("stacktrace")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
            data: h.get("data").cloned().unwrap_or_default(),
        }
    }
}
