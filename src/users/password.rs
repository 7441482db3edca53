//! Password hashing with Argon2id (the `argon2` crate's default parameters) and a random salt,
//! in working memory each thread allocates once.
//!
//! Only PHC hash strings leave this module; a plaintext password is never stored or logged.
//! Hashing is CPU-bound: async callers go through [`super::hash_password_async`] and
//! [`super::authenticate`], which run it on the hashing threads (`hashers.rs`).

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Hashing failed; with default parameters this only happens on absurd input lengths.
#[derive(Debug, thiserror::Error)]
#[error("could not hash the password: {0}")]
pub struct HashError(String);

thread_local! {
    /// Argon2's working memory (~19 MiB), allocated once per thread and reused. Allocated
    /// afresh for every hash, glibc keeps about ten times that per thread (measured: 216 MiB
    /// after 20 hashes on one thread), so a stream of wrong passwords would grow the process.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// A PHC string (`$argon2id$v=19$...`) for `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    compute(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::default(),
        password.as_bytes(),
        salt.as_salt(),
    )
    .map(|hash| hash.to_string())
    .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches `hash`; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        parsed.version.map(Version::try_from).transpose(),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = version.unwrap_or_default();
    compute(algorithm, version, params, password.as_bytes(), salt)
        .ok()
        .and_then(|computed| computed.hash)
        // `Output`'s equality is constant-time.
        .is_some_and(|computed| computed == expected)
}

/// What `Argon2::hash_password` does, in this thread's reused memory ([`BLOCKS`]).
fn compute<'a>(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: Salt<'a>,
) -> argon2::password_hash::Result<PasswordHash<'a>> {
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let raw_salt = salt.decode_b64(&mut salt_bytes)?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let count = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let output = Output::init_with(output_len, |out| {
        BLOCKS.with_borrow_mut(|blocks| {
            if blocks.len() < count {
                blocks.resize(count, Block::default());
            }
            argon2.hash_password_into_with_memory(password, raw_salt, out, &mut blocks[..count])
        })?;
        Ok(())
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    })
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
    fn hashes_read_as_the_argon2_crate_writes_them() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let theirs = Argon2::default()
            .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_password(&theirs, "correct horse"));
        assert!(!verify_password(&theirs, "wrong horse"));
        let ours = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
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
