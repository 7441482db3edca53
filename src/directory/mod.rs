//! The CMDB phone book: organizations, contacts and assets, numbers in E.164, fuzzy search,
//! and who-is-calling for the queues.

mod book;
pub mod export;
pub mod import;
pub mod model;
pub mod number;
pub mod prepare;
pub mod rights;
pub mod sample;
pub mod search;
pub mod sync;
pub mod translit;

pub use book::{Found, FoundRecord, PhoneBook};
