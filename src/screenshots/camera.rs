//! One headless chromium per worker, a private browser context and page per screenshot.
//!
//! Launching chromium costs more than most pages take to render, so the browser is kept and
//! relaunched only when it died (its event stream ended or a call failed on a closed
//! channel). Each launch gets a fresh profile folder of its own: chromiumoxide's default
//! folder is shared by every process that uses it.

use super::proxy::FilteringProxy;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::inspector::EventTargetCrashed;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventLifecycleEvent, NavigateParams,
    SetLifecycleEventsEnabledParams,
};
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub const WIDTH: u32 = 1856;
pub const HEIGHT: u32 = 992;
/// The longest a capture itself may take once the page is ready (or given up on).
const CAPTURE_BOUND: Duration = Duration::from_secs(10);

/// A taken screenshot.
pub struct Shot {
    pub png: Vec<u8>,
    /// The page had not gone quiet within the time-out when it was captured.
    pub partial: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ShotError {
    #[error("chromium not found at {0}: install Debian's chromium or set CHROME_PATH")]
    NoChromium(PathBuf),
    #[error("chromium could not start: {0}")]
    Launch(String),
    #[error("the page could not be opened: {0}")]
    Navigation(String),
    #[error("the page's renderer crashed")]
    Crashed,
    #[error("chromium stopped: {0}")]
    BrowserGone(String),
    #[error("the capture took longer than {CAPTURE_BOUND:?}")]
    CaptureTimeout,
}

struct Running {
    browser: Browser,
    alive: Arc<AtomicBool>,
    profile: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.browser.get_mut_child() {
            let _ = child.as_mut_inner().start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub struct Camera {
    chrome: PathBuf,
    profiles: PathBuf,
    proxy: FilteringProxy,
    running: tokio::sync::Mutex<Option<Arc<Running>>>,
}

impl Camera {
    /// `profiles`: where each launch's profile folder is made (and removed again).
    pub fn new(chrome: PathBuf, profiles: PathBuf, proxy: FilteringProxy) -> Camera {
        Camera {
            chrome,
            profiles,
            proxy,
            running: tokio::sync::Mutex::new(None),
        }
    }

    pub fn proxy(&self) -> &FilteringProxy {
        &self.proxy
    }

    /// The running browser, launched when there is none or the last one died.
    async fn browser(&self) -> Result<Arc<Running>, ShotError> {
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_ref().filter(|r| r.alive.load(Ordering::SeqCst)) {
            // One cheap round trip tells a live browser from one that died unnoticed.
            let answered = tokio::time::timeout(Duration::from_secs(2), r.browser.version()).await;
            if matches!(answered, Ok(Ok(_))) {
                return Ok(r.clone());
            }
            tracing::warn!("chromium stopped answering; relaunching it");
        }
        *running = None;
        let launched = Arc::new(self.launch().await?);
        *running = Some(launched.clone());
        Ok(launched)
    }

    async fn launch(&self) -> Result<Running, ShotError> {
        if !self.chrome.exists() {
            return Err(ShotError::NoChromium(self.chrome.clone()));
        }
        sweep_orphans(&self.profiles);
        let profile = self.profiles.join(format!(
            "profile-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&profile).map_err(|e| ShotError::Launch(e.to_string()))?;
        let proxy = format!("http://{}", self.proxy.address);
        let config = BrowserConfig::builder()
            .chrome_executable(&self.chrome)
            .no_sandbox()
            .user_data_dir(&profile)
            .viewport(None)
            .window_size(WIDTH, HEIGHT)
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(15))
            .args([
                "disable-gpu",
                "disable-quic",
                "disable-background-networking",
                "disable-component-update",
                "disable-sync",
                "no-first-run",
                "disable-dev-shm-usage",
            ])
            .arg(("proxy-server", proxy.as_str()))
            // Without this chromium talks to loopback directly, around the proxy.
            .arg(("proxy-bypass-list", "<-loopback>"))
            .build()
            .map_err(ShotError::Launch)?;
        let (browser, mut handler) = Browser::launch(config)
            .await
            .map_err(|e| ShotError::Launch(e.to_string()))?;
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        tokio::spawn(async move {
            while let Some(event) = handler.next().await {
                match event {
                    // The connection to chromium is gone: it died or was killed.
                    Err(chromiumoxide::error::CdpError::Ws(error)) => {
                        tracing::debug!(%error, "chromium's connection failed");
                        break;
                    }
                    Err(error) => tracing::debug!(%error, "chromium event error"),
                    Ok(()) => {}
                }
            }
            flag.store(false, Ordering::SeqCst);
            tracing::warn!("chromium's connection ended; the next screenshot relaunches it");
        });
        tracing::info!(chrome = %self.chrome.display(), "chromium launched");
        Ok(Running {
            browser,
            alive,
            profile,
        })
    }

    /// Opens `url` in a private context, waits until the page's network is almost idle (at
    /// most `idle_timeout`) and captures the viewport.
    pub async fn capture(&self, url: &str, idle_timeout: Duration) -> Result<Shot, ShotError> {
        let running = self.browser().await?;
        let gone = |e: chromiumoxide::error::CdpError| {
            let text = e.to_string();
            if !running.alive.load(Ordering::SeqCst)
                || text.contains("channel")
                || text.contains("closed")
            {
                running.alive.store(false, Ordering::SeqCst);
            }
            ShotError::BrowserGone(text)
        };
        let context = running
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await
            .map_err(gone)?;
        let params = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(context.clone())
            .build()
            .map_err(ShotError::Launch)?;
        let page = running.browser.new_page(params).await.map_err(gone)?;
        let shot = self.shoot(&page, url, idle_timeout).await;
        let _ = page.close().await;
        let _ = running.browser.dispose_browser_context(context).await;
        if matches!(shot, Err(ShotError::BrowserGone(_))) {
            running.alive.store(false, Ordering::SeqCst);
        }
        shot
    }

    async fn shoot(
        &self,
        page: &Page,
        url: &str,
        idle_timeout: Duration,
    ) -> Result<Shot, ShotError> {
        let cdp = |e: chromiumoxide::error::CdpError| ShotError::BrowserGone(e.to_string());
        page.execute(SetDeviceMetricsOverrideParams::new(
            WIDTH as i64,
            HEIGHT as i64,
            1.0,
            false,
        ))
        .await
        .map_err(cdp)?;
        let mut crashed = page
            .event_listener::<EventTargetCrashed>()
            .await
            .map_err(cdp)?;
        let mut lifecycle = page
            .event_listener::<EventLifecycleEvent>()
            .await
            .map_err(cdp)?;
        page.execute(SetLifecycleEventsEnabledParams::new(true))
            .await
            .map_err(cdp)?;
        let navigated = page.execute(NavigateParams::new(url)).await.map_err(cdp)?;
        if let Some(error) = navigated
            .result
            .error_text
            .clone()
            .filter(|e| !e.is_empty())
        {
            return Err(ShotError::Navigation(error));
        }
        let frame = navigated.result.frame_id.clone();
        let loader = navigated.result.loader_id.clone();
        // `networkAlmostIdle` (Puppeteer's networkidle2): at most two requests for 500 ms.
        let quiet = async {
            while let Some(event) = lifecycle.next().await {
                if event.name == "networkAlmostIdle"
                    && event.frame_id == frame
                    && loader.as_ref().is_none_or(|l| *l == event.loader_id)
                {
                    return true;
                }
            }
            false
        };
        let partial = tokio::select! {
            idle = tokio::time::timeout(idle_timeout, quiet) => !matches!(idle, Ok(true)),
            _ = crashed.next() => return Err(ShotError::Crashed),
        };
        let capture = page.execute(
            CaptureScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .build(),
        );
        let png = tokio::select! {
            taken = tokio::time::timeout(CAPTURE_BOUND, capture) => match taken {
                Ok(Ok(r)) => {
                    let data: &str = r.result.data.as_ref();
                    base64_decode(data).map_err(ShotError::Navigation)?
                }
                Ok(Err(e)) => return Err(cdp(e)),
                Err(_) => return Err(ShotError::CaptureTimeout),
            },
            _ = crashed.next() => return Err(ShotError::Crashed),
        };
        Ok(Shot { png, partial })
    }
}

/// A worker killed outright (SIGKILL, out of memory) leaves its chromium running. Profile
/// folders are named after the worker's process id: browsers of workers that are gone are
/// stopped and their folders removed, and other live workers' browsers are left alone.
fn sweep_orphans(profiles: &Path) {
    let Ok(entries) = std::fs::read_dir(profiles) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix("profile-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = owner == std::process::id() as i32
            || nix::sys::signal::kill(nix::unistd::Pid::from_raw(owner), None).is_ok();
        if alive {
            continue;
        }
        let folder = entry.path().display().to_string();
        let stopped = std::process::Command::new("pkill")
            .args(["-KILL", "-f", &folder])
            .status();
        tracing::warn!(%folder, ?stopped, "stopped the chromium of a worker that is gone");
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("chromium sent an unreadable image: {e}"))
}

/// Writes `png` to `path` so that a reader never sees half a file: a temporary file in the
/// same folder, synced, then renamed over.
pub fn write_atomically(path: &Path, png: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let temporary = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("image"),
        uuid::Uuid::new_v4().simple()
    ));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(png)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
