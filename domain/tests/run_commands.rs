//! Given/when/then for every Run command, accepted and rejected.

mod common;
use common::*;
use cqrs_es::test::TestFramework;
use packet_run_domain::*;

type RunTest = TestFramework<Run>;

fn created() -> RunEvent {
    RunEvent::RunCreated {
        run_id: "r1".into(),
        nfc_id: "tag".into(),
        url: "https://example.org/".into(),
        server: 9,
        at: at(0),
    }
}

fn origin() -> RunEvent {
    RunEvent::OriginRecorded {
        address: ORIGIN.into(),
        sender: 1,
        at: at(1),
    }
}

fn gateway_offer(address: Option<&str>, second: u32) -> RunEvent {
    RunEvent::HopsOffered {
        index: 2,
        hops: vec![OfferedHop {
            terminal: 2,
            hop_type: HopType::Recommended,
            address: address.map(str::to_string),
            may_perform_transformation: false,
            in_alt_network: false,
        }],
        at: at(second),
    }
}

#[test]
fn create_records_the_run() {
    RunTest::with(services())
        .given_no_previous_events()
        .when(RunCommand::Create {
            run_id: "r1".into(),
            nfc_id: "tag".into(),
            url: "https://example.org/".into(),
            server: 9,
            at: at(0),
        })
        .then_expect_events(vec![created()]);
}

#[test]
fn create_twice_is_refused() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::Create {
            run_id: "r1".into(),
            nfc_id: "t".into(),
            url: "https://a.b/".into(),
            server: 9,
            at: at(0),
        })
        .then_expect_error(RunError::AlreadyExists("r1".into()));
}

#[test]
fn create_for_a_terminal_that_is_no_server_is_refused() {
    RunTest::with(services())
        .given_no_previous_events()
        .when(RunCommand::Create {
            run_id: "r1".into(),
            nfc_id: "t".into(),
            url: "https://a.b/".into(),
            server: 3,
            at: at(0),
        })
        .then_expect_error(RunError::UnknownTerminal(3));
}

#[test]
fn commands_on_a_run_that_does_not_exist_are_refused() {
    RunTest::with(services())
        .given_no_previous_events()
        .when(RunCommand::FinishTraceroute { at: at(1) })
        .then_expect_error(RunError::NotFound);
}

#[test]
fn origin_is_recorded_once() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::RecordOrigin {
            address: ORIGIN.into(),
            at: at(1),
        })
        .then_expect_events(vec![origin()]);
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::RecordOrigin {
            address: "10.9.9.9".into(),
            at: at(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn origin_must_be_an_ip() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::RecordOrigin {
            address: "my-laptop".into(),
            at: at(1),
        })
        .then_expect_error(RunError::InvalidAddress("my-laptop".into()));
}

#[test]
fn hop_two_offers_the_gateway() {
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::RecordTracerouteHop {
            hop: 2,
            address: Some(GATEWAY_IP.into()),
            at: at(2),
        })
        .then_expect_events(vec![
            RunEvent::TracerouteHopRecorded {
                hop: 2,
                address: Some(GATEWAY_IP.into()),
                at: at(2),
            },
            gateway_offer(Some(GATEWAY_IP), 2),
        ]);
}

#[test]
fn a_hop_recorded_again_adds_nothing() {
    // A retried traceroute must not duplicate hops (the original appended a second "hop 1").
    RunTest::with(services())
        .given(vec![
            created(),
            RunEvent::TracerouteHopRecorded {
                hop: 3,
                address: None,
                at: at(2),
            },
        ])
        .when(RunCommand::RecordTracerouteHop {
            hop: 3,
            address: Some("198.51.3.1".into()),
            at: at(3),
        })
        .then_expect_events(vec![]);
}

#[test]
fn hop_numbers_outside_the_trace_are_refused() {
    for hop in [0, 1, 65] {
        RunTest::with(services())
            .given(vec![created()])
            .when(RunCommand::RecordTracerouteHop {
                hop,
                address: None,
                at: at(2),
            })
            .then_expect_error(RunError::HopOutOfRange(hop));
    }
}

