//! HTTP and WebSocket endpoints.

pub mod graphql;
pub mod health;
pub mod images;
pub mod websocket;

pub use websocket::SocketSettings;
