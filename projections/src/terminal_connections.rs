//! `terminal_connections`: the layout's wiring, one row per outgoing slot.

use crate::sql::Sql;
use crate::{sql, DecodedEvent, StoredEvent};
use packet_run_domain::TerminalEvent as E;

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    let DecodedEvent::Terminal(E::TerminalRegistered { spec, .. }) = decoded else {
        return;
    };
    let from: i64 = event.aggregate_id.parse().unwrap_or_default();
    for (&slot, &to) in &spec.connections {
        out.push(sql!(
            "INSERT INTO terminal_connections (from_id, slot, to_id) VALUES (?, ?, ?) ON CONFLICT (from_id, slot) DO NOTHING",
            from,
            slot,
            to
        ));
    }
}
