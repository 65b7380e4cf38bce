//! Password hashing with argon2id (the argon2 crate's default parameters, RFC 9106's
//! second recommended option). Only the PHC-format hash is stored.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("a password needs at least 12 characters")]
    TooShort,
    #[error("the password could not be hashed")]
    Hashing,
}

pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hashing)
}

pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Each hash takes 19 MiB and a core for tens of milliseconds. At most this many run at
/// once (one per core, up to four), so a burst of sign-ins queues instead of taking the
/// memory of hundreds of hashes.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.min(4))
    })
}

/// A hash of nothing anyone knows, verified against when the account does not exist, so
/// an unknown email takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 24];
        argon2::password_hash::rand_core::RngCore::fill_bytes(&mut OsRng, &mut random);
        hash_password(&format!("{random:?}")).unwrap_or_default()
    })
}

/// Verifies off the async runtime, within the hashing slots. `None` (no such account)
/// costs the same as a wrong password and is never verified.
pub async fn verify_password_bounded(password: String, stored_hash: Option<String>) -> bool {
    let Ok(_slot) = hashing_slots().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || match stored_hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            verify_password(&password, decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Hashes off the async runtime, within the hashing slots.
pub async fn hash_password_bounded(password: String) -> Result<String, PasswordError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|_| PasswordError::Hashing)?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| PasswordError::Hashing)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
    }
}
