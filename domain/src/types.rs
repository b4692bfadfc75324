//! Small value types shared by the aggregates, spelled as the GraphQL API spells them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A terminal's number in the installation (1, 2, … as printed on the screens).
pub type TerminalId = u32;

/// What a terminal does in the installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminalType {
    Sender,
    Gateway,
    Router,
    Server,
    Receiver,
}

/// Where a terminal is in handling the packet that lies on its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TerminalStatus {
    #[default]
    Idle,
    ScanningNfc,
    CreatingPacket,
    CreatedPacket,
}

/// A packet travels to the server as a request and back to the receiver as a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PacketType {
    #[default]
    Request,
    Response,
}

/// Why a hop is offered to the visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HopType {
    Previous,
    Alternative,
    Recommended,
    Invalid,
    Wormhole,
}

/// POTENTIAL hops are offered; the one the visitor scanned becomes ACTUAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HopStatus {
    Actual,
    Potential,
}

macro_rules! display_as_serde {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let text = serde_json::to_value(self).ok();
                f.write_str(text.as_ref().and_then(|v| v.as_str()).unwrap_or("?"))
            }
        }
    )*};
}
display_as_serde!(TerminalType, TerminalStatus, PacketType, HopType, HopStatus);

/// A latitude/longitude pair in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLng {
    pub lat: f64,
    pub lng: f64,
}

impl LatLng {
    /// Great-circle distance in kilometres (haversine formula).
    pub fn distance_km(&self, other: &LatLng) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_lat = (other.lat - self.lat).to_radians();
        let d_lng = (other.lng - self.lng).to_radians();
        let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_use_the_api_spelling() {
        assert_eq!(TerminalStatus::ScanningNfc.to_string(), "SCANNING_NFC");
        assert_eq!(HopType::Wormhole.to_string(), "WORMHOLE");
        let t: TerminalType = serde_json::from_str("\"GATEWAY\"").unwrap();
        assert_eq!(t, TerminalType::Gateway);
    }

    #[test]
    fn haversine_amsterdam_to_london_is_about_357_km() {
        let amsterdam = LatLng {
            lat: 52.3676,
            lng: 4.9041,
        };
        let london = LatLng {
            lat: 51.5072,
            lng: -0.1276,
        };
        let d = amsterdam.distance_km(&london);
        assert!((d - 357.0).abs() < 5.0, "{d}");
        assert_eq!(amsterdam.distance_km(&amsterdam), 0.0);
    }
}
