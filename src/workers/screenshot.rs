//! The screenshot job: the run's website as the visitor will see it on the screens.

use super::runner::JobHandler;
use super::{record, run_id};
use crate::app::App;
use crate::configuration::Settings;
use crate::queue::Delivery;
use crate::resolver::{TargetError, TargetResolver};
use crate::screenshots::{write_atomically, Camera, FilteringProxy, ShotError};
use async_trait::async_trait;
use chrono::Utc;
use packet_run_domain::RunCommand;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

pub struct ScreenshotJob {
    app: Arc<App>,
    resolver: TargetResolver,
    images: PathBuf,
    chrome: PathBuf,
    profiles: PathBuf,
    idle_timeout: Duration,
    /// Started with the first screenshot, so a process that takes none starts no browser.
    camera: OnceCell<Camera>,
}

impl ScreenshotJob {
    pub fn new(
        app: Arc<App>,
        settings: &Settings,
        resolver: TargetResolver,
    ) -> Result<Self, String> {
        let chrome = settings.workers.chrome_path.clone();
        if !chrome.exists() {
            tracing::warn!(
                "chromium not found at {}: install Debian's chromium or set CHROME_PATH; screenshots fail until then",
                chrome.display()
            );
        }
        Ok(ScreenshotJob {
            app,
            resolver,
            images: settings.data_dir.join("images"),
            chrome,
            profiles: settings.data_dir.join("chromium"),
            idle_timeout: settings.workers.screenshot_timeout,
            camera: OnceCell::new(),
        })
    }

    async fn camera(&self) -> Result<&Camera, String> {
        self.camera
            .get_or_try_init(|| async {
                let proxy = FilteringProxy::start(self.resolver.clone())
                    .await
                    .map_err(|e| format!("cannot start the screenshot proxy: {e}"))?;
                Ok(Camera::new(
                    self.chrome.clone(),
                    self.profiles.clone(),
                    proxy,
                ))
            })
            .await
    }

    async fn failed(&self, run_id: &str, reason: String) -> Result<(), String> {
        tracing::info!(run = run_id, %reason, "screenshot failed");
        record(
            &self.app,
            run_id,
            RunCommand::FailScreenshot {
                reason,
                at: Utc::now(),
            },
        )
        .await
    }
}

#[async_trait]
impl JobHandler for ScreenshotJob {
    async fn handle(&self, job: &Delivery) -> Result<(), String> {
        let run_id = run_id(job)?;
        let run = self
            .app
            .load_run(&run_id)
            .await
            .map_err(|e| e.to_string())?;
        if !run.created {
            return Err(format!("run {run_id} does not exist"));
        }
        if run.image_path.is_some() {
            return Ok(());
        }
        let url = url::Url::parse(&run.url).map_err(|e| format!("the run's url: {e}"))?;
        let Some(host) = url.host() else {
            return self
                .failed(&run_id, format!("{} has no host", run.url))
                .await;
        };
        // Refused, unknown and closed hosts are told at once rather than after retries; the
        // proxy checks every other request the page makes.
        let ip = match self.resolver.resolve(&host).await {
            Ok(ip) => ip,
            Err(error @ (TargetError::Unresolvable { .. } | TargetError::Refused(_))) => {
                return self.failed(&run_id, error.to_string()).await;
            }
        };
        let port = url.port_or_known_default().unwrap_or(443);
        match tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect((ip, port)),
        )
        .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return self
                    .failed(&run_id, format!("{host} ({ip}) port {port}: {error}"))
                    .await
            }
            Err(_) => {
                return self
                    .failed(&run_id, format!("{host} ({ip}) port {port} did not answer"))
                    .await
            }
        }
        let camera = self.camera().await?;
        let shot = match camera.capture(url.as_str(), self.idle_timeout).await {
            Ok(shot) => shot,
            Err(error @ ShotError::NoChromium(_)) => {
                return self.failed(&run_id, error.to_string()).await
            }
            Err(error) => return Err(error.to_string()),
        };
        let file = format!("{run_id}.png");
        write_atomically(&self.images.join(&file), &shot.png)
            .map_err(|e| format!("cannot write {}: {e}", self.images.join(&file).display()))?;
        record(
            &self.app,
            &run_id,
            RunCommand::RecordScreenshot {
                image_path: format!("images/{file}"),
                partial: shot.partial,
                at: Utc::now(),
            },
        )
        .await
    }

    async fn give_up(&self, job: &Delivery, reason: &str) {
        if let Ok(run_id) = run_id(job) {
            let _ = self.failed(&run_id, reason.to_string()).await;
        }
    }
}
