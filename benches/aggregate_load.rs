//! How long one command on a terminal takes as the terminal's history grows (every packet
//! passing adds events; aggregates are loaded from all their events, without snapshots).
//!
//!     cargo bench --bench aggregate_load

use packet_run::event_store::EventStore;
use packet_run_domain::{Installation, Terminal, TerminalCommand};
use packet_run_projections::Database;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!(
        "sqlite://{}",
        dir.path().join("load.db").display()
    ))
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let spec = Installation::default_layout().terminal(2).unwrap().clone();
    let at = chrono::Utc::now();
    let store = EventStore::new(db.clone(), None);
    store
        .execute::<Terminal>("2", TerminalCommand::Register { spec, at }, &())
        .await
        .unwrap();
    // History built through commands, as in use: every packet passing adds two events.
    let mut events = 1usize;
    for target in [1_000usize, 10_000] {
        while events < target {
            let run_id = format!("run{events:07}");
            store
                .execute::<Terminal>(
                    "2",
                    TerminalCommand::ReceivePacket {
                        run_id: run_id.clone(),
                        at,
                    },
                    &(),
                )
                .await
                .unwrap();
            store
                .execute::<Terminal>("2", TerminalCommand::ReleasePacket { run_id, at }, &())
                .await
                .unwrap();
            events += 2;
        }
        let rounds = 20;
        let started = Instant::now();
        for _ in 0..rounds {
            store
                .execute::<Terminal>("2", TerminalCommand::Reset { at }, &())
                .await
                .unwrap();
        }
        let per = started.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        println!("terminal with {events:>6} events: {per:>7.2} ms per command");
    }
}
