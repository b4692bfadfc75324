//! Building the service from its settings: database, migrations, layout, projector, seeding,
//! and the HTTP server.

use crate::app::App;
use crate::configuration::Settings;
use crate::event_store::EventStore;
use crate::graphql::{build_schema, PacketRunSchema};
use crate::notifications::Hub;
use crate::queue::board::JobBoard;
use crate::routes::{
    self, graphql::MAX_BODY_BYTES, images::ImagesDir, websocket::SocketState, SocketSettings,
};
use crate::seeding::{self, SeedError};
use crate::workers;
use actix_cors::Cors;
use actix_web::{web, HttpServer};
use packet_run_domain::AltHops;
use packet_run_projections::{Database, DatabaseError, Projector, ProjectorHandle};
use std::net::TcpListener;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Installation(#[from] SeedError),
    #[error("cannot listen on {address}: {source} (is another packet-run running? set PORT to another port)")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot start: {0}")]
    Part(String),
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// A running service.
pub struct Application {
    pub app: Arc<App>,
    pub projector: ProjectorHandle,
    pub hub: Arc<Hub>,
    pub schema: PacketRunSchema,
    port: u16,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: actix_web::dev::ServerHandle,
}

impl Application {
    /// Connects, migrates, catches the read models up, seeds the layout, resets terminals and
    /// starts serving. `seed` fixes the random choices (tests); `None` seeds from entropy.
    pub async fn build(
        settings: &Settings,
        seed: Option<u64>,
    ) -> Result<Application, StartupError> {
        let db = Database::connect(&settings.database_url).await?;
        db.migrate().await?;
        let installation = seeding::load_installation(&settings.installation_file)?;
        let blocked = crate::blocklist::load();
        tracing::debug!(hosts = blocked, "blocklist loaded");
        let images = settings.data_dir.join("images");
        std::fs::create_dir_all(&images).map_err(|source| StartupError::DataDir {
            path: images.display().to_string(),
            source,
        })?;

        let (projector, handle) = Projector::new(db.clone()).await?;
        let caught_up = projector.catch_up().await?;
        if caught_up > 0 {
            tracing::info!(
                events = caught_up,
                "read models caught up with the event log"
            );
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(projector.run(shutdown_rx.clone()))];
        let hub = Hub::new(db.clone(), handle.clone());
        tasks.push(tokio::spawn(hub.clone().run_forever()));

        let store = EventStore::new(db.clone(), Some(handle.clone()));
        let mut app = App::new(store, installation, AltHops::bundled(), seed);
        app.targets = settings.targets.clone();
        if !app.targets.allowlist().is_empty() {
            let networks: Vec<String> = app
                .targets
                .allowlist()
                .iter()
                .map(ToString::to_string)
                .collect();
            tracing::warn!(networks = %networks.join(", "), "TARGET_ALLOWLIST lets visitors reach these private networks");
        }
        let app = Arc::new(app);
        let report = seeding::seed_and_reset(&app, &settings.installation_file).await?;
        tracing::info!(
            registered = report.registered,
            reset = report.reset,
            presences_dropped = report.presences_dropped,
            "installation ready"
        );

        let board = Arc::new(JobBoard::default());
        let resolver = crate::resolver::TargetResolver::new(
            settings.workers.dns_server,
            settings.targets.clone(),
        )
        .map_err(StartupError::Part)?;
        let probe =
            crate::graphql::mutation::HostProbe::new(resolver).map_err(StartupError::Part)?;
        let schema = build_schema(app.clone(), hub.clone(), board.clone(), probe);
        tasks.push(
            workers::start(
                app.clone(),
                settings,
                Some(handle.subscribe()),
                settings.workers.in_process,
                Some((board, hub.clone())),
                shutdown_rx.clone(),
            )
            .map_err(StartupError::Part)?,
        );
        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Listen {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Listen { address, source })?
            .port();
        let sockets = web::Data::new(SocketState {
            schema: schema.clone(),
            hub: hub.clone(),
            db: db.clone(),
            settings: SocketSettings {
                ping_interval: settings.ping_interval,
                ..SocketSettings::default()
            },
            shutdown: shutdown_rx,
        });
        let (schema_data, app_data) = (web::Data::new(schema.clone()), web::Data::new(app.clone()));
        let images = web::Data::new(ImagesDir(images));
        let queue = web::Data::new(routes::health::QueueUrl(settings.redis_url.clone()));
        let server = HttpServer::new(move || {
            actix_web::App::new()
                .wrap(Cors::permissive().supports_credentials())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(schema_data.clone())
                .app_data(app_data.clone())
                .app_data(sockets.clone())
                .app_data(images.clone())
                .app_data(queue.clone())
                .route("/graphql", web::post().to(routes::graphql::execute))
                .route("/graphql", web::get().to(routes::graphql::get))
                .route(
                    "/graphiql/{file}",
                    web::get().to(routes::graphql::ide_asset),
                )
                .route("/healthz", web::get().to(routes::health::healthz))
                .route("/readyz", web::get().to(routes::health::readyz))
                .route("/images/{file}", web::get().to(routes::images::image))
        })
        .listen(listener)
        .map_err(|source| StartupError::Listen {
            address: format!("port {port}"),
            source,
        })?
        .shutdown_timeout(2)
        .disable_signals()
        .run();
        let server_handle = server.handle();
        tasks.push(tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(%error, "the HTTP server stopped");
            }
        }));
        tracing::info!(port, "listening for GraphQL on /graphql");
        Ok(Application {
            app,
            projector: handle,
            hub,
            schema,
            port,
            shutdown,
            tasks,
            server: server_handle,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes sockets (1012), stops the server and the projector, closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.server.stop(true).await;
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.app.database().close().await;
    }
}

/// A `packet-run worker` process: the job planner and workers, without the HTTP service.
pub struct WorkerProcess {
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerProcess {
    pub async fn start(settings: &Settings) -> Result<WorkerProcess, StartupError> {
        let db = Database::connect(&settings.database_url).await?;
        db.migrate().await?;
        let installation = seeding::load_installation(&settings.installation_file)?;
        let images = settings.data_dir.join("images");
        std::fs::create_dir_all(&images).map_err(|source| StartupError::DataDir {
            path: images.display().to_string(),
            source,
        })?;
        let mut app = App::new(
            EventStore::new(db, None),
            installation,
            AltHops::bundled(),
            None,
        );
        app.targets = settings.targets.clone();
        let app = Arc::new(app);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let task = workers::start(app.clone(), settings, None, true, None, shutdown_rx)
            .map_err(StartupError::Part)?;
        Ok(WorkerProcess {
            app,
            shutdown,
            task,
        })
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
        let _ = self.task.await;
        self.app.database().close().await;
    }
}
