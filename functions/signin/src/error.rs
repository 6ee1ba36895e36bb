//! The sign-in function's error type: what cannot be a page (routing, storage). A person's
//! mistakes (a wrong code, a wrong password, an expired form) are pages, not errors.

use oasis_lambda::error::{ApiError, RouteError};
use oasis_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError for SignInError {
    fn inner(&self) -> Option<&dyn ApiError> {
        match self {
            SignInError::Route(e) => Some(e),
            SignInError::Store(e) => Some(e),
        }
    }
}
