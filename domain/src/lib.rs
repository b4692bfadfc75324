//! Packet Run's domain: what a run, a terminal and an address are, which commands they accept,
//! which events they record, and the rules that decide where a packet may go next.
//!
//! Nothing here does I/O, reads a clock or draws randomness of its own: times, random seeds, the
//! installation's layout and the alternative-hop list are passed in, so every decision can be
//! replayed and tested exactly.

pub mod address;
pub mod alt_hops;
pub mod event_meta;
pub mod installation;
pub mod routing;
pub mod run;
pub mod terminal;
pub mod types;

pub use address::{Address, AddressCommand, AddressError, AddressEvent};
pub use alt_hops::{AltHop, AltHops};
pub use installation::{Installation, InstallationError, TerminalSpec};
pub use run::{OfferedHop, Run, RunCommand, RunError, RunEvent, RunHop, RunServices};
pub use terminal::{Terminal, TerminalCommand, TerminalError, TerminalEvent};
pub use types::*;
