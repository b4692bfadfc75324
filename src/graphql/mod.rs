//! The GraphQL API: exactly the surface the installation's screens were built against
//! (`../shared/reference/api.graphql`), plus history and live event streams.

pub mod errors;
pub mod ip_info;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;

use crate::app::App;
use crate::notifications::Hub;
use async_graphql::dataloader::DataLoader;
use async_graphql::Schema;
use std::sync::Arc;

pub type PacketRunSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Deepest selection accepted (the screens' deepest is 7 levels).
pub const MAX_DEPTH: usize = 16;
/// Largest selection accepted, counted in fields.
pub const MAX_COMPLEXITY: usize = 5_000;

pub fn build_schema(
    app: Arc<App>,
    hub: Arc<Hub>,
    jobs: Arc<crate::queue::board::JobBoard>,
    probe: mutation::HostProbe,
) -> PacketRunSchema {
    let loader = DataLoader::new(
        loaders::ReadModels {
            db: app.database().clone(),
        },
        tokio::spawn,
    );
    Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .data(app)
        .data(hub)
        .data(jobs)
        .data(probe)
        .data(loader)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema without a database, for printing its SDL.
pub fn sdl() -> String {
    Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .finish()
        .sdl()
}
