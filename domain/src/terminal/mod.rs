//! A terminal is one screen of the installation with its NFC reader: what it is, which packet
//! lies on it, how far it is in creating a packet, and which screens are connected to it.

mod aggregate;
mod commands;
mod errors;
mod events;

pub use aggregate::{Presence, Terminal};
pub use commands::TerminalCommand;
pub use errors::TerminalError;
pub use events::TerminalEvent;
