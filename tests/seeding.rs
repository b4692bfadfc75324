//! The default layout is seeded once, exactly as behaviour.md draws it, and checked afterwards.

mod common;
use common::*;
use packet_run::configuration::Settings;
use packet_run::startup::Application;

#[tokio::test]
async fn a_first_start_seeds_twelve_terminals_with_the_documented_wiring() {
    let app = spawn_app().await;
    let dump = app.dump().await;
    let terminals: Vec<(String, String, String)> = dump["terminals"]
        .iter()
        .map(|r| {
            (
                r["id"].clone().unwrap(),
                r["type"].clone().unwrap(),
                r["status"].clone().unwrap(),
            )
        })
        .collect();
    let types = [
        "SENDER", "GATEWAY", "ROUTER", "ROUTER", "SERVER", "ROUTER", "ROUTER", "ROUTER", "SERVER",
        "ROUTER", "ROUTER", "RECEIVER",
    ];
    let expected: Vec<(String, String, String)> = types
        .iter()
        .enumerate()
        .map(|(k, t)| ((k + 1).to_string(), t.to_string(), "IDLE".to_string()))
        .collect();
    assert_eq!(terminals, expected);

    let mut wiring: Vec<(i64, i64, i64)> = dump["terminal_connections"]
        .iter()
        .map(|r| {
            let n = |c: &str| r[c].as_deref().unwrap().parse::<i64>().unwrap();
            (n("from_id"), n("to_id"), n("slot"))
        })
        .collect();
    wiring.sort();
    // The table of behaviour.md: from → to (slot).
    let documented = [
        (1, 2, 1),
        (2, 12, 1),
        (2, 6, 2),
        (3, 11, 1),
        (3, 8, 2),
        (3, 6, 3),
        (4, 11, 1),
        (4, 7, 2),
        (4, 5, 3),
        (5, 2, 1),
        (5, 4, 2),
        (6, 3, 1),
        (6, 2, 2),
        (6, 10, 3),
        (7, 4, 1),
        (7, 10, 2),
        (8, 3, 1),
        (8, 11, 2),
        (9, 2, 1),
        (9, 10, 2),
        (10, 9, 1),
        (10, 7, 2),
        (10, 6, 3),
        (11, 8, 1),
        (11, 4, 2),
        (11, 3, 3),
    ];
    let mut documented = documented.to_vec();
    documented.sort();
    assert_eq!(wiring, documented);
    app.application.stop().await;
}

#[tokio::test]
async fn a_second_start_adds_no_events() {
    let app = spawn_app().await;
    let first = app.event_count().await;
    assert_eq!(first, 12, "twelve TerminalRegistered events");
    let app = app.restart().await;
    assert_eq!(app.event_count().await, first);
    app.application.stop().await;
}

#[tokio::test]
async fn a_start_puts_busy_terminals_back_to_idle_and_drops_presences() {
    let app = spawn_app().await;
    let run_id = app
        .app()
        .create_run("https://example.org/", "tag")
        .await
        .unwrap();
    trace(app.app(), &run_id).await;
    app.app().scan_nfc_for_terminal(1, "tag").await.unwrap();
    app.app().scan_nfc_for_terminal(2, "tag").await.unwrap();
    let now = chrono::Utc::now();
    app.app()
        .terminal_command(
            5,
            packet_run_domain::TerminalCommand::ConnectPresence {
                websocket_id: "k".into(),
                ip: "127.0.0.1".into(),
                at: now,
            },
        )
        .await
        .unwrap();
    let app = app.restart().await;
    let dump = app.dump().await;
    assert!(dump["terminals"]
        .iter()
        .all(|r| r["status"].as_deref() == Some("IDLE") && r["run_id"].is_none()));
    assert!(dump["presences"].is_empty());
    app.application.stop().await;
}

#[tokio::test]
async fn a_layout_file_that_no_longer_matches_is_reported_and_nothing_is_rewritten() {
    let app = spawn_app().await;
    let settings = app.settings.clone();
    let events = app.event_count().await;
    app.application.stop().await;

    let changed = std::fs::read_to_string(&settings.installation_file).unwrap().replace(
        "id = 7\ntype = \"ROUTER\"\nconnections = [{ slot = 1, to = 4 }, { slot = 2, to = 10 }]",
        "id = 7\ntype = \"ROUTER\"\nconnections = [{ slot = 1, to = 4 }]",
    );
    let file = settings.data_dir.parent().unwrap().join("changed.toml");
    std::fs::write(&file, changed).unwrap();
    let settings = Settings {
        installation_file: file,
        ..settings
    };
    let error = Application::build(&settings, None)
        .await
        .err()
        .expect("a changed layout must stop the start");
    let message = error.to_string();
    assert!(message.contains("terminal 7: stored as ROUTER [slot 1 → 4, slot 2 → 10], the file says ROUTER [slot 1 → 4]"), "{message}");

    let db = packet_run_projections::Database::connect(&settings.database_url)
        .await
        .unwrap();
    assert_eq!(
        db.event_count().await.unwrap(),
        events,
        "nothing was written"
    );
}
