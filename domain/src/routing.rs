//! Where a packet may go next. After a scan at terminal T, the hops offered at the next index
//! depend on T's type (see `behaviour.md`, "Moving the packet"). Pure: the layout, the
//! alternative-hop list, known locations and the random seed are all passed in.
//!
//! Where the original back-end misbehaved, these rules do the sensible thing:
//! - routes only pass through routers (and the gateway on the way back), so a packet is never
//!   sent through another run's server;
//! - a random recommendation prefers routers and the run's own goal over dead ends and servers;
//! - when every way forward leads back, the way back is the recommended hop, so a visitor who
//!   follows the recommendations always arrives;
//! - a scan that needs traceroute hops which have not arrived yet fails with "try again"
//!   instead of recording a broken hop;
//! - alternatives outnumbering the list take its entries again, in order of distance.

use crate::alt_hops::AltHops;
use crate::installation::Installation;
use crate::run::{OfferedHop, Run, RunError, RunHop};
use crate::types::{HopType, LatLng, PacketType, TerminalId, TerminalType};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Everything a scan decision needs besides the run itself.
pub struct ScanContext<'a> {
    pub installation: &'a Installation,
    pub alt_hops: &'a AltHops,
    /// Known locations of addresses (from their metadata), by IP.
    pub locations: &'a BTreeMap<String, LatLng>,
    pub seed: u64,
}

/// The hops to offer after the run's hop at `run.current_hop_index` was taken at `terminal`.
/// `None` when the journey ends there (the receiver).
pub fn offers_after_scan(
    run: &Run,
    terminal: TerminalId,
    ctx: &ScanContext<'_>,
) -> Result<Option<Vec<OfferedHop>>, RunError> {
    let index = run.current_hop_index;
    let taken = run
        .actual_hop(index)
        .ok_or(RunError::NotADestination { terminal })?;
    let previous = index
        .checked_sub(1)
        .and_then(|i| run.actual_hop(i))
        .map(|h| h.terminal);
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    match ctx.installation.terminal_type(terminal) {
        Some(TerminalType::Gateway) => gateway_offers(run, terminal, ctx.installation).map(Some),
        Some(TerminalType::Server) => {
            Ok(Some(server_offers(run, taken, previous, ctx.installation)))
        }
        Some(TerminalType::Router) => {
            router_offers(run, terminal, taken, previous, ctx, &mut rng).map(Some)
        }
        Some(TerminalType::Receiver) | Some(TerminalType::Sender) => Ok(None),
        None => Err(RunError::UnknownTerminal(terminal)),
    }
}

fn offer(terminal: TerminalId, hop_type: HopType, address: Option<String>) -> OfferedHop {
    OfferedHop {
        terminal,
        hop_type,
        address,
        may_perform_transformation: false,
        in_alt_network: false,
    }
}

/// The gateway bridges the visitor's side and the internet: offer the internet (its router)
/// and the receiver, one recommended depending on the packet's direction.
fn gateway_offers(
    run: &Run,
    gateway: TerminalId,
    installation: &Installation,
) -> Result<Vec<OfferedHop>, RunError> {
    // Hop 2 is the gateway itself; the first internet hop is the first one after it that answered.
    let internet = run.traceroute_hops.range(3..).find_map(|(_, a)| a.clone());
    if internet.is_none() && !run.traceroute_finished {
        return Err(RunError::RouteNotReady {
            what: "internet hop",
        });
    }
    let request = run.packet_type == PacketType::Request;
    let (to_internet, to_receiver) = if request {
        (HopType::Recommended, HopType::Previous)
    } else {
        (HopType::Previous, HopType::Recommended)
    };
    let mut offers = Vec::new();
    if let Some(router) = installation.neighbour_of_type(gateway, TerminalType::Router) {
        offers.push(offer(router, to_internet, internet));
    }
    if let Some(receiver) = installation.neighbour_of_type(gateway, TerminalType::Receiver) {
        offers.push(offer(
            receiver,
            to_receiver,
            run.origin().map(str::to_string),
        ));
    }
    Ok(offers)
}

/// At the website's server the packet may take the wormhole straight back to the gateway;
/// it may always go back the way it came.
fn server_offers(
    run: &Run,
    taken: &RunHop,
    previous: Option<TerminalId>,
    installation: &Installation,
) -> Vec<OfferedHop> {
    let mut offers = Vec::new();
    let at_destination = taken.address.is_some() && taken.address == run.destination;
    let gateway = installation.first_of_type(TerminalType::Gateway);
    if let (true, Some(gateway)) = (at_destination, gateway) {
        offers.push(offer(
            gateway,
            HopType::Wormhole,
            run.traceroute_hops.get(&2).cloned().flatten(),
        ));
    }
    if let Some(previous) = previous.filter(|p| !offers.iter().any(|o| o.terminal == *p)) {
        offers.push(offer(previous, HopType::Previous, taken.address.clone()));
    }
    offers
}

