use super::{OfferedHop, RunCommand, RunError, RunEvent};
use crate::alt_hops::AltHops;
use crate::installation::Installation;
use crate::routing::{self, ScanContext};
use crate::types::{HopStatus, HopType, PacketType, TerminalId, TerminalType};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the Run aggregate needs from outside: the layout and the alternative-hop list.
#[derive(Debug, Clone)]
pub struct RunServices {
    pub installation: Arc<Installation>,
    pub alt_hops: Arc<AltHops>,
}

/// One step of the journey through the installation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHop {
    pub index: u32,
    pub terminal: TerminalId,
    pub hop_type: HopType,
    pub status: HopStatus,
    pub address: Option<String>,
    pub may_perform_transformation: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub created: bool,
    pub nfc_id: String,
    pub url: String,
    pub server: TerminalId,
    pub destination: Option<String>,
    /// Traceroute hop number → address (`None` for a silent router).
    pub traceroute_hops: BTreeMap<u32, Option<String>>,
    pub traceroute_finished: bool,
    pub traceroute_failure: Option<String>,
    pub hops: Vec<RunHop>,
    pub packet_type: PacketType,
    pub current_hop_index: u32,
    /// The terminal the packet was last scanned at.
    pub terminal: Option<TerminalId>,
    pub image_path: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The highest traceroute hop number kept: 32 probes plus the origin, with room to spare.
pub const MAX_TRACEROUTE_HOP: u32 = 64;

impl Run {
    pub fn origin(&self) -> Option<&str> {
        self.traceroute_hops.get(&1).and_then(|a| a.as_deref())
    }

    /// The ACTUAL hop at `index`, if one was taken there.
    pub fn actual_hop(&self, index: u32) -> Option<&RunHop> {
        self.hops
            .iter()
            .find(|h| h.index == index && h.status == HopStatus::Actual)
    }

    /// The hops offered at the current index.
    pub fn available_hops(&self) -> impl Iterator<Item = &RunHop> {
        self.hops
            .iter()
            .filter(move |h| h.index == self.current_hop_index)
    }

    /// The hop the packet stands on: the ACTUAL hop just before the current index.
    pub fn current_hop(&self) -> Option<&RunHop> {
        self.current_hop_index
            .checked_sub(1)
            .and_then(|i| self.actual_hop(i))
    }

    /// Checks that the packet, lying at `terminal`, may be transformed there.
    pub fn check_may_transform(&self, terminal: TerminalId) -> Result<(), RunError> {
        let refuse = |reason: &str| {
            Err(RunError::MayNotTransform {
                terminal,
                reason: reason.to_string(),
            })
        };
        match self.current_hop() {
            None => refuse("the packet has not reached any terminal yet"),
            Some(hop) if hop.terminal != terminal => refuse("the packet is not at this terminal"),
            Some(hop) if !hop.may_perform_transformation => {
                refuse("it did not reach this terminal by the recommended route")
            }
            Some(_) => Ok(()),
        }
    }

    fn require_created(&self) -> Result<(), RunError> {
        if self.created {
            Ok(())
        } else {
            Err(RunError::NotFound)
        }
    }

    /// The gateway is offered once the origin is known and traceroute hop 2 has answered (or the
    /// trace ended without it, so that the visitor is never stuck at the sender).
    fn gateway_offer(&self, installation: &Installation, at: DateTime<Utc>) -> Option<RunEvent> {
        let hop2_known = self.traceroute_hops.contains_key(&2) || self.traceroute_finished;
        if self.origin().is_none() || !hop2_known || self.hops.iter().any(|h| h.index == 2) {
            return None;
        }
        let sender = self.actual_hop(1)?.terminal;
        let gateway = installation
            .neighbour_of_type(sender, TerminalType::Gateway)
            .or_else(|| installation.first_of_type(TerminalType::Gateway))?;
        let address = self.traceroute_hops.get(&2).cloned().flatten();
        Some(RunEvent::HopsOffered {
            index: 2,
            hops: vec![OfferedHop {
                terminal: gateway,
                hop_type: HopType::Recommended,
                address,
                may_perform_transformation: false,
                in_alt_network: false,
            }],
            at,
        })
    }
}

