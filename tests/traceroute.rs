//! The traceroute worker, tracing for real through the virtual network netlab builds
//! (8 routers, the 3rd and 6th silent). Names resolve only through a DNS server on loopback.

mod common;

use common::dns::LoopbackDns;
use common::lab::Lab;
use common::{spawn_app_with_workers, trace_ended, wait_for_run, TestApp};
use packet_run::targets::TargetPolicy;
use packet_run_domain::RunEvent;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// Every trace ends within this: two rounds of one second, the worker's start and the
/// projector's lag, with room.
const BOUND: Duration = Duration::from_secs(15);

/// The lab's routers rate-limit their ICMP answers per destination (as real routers do), and
/// every trace here comes from the same host: traces run one at a time so that one test's
/// probes do not use up another's answers.
static ONE_TRACE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn app_for(lab: &Lab, names: &[(&str, Ipv4Addr)]) -> TestApp {
    let dns = LoopbackDns::start(names).await;
    let allow = lab.allowlist();
    let app = spawn_app_with_workers(|s| {
        s.targets = TargetPolicy::from_allowlist(&allow).unwrap();
        s.workers.dns_server = Some(dns.address);
    })
    .await;
    std::mem::forget(dns);
    app
}

fn hops(events: &[RunEvent]) -> Vec<(u32, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::TracerouteHopRecorded { hop, address, .. } => Some((*hop, address.clone())),
            _ => None,
        })
        .collect()
}

