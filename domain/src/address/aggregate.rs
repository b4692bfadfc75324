use super::{AddressCommand, AddressError, AddressEvent};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub ip: String,
    pub seen: bool,
    pub in_alt_network: bool,
    pub internal: bool,
    pub info: Option<serde_json::Value>,
}

impl Address {
    /// Metadata only arrives for addresses found on some route: an address first heard of
    /// through its metadata is recorded as seen first.
    async fn see_first(
        &mut self,
        ip: &str,
        at: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), AddressError> {
        let parsed: std::net::IpAddr = ip
            .parse()
            .map_err(|_| AddressError::InvalidIp(ip.to_string()))?;
        if !self.seen {
            let event = AddressEvent::AddressSeen {
                ip: parsed.to_string(),
                in_alt_network: false,
                at,
            };
            sink.write(event, self).await;
        }
        Ok(())
    }
}

impl Aggregate for Address {
    const TYPE: &'static str = "Address";
    type Command = AddressCommand;
    type Event = AddressEvent;
    type Error = AddressError;
    type Services = ();

    async fn handle(
        &mut self,
        command: AddressCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), AddressError> {
        match command {
            AddressCommand::See {
                ip,
                in_alt_network,
                at,
            } => {
                let parsed: std::net::IpAddr = ip
                    .parse()
                    .map_err(|_| AddressError::InvalidIp(ip.clone()))?;
                // A newly marked alternative-network address is news; anything else seen again is not.
                if !self.seen || (in_alt_network && !self.in_alt_network) {
                    let event = AddressEvent::AddressSeen {
                        ip: parsed.to_string(),
                        in_alt_network,
                        at,
                    };
                    sink.write(event, self).await;
                }
            }
            AddressCommand::RecordMetadata {
                ip,
                info,
                internal,
                at,
            } => {
                if !info.is_object() {
                    return Err(AddressError::InvalidMetadata(info.to_string()));
                }
                self.see_first(&ip, at, sink).await?;
                sink.write(AddressEvent::MetadataRecorded { info, internal, at }, self)
                    .await;
            }
            AddressCommand::FailMetadata { ip, reason, at } => {
                self.see_first(&ip, at, sink).await?;
                sink.write(AddressEvent::MetadataFailed { reason, at }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: AddressEvent) {
        match event {
            AddressEvent::AddressSeen {
                ip, in_alt_network, ..
            } => {
                self.ip = ip;
                self.seen = true;
                self.in_alt_network |= in_alt_network;
            }
            AddressEvent::MetadataRecorded { info, internal, .. } => {
                self.info = Some(info);
                self.internal = internal;
            }
            AddressEvent::MetadataFailed { .. } => {}
        }
    }
}
