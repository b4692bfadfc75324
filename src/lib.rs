//! The Packet Run service: configuration, start-up, the event-store wiring and the operations
//! the screens call. The domain lives in `packet-run-domain`, the read models in
//! `packet-run-projections`.

pub mod app;
pub mod blocklist;
pub mod cli;
pub mod configuration;
pub mod event_store;
pub mod graphql;
pub mod ip_metadata;
pub mod notifications;
pub mod queue;
pub mod read_models;
pub mod resolver;
pub mod routes;
pub mod screenshots;
pub mod seeding;
pub mod startup;
pub mod targets;
pub mod telemetry;
pub mod traceroute;
pub mod workers;
