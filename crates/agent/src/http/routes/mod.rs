//! Handlers by domain.

pub mod backups;
pub mod events;
pub mod files;
pub mod schedules;
pub mod servers;
pub mod system;
