use crate::event_meta::EVENT_VERSION;
use crate::types::{HopType, PacketType, TerminalId};
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

/// A hop offered to the visitor at some index of the journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferedHop {
    pub terminal: TerminalId,
    pub hop_type: HopType,
    /// The internet address this hop stands for, when there is one.
    pub address: Option<String>,
    pub may_perform_transformation: bool,
    /// The address was drawn at random from the alternative-hop list.
    #[serde(default)]
    pub in_alt_network: bool,
}

/// Everything that can happen to a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RunEvent {
    RunCreated {
        run_id: String,
        nfc_id: String,
        url: String,
        server: TerminalId,
        at: DateTime<Utc>,
    },
    /// The visitor's own machine: traceroute hop 1, and run hop 1 at the sender.
    OriginRecorded {
        address: String,
        sender: TerminalId,
        at: DateTime<Utc>,
    },
    /// Traceroute hop `hop` (TTL + 1); `None` for a router that did not answer.
    TracerouteHopRecorded {
        hop: u32,
        address: Option<String>,
        at: DateTime<Utc>,
    },
    DestinationResolved {
        address: String,
        at: DateTime<Utc>,
    },
    TracerouteFinished {
        at: DateTime<Utc>,
    },
    TracerouteFailed {
        reason: String,
        at: DateTime<Utc>,
    },
    ScreenshotTaken {
        image_path: String,
        partial: bool,
        at: DateTime<Utc>,
    },
    ScreenshotFailed {
        reason: String,
        at: DateTime<Utc>,
    },
    /// The visitor scanned the packet at the terminal of the POTENTIAL hop `index`; it is now ACTUAL
    /// and the run is at that terminal. `left` is the terminal the run was at before.
    HopTaken {
        index: u32,
        terminal: TerminalId,
        left: Option<TerminalId>,
        at: DateTime<Utc>,
    },
    /// New POTENTIAL hops at `index`; the run's current hop index becomes `index`.
    HopsOffered {
        index: u32,
        hops: Vec<OfferedHop>,
        at: DateTime<Utc>,
    },
    PacketTypeChanged {
        packet_type: PacketType,
        terminal: TerminalId,
        at: DateTime<Utc>,
    },
}

impl RunEvent {
    pub fn at(&self) -> DateTime<Utc> {
        use RunEvent::*;
        match self {
            RunCreated { at, .. }
            | OriginRecorded { at, .. }
            | TracerouteHopRecorded { at, .. }
            | DestinationResolved { at, .. }
            | TracerouteFinished { at }
            | TracerouteFailed { at, .. }
            | ScreenshotTaken { at, .. }
            | ScreenshotFailed { at, .. }
            | HopTaken { at, .. }
            | HopsOffered { at, .. }
            | PacketTypeChanged { at, .. } => *at,
        }
    }
}

impl DomainEvent for RunEvent {
    fn event_type(&self) -> String {
        use RunEvent::*;
        match self {
            RunCreated { .. } => "RunCreated",
            OriginRecorded { .. } => "OriginRecorded",
            TracerouteHopRecorded { .. } => "TracerouteHopRecorded",
            DestinationResolved { .. } => "DestinationResolved",
            TracerouteFinished { .. } => "TracerouteFinished",
            TracerouteFailed { .. } => "TracerouteFailed",
            ScreenshotTaken { .. } => "ScreenshotTaken",
            ScreenshotFailed { .. } => "ScreenshotFailed",
            HopTaken { .. } => "HopTaken",
            HopsOffered { .. } => "HopsOffered",
            PacketTypeChanged { .. } => "PacketTypeChanged",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
