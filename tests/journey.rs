//! The journey through the service on a real SQLite file: terminal statuses along the way,
//! every rejection leaving events and read models untouched, and concurrent scans.

mod common;
use common::*;
use packet_run::app::AppError;
use packet_run::startup::Application;
use packet_run_domain::{HopStatus, PacketType, Run};

async fn terminal(app: &TestApp, id: u32) -> (String, Option<String>) {
    let dump = app.dump().await;
    let row = dump["terminals"]
        .iter()
        .find(|r| r["id"].as_deref() == Some(&id.to_string()))
        .unwrap()
        .clone();
    (row["status"].clone().unwrap(), row["run_id"].clone())
}

/// Runs `attempt` and checks it changed nothing: no event appended, every read model equal.
async fn refused<T: std::fmt::Debug>(
    app: &TestApp,
    attempt: impl std::future::Future<Output = Result<T, AppError>>,
) -> AppError {
    let (events, dump) = (app.event_count().await, app.dump().await);
    let error = attempt.await.expect_err("must be refused");
    assert_eq!(
        app.event_count().await,
        events,
        "a refused command appends nothing ({error})"
    );
    assert_eq!(
        app.dump().await,
        dump,
        "a refused command changes no read model ({error})"
    );
    error
}

#[tokio::test]
async fn a_packet_travels_to_its_server_and_back_with_every_screen_told_where_it_is() {
    let t = spawn_app().await;
    let app = t.app();
    let run_id = app
        .create_run("https://example.org/", "ball-7")
        .await
        .unwrap();

    // Too early: the route is not traced yet.
    let e = refused(&t, app.scan_nfc_for_terminal(1, "ball-7")).await;
    assert_eq!(
        e,
        AppError::InvalidState(
            "the visitor's own address not resolved yet, try again in a moment".into()
        )
    );
    trace(app, &run_id).await;

    // At the sender the visitor builds the request.
    app.scan_nfc_for_terminal(1, "ball-7").await.unwrap();
    assert_eq!(
        terminal(&t, 1).await,
        ("SCANNING_NFC".into(), Some(run_id.clone()))
    );
    app.create_return_packet_for_terminal(1, false)
        .await
        .unwrap();
    assert_eq!(terminal(&t, 1).await.0, "CREATING_PACKET");
    app.create_return_packet_for_terminal(1, true)
        .await
        .unwrap();
    assert_eq!(terminal(&t, 1).await.0, "CREATED_PACKET");
    let run: Run = app.store.load(&run_id).await.unwrap();
    assert_eq!(
        run.packet_type,
        PacketType::Request,
        "the sender does not turn the request around"
    );

    let mut previous = 1;
    let mut reached_server = false;
    for _ in 0..20 {
        let next = recommended(app, &run_id).await.expect("a recommended hop");
        app.scan_nfc_for_terminal(next, "ball-7").await.unwrap();
        assert_eq!(
            terminal(&t, previous).await,
            ("IDLE".into(), None),
            "terminal {previous} let the packet go"
        );
        assert_eq!(
            terminal(&t, next).await,
            ("SCANNING_NFC".into(), Some(run_id.clone()))
        );
        let run: Run = app.store.load(&run_id).await.unwrap();
        assert_eq!(
            run.current_hop().map(|h| (h.terminal, h.status)),
            Some((next, HopStatus::Actual))
                .filter(|_| next != 12)
                .or(run.current_hop().map(|h| (h.terminal, h.status)))
        );
        if next == run.server && !reached_server {
            // A router's screen may not create packets; this server may.
            let e = refused(&t, app.create_return_packet_for_terminal(next, true)).await;
            assert_eq!(e.code(), "INVALID_STATE");
            assert!(e.to_string().contains(&format!("terminal {next} is SCANNING_NFC; it must be CREATING_PACKET to become CREATED_PACKET")), "{e}");
            app.create_return_packet_for_terminal(next, false)
                .await
                .unwrap();
            app.create_return_packet_for_terminal(next, true)
                .await
                .unwrap();
            assert_eq!(terminal(&t, next).await.0, "CREATED_PACKET");
            let dump = t.dump().await;
            let row = dump["runs"]
                .iter()
                .find(|r| r["id"].as_deref() == Some(run_id.as_str()))
                .unwrap();
            assert_eq!(row["packet_type"].as_deref(), Some("RESPONSE"));
            reached_server = true;
        }
        previous = next;
        if next == 12 {
            break;
        }
    }
    assert!(reached_server);
    assert_eq!(previous, 12, "the packet reached the receiver");
    t.application.stop().await;
}

