//! Bearer secrets: session tokens (`sds_...`) and API tokens (`sdk_...`).
//!
//! A token is 32 random bytes from the operating system, hex-encoded behind a prefix that says
//! what it is. Only its SHA-256 ([`hash_token`]) is ever stored; the plaintext is shown once.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// Prefix of the value of the session cookie.
pub const SESSION_PREFIX: &str = "sds_";
/// Prefix of API tokens sent as `Authorization: Bearer sdk_...`.
pub const API_PREFIX: &str = "sdk_";

/// Longest token worth hashing; anything longer cannot be one of ours.
pub const MAX_TOKEN_LEN: usize = 128;

pub fn new_session_token() -> String {
    random_token(SESSION_PREFIX)
}

pub fn new_api_token() -> String {
    random_token(API_PREFIX)
}

/// The lower-case hex SHA-256 of the token text, as stored in the database.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let mut token = String::with_capacity(prefix.len() + 64);
    token.push_str(prefix);
    token.push_str(&hex(&bytes));
    token
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_hex() {
        let a = new_api_token();
        let b = new_api_token();
        assert_ne!(a, b);
        assert!(a.starts_with("sdk_") && a.len() == 4 + 64, "{a}");
        assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(new_session_token().starts_with("sds_"));
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