#[test]
fn a_silent_hop_is_recorded_without_address() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::RecordTracerouteHop {
            hop: 5,
            address: None,
            at: at(2),
        })
        .then_expect_events(vec![RunEvent::TracerouteHopRecorded {
            hop: 5,
            address: None,
            at: at(2),
        }]);
}

#[test]
fn destination_is_recorded_once() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::RecordDestination {
            address: DESTINATION.into(),
            at: at(2),
        })
        .then_expect_events(vec![RunEvent::DestinationResolved {
            address: DESTINATION.into(),
            at: at(2),
        }]);
    RunTest::with(services())
        .given(vec![
            created(),
            RunEvent::DestinationResolved {
                address: DESTINATION.into(),
                at: at(2),
            },
        ])
        .when(RunCommand::RecordDestination {
            address: "1.1.1.1".into(),
            at: at(3),
        })
        .then_expect_events(vec![]);
}

#[test]
fn finishing_without_hop_two_still_offers_the_gateway() {
    // Otherwise a visitor whose gateway never answered could never leave the sender.
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::FinishTraceroute { at: at(4) })
        .then_expect_events(vec![
            RunEvent::TracerouteFinished { at: at(4) },
            gateway_offer(None, 4),
        ]);
}

#[test]
fn finishing_twice_adds_nothing() {
    RunTest::with(services())
        .given(vec![created(), RunEvent::TracerouteFinished { at: at(4) }])
        .when(RunCommand::FinishTraceroute { at: at(5) })
        .then_expect_events(vec![]);
}

#[test]
fn a_failed_trace_keeps_its_reason() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::FailTraceroute {
            reason: "host not found".into(),
            at: at(4),
        })
        .then_expect_events(vec![RunEvent::TracerouteFailed {
            reason: "host not found".into(),
            at: at(4),
        }]);
    RunTest::with(services())
        .given(vec![created(), RunEvent::TracerouteFinished { at: at(4) }])
        .when(RunCommand::FailTraceroute {
            reason: "late".into(),
            at: at(5),
        })
        .then_expect_events(vec![]);
}

#[test]
fn screenshots_are_recorded_and_failures_kept() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::RecordScreenshot {
            image_path: "images/r1.png".into(),
            partial: true,
            at: at(5),
        })
        .then_expect_events(vec![RunEvent::ScreenshotTaken {
            image_path: "images/r1.png".into(),
            partial: true,
            at: at(5),
        }]);
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::FailScreenshot {
            reason: "HTTP 500".into(),
            at: at(5),
        })
        .then_expect_events(vec![RunEvent::ScreenshotFailed {
            reason: "HTTP 500".into(),
            at: at(5),
        }]);
}

#[test]
fn scanning_at_the_gateway_takes_the_hop_and_offers_router_and_receiver() {
    let mut given = vec![
        created(),
        origin(),
        RunEvent::TracerouteHopRecorded {
            hop: 2,
            address: Some(GATEWAY_IP.into()),
            at: at(2),
        },
    ];
    given.push(gateway_offer(Some(GATEWAY_IP), 2));
    given.push(RunEvent::TracerouteHopRecorded {
        hop: 3,
        address: Some("198.51.3.1".into()),
        at: at(2),
    });
    RunTest::with(services())
        .given(given)
        .when(RunCommand::Scan {
            terminal: 2,
            seed: 1,
            locations: Default::default(),
            at: at(10),
        })
        .then_expect_events(vec![
            RunEvent::HopTaken {
                index: 2,
                terminal: 2,
                left: Some(1),
                at: at(10),
            },
            RunEvent::HopsOffered {
                index: 3,
                hops: vec![
                    OfferedHop {
                        terminal: 6,
                        hop_type: HopType::Recommended,
                        address: Some("198.51.3.1".into()),
                        may_perform_transformation: false,
                        in_alt_network: false,
                    },
                    OfferedHop {
                        terminal: 12,
                        hop_type: HopType::Previous,
                        address: Some(ORIGIN.into()),
                        may_perform_transformation: false,
                        in_alt_network: false,
                    },
                ],
                at: at(10),
            },
        ]);
}

