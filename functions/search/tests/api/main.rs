//! The search function in-process: events, injection, attacks. One test binary for the crate, so it links once.

mod events;
mod search_injection;
mod search_security;
