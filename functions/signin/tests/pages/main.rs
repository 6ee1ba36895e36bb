//! The sign-in pages in-process, on a real SQLite store with the demo data: what a person
//! sees and can do, and the attacks on the forms.

mod authorize_pages;
mod common;
mod device_pages;
mod events;
