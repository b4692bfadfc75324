//! The job queue against the running Redis: idempotent enqueue, attempts and back-off,
//! leases, the state index and the change feed. Each test uses a key prefix of its own.

use packet_run::queue::{Delivery, JobKind, NewJob, Queue, Refused, FIRST_BACKOFF};
use serde_json::json;
use std::time::{Duration, Instant};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn queue() -> Queue {
    let prefix = format!("packet-run-test-{}", uuid::Uuid::new_v4().simple());
    Queue::connect(&redis_url(), &prefix)
        .await
        .expect("Redis must be running (scripts/ensure-redis)")
}

fn job(id: &str, kind: JobKind) -> NewJob {
    NewJob {
        id: id.into(),
        kind,
        data: json!({ "runId": id }),
    }
}

/// Takes the next job of `kind`, waiting up to a few seconds.
async fn take(queue: &Queue, kind: JobKind, consumer: &str) -> Option<Result<Delivery, Refused>> {
    let mut reader = queue.reader().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(next) = queue
            .next(&mut reader, kind, consumer, Duration::from_millis(200))
            .await
            .unwrap()
        {
            return Some(next);
        }
    }
    None
}

async fn status(queue: &Queue, id: &str) -> String {
    queue.job(id).await.unwrap().expect("job is known").status
}

#[tokio::test]
async fn enqueueing_the_same_id_twice_adds_one_job() {
    let q = queue().await;
    assert_eq!(
        q.enqueue(&[job("a", JobKind::Traceroute)]).await.unwrap(),
        1
    );
    assert_eq!(
        q.enqueue(&[job("a", JobKind::Traceroute), job("b", JobKind::Screenshot)])
            .await
            .unwrap(),
        1
    );
    let listed = q.list(100).await.unwrap();
    let mut ids: Vec<_> = listed
        .iter()
        .map(|j| (j.id.as_str(), j.status.as_str(), j.name.as_str()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            ("a", "waiting", "traceroute"),
            ("b", "waiting", "screenshot")
        ]
    );

    // Completed jobs are remembered: enqueueing again still adds nothing.
    let taken = take(&q, JobKind::Traceroute, "w1").await.unwrap().unwrap();
    assert_eq!((taken.id.as_str(), taken.attempt), ("a", 1));
    assert_eq!(taken.data, json!({ "runId": "a" }));
    q.complete(&taken).await.unwrap();
    assert_eq!(status(&q, "a").await, "completed");
    assert_eq!(
        q.enqueue(&[job("a", JobKind::Traceroute)]).await.unwrap(),
        0
    );
    assert!(
        take(&q, JobKind::Traceroute, "w1").await.is_none(),
        "nothing left to take"
    );
    let listed = q.list(100).await.unwrap();
    assert!(
        listed.iter().all(|j| j.id != "a"),
        "completed jobs are not listed"
    );
}

#[tokio::test]
async fn a_failing_job_is_retried_with_back_off_then_failed_with_its_reason() {
    let q = queue().await;
    q.enqueue(&[job("f", JobKind::Metadata)]).await.unwrap();
    let mut retried_after = Vec::new();
    for attempt in 1..=3 {
        let started = Instant::now();
        let taken = loop {
            q.promote_due().await.unwrap();
            if let Some(Ok(d)) = take(&q, JobKind::Metadata, "w1").await {
                break d;
            }
        };
        retried_after.push(started.elapsed());
        assert_eq!(taken.attempt, attempt);
        assert_eq!(status(&q, "f").await, "active");
        let for_good = q
            .fail(&taken, &format!("boom {attempt}\nat line 2"))
            .await
            .unwrap();
        assert_eq!(for_good, attempt == 3);
        if attempt < 3 {
            assert_eq!(status(&q, "f").await, "delayed");
        }
    }
    // Waits of 2.5 s, then 5 s.
    assert!(retried_after[1] >= FIRST_BACKOFF, "{retried_after:?}");
    assert!(retried_after[2] >= FIRST_BACKOFF * 2, "{retried_after:?}");
    let failed = q.job("f").await.unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.attempts, 3);
    assert_eq!(failed.failed_reason.as_deref(), Some("boom 3\nat line 2"));
    assert_eq!(failed.stacktrace, vec!["boom 3", "at line 2"]);
    assert!(failed.finished_on.is_some());
    assert!(q
        .list(100)
        .await
        .unwrap()
        .iter()
        .any(|j| j.id == "f" && j.status == "failed"));
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_after_the_lease_and_stops_after_its_attempts() {
    let q = queue().await.with_lease(Duration::from_millis(300));
    q.enqueue(&[job("k", JobKind::Screenshot)]).await.unwrap();
    for attempt in 1..=3 {
        // Each worker takes the job and "dies": it never refreshes, completes or fails it.
        let taken = take(&q, JobKind::Screenshot, &format!("worker-{attempt}"))
            .await
            .expect("delivered again after the lease")
            .expect("runnable");
        assert_eq!(taken.attempt, attempt);
    }
    match take(&q, JobKind::Screenshot, "worker-4").await {
        Some(Err(Refused::Exhausted(d))) => assert_eq!(d.id, "k"),
        other => panic!("expected the job to be exhausted, got {other:?}"),
    }
    let failed = q.job("k").await.unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(
        failed.failed_reason.as_deref(),
        Some("the worker stopped during each of 3 attempts")
    );
    assert!(take(&q, JobKind::Screenshot, "worker-5").await.is_none());
}

