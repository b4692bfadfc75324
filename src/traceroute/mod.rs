//! Tracing the route to a run's website.

pub mod probe;
