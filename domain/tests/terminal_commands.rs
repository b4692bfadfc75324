//! Given/when/then for every Terminal command, accepted and rejected.

mod common;
use common::at;
use cqrs_es::test::TestFramework;
use packet_run_domain::*;

type TerminalTest = TestFramework<Terminal>;

fn registered(id: TerminalId) -> TerminalEvent {
    let spec = Installation::default_layout().terminal(id).unwrap().clone();
    TerminalEvent::TerminalRegistered { spec, at: at(0) }
}

fn scanned(run: &str) -> TerminalEvent {
    TerminalEvent::PacketScanned {
        run_id: run.into(),
        at: at(1),
    }
}

#[test]
fn register_records_the_layout_entry_once() {
    let spec = Installation::default_layout().terminal(5).unwrap().clone();
    TerminalTest::with(())
        .given_no_previous_events()
        .when(TerminalCommand::Register {
            spec: spec.clone(),
            at: at(0),
        })
        .then_expect_events(vec![registered(5)]);
    TerminalTest::with(())
        .given(vec![registered(5)])
        .when(TerminalCommand::Register { spec, at: at(0) })
        .then_expect_error(TerminalError::AlreadyRegistered(5));
}

#[test]
fn commands_on_an_unregistered_terminal_are_refused() {
    TerminalTest::with(())
        .given_no_previous_events()
        .when(TerminalCommand::Reset { at: at(1) })
        .then_expect_error(TerminalError::NotFound(0));
}

#[test]
fn receiving_a_packet_makes_the_terminal_scan_it() {
    TerminalTest::with(())
        .given(vec![registered(3)])
        .when(TerminalCommand::ReceivePacket {
            run_id: "r1".into(),
            at: at(1),
        })
        .then_expect_events(vec![scanned("r1")]);
    // The same packet again changes nothing.
    TerminalTest::with(())
        .given(vec![registered(3), scanned("r1")])
        .when(TerminalCommand::ReceivePacket {
            run_id: "r1".into(),
            at: at(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn releasing_resets_only_for_the_packet_it_holds() {
    TerminalTest::with(())
        .given(vec![registered(3), scanned("r1")])
        .when(TerminalCommand::ReleasePacket {
            run_id: "r1".into(),
            at: at(2),
        })
        .then_expect_events(vec![TerminalEvent::TerminalReset { at: at(2) }]);
    TerminalTest::with(())
        .given(vec![registered(3), scanned("r2")])
        .when(TerminalCommand::ReleasePacket {
            run_id: "r1".into(),
            at: at(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn creating_a_packet_goes_scanning_creating_created() {
    TerminalTest::with(())
        .given(vec![registered(9), scanned("r1")])
        .when(TerminalCommand::CreatePacket {
            created: false,
            may_transform: Ok(()),
            at: at(2),
        })
        .then_expect_events(vec![TerminalEvent::PacketCreationStarted {
            run_id: "r1".into(),
            at: at(2),
        }]);
    TerminalTest::with(())
        .given(vec![
            registered(9),
            scanned("r1"),
            TerminalEvent::PacketCreationStarted {
                run_id: "r1".into(),
                at: at(2),
            },
        ])
        .when(TerminalCommand::CreatePacket {
            created: true,
            may_transform: Ok(()),
            at: at(3),
        })
        .then_expect_events(vec![TerminalEvent::PacketCreated {
            run_id: "r1".into(),
            at: at(3),
        }]);
}

#[test]
fn creating_in_the_wrong_state_names_terminal_current_and_wanted_status() {
    // The original's messages had the two statuses swapped.
    TerminalTest::with(())
        .given(vec![registered(9), scanned("r1")])
        .when(TerminalCommand::CreatePacket {
            created: true,
            may_transform: Ok(()),
            at: at(2),
        })
        .then_expect_error_message(
            "terminal 9 is SCANNING_NFC; it must be CREATING_PACKET to become CREATED_PACKET",
        );
    TerminalTest::with(())
        .given(vec![registered(9)])
        .when(TerminalCommand::CreatePacket {
            created: false,
            may_transform: Ok(()),
            at: at(2),
        })
        .then_expect_error_message(
            "terminal 9 is IDLE; it must be SCANNING_NFC to become CREATING_PACKET",
        );
}

#[test]
fn only_senders_and_servers_create_packets() {
    TerminalTest::with(())
        .given(vec![registered(3), scanned("r1")])
        .when(TerminalCommand::CreatePacket {
            created: false,
            may_transform: Ok(()),
            at: at(2),
        })
        .then_expect_error_message(
            "terminal 3 is a ROUTER; only SENDER and SERVER terminals create packets",
        );
}

#[test]
fn a_packet_that_may_not_transform_is_refused_with_the_reason() {
    TerminalTest::with(())
        .given(vec![registered(5), scanned("r1")])
        .when(TerminalCommand::CreatePacket {
            created: false,
            may_transform: Err("not by the recommended route".into()),
            at: at(2),
        })
        .then_expect_error(TerminalError::MayNotTransform(
            "not by the recommended route".into(),
        ));
}

#[test]
fn reset_goes_idle_and_is_a_no_op_when_idle() {
    TerminalTest::with(())
        .given(vec![registered(3), scanned("r1")])
        .when(TerminalCommand::Reset { at: at(3) })
        .then_expect_events(vec![TerminalEvent::TerminalReset { at: at(3) }]);
    TerminalTest::with(())
        .given(vec![registered(3)])
        .when(TerminalCommand::Reset { at: at(3) })
        .then_expect_events(vec![]);
}

#[test]
fn presences_come_and_go() {
    let connected = TerminalEvent::PresenceConnected {
        websocket_id: "k1".into(),
        ip: "127.0.0.1".into(),
        at: at(1),
    };
    TerminalTest::with(())
        .given(vec![registered(3)])
        .when(TerminalCommand::ConnectPresence {
            websocket_id: "k1".into(),
            ip: "127.0.0.1".into(),
            at: at(1),
        })
        .then_expect_events(vec![connected.clone()]);
    TerminalTest::with(())
        .given(vec![registered(3), connected.clone()])
        .when(TerminalCommand::LosePresence {
            websocket_id: "k1".into(),
            at: at(2),
        })
        .then_expect_events(vec![TerminalEvent::PresenceLost {
            websocket_id: "k1".into(),
            at: at(2),
        }]);
    TerminalTest::with(())
        .given(vec![registered(3)])
        .when(TerminalCommand::LosePresence {
            websocket_id: "k1".into(),
            at: at(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn dropping_presences_loses_every_one() {
    let c = |k: &str| TerminalEvent::PresenceConnected {
        websocket_id: k.into(),
        ip: "127.0.0.1".into(),
        at: at(1),
    };
    TerminalTest::with(())
        .given(vec![registered(3), c("a"), c("b")])
        .when(TerminalCommand::DropPresences { at: at(5) })
        .then_expect_events(vec![
            TerminalEvent::PresenceLost {
                websocket_id: "a".into(),
                at: at(5),
            },
            TerminalEvent::PresenceLost {
                websocket_id: "b".into(),
                at: at(5),
            },
        ]);
}
