//! Business logic that spans repositories.

pub mod audit;
pub mod health;
pub mod nodes;
pub mod servers;
pub mod subusers;
pub mod templates;
pub mod users;
