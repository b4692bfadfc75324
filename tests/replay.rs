//! Replaying the event log rebuilds exactly the read models the live projector built.

mod common;
use common::*;
use packet_run_projections::replay::replay;

#[tokio::test]
async fn replay_equals_live_on_sqlite() {
    let t = spawn_app().await;
    realistic_use(t.app()).await;
    let live = t.dump().await;
    assert!(
        live["run_hops"].len() > 10 && live["addresses"].len() > 10,
        "a realistic amount of state"
    );
    let report = replay(t.db(), |_, _| {}).await.unwrap();
    assert_eq!(report.events as i64, t.event_count().await);
    assert_eq!(t.dump().await, live);
    t.application.stop().await;
}

#[tokio::test]
async fn a_failed_replay_leaves_the_read_models_intact() {
    let t = spawn_app().await;
    realistic_use(t.app()).await;
    let live = t.dump().await;
    // An event this build cannot read makes the replay fail half-way.
    let packet_run_projections::Database::Sqlite { pool, .. } = t.db() else {
        unreachable!()
    };
    sqlx::query("INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ('Run', 'broken', 1, 'RunCreated', '99', '{}', '{}')")
        .execute(pool)
        .await
        .unwrap();
    let error = replay(t.db(), |_, _| {}).await.unwrap_err();
    assert!(
        error.to_string().contains("unknown event version"),
        "{error}"
    );
    assert_eq!(t.dump().await, live);
    t.application.stop().await;
}
