//! An address is an IP seen on some run's route (or drawn from the alternative-hop list), with
//! what is known of who owns it and where it is.

mod aggregate;
mod commands;
mod errors;
mod events;

pub use aggregate::Address;
pub use commands::AddressCommand;
pub use errors::AddressError;
pub use events::AddressEvent;
