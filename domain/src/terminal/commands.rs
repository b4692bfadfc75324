use crate::installation::TerminalSpec;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TerminalCommand {
    Register {
        spec: TerminalSpec,
        at: DateTime<Utc>,
    },
    /// A packet of `run_id` was scanned here (a re-scan of the packet it holds changes nothing).
    ReceivePacket { run_id: String, at: DateTime<Utc> },
    /// The packet of `run_id` moved on: the terminal goes back to IDLE if it still holds it.
    ReleasePacket { run_id: String, at: DateTime<Utc> },
    /// `createReturnPacketForTerminal`: `created = false` starts creating, `true` finishes.
    /// `may_transform` says whether the run allows a transformation here.
    CreatePacket {
        created: bool,
        may_transform: Result<(), String>,
        at: DateTime<Utc>,
    },
    /// Back to IDLE with no run, whatever the state.
    Reset { at: DateTime<Utc> },
    ConnectPresence {
        websocket_id: String,
        ip: String,
        at: DateTime<Utc>,
    },
    LosePresence {
        websocket_id: String,
        at: DateTime<Utc>,
    },
    /// Drops every presence (at start-up, when no screen can still be connected).
    DropPresences { at: DateTime<Utc> },
}
