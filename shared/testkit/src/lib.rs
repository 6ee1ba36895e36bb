//! The one test kit (dev-only): API Gateway events parsed by lambda_http as in production
//! ([`events`]), and a seeded [`World`] on a real SQLite store with the demo data, a real key
//! set and tokens from the real issuer. Handler tests, the cross-function integration tests
//! and the in-process benchmark all build on it.

pub mod events;
mod world;

pub use events::*;
pub use world::*;