fn failure(events: &[RunEvent]) -> Option<String> {
    events.iter().find_map(|e| match e {
        RunEvent::TracerouteFailed { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn hops_arrive_in_order_with_silent_routers_and_the_run_finishes() {
    let Some(lab) = Lab::require("hops_arrive_in_order_with_silent_routers_and_the_run_finishes")
    else {
        return;
    };
    let _turn = ONE_TRACE_AT_A_TIME.lock().await;
    let target = lab.target("ok");
    let app = app_for(&lab, &[("www.lab.packetrun.test", target)]).await;
    let run = app
        .app()
        .create_run("https://www.lab.packetrun.test/", "tag-trace")
        .await
        .unwrap();
    let events = wait_for_run(&app, &run, BOUND, trace_ended).await;

    assert_eq!(failure(&events), None);
    assert!(events.iter().any(
        |e| matches!(e, RunEvent::DestinationResolved { address, .. } if *address == target.to_string())
    ));
    let origin = events.iter().find_map(|e| match e {
        RunEvent::OriginRecorded { address, .. } => Some(address.clone()),
        _ => None,
    });
    let origin: Ipv4Addr = origin.expect("the origin is recorded").parse().unwrap();
    assert!(!origin.is_loopback());
    // TTL t is hop t + 1, silent routers without address, each hop once, in order.
    let expected: Vec<(u32, Option<String>)> = lab
        .hops()
        .into_iter()
        .enumerate()
        .map(|(k, a)| (k as u32 + 2, a.map(|a| a.to_string())))
        .collect();
    assert_eq!(expected.len(), 9);
    assert_eq!(expected[2].1, None, "router 3 is silent");
    assert_eq!(hops(&events), expected);
    assert!(matches!(
        events.last(),
        Some(RunEvent::TracerouteFinished { .. })
            | Some(RunEvent::HopsOffered { .. })
            | Some(RunEvent::ScreenshotTaken { .. })
            | Some(RunEvent::ScreenshotFailed { .. })
    ));
    let finished_at = events
        .iter()
        .position(|e| matches!(e, RunEvent::TracerouteFinished { .. }))
        .unwrap();
    let last_hop_at = events
        .iter()
        .rposition(|e| matches!(e, RunEvent::TracerouteHopRecorded { .. }))
        .unwrap();
    assert!(last_hop_at < finished_at, "finished after the last hop");

    // The screens see it: the run's read model has the destination and the finished flag.
    let head = app.db().head().await.unwrap();
    assert!(
        app.application
            .projector
            .wait_for(head, Duration::from_secs(5))
            .await
    );
    let answer = app
        .graphql(
            "query($id: String!) { run(id: $id) { destination { ip } isTracerouteFinished } }",
            serde_json::json!({ "id": run }),
        )
        .await;
    assert_eq!(
        answer["data"]["run"]["destination"]["ip"],
        target.to_string(),
        "{answer}"
    );
    assert_eq!(answer["data"]["run"]["isTracerouteFinished"], true);
}

#[tokio::test]
async fn blackhole_unreachable_and_unroutable_targets_end_in_a_failure_event_within_the_bound() {
    let Some(lab) = Lab::require(
        "blackhole_unreachable_and_unroutable_targets_end_in_a_failure_event_within_the_bound",
    ) else {
        return;
    };
    let _turn = ONE_TRACE_AT_A_TIME.lock().await;
    let app = app_for(&lab, &[]).await;
    for (kind, says) in [
        ("blackhole", "did not answer"),
        ("unreach", "is unreachable"),
        ("noroute", "no route to"),
    ] {
        let url = format!("http://{}/", lab.target(kind));
        let run = app
            .app()
            .create_run(&url, &format!("tag-{kind}"))
            .await
            .unwrap();
        let started = Instant::now();
        let events = wait_for_run(&app, &run, BOUND, trace_ended).await;
        let reason = failure(&events).unwrap_or_else(|| panic!("{kind}: no failure event"));
        assert!(reason.contains(says), "{kind}: {reason}");
        assert!(!events
            .iter()
            .any(|e| matches!(e, RunEvent::TracerouteFinished { .. })));
        if kind != "noroute" {
            // The routers before the dead end are recorded all the same.
            assert!(hops(&events).len() >= 6, "{kind}: {:?}", hops(&events));
        }
        assert!(started.elapsed() < BOUND);
    }
}

#[tokio::test]
async fn urls_with_a_port_user_info_an_ip_literal_or_an_idn_host_all_trace() {
    let Some(lab) =
        Lab::require("urls_with_a_port_user_info_an_ip_literal_or_an_idn_host_all_trace")
    else {
        return;
    };
    let _turn = ONE_TRACE_AT_A_TIME.lock().await;
    let target = lab.target("ok");
    let app = app_for(
        &lab,
        &[
            ("lab.packetrun.test", target),
            ("xn--bcher-kva.packetrun.test", target),
        ],
    )
    .await;
    let urls = [
        "https://lab.packetrun.test:8443/a/path?q=1".to_string(),
        "http://visitor:secret@lab.packetrun.test/".to_string(),
        format!("http://{target}:8080/"),
        "https://bücher.packetrun.test/".to_string(),
    ];
    for (k, url) in urls.iter().enumerate() {
        let run = app
            .app()
            .create_run(url, &format!("tag-url-{k}"))
            .await
            .unwrap();
        let events = wait_for_run(&app, &run, BOUND, trace_ended).await;
        assert_eq!(failure(&events), None, "{url}");
        assert_eq!(hops(&events).len(), 9, "{url}");
    }
}

#[tokio::test]
async fn unresolvable_names_and_names_that_resolve_to_our_network_end_in_a_failure_event() {
    // No lab needed: nothing is traced.
    let dns = LoopbackDns::start(&[
        ("sneaky.packetrun.test", Ipv4Addr::LOCALHOST),
        ("office.packetrun.test", Ipv4Addr::new(192, 168, 1, 10)),
    ])
    .await;
    let app = spawn_app_with_workers(|s| s.workers.dns_server = Some(dns.address)).await;
    for (host, says) in [
        ("nowhere.packetrun.test", "could not be resolved"),
        ("sneaky.packetrun.test", "resolves to 127.0.0.1"),
        ("office.packetrun.test", "resolves to 192.168.1.10"),
    ] {
        let run = app
            .app()
            .create_run(&format!("https://{host}/"), &format!("tag-{host}"))
            .await
            .unwrap();
        let events = wait_for_run(&app, &run, BOUND, trace_ended).await;
        let reason = failure(&events).unwrap_or_else(|| panic!("{host}: no failure event"));
        assert!(reason.contains(says), "{host}: {reason}");
        assert!(hops(&events).is_empty(), "{host}: nothing traced");
    }
}
