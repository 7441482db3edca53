//! Users, roles and credentials: who may sign in, and with what rank.
//!
//! Owns the rules (valid names, password length, token format, session lifetime) and combines
//! them with the [`Store`] into the few operations the CLI and the web layer need. Never speaks
//! HTTP and never writes SQL; a plaintext password or token is never stored or logged.

mod hashers;
mod password;
mod throttle;
mod token;

use std::time::Duration;

pub use crate::accounts::{ApiToken, Role, UnknownRole, User};
pub use hashers::{start as start_hashing, THREAD_NAME as HASHING_THREAD};
pub use password::{
    generate_password, hash_password, verify_password, verify_password_or_dummy, HashError,
};
pub use throttle::{Attempt, LoginThrottle};
pub use token::{hash_token, new_api_token, new_session_token, API_PREFIX, SESSION_PREFIX};

use crate::clock;
use crate::store::{Store, StoreError};

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;
pub const MAX_NAME_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("invalid name {0:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidName(String),
    #[error("the password must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters long")]
    InvalidPassword,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing was interrupted")]
    Interrupted,
    /// Every hashing thread is busy and the queue is full; try again shortly.
    #[error("too many sign-ins at once; try again in a moment")]
    Busy,
}

/// Names of users and API tokens: short, printable, safe in a URL path and a log line.
pub fn validate_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(UserError::InvalidName(name.chars().take(80).collect()))
    }
}

pub fn validate_password(password: &str) -> Result<(), UserError> {
    let len = password.chars().count();
    if (MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        Ok(())
    } else {
        Err(UserError::InvalidPassword)
    }
}

/// Creates a user with a freshly hashed password; `StoreError::Conflict` if the name is taken.
pub async fn add_user(
    store: &Store,
    name: &str,
    role: Role,
    password: &str,
) -> Result<User, UserError> {
    validate_name(name)?;
    validate_password(password)?;
    let hash = hash_password_async(password).await?;
    Ok(store.create_user(name, role, &hash).await?)
}

/// Replaces a user's password and signs them out everywhere.
pub async fn set_password(store: &Store, name: &str, password: &str) -> Result<(), UserError> {
    validate_password(password)?;
    let hash = hash_password_async(password).await?;
    Ok(store.set_password(name, &hash).await?)
}

/// The user if `name` and `password` match an enabled account. Unknown names, disabled accounts
/// and wrong passwords all take one Argon2 verification, so timing does not tell them apart.
pub async fn authenticate(
    store: &Store,
    name: &str,
    password: &str,
) -> Result<Option<User>, UserError> {
    let found = if validate_name(name).is_ok() {
        store.user_credentials(name).await?
    } else {
        None
    };
    let password = if password.len() <= MAX_PASSWORD_LEN * 4 {
        password.to_string()
    } else {
        // Still spend one verification; the hash can never match an over-long password.
        String::new()
    };
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = run_hashing(move || verify_password_or_dummy(hash.as_deref(), &password)).await?;
    Ok(user.filter(|user| matches && !user.disabled))
}

/// Opens a session for `user` and returns the token for the cookie (shown only this once).
/// Expired sessions are swept on the way, so the table stays small without a timer.
pub async fn start_session(
    store: &Store,
    user: &User,
    lifetime: Duration,
) -> Result<String, UserError> {
    let now = clock::now();
    store.purge_expired_sessions(now).await?;
    let token = new_session_token();
    let lifetime_ms = clock::span(lifetime);
    store
        .create_session(
            user.id,
            &hash_token(&token),
            now,
            now.saturating_add(lifetime_ms),
        )
        .await?;
    Ok(token)
}

/// The enabled user behind a live session token.
pub async fn session_user(store: &Store, token: &str) -> Result<Option<User>, UserError> {
    if !token.starts_with(SESSION_PREFIX) || token.len() > token::MAX_TOKEN_LEN {
        return Ok(None);
    }
    Ok(store.session_user(&hash_token(token), clock::now()).await?)
}

pub async fn end_session(store: &Store, token: &str) -> Result<(), UserError> {
    store.delete_session(&hash_token(token)).await?;
    Ok(())
}

/// Creates an API token and returns its plaintext, which is shown once and never stored.
pub async fn add_api_token(store: &Store, name: &str, role: Role) -> Result<String, UserError> {
    validate_name(name)?;
    let token = new_api_token();
    store
        .create_api_token(name, role, &hash_token(&token))
        .await?;
    Ok(token)
}

/// The name and role of a live (not revoked) API token.
pub async fn api_token_role(
    store: &Store,
    token: &str,
) -> Result<Option<(String, Role)>, UserError> {
    if !token.starts_with(API_PREFIX) || token.len() > token::MAX_TOKEN_LEN {
        return Ok(None);
    }
    Ok(store.token_role(&hash_token(token), clock::now()).await?)
}

pub async fn revoke_api_token(store: &Store, name: &str) -> Result<(), UserError> {
    Ok(store.revoke_api_token(name).await?)
}

/// Hashes off the async runtime threads.
pub async fn hash_password_async(password: &str) -> Result<String, UserError> {
    let password = password.to_string();
    Ok(run_hashing(move || hash_password(&password)).await??)
}

/// Runs `work` on one of the long-lived hashing threads ([`hashers`]).
async fn run_hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, UserError> {
    hashers::run(work).await.map_err(|refused| match refused {
        hashers::Refused::Busy => UserError::Busy,
        hashers::Refused::Gone => UserError::Interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_url_safe() {
        assert!(validate_name("alice").is_ok());
        assert!(validate_name("grafana-scraper_2@site.example").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("with space").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn passwords_have_a_minimum_length() {
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
