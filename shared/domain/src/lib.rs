//! The values Oasis crates hand each other. Each has a single `parse` that checks it once, at
//! the edge (a request, a command line, a stored item); past that, the type is the proof.
//! Secrets print as `[redacted]`, so a `{:?}` in a log line cannot leak one.

mod catalog;
pub mod error;
mod grant;
mod ids;
mod redirect;
pub mod scope;
mod secret;
#[cfg(feature = "rusqlite")]
mod sql;
mod user_code;
pub mod username;

pub use catalog::{Genre, GenreError, Maturity, MaturityError};
pub use error::cause_chain;
pub use grant::{GrantType, GrantTypeError};
pub use ids::{ClientId, ClientIdError, UserId, UserIdError};
pub use redirect::{CodeChallenge, CodeVerifier, PkceError, RedirectUri, RedirectUriError};
pub use scope::{ScopeError, ScopeSet};
pub use secret::Secret;
pub use user_code::{UserCode, UserCodeError};
pub use username::{Username, UsernameError};
