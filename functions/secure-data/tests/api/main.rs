//! The secure-data function in-process: events and attacks. One test binary for the crate, so it links once.

mod events;
mod secure_data_security;
