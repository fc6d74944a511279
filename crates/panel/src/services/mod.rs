//! Business logic that spans repositories.

pub mod audit;
pub mod health;
pub mod templates;
pub mod users;
