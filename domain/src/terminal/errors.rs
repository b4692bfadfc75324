use crate::types::{TerminalId, TerminalStatus, TerminalType};

/// Why a terminal refused a command. The messages are shown on the screens as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminalError {
    #[error("terminal {0} does not exist")]
    NotFound(TerminalId),
    #[error("terminal {0} is registered already")]
    AlreadyRegistered(TerminalId),
    #[error(
        "terminal {terminal} is a {terminal_type}; only SENDER and SERVER terminals create packets"
    )]
    CannotCreatePackets {
        terminal: TerminalId,
        terminal_type: TerminalType,
    },
    #[error("terminal {terminal} is {current}; it must be {expected} to become {wanted}")]
    WrongStatus {
        terminal: TerminalId,
        current: TerminalStatus,
        expected: TerminalStatus,
        wanted: TerminalStatus,
    },
    #[error("terminal {0} holds no packet")]
    NoPacket(TerminalId),
    #[error("{0}")]
    MayNotTransform(String),
}
