//! A whole journey on the default installation with fixed seeds and a synthetic 12-hop trace:
//! sender → gateway → routers → the run's server → response → wormhole → gateway → receiver,
//! with the exact hops offered at every scan.

mod common;
use common::*;
use packet_run_domain::*;
use std::collections::BTreeMap;

type Offer = (TerminalId, HopType, Option<&'static str>, bool, bool);

fn offered(run: &Run) -> Vec<Offer> {
    let leak = |s: &Option<String>| s.clone().map(|s| &*Box::leak(s.into_boxed_str()));
    run.available_hops()
        .map(|h| {
            assert_eq!(h.status, HopStatus::Potential, "offered hops are POTENTIAL");
            (
                h.terminal,
                h.hop_type,
                leak(&h.address),
                h.may_perform_transformation,
                false,
            )
        })
        .collect()
}

fn alt_flags(events: &[RunEvent]) -> Vec<bool> {
    events
        .iter()
        .flat_map(|e| match e {
            RunEvent::HopsOffered { hops, .. } => hops.iter().map(|h| h.in_alt_network).collect(),
            _ => vec![],
        })
        .collect()
}

#[tokio::test]
async fn a_visitor_following_the_recommendations_reaches_the_server_and_the_receiver() {
    use HopType::*;
    let services = services();
    let mut run = traced_run(9, &services).await;
    // The metadata of one middle hop says it is in Utrecht: its alternatives are the nearest.
    let locations = BTreeMap::from([(
        "198.51.5.1".to_string(),
        LatLng {
            lat: 52.09,
            lng: 5.12,
        },
    )]);
    assert_eq!(
        offered(&run),
        vec![(2, Recommended, Some(GATEWAY_IP), false, false)]
    );

    let steps: Vec<(TerminalId, Vec<Offer>, Vec<bool>)> = vec![
        (
            2,
            vec![
                (6, Recommended, Some("198.51.3.1"), false, false),
                (12, Previous, Some(ORIGIN), false, false),
            ],
            vec![false, false],
        ),
        // First router: a random recommendation (here 3); d = 2 along 6→10→9, so the last hop.
        (
            6,
            vec![
                (2, Previous, Some("198.51.3.1"), false, false),
                (3, Recommended, Some(DESTINATION), false, false),
                (10, Alternative, Some("52.175.36.162"), false, false),
            ],
            vec![false, false, true],
        ),
        // Route 3→11→4→7→10→9: d = 5 → middle hop floor(8/5) = 1. Its location is known, so the
        // alternative is the list's nearest entry to it (Utrecht), not in the alternative network.
        (
            3,
            vec![
                (6, Previous, Some(DESTINATION), false, false),
                (11, Recommended, Some("198.51.5.1"), false, false),
                (8, Alternative, Some("82.94.213.52"), false, false),
            ],
            vec![false, false, false],
        ),
        (
            11,
            vec![
                (3, Previous, Some("198.51.5.1"), false, false),
                (4, Recommended, Some("198.51.6.1"), false, false),
                (8, Alternative, Some("104.241.83.182"), false, false),
            ],
            vec![false, false, true],
        ),
        (
            4,
            vec![
                (11, Previous, Some("198.51.6.1"), false, false),
                (7, Recommended, Some("198.51.6.1"), false, false),
                (5, Alternative, Some("198.176.191.100"), false, false),
            ],
            vec![false, false, true],
        ),
        (
            7,
            vec![
                (4, Previous, Some("198.51.6.1"), false, false),
                (10, Recommended, Some(DESTINATION), false, false),
            ],
            vec![false, false],
        ),
        // One step from the server: the destination's address, and the server may transform.
        (
            10,
            vec![
                (7, Previous, Some(DESTINATION), false, false),
                (9, Recommended, Some(DESTINATION), true, false),
                (6, Alternative, Some("213.10.178.29"), false, false),
            ],
            vec![false, false, true],
        ),
        // At the destination's server: the wormhole to the gateway, or back.
        (
            9,
            vec![
                (2, Wormhole, Some(GATEWAY_IP), false, false),
                (10, Previous, Some(DESTINATION), false, false),
            ],
            vec![false, false],
        ),
    ];
    let mut index = 2;
    for (terminal, expected, alt) in steps {
        let events = exec(
            &mut run,
            RunCommand::Scan {
                terminal,
                seed: 100 + index as u64,
                locations: locations.clone(),
                at: at(10 + index),
            },
            &services,
        )
        .await
        .unwrap_or_else(|e| panic!("scan at {terminal}: {e}"));
        assert_eq!(
            run.actual_hop(index).map(|h| h.terminal),
            Some(terminal),
            "hop {index} taken at {terminal}"
        );
        index += 1;
        assert_eq!(run.current_hop_index, index);
        assert_eq!(
            offered(&run),
            expected,
            "offers after scanning terminal {terminal}"
        );
        assert_eq!(
            alt_flags(&events),
            alt,
            "alternative-network marks after terminal {terminal}"
        );
    }

    // The server turns the request into a response.
    run.check_may_transform(9).unwrap();
    exec(
        &mut run,
        RunCommand::Transform {
            terminal: 9,
            at: at(40),
        },
        &services,
    )
    .await
    .unwrap();
    assert_eq!(run.packet_type, PacketType::Response);

    // Through the wormhole to the gateway: now the receiver is recommended.
    exec(
        &mut run,
        RunCommand::Scan {
            terminal: 2,
            seed: 1,
            locations: locations.clone(),
            at: at(41),
        },
        &services,
    )
    .await
    .unwrap();
    assert_eq!(
        offered(&run),
        vec![
            (6, Previous, Some("198.51.3.1"), false, false),
            (12, Recommended, Some(ORIGIN), false, false)
        ]
    );

    // The receiver ends the journey: the hop is taken, nothing more is offered.
    let events = exec(
        &mut run,
        RunCommand::Scan {
            terminal: 12,
            seed: 1,
            locations,
            at: at(42),
        },
        &services,
    )
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![RunEvent::HopTaken {
            index: 11,
            terminal: 12,
            left: Some(2),
            at: at(42)
        }]
    );
    assert_eq!(run.current_hop_index, 11);
    assert_eq!(run.terminal, Some(12));
}