#[test]
fn scanning_at_the_gateway_before_the_first_internet_hop_is_refused() {
    RunTest::with(services())
        .given(vec![
            created(),
            origin(),
            RunEvent::TracerouteHopRecorded {
                hop: 2,
                address: Some(GATEWAY_IP.into()),
                at: at(2),
            },
            gateway_offer(Some(GATEWAY_IP), 2),
        ])
        .when(RunCommand::Scan {
            terminal: 2,
            seed: 1,
            locations: Default::default(),
            at: at(10),
        })
        .then_expect_error_message("internet hop not resolved yet, try again in a moment");
}

#[test]
fn scanning_at_a_terminal_that_is_not_offered_is_refused() {
    RunTest::with(services())
        .given(vec![created(), origin(), gateway_offer(None, 2)])
        .when(RunCommand::Scan {
            terminal: 7,
            seed: 1,
            locations: Default::default(),
            at: at(10),
        })
        .then_expect_error_message("terminal 7 is not currently a destination for this run");
}

#[test]
fn scanning_before_the_origin_is_known_asks_to_try_again() {
    RunTest::with(services())
        .given(vec![created()])
        .when(RunCommand::Scan {
            terminal: 1,
            seed: 1,
            locations: Default::default(),
            at: at(10),
        })
        .then_expect_error(RunError::RouteNotReady {
            what: "the visitor's own address",
        });
}

#[test]
fn scanning_again_where_the_packet_is_changes_nothing() {
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::Scan {
            terminal: 1,
            seed: 1,
            locations: Default::default(),
            at: at(10),
        })
        .then_expect_events(vec![]);
}

#[test]
fn scanning_at_an_unknown_terminal_is_refused() {
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::Scan {
            terminal: 99,
            seed: 1,
            locations: Default::default(),
            at: at(10),
        })
        .then_expect_error(RunError::UnknownTerminal(99));
}

#[test]
fn the_sender_may_build_the_request_without_turning_it_around() {
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::Transform {
            terminal: 1,
            at: at(10),
        })
        .then_expect_events(vec![]);
}

#[test]
fn transforming_where_the_packet_is_not_is_refused() {
    RunTest::with(services())
        .given(vec![created(), origin()])
        .when(RunCommand::Transform {
            terminal: 9,
            at: at(10),
        })
        .then_expect_error_message(
            "the packet at terminal 9 may not be transformed: the packet is not at this terminal",
        );
}

#[test]
fn transforming_at_a_server_reached_by_the_recommended_route_makes_a_response() {
    let offer_server = RunEvent::HopsOffered {
        index: 2,
        hops: vec![OfferedHop {
            terminal: 9,
            hop_type: HopType::Recommended,
            address: Some(DESTINATION.into()),
            may_perform_transformation: true,
            in_alt_network: false,
        }],
        at: at(3),
    };
    let events = vec![
        created(),
        origin(),
        offer_server,
        RunEvent::HopTaken {
            index: 2,
            terminal: 9,
            left: None,
            at: at(4),
        },
    ];
    // (index 2 never moved past 2 here: HopsOffered at 3 would; take the hop as the current one.)
    let mut given = events.clone();
    given.push(RunEvent::HopsOffered {
        index: 3,
        hops: vec![],
        at: at(4),
    });
    RunTest::with(services())
        .given(given)
        .when(RunCommand::Transform {
            terminal: 9,
            at: at(5),
        })
        .then_expect_events(vec![RunEvent::PacketTypeChanged {
            packet_type: PacketType::Response,
            terminal: 9,
            at: at(5),
        }]);
}

#[test]
fn transforming_at_a_server_reached_another_way_is_refused() {
    let offer_server = RunEvent::HopsOffered {
        index: 2,
        hops: vec![OfferedHop {
            terminal: 5,
            hop_type: HopType::Alternative,
            address: None,
            may_perform_transformation: false,
            in_alt_network: false,
        }],
        at: at(3),
    };
    let given = vec![
        created(),
        origin(),
        offer_server,
        RunEvent::HopTaken {
            index: 2,
            terminal: 5,
            left: None,
            at: at(4),
        },
        RunEvent::HopsOffered {
            index: 3,
            hops: vec![],
            at: at(4),
        },
    ];
    RunTest::with(services())
        .given(given)
        .when(RunCommand::Transform { terminal: 5, at: at(5) })
        .then_expect_error_message("the packet at terminal 5 may not be transformed: it did not reach this terminal by the recommended route");
}
