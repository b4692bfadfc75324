//! `packet-run trace <ip>`: one traceroute, printed as JSON lines, in a process of its own.
//!
//! Why a child process: trippy-core waits on its sockets with `select()`, which aborts in a
//! process holding a file descriptor at or above 1024 (a busy service does); it needs
//! CAP_NET_RAW, which only this small process then needs; and a crash in it costs one
//! attempt, not the worker.
//!
//! One round probes TTL 1 to 32 with all probes in flight; it ends when the target answered
//! and a short grace passed, or when the last probe timed out. If routers stayed silent,
//! a second round gives them one more chance.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use trippy_core::{Builder, IcmpPacketType, PrivilegeMode, ProbeStatus, Protocol, Round};

pub const MAX_TTL: u8 = 32;
/// How long the last probe of a round may take to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// One line of the child's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceLine {
    /// The router (or the target) that answered at `ttl`; `None` when it stayed silent.
    Hop { ttl: u8, address: Option<IpAddr> },
    /// The target answered.
    Reached,
    /// `by` answered "unreachable" for the target.
    Unreachable { by: IpAddr },
    /// Nothing answered from the target within `MAX_TTL` hops.
    NoAnswer,
    /// The trace could not run.
    Error { reason: String },
}

/// What one round saw at each TTL.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RoundResult {
    pub answers: BTreeMap<u8, (IpAddr, bool)>,
}

impl RoundResult {
    fn from_round(round: &Round<'_>) -> RoundResult {
        let mut answers = BTreeMap::new();
        for probe in round.probes {
            if let ProbeStatus::Complete(done) = probe {
                let unreachable = matches!(done.icmp_packet_type, IcmpPacketType::Unreachable(_));
                answers
                    .entry(done.ttl.0)
                    .or_insert((done.host, unreachable));
            }
        }
        RoundResult { answers }
    }

    /// Fills the TTLs this round left silent from `later`.
    pub fn merge(&mut self, later: &RoundResult) {
        for (ttl, answer) in &later.answers {
            self.answers.entry(*ttl).or_insert(*answer);
        }
    }

    /// Where the trace ends: the target's TTL, an unreachable's, or the last that answered.
    pub fn end(&self, target: IpAddr) -> (u8, TraceLine) {
        for (ttl, (host, unreachable)) in &self.answers {
            if *host == target {
                return (*ttl, TraceLine::Reached);
            }
            if *unreachable {
                return (*ttl, TraceLine::Unreachable { by: *host });
            }
        }
        let last = self.answers.keys().next_back().copied().unwrap_or(0);
        (last, TraceLine::NoAnswer)
    }

    /// Silent TTLs before the end: worth a second round.
    pub fn has_gaps(&self, target: IpAddr) -> bool {
        let (end, _) = self.end(target);
        (1..end).any(|ttl| !self.answers.contains_key(&ttl))
    }

    /// The lines to print: a hop per TTL up to the end, then how it ended.
    pub fn lines(&self, target: IpAddr) -> Vec<TraceLine> {
        let (end, outcome) = self.end(target);
        let mut lines: Vec<TraceLine> = (1..=end)
            .map(|ttl| TraceLine::Hop {
                ttl,
                address: self.answers.get(&ttl).map(|(host, _)| *host),
            })
            .collect();
        lines.push(outcome);
        lines
    }
}

fn print(lines: &[TraceLine]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(line).expect("trace lines serialise")
        );
    }
    let _ = out.flush();
}

