//! The embedded store: the conformance suite, the migration, the search model. One test binary for the crate, so it links once.

mod search_model;
mod sqlite_conformance;
