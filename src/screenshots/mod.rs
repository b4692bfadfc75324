//! Screenshots of the visitors' websites: a kept chromium behind a filtering proxy.

pub mod camera;
pub mod proxy;

pub use camera::{write_atomically, Camera, Shot, ShotError, HEIGHT, WIDTH};
pub use proxy::FilteringProxy;
