//! `presences`: the screens connected to each terminal right now.

use crate::sql::Sql;
use crate::{format_time, sql, DecodedEvent, StoredEvent};
use packet_run_domain::TerminalEvent as E;

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    let DecodedEvent::Terminal(e) = decoded else {
        return;
    };
    let terminal: i64 = event.aggregate_id.parse().unwrap_or_default();
    match e {
        E::PresenceConnected {
            websocket_id,
            ip,
            at,
        } => out.push(sql!(
            "INSERT INTO presences (id, terminal_id, websocket_id, ip, connected_at, last_seen_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (websocket_id) DO NOTHING",
            event.row_id(0),
            terminal,
            websocket_id.clone(),
            ip.clone(),
            format_time(*at),
            format_time(*at)
        )),
        E::PresenceLost { websocket_id, .. } => out.push(sql!(
            "DELETE FROM presences WHERE websocket_id = ?",
            websocket_id.clone()
        )),
        _ => {}
    }
}
