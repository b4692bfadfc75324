//! IP metadata in the shape of IPRegistry's answer, field names in snake_case as the original
//! API served them. Parsed leniently: missing parts get empty defaults so non-null fields hold.

use async_graphql::SimpleObject;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct IpInfo {
    pub ip: String,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: String,
    pub hostname: Option<String>,
    pub carrier: Option<Carrier>,
    pub company: Company,
    pub connection: Option<Connection>,
    pub currency: Option<Currency>,
    pub location: Option<Location>,
    pub security: Option<Security>,
    pub time_zone: Option<TimeZone>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Carrier {
    pub name: Option<String>,
    pub mcc: Option<String>,
    pub mnc: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Company {
    pub domain: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Connection {
    pub asn: Option<f64>,
    pub domain: Option<String>,
    pub organization: Option<String>,
    pub route: Option<String>,
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Currency {
    pub code: Option<String>,
    pub name: Option<String>,
    pub name_native: Option<String>,
    pub plural: Option<String>,
    pub plural_native: Option<String>,
    pub symbol: Option<String>,
    pub symbol_native: Option<String>,
    pub format: Format,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Format {
    pub negative: NegativeOrPositive,
    pub positive: NegativeOrPositive,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct NegativeOrPositive {
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Location {
    pub continent: ContinentOrRegion,
    pub country: Country,
    pub region: ContinentOrRegion,
    pub city: Option<String>,
    pub postal: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub language: LanguagesEntityOrLanguage,
    pub in_eu: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct ContinentOrRegion {
    pub code: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Country {
    pub area: Option<f64>,
    pub borders: Option<Vec<String>>,
    pub calling_code: Option<String>,
    pub capital: Option<String>,
    pub code: Option<String>,
    pub name: Option<String>,
    pub population: Option<f64>,
    pub population_density: Option<f64>,
    pub flag: Option<Flag>,
    pub languages: Option<Vec<LanguagesEntityOrLanguage>>,
    pub tld: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Flag {
    pub emoji: Option<String>,
    pub emoji_unicode: Option<String>,
    pub emojitwo: Option<String>,
    pub noto: Option<String>,
    pub twemoji: Option<String>,
    pub wikimedia: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct LanguagesEntityOrLanguage {
    pub code: Option<String>,
    pub name: Option<String>,
    pub native: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct Security {
    pub is_abuser: bool,
    pub is_attacker: bool,
    pub is_bogon: bool,
    pub is_cloud_provider: bool,
    pub is_proxy: bool,
    pub is_relay: bool,
    pub is_tor: bool,
    pub is_tor_exit: bool,
    pub is_vpn: bool,
    pub is_anonymous: bool,
    pub is_threat: bool,
}

#[derive(Debug, Clone, Default, Deserialize, SimpleObject)]
#[serde(default)]
#[graphql(rename_fields = "snake_case")]
pub struct TimeZone {
    pub id: Option<String>,
    pub abbreviation: Option<String>,
    pub current_time: Option<String>,
    pub name: Option<String>,
    pub offset: f64,
    pub in_daylight_saving: bool,
}
