//! The link-token parser, on any text a URL path could carry: it never panics, accepts
//! only the canonical 43-character form, and what it accepts encodes back to the input.
#![no_main]

#[path = "../../app/src/changes/token.rs"]
#[allow(dead_code)]
mod token;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    // As the consent route sees it: the segment after `/c/`, up to any query.
    let raw = text.strip_prefix("/c/").unwrap_or(text);
    let raw = raw.split('?').next().unwrap_or_default();
    if let Some(token) = token::LinkToken::parse(raw) {
        assert_eq!(raw.len(), token::ENCODED_LEN);
        assert_eq!(token.encode(), raw, "a non-canonical token was accepted");
        assert_eq!(token.hash().len(), 32);
    }
});
