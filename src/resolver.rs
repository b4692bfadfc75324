//! Turning a visitor's host into the one address we will contact, and refusing it when that
//! address is not on the public internet. Every place that contacts a visitor's host
//! (validateHost, the traceroute, the screenshot proxy) resolves through here once and then
//! uses exactly the address it checked, so a name cannot point somewhere else in between.

use crate::targets::TargetPolicy;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, ResolverConfig, ResolverOpts,
};
use hickory_resolver::TokioAsyncResolver;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("{name} could not be resolved: {reason}")]
    Unresolvable { name: String, reason: String },
    #[error("{0}")]
    Refused(String),
}

/// The resolver and the policy it enforces; cheap to clone.
#[derive(Clone)]
pub struct TargetResolver {
    dns: Arc<TokioAsyncResolver>,
    pub policy: TargetPolicy,
}

impl TargetResolver {
    /// `server`: a DNS server to ask (`DNS_SERVER`); `None` uses the system's resolv.conf.
    pub fn new(server: Option<SocketAddr>, policy: TargetPolicy) -> Result<Self, String> {
        let mut options = ResolverOpts::default();
        options.ip_strategy = LookupIpStrategy::Ipv4thenIpv6;
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        options.cache_size = 256;
        let dns = match server {
            Some(server) => {
                let group =
                    NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
                TokioAsyncResolver::tokio(ResolverConfig::from_parts(None, vec![], group), options)
            }
            None => match hickory_resolver::system_conf::read_system_conf() {
                Ok((config, mut system)) => {
                    system.ip_strategy = LookupIpStrategy::Ipv4thenIpv6;
                    system.timeout = options.timeout;
                    system.attempts = options.attempts;
                    TokioAsyncResolver::tokio(config, system)
                }
                // GraphQL must keep serving: names then fail to resolve, each saying so.
                Err(error) => {
                    tracing::error!(%error, "cannot read the system's DNS settings (/etc/resolv.conf); set DNS_SERVER, visitors' names cannot be resolved until then");
                    let none =
                        ResolverConfig::from_parts(None, vec![], NameServerConfigGroup::new());
                    TokioAsyncResolver::tokio(none, options)
                }
            },
        };
        Ok(TargetResolver {
            dns: Arc::new(dns),
            policy,
        })
    }

    /// The address to contact for `host`: a literal as it is, a name's first IPv4 address
    /// (its IPv6 address when it has no IPv4 one); refused when not publicly reachable.
    pub async fn resolve(&self, host: &url::Host<&str>) -> Result<IpAddr, TargetError> {
        self.policy.check_host(host).map_err(TargetError::Refused)?;
        let ip = match host {
            url::Host::Ipv4(v4) => IpAddr::V4(*v4),
            url::Host::Ipv6(v6) => IpAddr::V6(*v6),
            url::Host::Domain(name) => self.lookup(name).await?,
        };
        self.policy.check_ip(ip).map_err(|reason| match host {
            url::Host::Domain(name) => TargetError::Refused(format!("{name} resolves to {reason}")),
            _ => TargetError::Refused(reason),
        })?;
        Ok(ip)
    }

    /// Resolves a bare host name or literal (as found in a proxy request or a URL).
    pub async fn resolve_str(&self, host: &str) -> Result<IpAddr, TargetError> {
        let trimmed = host.trim_start_matches('[').trim_end_matches(']');
        let parsed = url::Host::parse(trimmed)
            .or_else(|_| url::Host::parse(host))
            .map_err(|e| TargetError::Refused(format!("{host} is not a host name: {e}")))?;
        match &parsed {
            url::Host::Domain(d) => self.resolve(&url::Host::Domain(d.as_str())).await,
            url::Host::Ipv4(v4) => self.resolve(&url::Host::Ipv4(*v4)).await,
            url::Host::Ipv6(v6) => self.resolve(&url::Host::Ipv6(*v6)).await,
        }
    }

    async fn lookup(&self, name: &str) -> Result<IpAddr, TargetError> {
        let unresolvable = |reason: String| TargetError::Unresolvable {
            name: name.to_string(),
            reason,
        };
        // A trailing dot keeps the name from being tried under local search domains.
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        let found = self
            .dns
            .lookup_ip(fqdn)
            .await
            .map_err(|e| unresolvable(e.to_string()))?;
        let all: Vec<IpAddr> = found.iter().collect();
        all.iter()
            .find(|ip| ip.is_ipv4())
            .or_else(|| all.first())
            .copied()
            .ok_or_else(|| unresolvable("no address records".into()))
    }
}

/// HTTP clients that resolve through here (validateHost's probe) get the same check for
/// every name they contact, redirects included.
impl reqwest::dns::Resolve for TargetResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        Box::pin(async move {
            let ip = this
                .resolve(&url::Host::Domain(name.as_str()))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as reqwest::dns::Addrs)
        })
    }
}