/// Runs the trace and prints it; returns the process's exit code.
pub fn trace(target: IpAddr) -> i32 {
    // Concurrent ICMP traces tell their answers apart by this id; a process id is unique
    // among the traces running on this machine at one time.
    let trace_id = (std::process::id() % 0xfffe) as u16 + 1;
    let built = Builder::new(target)
        .protocol(Protocol::Icmp)
        .privilege_mode(PrivilegeMode::Privileged)
        .trace_identifier(trace_id)
        .max_ttl(MAX_TTL)
        .max_rounds(Some(2))
        .max_inflight(MAX_TTL)
        .read_timeout(Duration::from_millis(1))
        .grace_duration(Duration::from_millis(50))
        .min_round_duration(Duration::ZERO)
        .max_round_duration(PROBE_TIMEOUT)
        .build();
    let tracer = match built {
        Ok(tracer) => tracer,
        Err(error) => return fail(&error.to_string()),
    };
    let first: Mutex<Option<RoundResult>> = Mutex::new(None);
    let outcome = tracer.run_with(|round| {
        let seen = RoundResult::from_round(round);
        let mut first = first.lock().expect("round lock");
        match first.take() {
            None if !seen.has_gaps(target) => {
                print(&seen.lines(target));
                std::process::exit(0);
            }
            None => *first = Some(seen),
            Some(mut earlier) => {
                earlier.merge(&seen);
                print(&earlier.lines(target));
                std::process::exit(0);
            }
        }
    });
    match outcome {
        Ok(()) => fail("the trace ended without a result"),
        Err(error) => fail(&error.to_string()),
    }
}

fn fail(reason: &str) -> i32 {
    let hint = if reason.contains("ermission") || reason.contains("not permitted") {
        " (tracing needs CAP_NET_RAW: see the README's \"Traceroute permission\")"
    } else {
        ""
    };
    print(&[TraceLine::Error {
        reason: format!("{reason}{hint}"),
    }]);
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn round(answers: &[(u8, &str, bool)]) -> RoundResult {
        RoundResult {
            answers: answers.iter().map(|(t, h, u)| (*t, (ip(h), *u))).collect(),
        }
    }

    #[test]
    fn silent_routers_become_hops_without_address_up_to_the_target() {
        let r = round(&[
            (1, "10.0.0.1", false),
            (3, "10.0.0.3", false),
            (4, "1.2.3.4", false),
        ]);
        assert!(r.has_gaps(ip("1.2.3.4")));
        assert_eq!(
            r.lines(ip("1.2.3.4")),
            vec![
                TraceLine::Hop {
                    ttl: 1,
                    address: Some(ip("10.0.0.1"))
                },
                TraceLine::Hop {
                    ttl: 2,
                    address: None
                },
                TraceLine::Hop {
                    ttl: 3,
                    address: Some(ip("10.0.0.3"))
                },
                TraceLine::Hop {
                    ttl: 4,
                    address: Some(ip("1.2.3.4"))
                },
                TraceLine::Reached,
            ]
        );
    }

    #[test]
    fn a_second_round_fills_silent_hops_but_never_replaces_answers() {
        let mut r = round(&[(1, "10.0.0.1", false), (3, "1.2.3.4", false)]);
        r.merge(&round(&[(1, "10.9.9.9", false), (2, "10.0.0.2", false)]));
        assert_eq!(r.answers[&1].0, ip("10.0.0.1"));
        assert_eq!(r.answers[&2].0, ip("10.0.0.2"));
        assert!(!r.has_gaps(ip("1.2.3.4")));
    }

    #[test]
    fn an_unreachable_answer_ends_the_trace() {
        let r = round(&[
            (1, "10.0.0.1", false),
            (2, "10.0.0.2", true),
            (3, "10.0.0.3", true),
        ]);
        assert_eq!(
            r.end(ip("1.2.3.4")),
            (2, TraceLine::Unreachable { by: ip("10.0.0.2") })
        );
    }

    #[test]
    fn a_silent_target_ends_after_the_last_router_that_answered() {
        let r = round(&[(1, "10.0.0.1", false), (2, "10.0.0.2", false)]);
        assert_eq!(r.end(ip("1.2.3.4")), (2, TraceLine::NoAnswer));
        assert_eq!(round(&[]).lines(ip("1.2.3.4")), vec![TraceLine::NoAnswer]);
    }
}
