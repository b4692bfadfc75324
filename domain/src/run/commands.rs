use crate::types::{LatLng, TerminalId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunCommand {
    Create {
        run_id: String,
        nfc_id: String,
        url: String,
        server: TerminalId,
        at: DateTime<Utc>,
    },
    RecordOrigin {
        address: String,
        at: DateTime<Utc>,
    },
    /// Idempotent: a hop number already recorded is ignored, so a retried trace adds nothing.
    RecordTracerouteHop {
        hop: u32,
        address: Option<String>,
        at: DateTime<Utc>,
    },
    RecordDestination {
        address: String,
        at: DateTime<Utc>,
    },
    FinishTraceroute {
        at: DateTime<Utc>,
    },
    FailTraceroute {
        reason: String,
        at: DateTime<Utc>,
    },
    RecordScreenshot {
        image_path: String,
        partial: bool,
        at: DateTime<Utc>,
    },
    FailScreenshot {
        reason: String,
        at: DateTime<Utc>,
    },
    /// The packet was scanned at `terminal`. `seed` drives every random choice of this scan;
    /// `locations` holds what is known of the location of the run's addresses.
    Scan {
        terminal: TerminalId,
        seed: u64,
        locations: BTreeMap<String, LatLng>,
        at: DateTime<Utc>,
    },
    /// The terminal turned the request into a response (or, at the sender, built the request).
    Transform {
        terminal: TerminalId,
        at: DateTime<Utc>,
    },
}
