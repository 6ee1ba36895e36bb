//! The admin tool: its command line, and the sample events index. One test binary for the crate, so it links once.

mod cli;
mod events_index;
