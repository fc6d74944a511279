//! Wire types shared by the panel and the agent. This crate performs no I/O.
