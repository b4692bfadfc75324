//! The alternative-hop list: real addresses, with their cities, that stand for the routes a
//! visitor did not take.

use crate::types::LatLng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AltHop {
    pub city: String,
    pub ip: String,
    pub lat: f64,
    pub lng: f64,
}

impl AltHop {
    pub fn location(&self) -> LatLng {
        LatLng {
            lat: self.lat,
            lng: self.lng,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AltHops(pub Vec<AltHop>);

impl AltHops {
    /// The list shipped with the project (`data/alt-hops.json`).
    pub fn bundled() -> Self {
        Self::from_json(include_str!("../data/alt-hops.json"))
            .expect("bundled alt-hops.json is valid")
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text).map(AltHops)
    }

    /// Entries sorted by distance to `to`, nearest first (ties keep list order).
    pub fn nearest(&self, to: &LatLng) -> Vec<&AltHop> {
        let mut hops: Vec<&AltHop> = self.0.iter().collect();
        hops.sort_by(|a, b| {
            a.location()
                .distance_km(to)
                .total_cmp(&b.location().distance_km(to))
        });
        hops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_list_loads_and_sorts_by_distance() {
        let hops = AltHops::bundled();
        assert!(hops.0.len() >= 10);
        let utrecht = LatLng {
            lat: 52.09,
            lng: 5.12,
        };
        let nearest = hops.nearest(&utrecht);
        assert_eq!(nearest[0].city, "Utrecht");
        let d: Vec<f64> = nearest
            .iter()
            .map(|h| h.location().distance_km(&utrecht))
            .collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]));
    }
}
