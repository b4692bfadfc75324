//! The virtual network that `../shared/netlab/netlab.sh` builds, for tests that trace.
//!
//! `.ci/run` builds the lab (prefix `NETLAB_PREFIX`; `prt` when unset) and tears it down; a test
//! run by hand builds it when it can (root) and leaves it up. A test that needs the lab and
//! cannot have it says so by name and returns: it is reported as skipped, not as a pass of
//! what it checks.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

pub struct Lab {
    pub prefix: String,
}

/// `NETLAB` when set (`.ci/run` sets it), else the copy beside the repository.
fn netlab() -> PathBuf {
    std::env::var_os("NETLAB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/netlab/netlab.sh")
        })
}

fn run(args: &[&str]) -> Option<String> {
    let out = Command::new("bash")
        .arg(netlab())
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Says the test is skipped, past the test harness's output capture so it is always seen.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Lab {
    /// The lab, built if it is not up; `None` (with the skip said) when it cannot be had.
    pub fn require(test: &str) -> Option<Lab> {
        let prefix = std::env::var("NETLAB_PREFIX").unwrap_or_else(|_| "prt".into());
        let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        let up =
            |p: &str| run(&["status", "--prefix", p]).is_some_and(|s| s.contains("alive: yes"));
        if !up(&prefix) {
            if !netlab().exists() || !nix::unistd::geteuid().is_root() {
                skipped(test, &format!("the netlab lab '{prefix}' is not up and building it needs root and netlab.sh (NETLAB)"));
                return None;
            }
            let built = run(&[
                "up", "--hops", "8", "--silent", "3,6", "--http", "--prefix", &prefix,
            ]);
            if built.is_none() || !up(&prefix) {
                skipped(
                    test,
                    &format!("the netlab lab '{prefix}' could not be built"),
                );
                return None;
            }
        }
        Some(Lab { prefix })
    }

    /// The destination of a kind: ok, blackhole, unreach or noroute.
    pub fn target(&self, kind: &str) -> Ipv4Addr {
        run(&["target", "--prefix", &self.prefix, "--kind", kind])
            .and_then(|s| s.parse().ok())
            .expect("netlab prints the target address")
    }

    /// The expected trace: one entry per TTL, `None` for a silent router.
    pub fn hops(&self) -> Vec<Option<Ipv4Addr>> {
        run(&["hops", "--prefix", &self.prefix])
            .expect("netlab prints the hops")
            .lines()
            .map(|l| l.split_whitespace().nth(1).and_then(|a| a.parse().ok()))
            .collect()
    }

    /// The folder the lab's web server (port 80 on the target) serves.
    pub fn www(&self) -> PathBuf {
        let run_dir = std::env::var("NETLAB_RUN_DIR").unwrap_or_else(|_| "/run/netlab".into());
        PathBuf::from(run_dir).join(&self.prefix).join("www")
    }

    /// The networks to allow in TARGET_ALLOWLIST: the lab's links and targets.
    pub fn allowlist(&self) -> String {
        let t = self.target("ok").octets();
        format!("198.18.{}.0/24,198.19.{}.0/24", t[2], t[2])
    }
}