#[tokio::test]
async fn a_refreshed_lease_keeps_the_job_with_its_worker() {
    let q = queue().await.with_lease(Duration::from_millis(300));
    q.enqueue(&[job("l", JobKind::Traceroute)]).await.unwrap();
    let taken = take(&q, JobKind::Traceroute, "busy")
        .await
        .unwrap()
        .unwrap();
    let mut reader = q.reader().await.unwrap();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        q.refresh_lease(&taken, "busy").await.unwrap();
        let other = q
            .next(
                &mut reader,
                JobKind::Traceroute,
                "other",
                Duration::from_millis(10),
            )
            .await
            .unwrap();
        assert!(other.is_none(), "the job stayed with its worker");
    }
    q.complete(&taken).await.unwrap();
    assert_eq!(status(&q, "l").await, "completed");
}

#[tokio::test]
async fn every_state_change_is_announced_on_the_change_feed() {
    let q = queue().await;
    let mut reader = q.reader().await.unwrap();
    let from = q.last_change().await.unwrap();
    let (_, changed) = q
        .wait_for_changes(&mut reader, &from, Duration::from_millis(50))
        .await
        .unwrap();
    assert!(!changed, "nothing happened yet");
    q.enqueue(&[job("c", JobKind::Traceroute)]).await.unwrap();
    let (after, changed) = q
        .wait_for_changes(&mut reader, &from, Duration::from_millis(500))
        .await
        .unwrap();
    assert!(changed);
    let taken = take(&q, JobKind::Traceroute, "w").await.unwrap().unwrap();
    let (_, changed) = q
        .wait_for_changes(&mut reader, &after, Duration::from_millis(500))
        .await
        .unwrap();
    assert!(changed, "taking the job is a change");
    q.complete(&taken).await.unwrap();
}

#[tokio::test]
async fn a_large_backlog_of_due_jobs_is_promoted_in_bounded_steps() {
    let q = queue().await;
    let jobs: Vec<NewJob> = (0..250)
        .map(|k| job(&format!("b{k}"), JobKind::Metadata))
        .collect();
    q.enqueue(&jobs).await.unwrap();
    // Fail every one once so all wait in the delayed set.
    let mut reader = q.reader().await.unwrap();
    let mut failed = 0;
    while let Some(next) = q
        .next(
            &mut reader,
            JobKind::Metadata,
            "w",
            Duration::from_millis(50),
        )
        .await
        .unwrap()
    {
        q.fail(&next.unwrap(), "transient").await.unwrap();
        failed += 1;
    }
    assert_eq!(failed, 250);
    tokio::time::sleep(FIRST_BACKOFF + Duration::from_millis(100)).await;
    let mut promoted = Vec::new();
    loop {
        let moved = q.promote_due().await.unwrap();
        if moved == 0 {
            break;
        }
        promoted.push(moved);
    }
    assert_eq!(promoted, vec![100, 100, 50]);
    let waiting = q.list(1000).await.unwrap();
    assert_eq!(
        waiting.iter().filter(|j| j.status == "waiting").count(),
        250
    );
}
