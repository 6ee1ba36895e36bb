//! The token function in-process: events, metrics, attacks. One test binary for the crate, so it links once.

mod code_flow;
mod common;
mod device_flow;
mod events;
mod metrics;
mod refresh_grace;
mod token_security;
