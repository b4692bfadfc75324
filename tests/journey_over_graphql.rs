//! The whole journey driven through the GraphQL mutations the screens send, with every
//! terminal's screen subscribed: each scan pushes the packet's new terminal its run and offers,
//! and the terminal it left goes back to IDLE.

mod common;
use common::ws::WsClient;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;

const SCREEN: &str = "subscription($id: Float!) { registerTerminal(id: $id) {
    id type status
    run { id packetType currentHopIndex
          availableHops { type mayPerformTransformation hop status address { ip } terminal { id } }
          currentHop { terminal { id } status } } } }";

/// Reads pushes until every terminal in `expect` has shown the given (status, run present).
async fn screens_show(
    ws: &mut WsClient,
    latest: &mut HashMap<u32, Value>,
    expect: &[(u32, &str, bool)],
) {
    let settled = |latest: &HashMap<u32, Value>| {
        expect.iter().all(|(t, status, has_run)| {
            latest
                .get(t)
                .is_some_and(|v| v["status"] == *status && v["run"].is_null() != *has_run)
        })
    };
    while !settled(latest) {
        let (id, payload) = ws.next_result().await;
        assert!(payload.get("errors").is_none(), "{payload}");
        latest.insert(
            id.parse().unwrap(),
            payload["data"]["registerTerminal"].clone(),
        );
    }
}

#[tokio::test]
async fn a_journey_through_the_mutations_is_pushed_to_every_screen() {
    let t = spawn_app().await;
    let mut ws = WsClient::connect(&t.address(), true).await;
    ws.init().await;
    for id in 1..=12 {
        ws.subscribe(&id.to_string(), SCREEN, json!({"id": id}))
            .await;
    }
    let mut latest: HashMap<u32, Value> = HashMap::new();
    let all_idle: Vec<(u32, &str, bool)> = (1..=12).map(|id| (id, "IDLE", false)).collect();
    screens_show(&mut ws, &mut latest, &all_idle).await;

    let created = t
        .graphql(
            "mutation($u: String!, $n: String!) { createRun(url: $u, nfcId: $n) { id } }",
            json!({"u": "https://example.org/", "n": "ball"}),
        )
        .await;
    let run_id = created["data"]["createRun"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    trace(t.app(), &run_id).await;
    let scan = |terminal: u32| {
        let t = &t;
        async move {
            let answer = t.graphql("mutation($t: Float!, $n: String!) { scanNfcForTerminal(terminalId: $t, nfcId: $n) }", json!({"t": terminal, "n": "ball"})).await;
            assert_eq!(answer["data"]["scanNfcForTerminal"], true, "{answer}");
        }
    };
    let packet = |terminal: u32, created: bool| {
        let t = &t;
        async move {
            let answer = t.graphql("mutation($t: Float!, $c: Boolean!) { createReturnPacketForTerminal(terminalId: $t, isPacketCreated: $c) }", json!({"t": terminal, "c": created})).await;
            assert_eq!(
                answer["data"]["createReturnPacketForTerminal"], true,
                "{answer}"
            );
        }
    };

    scan(1).await;
    screens_show(&mut ws, &mut latest, &[(1, "SCANNING_NFC", true)]).await;
    packet(1, false).await;
    screens_show(&mut ws, &mut latest, &[(1, "CREATING_PACKET", true)]).await;
    packet(1, true).await;
    screens_show(&mut ws, &mut latest, &[(1, "CREATED_PACKET", true)]).await;

    let mut here = 1;
    let mut transformed = false;
    for _ in 0..20 {
        let offers = latest[&here]["run"]["availableHops"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let next = offers
            .iter()
            .find(|h| h["type"] == "RECOMMENDED")
            .or_else(|| offers.iter().find(|h| h["type"] == "WORMHOLE"))
            .map(|h| h["terminal"]["id"].as_f64().unwrap() as u32);
        // The sender's own screen shows no offers (the gateway is offered at the run's index 2).
        let next = next.unwrap_or(2);
        scan(next).await;
        screens_show(
            &mut ws,
            &mut latest,
            &[(here, "IDLE", false), (next, "SCANNING_NFC", true)],
        )
        .await;
        let screen = &latest[&next];
        assert_eq!(screen["run"]["id"], run_id.as_str());
        assert_eq!(
            screen["run"]["currentHop"]["terminal"]["id"].as_f64(),
            (next != 12).then_some(next as f64).or(Some(2.0))
        );
        for offer in screen["run"]["availableHops"].as_array().unwrap() {
            // At the receiver the index stays: its own hop is the ACTUAL one there.
            let taken_here = next == 12 && offer["terminal"]["id"] == 12.0;
            assert_eq!(
                offer["status"],
                if taken_here { "ACTUAL" } else { "POTENTIAL" }
            );
            assert_eq!(offer["hop"], screen["run"]["currentHopIndex"]);
        }
        let offered: Vec<bool> = screen["run"]["availableHops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["mayPerformTransformation"] == true)
            .collect();
        if screen["type"] == "SERVER" && !transformed && offered.iter().all(|m| !m) {
            // At the run's server the packet turns into the response.
            packet(next, false).await;
            screens_show(&mut ws, &mut latest, &[(next, "CREATING_PACKET", true)]).await;
            packet(next, true).await;
            screens_show(&mut ws, &mut latest, &[(next, "CREATED_PACKET", true)]).await;
            assert_eq!(latest[&next]["run"]["packetType"], "RESPONSE");
            transformed = true;
        }
        here = next;
        if here == 12 {
            break;
        }
    }
    assert!(transformed, "the packet was turned around at its server");
    assert_eq!(here, 12, "the journey ended at the receiver");
    assert_eq!(latest[&12]["run"]["packetType"], "RESPONSE");
    t.application.stop().await;
}
