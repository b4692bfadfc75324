//! Who owns an address and where it is. Internal ranges get the venue's own location and
//! company; everything else is looked up at IPRegistry (`IPREGISTRY_BASE_URL`, key
//! `IPREGISTRY_API_KEY`), with a bounded cache so one address is not looked up twice within
//! the TTL, and 429/5xx answers retried with back-off. The metadata worker (issue #5) calls
//! this for every address seen.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct MetadataSettings {
    /// `https://api.ipregistry.co` in production; a local stand-in in tests.
    pub base_url: String,
    pub api_key: Option<String>,
    /// The venue's location, in IpInfo's `location` shape, for internal addresses.
    pub default_location: Value,
    pub default_company: String,
    pub cache_ttl: Duration,
    pub cache_capacity: usize,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Metadata {
    /// A private, loopback or link-local address: the venue's own details.
    Internal(Value),
    /// IPRegistry's answer, kept whole.
    Found(Value),
    /// No API key is configured: nothing to look up (warned once at start-up).
    NoKey,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetadataError {
    #[error("IPRegistry answered HTTP {status} for {ip}: {body}")]
    Refused {
        ip: IpAddr,
        status: u16,
        body: String,
    },
    #[error("IPRegistry kept failing for {ip} (HTTP {status}) after {attempts} attempts")]
    GaveUp {
        ip: IpAddr,
        status: u16,
        attempts: u32,
    },
    #[error("IPRegistry could not be reached for {ip}: {reason}")]
    Unreachable { ip: IpAddr, reason: String },
    #[error("IPRegistry's answer for {ip} is not an IpInfo object")]
    NotAnObject { ip: IpAddr },
}

/// The ranges the original treated as internal: 10/8, 172.16/12, 192.168/16, 169.254/16, 127/8
/// (and their IPv6 counterparts: loopback, unique local, link-local).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

const ATTEMPTS: u32 = 3;

pub struct IpRegistry {
    settings: MetadataSettings,
    client: reqwest::Client,
    cache: Mutex<HashMap<IpAddr, (Instant, Value)>>,
    backoff: Duration,
}

impl IpRegistry {
    pub fn new(settings: MetadataSettings) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        IpRegistry {
            settings,
            client,
            cache: Mutex::new(HashMap::new()),
            backoff: Duration::from_millis(500),
        }
    }

    /// Shorter back-off between retries (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    fn venue(&self, ip: IpAddr) -> Value {
        let kind = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
        json!({
            "ip": ip.to_string(),
            "type": kind,
            "company": {"name": self.settings.default_company, "domain": null, "type": "business"},
            "location": self.settings.default_location,
        })
    }

    fn cached(&self, ip: IpAddr) -> Option<Value> {
        let cache = self.cache.lock().expect("cache lock");
        cache
            .get(&ip)
            .filter(|(at, _)| at.elapsed() < self.settings.cache_ttl)
            .map(|(_, v)| v.clone())
    }

    fn remember(&self, ip: IpAddr, info: &Value) {
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= self.settings.cache_capacity {
            let ttl = self.settings.cache_ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= self.settings.cache_capacity {
                // Still full of fresh entries: drop the oldest.
                if let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(ip, _)| *ip)
                {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(ip, (Instant::now(), info.clone()));
    }

    pub async fn lookup(&self, ip: IpAddr) -> Result<Metadata, MetadataError> {
        if is_internal(ip) {
            return Ok(Metadata::Internal(self.venue(ip)));
        }
        let Some(key) = &self.settings.api_key else {
            return Ok(Metadata::NoKey);
        };
        if let Some(info) = self.cached(ip) {
            return Ok(Metadata::Found(info));
        }
        let url = format!("{}/{}", self.settings.base_url.trim_end_matches('/'), ip);
        let mut status = 0;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
            let response = self
                .client
                .get(&url)
                .query(&[("key", key.as_str())])
                .send()
                .await
                .map_err(|e| MetadataError::Unreachable {
                    ip,
                    reason: e.to_string(),
                })?;
            status = response.status().as_u16();
            if status == 429 || response.status().is_server_error() {
                continue; // busy or broken for a moment: try again
            }
            if !response.status().is_success() {
                let body = response
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect();
                return Err(MetadataError::Refused { ip, status, body });
            }
            let info: Value = response
                .json()
                .await
                .map_err(|_| MetadataError::NotAnObject { ip })?;
            if !info.is_object() {
                return Err(MetadataError::NotAnObject { ip });
            }
            self.remember(ip, &info);
            return Ok(Metadata::Found(info));
        }
        Err(MetadataError::GaveUp {
            ip,
            status,
            attempts: ATTEMPTS,
        })
    }
}
