//! The dashboard's `jobs` subscription: pushed on every change of any job's state, listing
//! active, waiting, delayed and failed jobs in the fields of api.graphql.

mod common;

use common::ws::WsClient;
use common::{screenshot_ended, spawn_app_with_workers, trace_ended, wait_for_run};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const JOBS: &str = "subscription { jobs { name id attemptsMade processedOn finishedOn timestamp data failedReason stacktrace status } }";

#[tokio::test]
async fn the_jobs_table_follows_every_job_from_waiting_to_done_or_failed() {
    // A name nothing resolves: both jobs end quickly, in failure events, without traffic.
    let app = spawn_app_with_workers(|_| {}).await;
    let mut dashboard = WsClient::connect(&app.address(), true).await;
    dashboard.init().await;
    dashboard.subscribe("jobs", JOBS, json!({})).await;
    let (_, first) = dashboard.next_result().await;
    assert_eq!(first["data"]["jobs"], json!([]), "nothing queued yet");

    let run = app
        .app()
        .create_run("https://nowhere.packetrun.test/", "tag-jobs")
        .await
        .unwrap();
    let mut seen: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Pushes arrive until both of the run's jobs have left the table (completed jobs are
    // not listed).
    loop {
        assert!(Instant::now() < deadline, "pushes stopped: {seen:#?}");
        let (_, payload) = dashboard.next_result().await;
        let jobs = payload["data"]["jobs"].as_array().unwrap().clone();
        let empty = jobs.is_empty();
        seen.extend(jobs);
        if empty && !seen.is_empty() {
            break;
        }
    }
    let names: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|j| j["name"].as_str()).collect();
    assert!(
        names.contains("traceroute") && names.contains("screenshot"),
        "{names:?}"
    );
    let statuses: std::collections::BTreeSet<&str> =
        seen.iter().filter_map(|j| j["status"].as_str()).collect();
    assert!(
        statuses.contains("WAITING") || statuses.contains("ACTIVE"),
        "{statuses:?}"
    );
    for job in &seen {
        assert!(job["data"].as_str().unwrap().contains(&run), "{job}");
        assert!(
            job["timestamp"].as_f64().unwrap() > 1.7e12,
            "epoch ms: {job}"
        );
        assert!(job["id"].as_str().is_some());
    }
    let events = wait_for_run(&app, &run, Duration::from_secs(10), |e| {
        trace_ended(e) && screenshot_ended(e)
    })
    .await;
    assert!(!events.is_empty());
}

#[tokio::test]
async fn a_job_that_fails_for_good_stays_listed_with_its_reason() {
    use packet_run::queue::{JobKind, NewJob, Queue};
    let app = spawn_app_with_workers(|_| {}).await;
    let queue = Queue::connect(&app.settings.redis_url, &app.settings.workers.queue_prefix)
        .await
        .unwrap();
    let mut dashboard = WsClient::connect(&app.address(), true).await;
    dashboard.init().await;
    dashboard.subscribe("jobs", JOBS, json!({})).await;
    dashboard.next_result().await;
    // A traceroute job for a run that does not exist fails every attempt.
    queue
        .enqueue(&[NewJob {
            id: "ghost".into(),
            kind: JobKind::Traceroute,
            data: json!({"runId": "no-such-run"}),
        }])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_delayed = false;
    loop {
        assert!(Instant::now() < deadline, "the job never failed for good");
        let (_, payload) = dashboard.next_result().await;
        let jobs = payload["data"]["jobs"].as_array().unwrap();
        let Some(ghost) = jobs.iter().find(|j| j["id"] == "ghost") else {
            continue;
        };
        saw_delayed |= ghost["status"] == "DELAYED";
        if ghost["status"] == "FAILED" {
            assert_eq!(ghost["attemptsMade"], 3.0);
            assert!(
                ghost["failedReason"]
                    .as_str()
                    .unwrap()
                    .contains("no-such-run"),
                "{ghost}"
            );
            assert!(
                ghost["finishedOn"].as_f64().unwrap() >= ghost["processedOn"].as_f64().unwrap()
            );
            assert_eq!(ghost["data"], "{\"runId\":\"no-such-run\"}");
            break;
        }
    }
    assert!(
        saw_delayed,
        "waiting out its back-off, it was listed as DELAYED"
    );
}
