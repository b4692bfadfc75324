//! `run_hops`: the hops offered and taken on each run's journey.

use crate::sql::Sql;
use crate::{format_time, sql, DecodedEvent, StoredEvent};
use packet_run_domain::RunEvent as E;

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    let DecodedEvent::Run(e) = decoded else {
        return;
    };
    let run = event.aggregate_id.clone();
    let at = format_time(e.at());
    const INSERT: &str =
        "INSERT INTO run_hops (id, run_id, hop, terminal_id, type, status, address_ip,
                                                 may_perform_transformation, created_at, updated_at)
                          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING";
    match e {
        E::OriginRecorded {
            address, sender, ..
        } => out.push(sql!(
            INSERT,
            event.row_id(0),
            run,
            1u32,
            *sender,
            "RECOMMENDED",
            "ACTUAL",
            Some(address.clone()),
            true,
            at.clone(),
            at
        )),
        E::HopsOffered { index, hops, .. } => {
            for (k, hop) in hops.iter().enumerate() {
                out.push(sql!(
                    INSERT,
                    event.row_id(k),
                    run.clone(),
                    *index,
                    hop.terminal,
                    hop.hop_type.to_string(),
                    "POTENTIAL",
                    hop.address.clone(),
                    hop.may_perform_transformation,
                    at.clone(),
                    at.clone()
                ));
            }
        }
        E::HopTaken {
            index, terminal, ..
        } => out.push(sql!(
            "UPDATE run_hops SET status = 'ACTUAL', updated_at = ?
              WHERE run_id = ? AND hop = ? AND terminal_id = ? AND status = 'POTENTIAL'",
            at,
            run,
            *index,
            *terminal
        )),
        _ => {}
    }
}
