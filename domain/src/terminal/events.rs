use crate::event_meta::EVENT_VERSION;
use crate::installation::TerminalSpec;
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TerminalEvent {
    /// The terminal became part of the installation, with its type and outgoing connections.
    TerminalRegistered {
        spec: TerminalSpec,
        at: DateTime<Utc>,
    },
    /// A packet was put on the reader: the terminal holds `run_id` and is SCANNING_NFC.
    PacketScanned {
        run_id: String,
        at: DateTime<Utc>,
    },
    PacketCreationStarted {
        run_id: String,
        at: DateTime<Utc>,
    },
    PacketCreated {
        run_id: String,
        at: DateTime<Utc>,
    },
    /// Back to IDLE with no run.
    TerminalReset {
        at: DateTime<Utc>,
    },
    PresenceConnected {
        websocket_id: String,
        ip: String,
        at: DateTime<Utc>,
    },
    PresenceLost {
        websocket_id: String,
        at: DateTime<Utc>,
    },
}

impl TerminalEvent {
    pub fn at(&self) -> DateTime<Utc> {
        use TerminalEvent::*;
        match self {
            TerminalRegistered { at, .. }
            | PacketScanned { at, .. }
            | PacketCreationStarted { at, .. }
            | PacketCreated { at, .. }
            | TerminalReset { at }
            | PresenceConnected { at, .. }
            | PresenceLost { at, .. } => *at,
        }
    }
}

impl DomainEvent for TerminalEvent {
    fn event_type(&self) -> String {
        use TerminalEvent::*;
        match self {
            TerminalRegistered { .. } => "TerminalRegistered",
            PacketScanned { .. } => "PacketScanned",
            PacketCreationStarted { .. } => "PacketCreationStarted",
            PacketCreated { .. } => "PacketCreated",
            TerminalReset { .. } => "TerminalReset",
            PresenceConnected { .. } => "PresenceConnected",
            PresenceLost { .. } => "PresenceLost",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
