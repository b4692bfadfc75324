//! `terminals`: each terminal's type, status and the run lying on it.

use crate::sql::Sql;
use crate::{format_time, sql, DecodedEvent, StoredEvent};
use packet_run_domain::TerminalEvent as E;

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    let DecodedEvent::Terminal(e) = decoded else {
        return;
    };
    let id: i64 = event.aggregate_id.parse().unwrap_or_default();
    let at = format_time(e.at());
    let set_status = |status: &str, run_id: Option<String>| {
        sql!(
            "UPDATE terminals SET status = ?, run_id = ?, updated_at = ? WHERE id = ?",
            status,
            run_id,
            at.clone(),
            id
        )
    };
    out.push(match e {
        E::TerminalRegistered { spec, .. } => sql!(
            "INSERT INTO terminals (id, type, status, payload, run_id, created_at, updated_at)
             VALUES (?, ?, 'IDLE', ?, NULL, ?, ?) ON CONFLICT (id) DO NOTHING",
            id,
            spec.terminal_type.to_string(),
            spec.payload.clone(),
            at.clone(),
            at.clone()
        ),
        E::PacketScanned { run_id, .. } => set_status("SCANNING_NFC", Some(run_id.clone())),
        E::PacketCreationStarted { run_id, .. } => {
            set_status("CREATING_PACKET", Some(run_id.clone()))
        }
        E::PacketCreated { run_id, .. } => set_status("CREATED_PACKET", Some(run_id.clone())),
        E::TerminalReset { .. } => set_status("IDLE", None),
        E::PresenceConnected { .. } | E::PresenceLost { .. } => return,
    });
}
