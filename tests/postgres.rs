//! The event store and the projections on the running PostgreSQL, each test in a database of
//! its own (created here, dropped after).

mod common;
use common::*;
use packet_run_projections::replay::replay;
use packet_run_projections::Database;
use std::time::Duration;

#[tokio::test]
async fn journeys_project_and_replay_identically_on_postgres() {
    let (t, name) = spawn_postgres_app().await;
    assert!(t.db().is_postgres());
    assert_eq!(t.dump().await["terminals"].len(), 12);
    realistic_use(t.app()).await;
    let live = t.dump().await;
    assert!(live["run_hops"].len() > 10);
    let report = replay(t.db(), |_, _| {}).await.unwrap();
    assert_eq!(report.events as i64, t.event_count().await);
    assert_eq!(t.dump().await, live);
    drop_postgres(t, &name).await;
}

#[tokio::test]
async fn a_second_start_on_postgres_adds_no_events() {
    let (t, name) = spawn_postgres_app().await;
    let events = t.event_count().await;
    let t = t.restart().await;
    assert_eq!(t.event_count().await, events);
    drop_postgres(t, &name).await;
}

fn run_created(run_id: &str) -> String {
    serde_json::json!({"RunCreated": {"run_id": run_id, "nfc_id": "late-tag", "url": "https://example.org/", "server": 9, "at": "2026-12-04T12:00:00Z"}})
        .to_string()
}

const APPEND: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                      VALUES ('Run', $1, 1, 'RunCreated', '1', $2::json, '{}') RETURNING position";

async fn run_ids(db: &Database) -> Vec<String> {
    let Database::Postgres { pool, .. } = db else {
        unreachable!()
    };
    sqlx::query_scalar("SELECT id FROM runs ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_that_commits_late_is_never_skipped() {
    let (t, name) = spawn_postgres_app().await;
    let Database::Postgres { pool, .. } = t.db().clone() else {
        unreachable!()
    };

    // Transaction A appends first (it gets the lower position) and stays open.
    let mut slow = pool.begin().await.unwrap();
    let slow_position: i64 = sqlx::query_scalar(APPEND)
        .bind("late")
        .bind(run_created("late"))
        .fetch_one(&mut *slow)
        .await
        .unwrap();
    // Transaction B appends after it (higher position) and commits at once.
    let fast_position: i64 = sqlx::query_scalar(APPEND)
        .bind("early")
        .bind(run_created("early"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(slow_position < fast_position);

    // A reader ordering by position alone would now project B and move past A for good.
    t.application.projector.notify();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        run_ids(t.db()).await.is_empty(),
        "nothing is projected past a transaction still open"
    );
    assert!(t.application.projector.position().position < slow_position);

    slow.commit().await.unwrap();
    let head = t.db().head().await.unwrap();
    assert!(
        t.application
            .projector
            .wait_for(head, Duration::from_secs(5))
            .await
    );
    assert_eq!(
        run_ids(t.db()).await,
        vec!["early".to_string(), "late".to_string()],
        "both, each once"
    );

    // Read from the start, the log holds both exactly once as well.
    let all = t
        .db()
        .events_after(Default::default(), 10_000)
        .await
        .unwrap();
    assert_eq!(all.iter().filter(|e| e.aggregate_type == "Run").count(), 2);
    drop_postgres(t, &name).await;
}
