//! Every event names its type and schema version explicitly, so that a later version of the
//! code can recognise old payloads and upcast them.

/// The version written with every event of the current schema.
pub const EVENT_VERSION: &str = "1";
