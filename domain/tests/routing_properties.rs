//! Properties of the routing rules over random connected layouts and random traces.

mod common;
use common::*;
use packet_run_domain::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A random connected layout: sender 1 → gateway 2 → receiver 3 and a first router; routers
/// joined by a random spanning tree plus extra links (both ways); each server hangs off routers.
fn layout() -> impl Strategy<Value = Installation> {
    (
        2usize..9,
        1usize..4,
        prop::collection::vec(any::<u16>(), 40),
    )
        .prop_map(|(routers, servers, dice)| {
            let mut dice = dice.into_iter().cycle();
            let mut roll = move |n: usize| dice.next().unwrap() as usize % n;
            let router_ids: Vec<TerminalId> = (0..routers as u32).map(|k| 10 + k).collect();
            let server_ids: Vec<TerminalId> = (0..servers as u32).map(|k| 30 + k).collect();
            let mut links: BTreeSet<(TerminalId, TerminalId)> = BTreeSet::new();
            let link = |a: TerminalId, b: TerminalId, links: &mut BTreeSet<_>| {
                links.insert((a, b));
                links.insert((b, a));
            };
            for k in 1..router_ids.len() {
                let parent = router_ids[roll(k)];
                link(router_ids[k], parent, &mut links);
            }
            for _ in 0..roll(4) {
                let (a, b) = (router_ids[roll(routers)], router_ids[roll(routers)]);
                if a != b {
                    link(a, b, &mut links);
                }
            }
            for &server in &server_ids {
                link(server, router_ids[roll(routers)], &mut links);
                if roll(2) == 0 {
                    link(server, router_ids[roll(routers)], &mut links);
                }
            }
            link(2, router_ids[0], &mut links);
            links.insert((2, 3));
            links.insert((1, 2));
            let mut specs: BTreeMap<TerminalId, TerminalSpec> = BTreeMap::new();
            let mut add = |id, terminal_type| {
                specs.insert(
                    id,
                    TerminalSpec {
                        id,
                        terminal_type,
                        payload: None,
                        connections: BTreeMap::new(),
                    },
                );
            };
            add(1, TerminalType::Sender);
            add(2, TerminalType::Gateway);
            add(3, TerminalType::Receiver);
            router_ids
                .iter()
                .for_each(|&r| add(r, TerminalType::Router));
            server_ids
                .iter()
                .for_each(|&s| add(s, TerminalType::Server));
            for (from, to) in links {
                let spec = specs.get_mut(&from).unwrap();
                let slot = spec.connections.len() as u32 + 1;
                spec.connections.insert(slot, to);
            }
            Installation::new(specs.into_values().collect()).unwrap()
        })
}

/// A finished trace of 3 to 20 hops with some silent routers; the destination answers.
fn trace() -> impl Strategy<Value = Vec<Option<String>>> {
    prop::collection::vec(prop::bool::weighted(0.25), 2..19).prop_map(|silent| {
        let mut hops: Vec<Option<String>> = silent
            .iter()
            .enumerate()
            .map(|(k, s)| {
                if *s {
                    None
                } else {
                    Some(format!("198.51.{k}.1"))
                }
            })
            .collect();
        hops.push(Some(DESTINATION.to_string()));
        hops
    })
}

fn connected(installation: &Installation, a: TerminalId, b: TerminalId) -> bool {
    installation.neighbours(a).contains(&b) || installation.neighbours(b).contains(&a)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn following_the_recommendations_reaches_the_server_then_the_receiver(
        installation in layout(), hops in trace(), server_pick in any::<usize>(), seed in any::<u64>()
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let servers: Vec<TerminalId> = installation.of_type(TerminalType::Server).collect();
            let server = servers[server_pick % servers.len()];
            let services = services_for(installation.clone());
            let mut run = Run::default();
            let create = RunCommand::Create { run_id: "r".into(), nfc_id: "t".into(), url: "https://e.org/".into(), server, at: at(0) };
            exec(&mut run, create, &services).await.unwrap();
            exec(&mut run, RunCommand::RecordOrigin { address: ORIGIN.into(), at: at(0) }, &services).await.unwrap();
            for (k, address) in hops.iter().enumerate() {
                exec(&mut run, RunCommand::RecordTracerouteHop { hop: k as u32 + 2, address: address.clone(), at: at(0) }, &services).await.unwrap();
            }
            exec(&mut run, RunCommand::RecordDestination { address: DESTINATION.into(), at: at(0) }, &services).await.unwrap();
            exec(&mut run, RunCommand::FinishTraceroute { at: at(0) }, &services).await.unwrap();

            let bound = 2 * installation.terminals().count() + 6;
            let mut here = 1;
            let mut transformed = false;
            for scan in 0..bound {
                let offers: Vec<RunHop> = run.available_hops().cloned().collect();
                // No terminal twice at one index (so an INVALID hop is never also the recommended one).
                let terminals: BTreeSet<TerminalId> = offers.iter().map(|h| h.terminal).collect();
                prop_assert_eq!(terminals.len(), offers.len(), "a terminal offered twice: {:?}", offers);
                for hop in &offers {
                    if hop.hop_type != HopType::Wormhole {
                        prop_assert!(connected(&installation, here, hop.terminal), "{} offered from {}", hop.terminal, here);
                    }
                }
                let next = offers.iter().find(|h| h.hop_type == HopType::Recommended)
                    .or_else(|| offers.iter().find(|h| h.hop_type == HopType::Wormhole))
                    .or_else(|| offers.iter().find(|h| h.hop_type == HopType::Previous));
                let Some(next) = next.map(|h| h.terminal) else {
                    prop_assert!(false, "nothing to follow at {} after {} scans: {:?}", here, scan, offers);
                    unreachable!()
                };
                exec(&mut run, RunCommand::Scan { terminal: next, seed: seed.wrapping_add(scan as u64), locations: Default::default(), at: at(1) }, &services)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("scan at {next}: {e}")))?;
                here = next;
                if here == server && !transformed {
                    prop_assert!(run.check_may_transform(here).is_ok(), "the run's server was reached but may not transform");
                    exec(&mut run, RunCommand::Transform { terminal: here, at: at(2) }, &services).await.unwrap();
                    transformed = true;
                }
                if installation.terminal_type(here) == Some(TerminalType::Receiver) {
                    prop_assert!(transformed, "reached the receiver before the server");
                    return Ok(());
                }
            }
            prop_assert!(false, "did not arrive within {} scans (server reached: {})", bound, transformed);
            Ok(())
        })?;
    }
}
