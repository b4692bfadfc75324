//! Settings, read from the environment (and a `.env` file if there is one). `.env.example`
//! documents every one of them.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://PATH` (created on first start) or `postgres://…`.
    pub database_url: String,
    /// The layout file; when it does not exist the built-in default layout is used.
    pub installation_file: PathBuf,
    pub host: IpAddr,
    pub port: u16,
    /// Where screenshots and other files live.
    pub data_dir: PathBuf,
    /// How often WebSocket clients are pinged (a missed pong closes the socket).
    pub ping_interval: Duration,
    /// The Redis server of the job queue.
    pub redis_url: String,
    /// Which targets visitors may ask for (`TARGET_ALLOWLIST` exempts lab networks).
    pub targets: crate::targets::TargetPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{name}={value:?} is not valid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let _ = dotenvy::dotenv();
        let host = var("HOST").unwrap_or_else(|| "0.0.0.0".into());
        let port = var("PORT").unwrap_or_else(|| "8080".into());
        let ping = var("WS_PING_INTERVAL_SECONDS").unwrap_or_else(|| "10".into());
        let allowlist = var("TARGET_ALLOWLIST").unwrap_or_default();
        Ok(Settings {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| "sqlite://data/packet-run.db".into()),
            installation_file: var("INSTALLATION_FILE")
                .unwrap_or_else(|| "installation.toml".into())
                .into(),
            host: host.parse().map_err(|_| SettingsError::Invalid {
                name: "HOST",
                value: host.clone(),
                expected: "an IP address such as 0.0.0.0 or 127.0.0.1",
            })?,
            port: port.parse().map_err(|_| SettingsError::Invalid {
                name: "PORT",
                value: port.clone(),
                expected: "a port number from 0 to 65535",
            })?,
            data_dir: var("DATA_DIR").unwrap_or_else(|| "data".into()).into(),
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            targets: crate::targets::TargetPolicy::from_allowlist(&allowlist).map_err(|_| {
                SettingsError::Invalid {
                    name: "TARGET_ALLOWLIST",
                    value: allowlist.clone(),
                    expected:
                        "comma-separated networks in CIDR notation, e.g. 10.99.0.0/16,fd00:99::/32",
                }
            })?,
            ping_interval: ping
                .parse::<f64>()
                .ok()
                .filter(|s| *s >= 0.05 && *s <= 3600.0)
                .map(Duration::from_secs_f64)
                .ok_or(SettingsError::Invalid {
                    name: "WS_PING_INTERVAL_SECONDS",
                    value: ping.clone(),
                    expected: "seconds between 0.05 and 3600",
                })?,
        })
    }
}
