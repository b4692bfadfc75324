#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0} is not an IP address")]
    InvalidIp(String),
    #[error("metadata must be a JSON object, got: {0}")]
    InvalidMetadata(String),
}
