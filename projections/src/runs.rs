//! `runs`: one row per run with its scalar fields.

use crate::sql::Sql;
use crate::{format_time, sql, DecodedEvent, StoredEvent};
use packet_run_domain::RunEvent as E;

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    let DecodedEvent::Run(e) = decoded else {
        return;
    };
    let id = event.aggregate_id.clone();
    let at = format_time(e.at());
    let raise_index = |index: u32| {
        sql!(
            "UPDATE runs SET current_hop_index = CASE WHEN current_hop_index < ? THEN ? ELSE current_hop_index END,
                    updated_at = ? WHERE id = ?",
            index,
            index,
            at.clone(),
            id.clone()
        )
    };
    out.push(match e {
        E::RunCreated { nfc_id, url, server, .. } => sql!(
            "INSERT INTO runs (id, nfc_id, url, destination_ip, terminal_id, server_id, is_traceroute_finished,
                               traceroute_error, packet_type, current_hop_index, image_path, screenshot_error,
                               created_position, created_at, updated_at)
             VALUES (?, ?, ?, NULL, NULL, ?, FALSE, NULL, 'REQUEST', 1, NULL, NULL, ?, ?, ?)
             ON CONFLICT (id) DO NOTHING",
            id.clone(),
            nfc_id.clone(),
            url.clone(),
            *server,
            event.position.position,
            at.clone(),
            at.clone()
        ),
        E::OriginRecorded { .. } => raise_index(2),
        E::HopsOffered { index, .. } => raise_index(*index),
        E::TracerouteHopRecorded { .. } => sql!("UPDATE runs SET updated_at = ? WHERE id = ?", at.clone(), id.clone()),
        E::DestinationResolved { address, .. } => sql!(
            "UPDATE runs SET destination_ip = ?, updated_at = ? WHERE id = ?",
            address.clone(),
            at.clone(),
            id.clone()
        ),
        E::TracerouteFinished { .. } => {
            sql!("UPDATE runs SET is_traceroute_finished = TRUE, updated_at = ? WHERE id = ?", at.clone(), id.clone())
        }
        E::TracerouteFailed { reason, .. } => sql!(
            "UPDATE runs SET is_traceroute_finished = TRUE, traceroute_error = ?, updated_at = ? WHERE id = ?",
            reason.clone(),
            at.clone(),
            id.clone()
        ),
        E::ScreenshotTaken { image_path, .. } => sql!(
            "UPDATE runs SET image_path = ?, screenshot_error = NULL, updated_at = ? WHERE id = ?",
            image_path.clone(),
            at.clone(),
            id.clone()
        ),
        E::ScreenshotFailed { reason, .. } => sql!(
            "UPDATE runs SET screenshot_error = ?, updated_at = ? WHERE id = ?",
            reason.clone(),
            at.clone(),
            id.clone()
        ),
        E::HopTaken { terminal, .. } => sql!(
            "UPDATE runs SET terminal_id = ?, updated_at = ? WHERE id = ?",
            *terminal,
            at.clone(),
            id.clone()
        ),
        E::PacketTypeChanged { packet_type, .. } => sql!(
            "UPDATE runs SET packet_type = ?, updated_at = ? WHERE id = ?",
            packet_type.to_string(),
            at.clone(),
            id.clone()
        ),
    });
}
