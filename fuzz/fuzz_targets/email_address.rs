//! The email parser, on any text: it never panics, and what it accepts is safe for a
//! header, within SMTP's limits, and parses again to itself.
#![no_main]

#[path = "../../app/src/email.rs"]
#[allow(dead_code)]
mod email;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(address) = email::EmailAddress::parse(text) else {
        return;
    };
    let stored = address.as_str();
    assert!(stored.len() <= email::MAX_LEN, "too long: {stored:?}");
    assert!(!stored.chars().any(char::is_control), "control character in {stored:?}");
    assert!(!stored.chars().any(|c| c == '\r' || c == '\n'));
    assert_eq!(stored.matches('@').count().min(1), 1, "no @ in {stored:?}");
    let again = email::EmailAddress::parse(stored).expect("an accepted address parses again");
    assert_eq!(again.as_str(), stored, "parsing is not idempotent");
    let _ = address.masked();
});
