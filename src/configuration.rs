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
    /// The job queue's workers and their jobs' settings.
    pub workers: WorkerSettings,
}

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Whether `serve` runs workers in its own process (`WORKERS=off` leaves them to
    /// `packet-run worker` processes).
    pub in_process: bool,
    /// Every queue key starts with this (`QUEUE_PREFIX`), so installations can share a Redis.
    pub queue_prefix: String,
    pub traceroute_concurrency: usize,
    pub metadata_concurrency: usize,
    pub screenshot_concurrency: usize,
    /// The DNS server for visitors' hosts (`DNS_SERVER`, ip:port); `None`: the system's.
    pub dns_server: Option<std::net::SocketAddr>,
    pub metadata: crate::ip_metadata::MetadataSettings,
    pub chrome_path: PathBuf,
    /// How long a page may take to go quiet before it is captured anyway.
    pub screenshot_timeout: Duration,
    /// The program whose `trace` subcommand runs a traceroute: this one.
    pub tracer: PathBuf,
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
            workers: worker_settings()?,
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

fn number<T: std::str::FromStr>(
    name: &'static str,
    default: &str,
    expected: &'static str,
) -> Result<T, SettingsError> {
    let value = var(name).unwrap_or_else(|| default.into());
    value.trim().parse().map_err(|_| SettingsError::Invalid {
        name,
        value: value.clone(),
        expected,
    })
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            in_process: true,
            queue_prefix: "packet-run".into(),
            traceroute_concurrency: 10,
            metadata_concurrency: 10,
            screenshot_concurrency: 2,
            dns_server: None,
            metadata: crate::ip_metadata::MetadataSettings {
                base_url: "https://api.ipregistry.co".into(),
                api_key: None,
                default_location: serde_json::from_str(DEFAULT_LOCATION).expect("valid JSON"),
                default_company: "Packet Run".into(),
                cache_ttl: Duration::from_secs(24 * 3600),
                cache_capacity: 10_000,
            },
            chrome_path: "/usr/bin/chromium".into(),
            screenshot_timeout: Duration::from_secs(15),
            tracer: std::env::current_exe().unwrap_or_else(|_| "packet-run".into()),
        }
    }
}

fn worker_settings() -> Result<WorkerSettings, SettingsError> {
    let defaults = WorkerSettings::default();
    let workers = var("WORKERS").unwrap_or_else(|| "on".into());
    let in_process = match workers.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => true,
        "off" | "false" | "0" | "no" => false,
        _ => {
            return Err(SettingsError::Invalid {
                name: "WORKERS",
                value: workers,
                expected: "on or off",
            })
        }
    };
    let location = var("DEFAULT_LOCATION").unwrap_or_else(|| DEFAULT_LOCATION.into());
    let default_location: serde_json::Value = serde_json::from_str(&location)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or(SettingsError::Invalid {
            name: "DEFAULT_LOCATION",
            value: location.clone(),
            expected: "a JSON object in the shape of IpInfo's location",
        })?;
    let dns = var("DNS_SERVER");
    let timeout: f64 = number("SCREENSHOT_TIMEOUT", "15", "seconds, such as 15")?;
    let concurrency = "a number of jobs at once, 1 or more";
    let positive = |n: usize, name: &'static str| {
        if n == 0 {
            Err(SettingsError::Invalid {
                name,
                value: "0".into(),
                expected: concurrency,
            })
        } else {
            Ok(n)
        }
    };
    Ok(WorkerSettings {
        in_process,
        queue_prefix: var("QUEUE_PREFIX").unwrap_or(defaults.queue_prefix),
        traceroute_concurrency: positive(
            number("TRACEROUTE_CONCURRENCY", "10", concurrency)?,
            "TRACEROUTE_CONCURRENCY",
        )?,
        metadata_concurrency: positive(
            number("METADATA_CONCURRENCY", "10", concurrency)?,
            "METADATA_CONCURRENCY",
        )?,
        screenshot_concurrency: positive(
            number("SCREENSHOT_CONCURRENCY", "2", concurrency)?,
            "SCREENSHOT_CONCURRENCY",
        )?,
        dns_server: match dns {
            None => None,
            Some(d) => Some(d.parse().map_err(|_| SettingsError::Invalid {
                name: "DNS_SERVER",
                value: d.clone(),
                expected: "an address and port such as 127.0.0.1:53",
            })?),
        },
        metadata: crate::ip_metadata::MetadataSettings {
            base_url: var("IPREGISTRY_BASE_URL").unwrap_or(defaults.metadata.base_url),
            api_key: var("IPREGISTRY_API_KEY"),
            default_location,
            default_company: var("DEFAULT_COMPANY").unwrap_or(defaults.metadata.default_company),
            ..defaults.metadata
        },
        chrome_path: var("CHROME_PATH")
            .map(PathBuf::from)
            .unwrap_or(defaults.chrome_path),
        tracer: defaults.tracer,
        screenshot_timeout: Some(timeout)
            .filter(|t| *t > 0.0 && *t <= 300.0)
            .map(Duration::from_secs_f64)
            .ok_or(SettingsError::Invalid {
                name: "SCREENSHOT_TIMEOUT",
                value: timeout.to_string(),
                expected: "seconds between 0 and 300",
            })?,
    })
}

/// The venue's location when `DEFAULT_LOCATION` is not set (Eindhoven, where the
/// installation was first shown).
const DEFAULT_LOCATION: &str = r#"{"city":"Eindhoven","country":{"name":"Netherlands","code":"NL"},"latitude":51.4416,"longitude":5.4697}"#;