#[tokio::test]
async fn going_back_to_the_routers_from_the_server_leads_to_the_receiver() {
    let services = services();
    let mut run = traced_run(9, &services).await;
    let route = [2, 6, 10, 9];
    for (k, terminal) in route.iter().enumerate() {
        // Pick the offered hop at this terminal whatever its type, to steer the journey.
        exec(
            &mut run,
            RunCommand::Scan {
                terminal: *terminal,
                seed: k as u64,
                locations: Default::default(),
                at: at(k as u32),
            },
            &services,
        )
        .await
        .unwrap_or_else(|e| panic!("scan at {terminal}: {e}"));
    }
    // 10 was offered as an ALTERNATIVE or RECOMMENDED from 6; the server may not transform
    // unless reached by a RECOMMENDED hop.
    let reached_by = run.actual_hop(5).unwrap().hop_type;
    assert_eq!(
        run.check_may_transform(9).is_ok(),
        reached_by == HopType::Recommended
    );
}

#[tokio::test]
async fn a_router_scan_before_the_route_is_traced_asks_to_try_again_and_records_nothing() {
    let services = services();
    let mut run = Run::default();
    let create = RunCommand::Create {
        run_id: "r".into(),
        nfc_id: "t".into(),
        url: "https://example.org/".into(),
        server: 9,
        at: at(0),
    };
    exec(&mut run, create, &services).await.unwrap();
    exec(
        &mut run,
        RunCommand::RecordOrigin {
            address: ORIGIN.into(),
            at: at(1),
        },
        &services,
    )
    .await
    .unwrap();
    exec(
        &mut run,
        RunCommand::RecordTracerouteHop {
            hop: 2,
            address: Some(GATEWAY_IP.into()),
            at: at(1),
        },
        &services,
    )
    .await
    .unwrap();
    exec(
        &mut run,
        RunCommand::RecordTracerouteHop {
            hop: 3,
            address: Some("198.51.3.1".into()),
            at: at(1),
        },
        &services,
    )
    .await
    .unwrap();
    exec(
        &mut run,
        RunCommand::Scan {
            terminal: 2,
            seed: 1,
            locations: Default::default(),
            at: at(2),
        },
        &services,
    )
    .await
    .unwrap();
    let before = run.clone();
    // At router 6 the route to server 9 is 2 steps: its address is the trace's last hop, unknown yet.
    let refused = exec(
        &mut run,
        RunCommand::Scan {
            terminal: 6,
            seed: 1,
            locations: Default::default(),
            at: at(3),
        },
        &services,
    )
    .await;
    assert_eq!(
        refused,
        Err(RunError::RouteNotReady {
            what: "the route's last hop"
        })
    );
    assert_eq!(run, before, "a refused scan changes nothing");
    // Once the trace is finished the same scan goes through.
    exec(
        &mut run,
        RunCommand::FinishTraceroute { at: at(4) },
        &services,
    )
    .await
    .unwrap();
    exec(
        &mut run,
        RunCommand::Scan {
            terminal: 6,
            seed: 1,
            locations: Default::default(),
            at: at(5),
        },
        &services,
    )
    .await
    .unwrap();
    assert_eq!(run.actual_hop(3).map(|h| h.terminal), Some(6));
}

