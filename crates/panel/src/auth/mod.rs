//! Authentication: passwords, tokens, sessions, and who the caller is.

pub mod actor;
pub mod cache;
pub mod identity;
pub mod password;
pub mod policy;
pub mod principal;
pub mod service;
pub mod session;
pub mod tokens;
pub mod two_factor;

pub use actor::{Actor, Client};
pub use principal::Principal;
