use crate::event_meta::EVENT_VERSION;
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AddressEvent {
    AddressSeen {
        ip: String,
        in_alt_network: bool,
        at: DateTime<Utc>,
    },
    /// `info` is the lookup's answer in IPRegistry's shape; `internal` for private ranges,
    /// which get the venue's own location and company instead of a lookup.
    MetadataRecorded {
        info: serde_json::Value,
        internal: bool,
        at: DateTime<Utc>,
    },
    MetadataFailed {
        reason: String,
        at: DateTime<Utc>,
    },
}

impl AddressEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AddressEvent::AddressSeen { at, .. }
            | AddressEvent::MetadataRecorded { at, .. }
            | AddressEvent::MetadataFailed { at, .. } => *at,
        }
    }
}

impl DomainEvent for AddressEvent {
    fn event_type(&self) -> String {
        match self {
            AddressEvent::AddressSeen { .. } => "AddressSeen",
            AddressEvent::MetadataRecorded { .. } => "MetadataRecorded",
            AddressEvent::MetadataFailed { .. } => "MetadataFailed",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
