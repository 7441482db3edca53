//! Password hashing with Argon2id (the `argon2` crate's default parameters) and a random salt.
//!
//! Only PHC hash strings leave this module; a plaintext password is never stored or logged.
//! Hashing is CPU-bound: async callers go through [`super::hash_password_async`] and
//! [`super::authenticate`], which run it on the hashing threads (`hashers.rs`).

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Hashing failed; with default parameters this only happens on absurd input lengths.
#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

/// A PHC string (`$argon2id$v=19$...`) for `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches `hash`; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks `password` against `hash`, or against a throw-away hash when the user does not exist,
/// so a failed login takes the same time whether or not the name is known.
pub fn verify_password_or_dummy(hash: Option<&str>, password: &str) -> bool {
    match hash {
        Some(hash) => verify_password(hash, password),
        None => {
            verify_password(dummy_hash(), password);
            false
        }
    }
}

/// A random password for a new account, e.g. `k7Qmz-Rt3xP-...`: four groups of five characters
/// from an alphabet without look-alikes (no 0/O, 1/l/I), about 116 bits of entropy.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // Bytes at or above this bound are redrawn, so every character is equally likely.
    const BOUND: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut password = String::with_capacity(23);
    let mut chosen = 0;
    while chosen < 20 {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        if byte[0] >= BOUND {
            continue;
        }
        if chosen > 0 && chosen % 5 == 0 {
            password.push('-');
        }
        password.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        chosen += 1;
    }
    password
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    // Same parameters as real hashes, so verifying costs the same. Hashing a short fixed
    // password cannot fail; if it somehow did, the empty string simply never verifies.
    DUMMY.get_or_init(|| hash_password("switchdesk dummy password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horse "));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn salts_differ_between_hashes() {
        assert_ne!(
            hash_password("same").unwrap(),
            hash_password("same").unwrap()
        );
    }

    #[test]
    fn generated_passwords_are_long_readable_and_different() {
        let a = generate_password();
        assert_eq!(a.len(), 23, "{a}");
        assert_eq!(a.split('-').map(str::len).collect::<Vec<_>>(), [5, 5, 5, 5]);
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']), "{a}");
        assert_ne!(a, generate_password());
    }

    #[test]
    fn an_unknown_user_never_verifies() {
        assert!(!verify_password_or_dummy(None, "switchdesk dummy password"));
    }
}
