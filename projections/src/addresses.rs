//! `addresses`: every IP seen on a route or offered as an alternative, with its metadata.

use crate::sql::Sql;
use crate::{format_time, sql, DecodedEvent, StoredEvent};
use packet_run_domain::{AddressEvent, RunEvent};

fn seen(ip: &str, in_alt_network: bool, at: &str) -> Sql {
    sql!(
        "INSERT INTO addresses (ip, info, is_in_alt_network, is_internal_ip, metadata_error, created_at, updated_at)
         VALUES (?, NULL, ?, FALSE, NULL, ?, ?)
         ON CONFLICT (ip) DO UPDATE SET is_in_alt_network = (addresses.is_in_alt_network OR excluded.is_in_alt_network)",
        ip,
        in_alt_network,
        at,
        at
    )
}

pub(crate) fn project(event: &StoredEvent, decoded: &DecodedEvent, out: &mut Vec<Sql>) {
    match decoded {
        DecodedEvent::Run(e) => {
            let at = format_time(e.at());
            match e {
                RunEvent::OriginRecorded { address, .. }
                | RunEvent::DestinationResolved { address, .. } => {
                    out.push(seen(address, false, &at))
                }
                RunEvent::TracerouteHopRecorded {
                    address: Some(address),
                    ..
                } => out.push(seen(address, false, &at)),
                RunEvent::HopsOffered { hops, .. } => {
                    for hop in hops {
                        if let Some(address) = &hop.address {
                            out.push(seen(address, hop.in_alt_network, &at));
                        }
                    }
                }
                _ => {}
            }
        }
        DecodedEvent::Address(e) => {
            let at = format_time(e.at());
            let ip = event.aggregate_id.clone();
            out.push(match e {
                AddressEvent::AddressSeen { in_alt_network, .. } => seen(&ip, *in_alt_network, &at),
                AddressEvent::MetadataRecorded { info, internal, .. } => sql!(
                    "UPDATE addresses SET info = ?, is_internal_ip = ?, metadata_error = NULL, updated_at = ? WHERE ip = ?",
                    info.to_string(),
                    *internal,
                    at,
                    ip
                ),
                AddressEvent::MetadataFailed { reason, .. } => sql!(
                    "UPDATE addresses SET metadata_error = ?, updated_at = ? WHERE ip = ?",
                    reason.clone(),
                    at,
                    ip
                ),
            });
        }
        _ => {}
    }
}