#[tokio::test]
async fn every_rejection_is_clear_and_changes_nothing() {
    let t = spawn_app().await;
    let app = t.app();
    let run_id = app
        .create_run("https://example.org/", "ball")
        .await
        .unwrap();
    // Only the origin and the gateway so far: the first internet hop is not known.
    let now = chrono::Utc::now();
    app.run_command(
        &run_id,
        packet_run_domain::RunCommand::RecordOrigin {
            address: ORIGIN.into(),
            at: now,
        },
    )
    .await
    .unwrap();
    let c = app
        .run_command(
            &run_id,
            packet_run_domain::RunCommand::RecordTracerouteHop {
                hop: 2,
                address: Some(GATEWAY_IP.into()),
                at: now,
            },
        )
        .await
        .unwrap();
    app.settle(c.position).await;
    app.scan_nfc_for_terminal(1, "ball").await.unwrap();

    let e = refused(&t, app.scan_nfc_for_terminal(1, "no-such-ball")).await;
    assert_eq!(
        e,
        AppError::NotFound("no packet has tag \"no-such-ball\"".into())
    );
    let e = refused(&t, app.scan_nfc_for_terminal(77, "ball")).await;
    assert_eq!(e, AppError::NotFound("terminal 77 does not exist".into()));
    let e = refused(&t, app.scan_nfc_for_terminal(6, "ball")).await;
    assert_eq!(
        e,
        AppError::InvalidState("terminal 6 is not currently a destination for this run".into())
    );
    // The original marked the gateway hop taken and then failed, leaving the journey stuck.
    let e = refused(&t, app.scan_nfc_for_terminal(2, "ball")).await;
    assert_eq!(
        e,
        AppError::InvalidState("internet hop not resolved yet, try again in a moment".into())
    );
    let e = refused(&t, app.create_return_packet_for_terminal(3, false)).await;
    assert_eq!(
        e.to_string(),
        "terminal 3 is a ROUTER; only SENDER and SERVER terminals create packets"
    );
    let e = refused(&t, app.create_return_packet_for_terminal(5, false)).await;
    assert_eq!(
        e.to_string(),
        "terminal 5 is IDLE; it must be SCANNING_NFC to become CREATING_PACKET"
    );
    let e = refused(&t, app.create_return_packet_for_terminal(1, true)).await;
    assert_eq!(
        e.to_string(),
        "terminal 1 is SCANNING_NFC; it must be CREATING_PACKET to become CREATED_PACKET"
    );
    let e = refused(&t, app.create_run("ftp://example.org/", "x")).await;
    assert_eq!(e.code(), "BAD_INPUT");
    let e = refused(&t, app.create_run("https://www.0000114.com/page", "x")).await;
    assert_eq!(
        e,
        AppError::BadInput("www.0000114.com is on the blocklist and cannot be visited".into())
    );
    for inside in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::ffff:10.0.0.1]/",
        "https://localhost:8443/",
        "http://192.168.1.1/admin",
    ] {
        let e = refused(&t, app.create_run(inside, "x")).await;
        assert_eq!(e.code(), "BAD_INPUT", "{inside}");
        assert!(e.to_string().contains("cannot be visited"), "{e}");
    }
    let e = refused(&t, app.create_run("https://", "x")).await;
    assert_eq!(e.code(), "BAD_INPUT");
    let e = refused(&t, app.create_run("https://example.org/", "")).await;
    assert_eq!(e.code(), "BAD_INPUT");
    let e = refused(
        &t,
        app.create_run(&format!("https://example.org/{}", "a".repeat(3000)), "x"),
    )
    .await;
    assert_eq!(e.code(), "BAD_INPUT");

    // A re-scan where the packet lies changes nothing either (and is no error).
    let (events, dump) = (t.event_count().await, t.dump().await);
    app.scan_nfc_for_terminal(1, "ball").await.unwrap();
    assert_eq!((t.event_count().await, t.dump().await), (events, dump));

    // Once the internet hop is there, the gateway scan goes through.
    trace(app, &run_id).await;
    app.scan_nfc_for_terminal(2, "ball").await.unwrap();
    t.application.stop().await;
}

