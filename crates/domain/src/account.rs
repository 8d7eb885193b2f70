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
    /// The provider's geographic zone the account belongs to: roles move only between
    /// accounts of one zone (the 2025 guide).
    #[serde(default)]
    pub zone: Zone,
    /// Whether mail to `email` bounced (SPEC §4): set by SES's events, never by a body or a
    /// fixtures document.
    #[serde(skip)]
    pub email_status: EmailStatus,
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

/// One of the provider's geographic zones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    #[default]
    Eu,
    Ca,
    Us,
}

impl Zone {
    pub const ALL: [Zone; 3] = [Zone::Eu, Zone::Ca, Zone::Us];

    pub fn as_str(self) -> &'static str {
        match self {
            Zone::Eu => "eu",
            Zone::Ca => "ca",
            Zone::Us => "us",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Zone::ALL.into_iter().find(|zone| zone.as_str() == input)
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

/// Whether mail to an account's address reaches it: `Bouncing` once SES reported a permanent
/// bounce or a complaint for that address, until another address is verified or set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    #[default]
    Ok,
    Bouncing,
}

impl EmailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Ok => "ok",
            EmailStatus::Bouncing => "bouncing",
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
        if valid { Ok(Self(trimmed.to_owned())) } else { Err(InvalidValue::new(format!("'{}' is not an email address", printable(input)))) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as accounts are looked up by it: without regard to case.
    pub fn lookup_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EmailAddress::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// How a request names a new contact (the 2025 guide): by its customer id, or by the main
/// email address of its account. In JSON a string; one with an `@` is an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactRef {
    Account(AccountId),
    Email(EmailAddress),
}

impl<'de> Deserialize<'de> for ContactRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let parsed = if text.contains('@') { EmailAddress::parse(&text).map(ContactRef::Email) } else { AccountId::parse(&text).map(ContactRef::Account) };
        parsed.map_err(serde::de::Error::custom)
    }
}

/// An account's display name: 1-200 characters, no control characters and no invisible
/// format characters ([`is_format_character`]). It is shown in emails and on the confirmation
/// page, always escaped there; escaping does nothing against a bidi override that makes
/// "Ada" read as someone else, or a zero-width space that makes two names look the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let trimmed = input.trim();
        let rule = "a name is 1 to 200 characters, without control or invisible formatting characters (bidi controls, zero-width spaces, soft hyphens)";
        if trimmed.is_empty() || trimmed.chars().count() > 200 || trimmed.chars().any(char::is_control) {
            return Err(InvalidValue::new(rule));
        }
        if let Some(c) = trimmed.chars().find(|&c| is_format_character(c)) {
            return Err(InvalidValue::new(format!("{rule}; it has U+{:04X}", u32::from(c))));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Unicode's format characters (general category Cf, Unicode 16.0), which draw nothing and
/// change how the text around them is shown or compared, listed here rather than taken from a
/// dependency; and the line and paragraph separators (U+2028, U+2029: categories Zl, Zp),
/// which break a line as a newline does.
const FORMAT_CHARACTERS: [(u32, u32); 23] = [
    (0x00AD, 0x00AD),   // soft hyphen
    (0x0600, 0x0605),   // Arabic number signs
    (0x061C, 0x061C),   // Arabic letter mark
    (0x06DD, 0x06DD),   // Arabic end of ayah
    (0x070F, 0x070F),   // Syriac abbreviation mark
    (0x0890, 0x0891),   // Arabic pound and piastre marks above
    (0x08E2, 0x08E2),   // Arabic disputed end of ayah
    (0x180E, 0x180E),   // Mongolian vowel separator
    (0x200B, 0x200F),   // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    (0x2028, 0x2029),   // line and paragraph separators (Zl, Zp)
    (0x202A, 0x202E),   // bidi embeddings and overrides
    (0x2060, 0x2064),   // word joiner, invisible operators
    (0x2066, 0x206F),   // bidi isolates, deprecated format controls
    (0xFEFF, 0xFEFF),   // zero-width no-break space (byte order mark)
    (0xFFF9, 0xFFFB),   // interlinear annotation
    (0x110BD, 0x110BD), // Kaithi number sign
    (0x110CD, 0x110CD), // Kaithi number sign above
    (0x13430, 0x1343F), // Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0001, 0xE0001), // language tag
    (0xE0020, 0xE007F), // tag characters
    (0xFFF0, 0xFFF8),   // unassigned specials, reserved for such uses
];

/// Whether `c` is one of `FORMAT_CHARACTERS`.
pub fn is_format_character(c: char) -> bool {
    let c = u32::from(c);
    FORMAT_CHARACTERS.iter().any(|&(first, last)| (first..=last).contains(&c))
}

impl<'de> Deserialize<'de> for DisplayName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        DisplayName::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A new profile address its holder asked for, not in effect yet (SPEC §5): it takes both
/// addresses. A code goes to the new address (it is reachable) and one to the current address
/// (its owner agrees, so a stolen session alone cannot move the mail); the address changes once
/// both came back, in either order, before `expires_at`. Until then every mail still goes to
/// [`Account::email`]. Only the hashes of the mailed codes are kept; each works once, and a
/// newer change (or a change back) replaces both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEmail {
    pub email: EmailAddress,
    pub awaiting: AwaitedCodes,
    pub expires_at: OffsetDateTime,
}

