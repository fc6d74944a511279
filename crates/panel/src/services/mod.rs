//! Business logic that spans repositories.

pub mod audit;
pub mod health;
pub mod nodes;
pub mod servers;
pub mod templates;
pub mod users;
