//! `traceroute_hops`: the traced internet route of each run (hop 1 is the visitor's machine).

use crate::sql::Sql;
use crate::{format_time, sql, DecodedEvent, StoredEvent};
use packet_run_domain::RunEvent as E;

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    let DecodedEvent::Run(e) = decoded else {
        return;
    };
    let (hop, address) = match e {
        E::OriginRecorded { address, .. } => (1, Some(address.clone())),
        E::TracerouteHopRecorded { hop, address, .. } => (*hop, address.clone()),
        _ => return,
    };
    let at = format_time(e.at());
    out.push(sql!(
        "INSERT INTO traceroute_hops (id, run_id, hop, address_ip, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, hop) DO NOTHING",
        event.row_id(0),
        event.aggregate_id.clone(),
        hop,
        address,
        at.clone(),
        at
    ));
}