/// Which of an address change's two codes have not come back yet: never none, since the last
/// one to come back changes the address and ends the pending change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwaitedCodes {
    Both { new_address: TokenHash, current_address: TokenHash },
    NewAddress(TokenHash),
    CurrentAddress(TokenHash),
}

/// What one code that came back does to an address change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeBack {
    /// It was one of two: the other is still awaited.
    StillAwaiting(AwaitedCodes),
    /// It was the last: the address changes.
    Complete,
}

impl AwaitedCodes {
    /// The hashes of the codes still awaited: the change's live codes.
    pub fn hashes(self) -> Vec<TokenHash> {
        match self {
            AwaitedCodes::Both { new_address, current_address } => vec![new_address, current_address],
            AwaitedCodes::NewAddress(hash) | AwaitedCodes::CurrentAddress(hash) => vec![hash],
        }
    }

    /// The code hashed `hash` came back: `None` if it is not one still awaited (mistyped,
    /// spent, replaced).
    pub fn give(self, hash: &TokenHash) -> Option<CodeBack> {
        match self {
            AwaitedCodes::Both { new_address, current_address } if *hash == new_address => {
                Some(CodeBack::StillAwaiting(AwaitedCodes::CurrentAddress(current_address)))
            }
            AwaitedCodes::Both { new_address, current_address } if *hash == current_address => {
                Some(CodeBack::StillAwaiting(AwaitedCodes::NewAddress(new_address)))
            }
            AwaitedCodes::NewAddress(last) | AwaitedCodes::CurrentAddress(last) if *hash == last => Some(CodeBack::Complete),
            _ => None,
        }
    }
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
    fn an_address_change_completes_with_both_codes_in_either_order_and_each_works_once() {
        let (new, current) = (crate::Token::generate().hash(), crate::Token::generate().hash());
        let both = AwaitedCodes::Both { new_address: new, current_address: current };
        assert_eq!(both.hashes(), vec![new, current]);
        let Some(CodeBack::StillAwaiting(rest)) = both.give(&new) else { panic!("the new address's code is one of two") };
        assert_eq!((rest, rest.give(&new)), (AwaitedCodes::CurrentAddress(current), None), "a code works once");
        assert_eq!(rest.give(&current), Some(CodeBack::Complete));
        let Some(CodeBack::StillAwaiting(rest)) = both.give(&current) else { panic!("the current address's code is one of two") };
        assert_eq!((rest.hashes(), rest.give(&new)), (vec![new], Some(CodeBack::Complete)));
        assert_eq!(both.give(&crate::Token::generate().hash()), None, "another code is neither");
    }

    #[test]
    fn an_email_address_needs_one_at_and_a_dotted_domain() {
        assert_eq!(EmailAddress::parse(" ada@example.com ").unwrap().as_str(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@@example.com",
            "ada@example..com",
            "<ada@example.com>",
            "ada@example.com\r\nBcc: x@y.z",
        ] {
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
    fn a_display_name_has_no_invisible_format_characters() {
        let format = [
            '\u{00AD}',
            '\u{061C}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{2028}',
            '\u{2029}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{206F}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{110BD}',
            '\u{1D173}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
        ];
        for c in format {
            // At either end too, except the separators, which are white space and trimmed.
            let ends = if c.is_whitespace() { vec![] } else { vec![format!("{c}Ada"), format!("Ada{c}")] };
            for name in std::iter::once(format!("Ada{c}Admin")).chain(ends) {
                let error = DisplayName::parse(&name).expect_err(&format!("{name:?} was accepted"));
                assert!(error.to_string().contains(&format!("U+{:04X}", u32::from(c))), "the character is named: {error}");
            }
        }
        // "Ada" shown as "adA...": the override that escaping leaves alone.
        assert!(DisplayName::parse("Ada \u{202E}nimdA").is_err());
        // Letters of every script, their combining marks, and plain spaces are names.
        for good in ["Zoé Nouvelle", "Ünal Çelik", "Łukasz", "محمد", "שלום", "Дмитрий", "山田 太郎", "José\u{0301}", "O'Brien-Smith", "Ada\u{00A0}Admin"]
        {
            assert!(DisplayName::parse(good).is_ok(), "{good:?} was refused");
        }
        assert!(
            !is_format_character('a')
                && !is_format_character('\u{00A0}')
                && !is_format_character('\u{0301}')
                && !is_format_character('\u{2027}')
                && !is_format_character('\u{202F}')
        );
    }

    #[test]
    fn language_and_payment_status_default_to_en_and_ok() {
        let account: Account = serde_json::from_str(r#"{"id":"aa1-ovh","name":"A","email":"a@b.co"}"#).unwrap();
        assert_eq!(account.language, Language::En);
        assert_eq!(account.payment_status, PaymentStatus::Ok);
        assert!(serde_json::from_str::<Language>(r#""de""#).is_err());
    }
}
