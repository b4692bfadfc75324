use super::{TerminalCommand, TerminalError, TerminalEvent};
use crate::installation::TerminalSpec;
use crate::types::{TerminalId, TerminalStatus, TerminalType};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A screen connected to the terminal through a WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Terminal {
    pub id: TerminalId,
    pub registered: bool,
    pub terminal_type: TerminalType,
    pub status: TerminalStatus,
    pub run_id: Option<String>,
    /// Connected screens by WebSocket id.
    pub presences: BTreeMap<String, Presence>,
    /// The layout entry it was registered with.
    pub spec: Option<TerminalSpec>,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal {
            id: 0,
            registered: false,
            terminal_type: TerminalType::Router,
            status: TerminalStatus::Idle,
            run_id: None,
            presences: BTreeMap::new(),
            spec: None,
        }
    }
}

impl Terminal {
    fn require_registered(&self) -> Result<(), TerminalError> {
        if self.registered {
            Ok(())
        } else {
            Err(TerminalError::NotFound(self.id))
        }
    }

    fn is_idle(&self) -> bool {
        self.status == TerminalStatus::Idle && self.run_id.is_none()
    }
}

impl Aggregate for Terminal {
    const TYPE: &'static str = "Terminal";
    type Command = TerminalCommand;
    type Event = TerminalEvent;
    type Error = TerminalError;
    type Services = ();

    async fn handle(
        &mut self,
        command: TerminalCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), TerminalError> {
        if let TerminalCommand::Register { spec, at } = command {
            if self.registered {
                return Err(TerminalError::AlreadyRegistered(self.id));
            }
            sink.write(TerminalEvent::TerminalRegistered { spec, at }, self)
                .await;
            return Ok(());
        }
        self.require_registered()?;
        match command {
            TerminalCommand::Register { .. } => unreachable!("handled above"),
            TerminalCommand::ReceivePacket { run_id, at } => {
                if self.run_id.as_deref() != Some(run_id.as_str())
                    || self.status == TerminalStatus::Idle
                {
                    sink.write(TerminalEvent::PacketScanned { run_id, at }, self)
                        .await;
                }
            }
            TerminalCommand::ReleasePacket { run_id, at } => {
                if self.run_id.as_deref() == Some(run_id.as_str()) {
                    sink.write(TerminalEvent::TerminalReset { at }, self).await;
                }
            }
            TerminalCommand::CreatePacket {
                created,
                may_transform,
                at,
            } => {
                if !matches!(
                    self.terminal_type,
                    TerminalType::Sender | TerminalType::Server
                ) {
                    return Err(TerminalError::CannotCreatePackets {
                        terminal: self.id,
                        terminal_type: self.terminal_type,
                    });
                }
                let (expected, wanted) = if created {
                    (
                        TerminalStatus::CreatingPacket,
                        TerminalStatus::CreatedPacket,
                    )
                } else {
                    (TerminalStatus::ScanningNfc, TerminalStatus::CreatingPacket)
                };
                if self.status != expected {
                    return Err(TerminalError::WrongStatus {
                        terminal: self.id,
                        current: self.status,
                        expected,
                        wanted,
                    });
                }
                let run_id = self
                    .run_id
                    .clone()
                    .ok_or(TerminalError::NoPacket(self.id))?;
                may_transform.map_err(TerminalError::MayNotTransform)?;
                let event = if created {
                    TerminalEvent::PacketCreated { run_id, at }
                } else {
                    TerminalEvent::PacketCreationStarted { run_id, at }
                };
                sink.write(event, self).await;
            }
            TerminalCommand::Reset { at } => {
                if !self.is_idle() {
                    sink.write(TerminalEvent::TerminalReset { at }, self).await;
                }
            }
            TerminalCommand::ConnectPresence {
                websocket_id,
                ip,
                at,
            } => {
                if !self.presences.contains_key(&websocket_id) {
                    sink.write(
                        TerminalEvent::PresenceConnected {
                            websocket_id,
                            ip,
                            at,
                        },
                        self,
                    )
                    .await;
                }
            }
            TerminalCommand::LosePresence { websocket_id, at } => {
                if self.presences.contains_key(&websocket_id) {
                    sink.write(TerminalEvent::PresenceLost { websocket_id, at }, self)
                        .await;
                }
            }
            TerminalCommand::DropPresences { at } => {
                let ids: Vec<String> = self.presences.keys().cloned().collect();
                for websocket_id in ids {
                    sink.write(TerminalEvent::PresenceLost { websocket_id, at }, self)
                        .await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: TerminalEvent) {
        match event {
            TerminalEvent::TerminalRegistered { spec, .. } => {
                self.id = spec.id;
                self.registered = true;
                self.terminal_type = spec.terminal_type;
                self.spec = Some(spec);
            }
            TerminalEvent::PacketScanned { run_id, .. } => {
                self.run_id = Some(run_id);
                self.status = TerminalStatus::ScanningNfc;
            }
            TerminalEvent::PacketCreationStarted { .. } => {
                self.status = TerminalStatus::CreatingPacket
            }
            TerminalEvent::PacketCreated { .. } => self.status = TerminalStatus::CreatedPacket,
            TerminalEvent::TerminalReset { .. } => {
                self.status = TerminalStatus::Idle;
                self.run_id = None;
            }
            TerminalEvent::PresenceConnected {
                websocket_id, ip, ..
            } => {
                self.presences.insert(websocket_id, Presence { ip });
            }
            TerminalEvent::PresenceLost { websocket_id, .. } => {
                self.presences.remove(&websocket_id);
            }
        }
    }
}
