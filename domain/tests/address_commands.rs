//! Given/when/then for every Address command, accepted and rejected.

mod common;
use common::at;
use cqrs_es::test::TestFramework;
use packet_run_domain::*;
use serde_json::json;

type AddressTest = TestFramework<Address>;

fn seen(alt: bool) -> AddressEvent {
    AddressEvent::AddressSeen {
        ip: "8.8.8.8".into(),
        in_alt_network: alt,
        at: at(0),
    }
}

#[test]
fn seeing_an_address_records_it_once() {
    AddressTest::with(())
        .given_no_previous_events()
        .when(AddressCommand::See {
            ip: "8.8.8.8".into(),
            in_alt_network: false,
            at: at(0),
        })
        .then_expect_events(vec![seen(false)]);
    AddressTest::with(())
        .given(vec![seen(false)])
        .when(AddressCommand::See {
            ip: "8.8.8.8".into(),
            in_alt_network: false,
            at: at(1),
        })
        .then_expect_events(vec![]);
}

#[test]
fn an_address_drawn_for_the_alternative_network_is_marked() {
    AddressTest::with(())
        .given(vec![seen(false)])
        .when(AddressCommand::See {
            ip: "8.8.8.8".into(),
            in_alt_network: true,
            at: at(0),
        })
        .then_expect_events(vec![seen(true)]);
}

#[test]
fn seeing_something_that_is_no_ip_is_refused() {
    AddressTest::with(())
        .given_no_previous_events()
        .when(AddressCommand::See {
            ip: "example.org".into(),
            in_alt_network: false,
            at: at(0),
        })
        .then_expect_error(AddressError::InvalidIp("example.org".into()));
}

#[test]
fn metadata_is_recorded_for_a_seen_address() {
    let info = json!({"ip": "8.8.8.8", "type": "IPv4", "company": {"name": "Google"}});
    AddressTest::with(())
        .given(vec![seen(false)])
        .when(AddressCommand::RecordMetadata {
            ip: "8.8.8.8".into(),
            info: info.clone(),
            internal: false,
            at: at(2),
        })
        .then_expect_events(vec![AddressEvent::MetadataRecorded {
            info,
            internal: false,
            at: at(2),
        }]);
}

#[test]
fn metadata_for_an_address_not_seen_yet_sees_it_first() {
    let info = json!({"ip": "1.2.3.4"});
    AddressTest::with(())
        .given_no_previous_events()
        .when(AddressCommand::RecordMetadata {
            ip: "1.2.3.4".into(),
            info: info.clone(),
            internal: false,
            at: at(2),
        })
        .then_expect_events(vec![
            AddressEvent::AddressSeen {
                ip: "1.2.3.4".into(),
                in_alt_network: false,
                at: at(2),
            },
            AddressEvent::MetadataRecorded {
                info,
                internal: false,
                at: at(2),
            },
        ]);
}

#[test]
fn metadata_that_is_not_an_object_or_for_no_ip_is_refused() {
    AddressTest::with(())
        .given(vec![seen(false)])
        .when(AddressCommand::RecordMetadata {
            ip: "8.8.8.8".into(),
            info: json!([1]),
            internal: false,
            at: at(2),
        })
        .then_expect_error(AddressError::InvalidMetadata("[1]".into()));
    AddressTest::with(())
        .given_no_previous_events()
        .when(AddressCommand::FailMetadata {
            ip: "not-an-ip".into(),
            reason: "x".into(),
            at: at(2),
        })
        .then_expect_error_message("not-an-ip is not an IP address");
}

#[test]
fn a_failed_lookup_is_recorded_with_its_reason() {
    AddressTest::with(())
        .given(vec![seen(false)])
        .when(AddressCommand::FailMetadata {
            ip: "8.8.8.8".into(),
            reason: "HTTP 429".into(),
            at: at(2),
        })
        .then_expect_events(vec![AddressEvent::MetadataFailed {
            reason: "HTTP 429".into(),
            at: at(2),
        }]);
}
