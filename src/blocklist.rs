//! Hosts visitors may not ask for (assets/blocklist, shipped with the project).

use std::collections::HashSet;
use std::sync::OnceLock;

static LIST: &str = include_str!("../assets/blocklist/block.txt");

fn hosts() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Builds the list now (at start-up), so the first visitor does not wait for it.
pub fn load() -> usize {
    hosts().len()
}

/// True when the host, without a leading `www.`, or any domain above it is on the list.
pub fn is_blocked(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let set = hosts();
    let mut rest = host;
    loop {
        if set.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn listed_hosts_and_their_subdomains_are_blocked() {
        assert!(super::is_blocked("0000114.com"));
        assert!(super::is_blocked("WWW.0000114.com"));
        assert!(super::is_blocked("cdn.0000114.com."));
        assert!(!super::is_blocked("example.org"));
        assert!(!super::is_blocked("com"));
    }
}
