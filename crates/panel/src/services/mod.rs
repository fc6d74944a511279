//! Business logic that spans repositories.

pub mod audit;
pub mod templates;
