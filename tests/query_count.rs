//! The dashboard's full selection costs a fixed number of SQL queries, whatever the number of
//! terminals with runs and hops (DataLoader batches each level into one query).

mod common;
use common::*;
use packet_run::read_models::READ_QUERIES;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

const DASHBOARD: &str = "{ terminals {
    id type status payload createdAt updatedAt connectionsTo { slot to { id } }
    presences { id ip websocketId connectedAt lastSeenAt }
    run { id nfcId url currentHopIndex createdAt updatedAt destination { ip info { company { name } } }
          availableHops { id hop mayPerformTransformation address { ip } terminal { id } }
          currentHop { address { ip } }
          hops { id hop status type address { ip } terminal { id } } } } }";

async fn queries_for_dashboard(t: &TestApp) -> u64 {
    tokio::time::sleep(Duration::from_millis(300)).await; // let notifications settle
    let before = READ_QUERIES.load(Ordering::SeqCst);
    let answer = t.graphql(DASHBOARD, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    READ_QUERIES.load(Ordering::SeqCst) - before
}

async fn travel(t: &TestApp, tag: &str, scans: usize) {
    let run_id = t
        .app()
        .create_run("https://example.org/", tag)
        .await
        .unwrap();
    trace(t.app(), &run_id).await;
    t.app().scan_nfc_for_terminal(1, tag).await.unwrap();
    for _ in 0..scans {
        let next = recommended(t.app(), &run_id).await.unwrap();
        t.app().scan_nfc_for_terminal(next, tag).await.unwrap();
    }
}

#[tokio::test]
async fn the_dashboard_selection_costs_the_same_queries_at_any_size() {
    let t = spawn_app().await;
    let empty = queries_for_dashboard(&t).await;
    travel(&t, "a", 2).await;
    let one = queries_for_dashboard(&t).await;
    travel(&t, "b", 4).await;
    travel(&t, "c", 3).await;
    travel(&t, "d", 1).await;
    let four = queries_for_dashboard(&t).await;
    eprintln!("dashboard selection: {empty} queries empty, {one} with one run, {four} with four");
    // One query per level of the selection at most (9 levels load rows; DataLoader may merge
    // two levels' loads into one batch when they coincide, so fewer is fine); a query per
    // terminal or per hop would be dozens here.
    const LEVELS: u64 = 9;
    assert!(one <= LEVELS, "{one} queries with one run");
    assert!(
        four <= LEVELS,
        "{four} queries with four runs: the number grew with the data"
    );
    assert!(empty <= four);
    t.application.stop().await;
}
