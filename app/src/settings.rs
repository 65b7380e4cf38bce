//! What the running service needs to know about itself: where links point, how the venue
//! looks, and how long links live. Built once at start-up by the server.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// The public base URL that links in messages point at, without a trailing slash.
    pub public_url: String,
    pub token_ttl: chrono::Duration,
    pub brand: Brand,
    pub outbox: OutboxSettings,
    /// The sender of every message, e.g. `Teatro Demo <no-reply@teatro.example>`.
    pub mail_from: String,
    /// Development mode: demo data, the local mailbox, relaxed cookie rules.
    pub development: bool,
}

#[derive(Debug, Clone)]
pub struct Brand {
    pub org_name: String,
    /// A CSS colour, validated as `#rgb` or `#rrggbb`.
    pub colour: String,
    pub logo_url: Option<String>,
    pub support_email: String,
}

#[derive(Debug, Clone)]
pub struct OutboxSettings {
    pub max_attempts: i32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub poll_interval: Duration,
    pub workers: usize,
}

impl Settings {
    /// The host that stamps our Message-IDs, so they are stable and ours.
    pub fn message_id_domain(&self) -> String {
        url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "assent.invalid".to_string())
    }

    /// The origin (scheme, host, port) that state-changing requests must come from.
    pub fn public_origin(&self) -> String {
        url::Url::parse(&self.public_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    pub fn link_url(&self, token: &str) -> String {
        format!("{}/c/{}", self.public_url, token)
    }

    /// Settings for unit tests: a local URL, short retries.
    #[cfg(test)]
    pub fn for_tests(public_url: &str) -> Self {
        Settings {
            public_url: public_url.trim_end_matches('/').to_string(),
            token_ttl: chrono::Duration::hours(72),
            brand: Brand {
                org_name: "Teatro Demo".to_string(),
                colour: "#7a1f5c".to_string(),
                logo_url: None,
                support_email: "boxoffice@teatro.example".to_string(),
            },
            outbox: OutboxSettings {
                max_attempts: 5,
                backoff_base: Duration::from_millis(50),
                backoff_max: Duration::from_millis(400),
                poll_interval: Duration::from_millis(50),
                workers: 2,
            },
            mail_from: "Teatro Demo <no-reply@teatro.example>".to_string(),
            development: true,
        }
    }
}

/// Accepts `#rgb` and `#rrggbb` only, so the colour is safe inside a style attribute.
pub fn is_hex_colour(value: &str) -> bool {
    let Some(hex) = value.strip_prefix('#') else {
        return false;
    };
    (hex.len() == 3 || hex.len() == 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_must_be_plain_hex() {
        assert!(is_hex_colour("#7a1f5c"));
        assert!(is_hex_colour("#fff"));
        assert!(!is_hex_colour("red"));
        assert!(!is_hex_colour("#12345"));
        assert!(!is_hex_colour("#fff;background:url(x)"));
    }

    #[test]
    fn origin_and_message_id_domain_come_from_the_public_url() {
        let s = Settings::for_tests("https://tickets.example.org:8443/");
        assert_eq!(s.public_origin(), "https://tickets.example.org:8443");
        assert_eq!(s.message_id_domain(), "tickets.example.org");
        assert_eq!(s.link_url("abc"), "https://tickets.example.org:8443/c/abc");
    }
}