#[tokio::test]
async fn a_server_reached_off_the_recommended_route_may_not_transform() {
    let t = spawn_app().await;
    let app = t.app();
    let run_id = app.create_run("https://example.org/", "b").await.unwrap();
    trace(app, &run_id).await;
    for terminal in [1, 2, 6] {
        app.scan_nfc_for_terminal(terminal, "b").await.unwrap();
    }
    // Walk to a server through any offered hop that is not the recommended one.
    let mut guard = 0;
    loop {
        let run: Run = app.store.load(&run_id).await.unwrap();
        let here = run.terminal.unwrap();
        if t.app().installation.terminal_type(here) == Some(packet_run_domain::TerminalType::Server)
        {
            assert!(!run.current_hop().unwrap().may_perform_transformation);
            app.create_return_packet_for_terminal(here, false)
                .await
                .map(|_| ())
                .unwrap_or(());
            let e = refused(&t, app.create_return_packet_for_terminal(here, true)).await;
            assert_eq!(e.code(), "INVALID_STATE", "{e}");
            break;
        }
        let server_offer = run.available_hops().find(|h| {
            h.hop_type != packet_run_domain::HopType::Recommended
                && t.app().installation.terminal_type(h.terminal)
                    == Some(packet_run_domain::TerminalType::Server)
        });
        let next = server_offer
            .or_else(|| {
                run.available_hops()
                    .find(|h| h.hop_type == packet_run_domain::HopType::Recommended)
            })
            .unwrap()
            .terminal;
        app.scan_nfc_for_terminal(next, "b").await.unwrap();
        guard += 1;
        assert!(
            guard < 20,
            "never offered a server off the recommended route"
        );
    }
    t.application.stop().await;
}

#[tokio::test]
async fn two_terminals_scanning_one_tag_at_once_take_exactly_one_hop() {
    let t = spawn_app().await;
    // A second service process on the same database file.
    let other = Application::build(&t.settings, Some(9)).await.unwrap();
    let app = t.app();
    let run_id = app.create_run("https://example.org/", "dup").await.unwrap();
    trace(app, &run_id).await;
    app.scan_nfc_for_terminal(1, "dup").await.unwrap();
    app.scan_nfc_for_terminal(2, "dup").await.unwrap();
    // Both offered terminals (6 and 12) scan at the same moment, from two processes.
    let (a, b) = tokio::join!(
        app.scan_nfc_for_terminal(6, "dup"),
        other.app.scan_nfc_for_terminal(12, "dup")
    );
    assert!(a.is_ok() ^ b.is_ok(), "exactly one scan wins: {a:?} {b:?}");
    let loser = a.err().or(b.err()).unwrap();
    assert_eq!(loser.code(), "INVALID_STATE", "{loser}");
    let run: Run = app.store.load(&run_id).await.unwrap();
    let taken: Vec<_> = run
        .hops
        .iter()
        .filter(|h| h.index == 3 && h.status == HopStatus::Actual)
        .collect();
    assert_eq!(taken.len(), 1, "one hop taken at index 3");
    // And within one process too.
    let next: Vec<u32> = run.available_hops().map(|h| h.terminal).collect();
    let (a, b) = tokio::join!(
        app.scan_nfc_for_terminal(next[0], "dup"),
        app.scan_nfc_for_terminal(next[1], "dup")
    );
    assert!(a.is_ok() ^ b.is_ok(), "exactly one scan wins: {a:?} {b:?}");
    other.stop().await;
    t.application.stop().await;
}
