//! The `DateTime` scalar: ISO-8601 UTC text with milliseconds, as the read models store it.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTime(pub String);

/// A date-time string at UTC, such as 2019-12-03T09:54:33.000Z.
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
                Ok(DateTime(s.clone()))
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}
