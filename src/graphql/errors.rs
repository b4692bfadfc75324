//! GraphQL errors: a readable message and a stable `extensions.code`, never a stack trace.

use crate::app::AppError;
use async_graphql::{Error, ErrorExtensions};

pub fn to_graphql(error: AppError) -> Error {
    if let AppError::Internal(detail) = &error {
        tracing::error!(%detail, "internal error answering a request");
    }
    let code = error.code();
    Error::new(error.to_string()).extend_with(|_, e| e.set("code", code))
}

pub fn internal(error: impl std::fmt::Display) -> Error {
    to_graphql(AppError::Internal(error.to_string()))
}

pub fn not_found(message: String) -> Error {
    to_graphql(AppError::NotFound(message))
}

pub fn bad_input(message: String) -> Error {
    to_graphql(AppError::BadInput(message))
}

/// A terminal id as the API sends it (a Float) as a terminal number.
pub fn terminal_number(id: f64) -> Result<u32, Error> {
    if id.fract() == 0.0 && id >= 1.0 && id <= u32::MAX as f64 {
        Ok(id as u32)
    } else {
        Err(bad_input(format!("{id} is not a terminal number")))
    }
}
