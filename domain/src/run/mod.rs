//! A run is one visitor's packet: the website it asks for, the traced internet route, and the
//! hops it took and may take through the installation.

mod aggregate;
mod commands;
mod errors;
mod events;

pub use aggregate::{Run, RunHop, RunServices};
pub use commands::RunCommand;
pub use errors::RunError;
pub use events::{OfferedHop, RunEvent};
