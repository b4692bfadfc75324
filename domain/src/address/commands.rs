use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AddressCommand {
    /// The address turned up on a route; seeing it again records nothing new.
    See {
        ip: String,
        in_alt_network: bool,
        at: DateTime<Utc>,
    },
    RecordMetadata {
        ip: String,
        info: serde_json::Value,
        internal: bool,
        at: DateTime<Utc>,
    },
    FailMetadata {
        ip: String,
        reason: String,
        at: DateTime<Utc>,
    },
}
