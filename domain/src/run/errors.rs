use crate::types::{PacketType, TerminalId};

/// Why a run refused a command. The messages are shown on the screens as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("this run does not exist")]
    NotFound,
    #[error("run {0} exists already")]
    AlreadyExists(String),
    #[error("terminal {0} is not part of this installation")]
    UnknownTerminal(TerminalId),
    #[error("terminal {terminal} is not currently a destination for this run")]
    NotADestination { terminal: TerminalId },
    #[error("{what} not resolved yet, try again in a moment")]
    RouteNotReady { what: &'static str },
    #[error("the packet at terminal {terminal} may not be transformed: {reason}")]
    MayNotTransform {
        terminal: TerminalId,
        reason: String,
    },
    #[error("the packet is already a {0}")]
    AlreadyTransformed(PacketType),
    #[error("hop number {0} is outside 1..=64")]
    HopOutOfRange(u32),
    #[error("{0} is not an IP address")]
    InvalidAddress(String),
}
