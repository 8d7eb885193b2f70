//! A customer account: who it is and how to reach it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AccountId, InvalidValue, TokenHash, ids::printable};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub id: AccountId,
    pub name: DisplayName,
    pub email: EmailAddress,
    #[serde(default)]
    pub language: Language,
    #[serde(default)]
    pub payment_status: PaymentStatus,
}

impl Account {
    pub fn in_good_standing(&self) -> bool {
        self.payment_status == PaymentStatus::Ok
    }
}

/// The language of an account's emails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    It,
    #[default]
    En,
    Fr,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::It => "it",
            Language::En => "en",
            Language::Fr => "fr",
        }
    }
}

/// Whether the account is up to date with its payments (checked for billing changes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    #[default]
    Ok,
    Overdue,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Ok => "ok",
            PaymentStatus::Overdue => "overdue",
        }
    }
}

/// A profile email. Deliberately simple: one `@`, a local part, a dotted domain, no spaces
/// or control characters, at most 254 characters (the SMTP limit). SES validates nothing
/// for us, so this is where a typo is caught.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let trimmed = input.trim();
        let valid = trimmed.len() <= 254
            && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
            && trimmed.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            });
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(InvalidValue::new(format!("'{}' is not an email address", printable(input))))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EmailAddress::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// An account's display name: 1-200 characters, no control characters. It is shown in
/// emails and on the confirmation page, always escaped there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 200 || trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::new("a name is 1 to 200 characters, without control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        DisplayName::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A new profile address its holder asked for and has not verified yet (SPEC §5): until it is
/// verified, every mail still goes to [`Account::email`]. Only the hash of the mailed token is
/// kept; it works once, until `expires_at`, and a newer change (or a change back) replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEmail {
    pub email: EmailAddress,
    pub token: TokenHash,
    pub expires_at: OffsetDateTime,
}

impl PendingEmail {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_address_needs_one_at_and_a_dotted_domain() {
        assert_eq!(EmailAddress::parse(" ada@example.com ").unwrap().as_str(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@@example.com", "ada@example..com", "<ada@example.com>", "ada@example.com\r\nBcc: x@y.z"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_display_name_is_not_empty_and_has_no_control_characters() {
        assert!(DisplayName::parse("Ada Lovelace").is_ok());
        assert!(DisplayName::parse("<script>alert(1)</script>").is_ok(), "escaping is the renderer's job");
        for bad in ["", "   ", "a\nb"] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn language_and_payment_status_default_to_en_and_ok() {
        let account: Account = serde_json::from_str(r#"{"id":"aa1-ovh","name":"A","email":"a@b.co"}"#).unwrap();
        assert_eq!(account.language, Language::En);
        assert_eq!(account.payment_status, PaymentStatus::Ok);
        assert!(serde_json::from_str::<Language>(r#""de""#).is_err());
    }
}