fn router_offers(
    run: &Run,
    here: TerminalId,
    taken: &RunHop,
    previous: Option<TerminalId>,
    ctx: &ScanContext<'_>,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<OfferedHop>, RunError> {
    let installation = ctx.installation;
    let request = run.packet_type == PacketType::Request;
    let kind = |t: TerminalId| installation.terminal_type(t);
    let is_goal = |t: TerminalId| {
        if request {
            t == run.server
        } else {
            kind(t) == Some(TerminalType::Receiver)
        }
    };
    let passable = |t: TerminalId| match kind(t) {
        Some(TerminalType::Router) => true,
        Some(TerminalType::Gateway) => !request,
        _ => false,
    };
    let may_recommend = |t: TerminalId| match kind(t) {
        Some(TerminalType::Server) => {
            request && t == run.server && taken.hop_type == HopType::Recommended
        }
        Some(TerminalType::Gateway) => !request,
        Some(TerminalType::Router) => true,
        _ => is_goal(t),
    };

    let mut remaining: Vec<TerminalId> = installation
        .neighbours(here)
        .into_iter()
        .filter(|t| Some(*t) != previous)
        .collect();
    let route = installation.shortest_route(here, previous, is_goal, passable);

    // Past the first routers, follow the shortest route; before that, surprise the visitor.
    let mut recommended = if run.current_hop_index > 3 {
        route.as_ref().map(|r| r[1])
    } else {
        pick_random(&remaining, rng, |t| {
            may_recommend(t) && (passable(t) || is_goal(t))
        })
    };
    let mut offers = Vec::new();
    if let Some(choice) = recommended.filter(|t| !may_recommend(*t)) {
        offers.push(offer(choice, HopType::Invalid, None));
        remaining.retain(|t| *t != choice);
        recommended = pick_random(&remaining, rng, |t| may_recommend(t) && passable(t));
    }
    remaining.retain(|t| Some(*t) != recommended);

    let back_address = taken.address.clone();
    let Some(recommended) = recommended else {
        // Every way forward leads nowhere: going back is the recommendation.
        if let Some(previous) = previous {
            offers.insert(0, offer(previous, HopType::Recommended, back_address));
        }
        offers.extend(alternatives(&remaining, None, ctx, rng));
        return Ok(offers);
    };
    if let Some(previous) = previous {
        offers.insert(0, offer(previous, HopType::Previous, back_address));
    }
    let steps = route.as_ref().map(|r| r.len() as u32 - 1);
    let address = recommended_address(run, steps)?;
    let location = address.as_ref().and_then(|a| ctx.locations.get(a)).copied();
    offers.push(OfferedHop {
        terminal: recommended,
        hop_type: HopType::Recommended,
        address,
        may_perform_transformation: kind(recommended) == Some(TerminalType::Server),
        in_alt_network: false,
    });
    offers.extend(alternatives(&remaining, location, ctx, rng));
    Ok(offers)
}

/// A random candidate, preferring those accepted by `preferred`, then any.
fn pick_random(
    candidates: &[TerminalId],
    rng: &mut ChaCha8Rng,
    preferred: impl Fn(TerminalId) -> bool,
) -> Option<TerminalId> {
    let good: Vec<TerminalId> = candidates
        .iter()
        .copied()
        .filter(|t| preferred(*t))
        .collect();
    let pool = if good.is_empty() { candidates } else { &good };
    pool.choose(rng).copied()
}

/// The address the recommended hop stands for, `steps` terminals before the goal.
fn recommended_address(run: &Run, steps: Option<u32>) -> Result<Option<String>, RunError> {
    let request = run.packet_type == PacketType::Request;
    let finished = run.traceroute_finished;
    let not_ready = |what| {
        if finished {
            Ok(None)
        } else {
            Err(RunError::RouteNotReady { what })
        }
    };
    let origin = run.origin().map(str::to_string);
    match steps {
        None => Ok(None),
        Some(1) if request => match &run.destination {
            Some(d) => Ok(Some(d.clone())),
            None => not_ready("the website's address"),
        },
        Some(1) | Some(2) if !request => Ok(origin),
        Some(2) => {
            if !finished {
                return Err(RunError::RouteNotReady {
                    what: "the route's last hop",
                });
            }
            Ok(run.traceroute_hops.values().rev().find_map(|a| a.clone()))
        }
        Some(steps) => {
            let mut middle: Vec<String> = run
                .traceroute_hops
                .range(4..)
                .filter_map(|(_, a)| a.clone())
                .collect();
            if !request {
                middle.reverse();
            }
            if middle.is_empty() {
                return not_ready("the route's next hops");
            }
            Ok(Some(middle[(middle.len() - 1) / steps as usize].clone()))
        }
    }
}

/// Addresses for the hops not recommended: the list's entries nearest to the recommended
/// hop's location, or, with no location, a random entry in the alternative network.
fn alternatives(
    terminals: &[TerminalId],
    near: Option<LatLng>,
    ctx: &ScanContext<'_>,
    rng: &mut ChaCha8Rng,
) -> Vec<OfferedHop> {
    let nearest = near.map(|at| ctx.alt_hops.nearest(&at)).unwrap_or_default();
    terminals
        .iter()
        .enumerate()
        .map(|(k, &terminal)| {
            let (address, in_alt_network) = if nearest.is_empty() {
                (ctx.alt_hops.0.choose(rng).map(|h| h.ip.clone()), true)
            } else {
                (Some(nearest[k % nearest.len()].ip.clone()), false)
            };
            OfferedHop {
                in_alt_network,
                ..offer(terminal, HopType::Alternative, address)
            }
        })
        .collect()
}