fn check_ip(address: &str) -> Result<(), RunError> {
    address
        .parse::<std::net::IpAddr>()
        .map(|_| ())
        .map_err(|_| RunError::InvalidAddress(address.to_string()))
}

impl Aggregate for Run {
    const TYPE: &'static str = "Run";
    type Command = RunCommand;
    type Event = RunEvent;
    type Error = RunError;
    type Services = RunServices;

    async fn handle(
        &mut self,
        command: RunCommand,
        services: &RunServices,
        sink: &EventSink<Self>,
    ) -> Result<(), RunError> {
        let installation = &services.installation;
        if let RunCommand::Create {
            run_id,
            nfc_id,
            url,
            server,
            at,
        } = command
        {
            if self.created {
                return Err(RunError::AlreadyExists(self.id.clone()));
            }
            if installation.terminal_type(server) != Some(TerminalType::Server) {
                return Err(RunError::UnknownTerminal(server));
            }
            sink.write(
                RunEvent::RunCreated {
                    run_id,
                    nfc_id,
                    url,
                    server,
                    at,
                },
                self,
            )
            .await;
            return Ok(());
        }
        self.require_created()?;
        match command {
            RunCommand::Create { .. } => unreachable!("handled above"),
            RunCommand::RecordOrigin { address, at } => {
                check_ip(&address)?;
                if self.origin().is_some() {
                    return Ok(());
                }
                let sender = installation
                    .first_of_type(TerminalType::Sender)
                    .expect("checked layout has a sender");
                sink.write(
                    RunEvent::OriginRecorded {
                        address,
                        sender,
                        at,
                    },
                    self,
                )
                .await;
                if let Some(offer) = self.gateway_offer(installation, at) {
                    sink.write(offer, self).await;
                }
            }
            RunCommand::RecordTracerouteHop { hop, address, at } => {
                if !(2..=MAX_TRACEROUTE_HOP).contains(&hop) {
                    return Err(RunError::HopOutOfRange(hop));
                }
                if let Some(address) = &address {
                    check_ip(address)?;
                }
                if self.traceroute_hops.contains_key(&hop) {
                    return Ok(());
                }
                sink.write(RunEvent::TracerouteHopRecorded { hop, address, at }, self)
                    .await;
                if let Some(offer) = self.gateway_offer(installation, at) {
                    sink.write(offer, self).await;
                }
            }
            RunCommand::RecordDestination { address, at } => {
                check_ip(&address)?;
                if self.destination.is_none() {
                    sink.write(RunEvent::DestinationResolved { address, at }, self)
                        .await;
                }
            }
            RunCommand::FinishTraceroute { at } => {
                if !self.traceroute_finished {
                    sink.write(RunEvent::TracerouteFinished { at }, self).await;
                    if let Some(offer) = self.gateway_offer(installation, at) {
                        sink.write(offer, self).await;
                    }
                }
            }
            RunCommand::FailTraceroute { reason, at } => {
                if !self.traceroute_finished {
                    sink.write(RunEvent::TracerouteFailed { reason, at }, self)
                        .await;
                    if let Some(offer) = self.gateway_offer(installation, at) {
                        sink.write(offer, self).await;
                    }
                }
            }
            RunCommand::RecordScreenshot {
                image_path,
                partial,
                at,
            } => {
                sink.write(
                    RunEvent::ScreenshotTaken {
                        image_path,
                        partial,
                        at,
                    },
                    self,
                )
                .await;
            }
            RunCommand::FailScreenshot { reason, at } => {
                sink.write(RunEvent::ScreenshotFailed { reason, at }, self)
                    .await;
            }
            RunCommand::Scan {
                terminal,
                seed,
                locations,
                at,
            } => {
                if installation.terminal(terminal).is_none() {
                    return Err(RunError::UnknownTerminal(terminal));
                }
                let index = self.current_hop_index;
                // At the receiver the index stays put: the hop taken there closes the index,
                // so the other hop offered beside it can no longer be taken.
                if let Some(taken) = self.actual_hop(index) {
                    return if taken.terminal == terminal {
                        Ok(())
                    } else {
                        Err(RunError::NotADestination { terminal })
                    };
                }
                let offered_here = self.hops.iter().any(|h| {
                    h.index == index && h.terminal == terminal && h.status == HopStatus::Potential
                });
                if !offered_here {
                    let rescan = self.current_hop().is_some_and(|h| h.terminal == terminal);
                    return if rescan {
                        Ok(())
                    } else if self.hops.is_empty() {
                        Err(RunError::RouteNotReady {
                            what: "the visitor's own address",
                        })
                    } else {
                        Err(RunError::NotADestination { terminal })
                    };
                }
                // Work out the new offers on a copy first: a refusal must record nothing.
                // The packet leaves the terminal of the hop it last took (at the sender that is
                // hop 1, taken when the run was traced rather than by a scan).
                let taken = RunEvent::HopTaken {
                    index,
                    terminal,
                    left: self.current_hop().map(|h| h.terminal),
                    at,
                };
                let mut after = self.clone();
                after.apply(taken.clone());
                let context = ScanContext {
                    installation,
                    alt_hops: &services.alt_hops,
                    locations: &locations,
                    seed,
                };
                let offers = routing::offers_after_scan(&after, terminal, &context)?;
                sink.write(taken, self).await;
                if let Some(hops) = offers {
                    sink.write(
                        RunEvent::HopsOffered {
                            index: index + 1,
                            hops,
                            at,
                        },
                        self,
                    )
                    .await;
                }
            }
            RunCommand::Transform { terminal, at } => {
                self.check_may_transform(terminal)?;
                let is_server = installation.terminal_type(terminal) == Some(TerminalType::Server);
                // The sender builds the request; only a server turns it into a response.
                if is_server && self.packet_type == PacketType::Request {
                    let event = RunEvent::PacketTypeChanged {
                        packet_type: PacketType::Response,
                        terminal,
                        at,
                    };
                    sink.write(event, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: RunEvent) {
        self.updated_at = Some(event.at());
        match event {
            RunEvent::RunCreated {
                run_id,
                nfc_id,
                url,
                server,
                ..
            } => {
                *self = Run {
                    id: run_id,
                    created: true,
                    nfc_id,
                    url,
                    server,
                    current_hop_index: 1,
                    updated_at: self.updated_at,
                    ..Run::default()
                };
            }
            RunEvent::OriginRecorded {
                address, sender, ..
            } => {
                self.traceroute_hops.insert(1, Some(address.clone()));
                self.hops.push(RunHop {
                    index: 1,
                    terminal: sender,
                    hop_type: HopType::Recommended,
                    status: HopStatus::Actual,
                    address: Some(address),
                    may_perform_transformation: true,
                });
                self.current_hop_index = self.current_hop_index.max(2);
            }
            RunEvent::TracerouteHopRecorded { hop, address, .. } => {
                self.traceroute_hops.insert(hop, address);
            }
            RunEvent::DestinationResolved { address, .. } => self.destination = Some(address),
            RunEvent::TracerouteFinished { .. } => self.traceroute_finished = true,
            RunEvent::TracerouteFailed { reason, .. } => {
                self.traceroute_finished = true;
                self.traceroute_failure = Some(reason);
            }
            RunEvent::ScreenshotTaken { image_path, .. } => self.image_path = Some(image_path),
            RunEvent::ScreenshotFailed { .. } => {}
            RunEvent::HopTaken {
                index, terminal, ..
            } => {
                if let Some(hop) = self.hops.iter_mut().find(|h| {
                    h.index == index && h.terminal == terminal && h.status == HopStatus::Potential
                }) {
                    hop.status = HopStatus::Actual;
                }
                self.terminal = Some(terminal);
            }
            RunEvent::HopsOffered { index, hops, .. } => {
                self.hops.extend(hops.into_iter().map(|h| RunHop {
                    index,
                    terminal: h.terminal,
                    hop_type: h.hop_type,
                    status: HopStatus::Potential,
                    address: h.address,
                    may_perform_transformation: h.may_perform_transformation,
                }));
                self.current_hop_index = self.current_hop_index.max(index);
            }
            RunEvent::PacketTypeChanged { packet_type, .. } => self.packet_type = packet_type,
        }
    }
}