#[tokio::test]
async fn more_alternatives_than_list_entries_reuse_the_list() {
    // A hub router with more neighbours than the alternative list has entries.
    let mut specs = vec![
        TerminalSpec {
            id: 1,
            terminal_type: TerminalType::Sender,
            payload: None,
            connections: [(1, 2)].into(),
        },
        TerminalSpec {
            id: 2,
            terminal_type: TerminalType::Gateway,
            payload: None,
            connections: [(1, 3), (2, 4)].into(),
        },
        TerminalSpec {
            id: 3,
            terminal_type: TerminalType::Receiver,
            payload: None,
            connections: Default::default(),
        },
        TerminalSpec {
            id: 4,
            terminal_type: TerminalType::Router,
            payload: None,
            connections: [(1, 2), (2, 5), (3, 6)].into(),
        },
        TerminalSpec {
            id: 5,
            terminal_type: TerminalType::Server,
            payload: None,
            connections: [(1, 6)].into(),
        },
    ];
    let mut hub = TerminalSpec {
        id: 6,
        terminal_type: TerminalType::Router,
        payload: None,
        connections: [(1, 4), (2, 5)].into(),
    };
    for k in 0..5u32 {
        let id = 10 + k;
        hub.connections.insert(3 + k, id);
        specs.push(TerminalSpec {
            id,
            terminal_type: TerminalType::Router,
            payload: None,
            connections: [(1, 6)].into(),
        });
    }
    specs.push(hub);
    let mut services = services_for(Installation::new(specs).unwrap());
    services.alt_hops =
        std::sync::Arc::new(AltHops(AltHops::bundled().0.into_iter().take(2).collect()));
    let mut run = Run::default();
    let create = RunCommand::Create {
        run_id: "r".into(),
        nfc_id: "t".into(),
        url: "https://e.org/".into(),
        server: 5,
        at: at(0),
    };
    exec(&mut run, create, &services).await.unwrap();
    exec(
        &mut run,
        RunCommand::RecordOrigin {
            address: ORIGIN.into(),
            at: at(0),
        },
        &services,
    )
    .await
    .unwrap();
    for (hop, address) in twelve_hops() {
        exec(
            &mut run,
            RunCommand::RecordTracerouteHop {
                hop,
                address,
                at: at(0),
            },
            &services,
        )
        .await
        .unwrap();
    }
    exec(
        &mut run,
        RunCommand::RecordDestination {
            address: DESTINATION.into(),
            at: at(0),
        },
        &services,
    )
    .await
    .unwrap();
    exec(
        &mut run,
        RunCommand::FinishTraceroute { at: at(0) },
        &services,
    )
    .await
    .unwrap();
    let everywhere = BTreeMap::from([(
        DESTINATION.to_string(),
        LatLng {
            lat: 52.0,
            lng: 4.3,
        },
    )]);
    for terminal in [2, 4, 6] {
        exec(
            &mut run,
            RunCommand::Scan {
                terminal,
                seed: 3,
                locations: everywhere.clone(),
                at: at(1),
            },
            &services,
        )
        .await
        .unwrap();
    }
    let alternatives: Vec<&RunHop> = run
        .available_hops()
        .filter(|h| h.hop_type == HopType::Alternative)
        .collect();
    assert_eq!(
        alternatives.len(),
        4,
        "{:?}",
        run.available_hops().collect::<Vec<_>>()
    );
    assert!(alternatives.iter().all(|h| h.address.is_some()));
}

#[tokio::test]
async fn once_the_receiver_is_reached_the_other_offer_cannot_be_taken() {
    let services = services();
    let mut run = traced_run(9, &services).await;
    for terminal in [2, 12] {
        exec(
            &mut run,
            RunCommand::Scan {
                terminal,
                seed: 1,
                locations: Default::default(),
                at: at(5),
            },
            &services,
        )
        .await
        .unwrap();
    }
    // The gateway offered 6 beside the receiver at the same index; it is closed now.
    let before = run.clone();
    let refused = exec(
        &mut run,
        RunCommand::Scan {
            terminal: 6,
            seed: 1,
            locations: Default::default(),
            at: at(6),
        },
        &services,
    )
    .await;
    assert_eq!(refused, Err(RunError::NotADestination { terminal: 6 }));
    assert_eq!(run, before);
    // Scanning again at the receiver changes nothing.
    let again = exec(
        &mut run,
        RunCommand::Scan {
            terminal: 12,
            seed: 1,
            locations: Default::default(),
            at: at(7),
        },
        &services,
    )
    .await;
    assert_eq!(again, Ok(vec![]));
}
