//! Authentication: passwords, tokens, sessions, and who the caller is.

pub mod cache;
pub mod password;
pub mod principal;
pub mod service;
pub mod tokens;

pub use principal::Principal;
