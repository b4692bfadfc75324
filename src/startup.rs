//! Building the service from its settings: database, migrations, layout, projector, seeding.

use crate::app::App;
use crate::configuration::Settings;
use crate::event_store::EventStore;
use crate::seeding::{self, SeedError};
use packet_run_domain::AltHops;
use packet_run_projections::{Database, DatabaseError, Projector, ProjectorHandle};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Installation(#[from] SeedError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

/// A running core: the operations plus the projector task that keeps the read models current.
pub struct Application {
    pub app: Arc<App>,
    pub projector: ProjectorHandle,
    shutdown: watch::Sender<bool>,
    projector_task: JoinHandle<()>,
}

impl Application {
    /// Connects, migrates, catches the read models up, seeds the layout and resets terminals.
    /// `seed` fixes the random choices (tests); `None` seeds from entropy.
    pub async fn build(
        settings: &Settings,
        seed: Option<u64>,
    ) -> Result<Application, StartupError> {
        let db = Database::connect(&settings.database_url).await?;
        db.migrate().await?;
        let installation = seeding::load_installation(&settings.installation_file)?;
        let (projector, handle) = Projector::new(db.clone()).await?;
        let caught_up = projector.catch_up().await?;
        if caught_up > 0 {
            tracing::info!(
                events = caught_up,
                "read models caught up with the event log"
            );
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let projector_task = tokio::spawn(projector.run(shutdown_rx));
        let store = EventStore::new(db, Some(handle.clone()));
        let app = Arc::new(App::new(store, installation, AltHops::bundled(), seed));
        let report = seeding::seed_and_reset(&app, &settings.installation_file).await?;
        tracing::info!(
            registered = report.registered,
            reset = report.reset,
            presences_dropped = report.presences_dropped,
            "installation ready"
        );
        Ok(Application {
            app,
            projector: handle,
            shutdown,
            projector_task,
        })
    }

    /// Stops the projector and closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.projector_task.await;
        self.app.database().close().await;
    }
}
