//! Email addresses as a parsed type: once you hold an `EmailAddress`, it is safe to store,
//! compare and put in a message header.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest address that fits SMTP's forward-path (RFC 5321 §4.5.3.1.3).
pub const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("That address is too long (at most 254 characters).")]
    TooLong,
    #[error("An email address cannot contain line breaks or control characters.")]
    ControlCharacter,
    #[error("An email address needs one @ with a name before it and a domain after it.")]
    MissingAt,
    #[error("The part before the @ is not valid.")]
    InvalidLocalPart,
    #[error("The domain after the @ is not valid.")]
    InvalidDomain,
}

/// A syntactically valid address: trimmed, with its domain in lower-case ASCII
/// (internationalised domains are stored in their punycode form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(EmailError::Empty);
        }
        if input.chars().any(char::is_control) {
            return Err(EmailError::ControlCharacter);
        }
        if input.len() > MAX_LEN * 4 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        if local.is_empty() || domain.is_empty() {
            return Err(EmailError::MissingAt);
        }
        let domain = parse_domain(domain)?;
        if local.len() > MAX_LOCAL_LEN || local.chars().any(char::is_whitespace) {
            return Err(EmailError::InvalidLocalPart);
        }
        let address = format!("{local}@{domain}");
        if address.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if !email_address::EmailAddress::is_valid(&address) {
            return Err(EmailError::InvalidLocalPart);
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The form for people and logs that must not carry the address: `j•••@example.org`.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// Compares as mail systems do in practice: case-insensitively.
    pub fn same_inbox(&self, other: &EmailAddress) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }
}

/// Masks any stored address, parsed or not, keeping the first character and the domain.
pub fn mask(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_string(),
    }
}

fn parse_domain(domain: &str) -> Result<String, EmailError> {
    let ascii = idna::domain_to_ascii(domain).map_err(|_| EmailError::InvalidDomain)?;
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii).to_string();
    if ascii.is_empty() || ascii.len() > 253 {
        return Err(EmailError::InvalidDomain);
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(EmailError::InvalidDomain);
    }
    for label in &labels {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(EmailError::InvalidDomain);
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EmailError::InvalidDomain);
    }
    Ok(ascii)
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let email = EmailAddress::parse("  Ana.Perez@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Ana.Perez@example.org");
    }

    #[test]
    fn internationalised_domains_become_punycode() {
        let email = EmailAddress::parse("ana@bücher.example").unwrap();
        assert_eq!(email.as_str(), "ana@xn--bcher-kva.example");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        assert_eq!(EmailAddress::parse(""), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("   "), Err(EmailError::Empty));
        assert_eq!(EmailAddress::parse("ana"), Err(EmailError::MissingAt));
        assert_eq!(
            EmailAddress::parse("@example.org"),
            Err(EmailError::MissingAt)
        );
        assert_eq!(EmailAddress::parse("ana@"), Err(EmailError::MissingAt));
        assert_eq!(
            EmailAddress::parse("ana@localhost"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            EmailAddress::parse("ana@exa mple.org"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            EmailAddress::parse("ana@-bad.org"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            EmailAddress::parse("ana@1.2.3.4"),
            Err(EmailError::InvalidDomain)
        );
        assert_eq!(
            EmailAddress::parse("a na@example.org"),
            Err(EmailError::InvalidLocalPart)
        );
        assert_eq!(
            EmailAddress::parse("ana..b@example.org"),
            Err(EmailError::InvalidLocalPart)
        );
    }

    #[test]
    fn rejects_header_injection() {
        for bad in [
            "ana@example.org\r\nBcc: eve@evil.test",
            "ana@example.org\nBcc: eve@evil.test",
            "ana\r@example.org",
            "ana@exam\0ple.org",
            "ana\t@example.org",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(EmailError::ControlCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_overlong_addresses() {
        let local = "a".repeat(64);
        let domain = format!(
            "{}.{}.{}.{}.org",
            "b".repeat(60),
            "c".repeat(60),
            "d".repeat(60),
            "e".repeat(60)
        );
        assert_eq!(
            EmailAddress::parse(&format!("{local}@{domain}")),
            Err(EmailError::TooLong)
        );
        assert_eq!(
            EmailAddress::parse(&format!("{}@example.org", "a".repeat(65))),
            Err(EmailError::InvalidLocalPart)
        );
    }

    #[test]
    fn masks_keep_the_first_letter_and_domain() {
        let email = EmailAddress::parse("jordan@example.org").unwrap();
        assert_eq!(email.masked(), "j•••@example.org");
        assert!(!email.masked().contains("jordan"));
    }

    #[test]
    fn same_inbox_ignores_case() {
        let a = EmailAddress::parse("Ana@example.org").unwrap();
        let b = EmailAddress::parse("ana@EXAMPLE.org").unwrap();
        assert!(a.same_inbox(&b));
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(input in any::<String>()) {
            let _ = EmailAddress::parse(&input);
        }

        #[test]
        fn what_parses_prints_back_to_the_same_value(input in "[ ]{0,2}[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,20}\\.[A-Za-z]{2,6}[ ]{0,2}") {
            if let Ok(parsed) = EmailAddress::parse(&input) {
                let again = EmailAddress::parse(parsed.as_ref()).unwrap();
                prop_assert_eq!(&again, &parsed);
                prop_assert!(!parsed.as_str().chars().any(char::is_control));
                prop_assert!(parsed.as_str().len() <= MAX_LEN);
            }
        }

        #[test]
        fn any_accepted_address_is_stable(input in "\\PC{0,80}") {
            if let Ok(parsed) = EmailAddress::parse(&input) {
                prop_assert_eq!(EmailAddress::parse(parsed.as_str()), Ok(parsed.clone()));
            }
        }
    }
}
