//! Configuration, from the environment (SPEC §6), read once at start.

use time::Duration;

use crate::domain::EmailAddress;

#[derive(Debug, Clone)]
pub struct Config {
    /// How long a request (and so its tokens) stays pending: `TOKEN_TTL_SECONDS`.
    pub token_ttl: Duration,
    /// The pause between two resends of one request: `RESEND_COOLDOWN_SECONDS`.
    pub resend_cooldown: Duration,
    /// How many times one request's emails may be sent again: `RESEND_LIMIT`.
    pub resend_limit: u32,
    /// How many requests from one requester to one new contact may end unaccepted within
    /// [`crate::domain::limits::UNACCEPTED_WINDOW`] before a new one is refused: `UNACCEPTED_REQUEST_LIMIT`.
    pub unaccepted_request_limit: u32,
    /// Where the emailed links point: `PUBLIC_BASE_URL`, without a trailing slash.
    pub public_base_url: String,
    /// The sender of every email: `MAIL_FROM`.
    pub mail_from: EmailAddress,
    /// The JWT claim that carries the caller's account id: `ACCOUNT_CLAIM`.
    pub account_claim: String,
}

/// The largest `RESEND_LIMIT` and `UNACCEPTED_REQUEST_LIMIT`: each bounds mail a person did not
/// ask for, and the resend limit bounds a request's history (SPEC §3), so neither is unbounded.
pub const MAX_COUNT: u32 = 20;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Default for Config {
    fn default() -> Self {
        Self {
            token_ttl: Duration::days(7),
            resend_cooldown: Duration::seconds(60),
            resend_limit: 5,
            unaccepted_request_limit: 3,
            public_base_url: "http://localhost:3000".to_owned(),
            mail_from: EmailAddress::parse("no-reply@contacts.example.com").expect("a valid address"),
            account_claim: "sub".to_owned(),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let seconds = |name: &str, default: Duration| -> Result<Duration, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<i64>() {
                    Ok(n) if n > 0 => Ok(Duration::seconds(n)),
                    _ => Err(ConfigError(format!("{name} must be a positive number of seconds, not {raw:?}"))),
                },
            }
        };
        let count = |name: &str, default: u32| -> Result<u32, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<u32>() {
                    Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
                    _ => Err(ConfigError(format!("{name} must be a whole number from 1 to {MAX_COUNT}, not {raw:?}"))),
                },
            }
        };
        let public_base_url = var("PUBLIC_BASE_URL").unwrap_or(defaults.public_base_url);
        if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://")) {
            return Err(ConfigError(format!("PUBLIC_BASE_URL must be an http(s) URL, not {public_base_url:?}")));
        }
        let mail_from = match var("MAIL_FROM") {
            None => defaults.mail_from,
            Some(raw) => EmailAddress::parse(&raw).map_err(|e| ConfigError(format!("MAIL_FROM: {e}")))?,
        };
        Ok(Self {
            token_ttl: seconds("TOKEN_TTL_SECONDS", defaults.token_ttl)?,
            resend_cooldown: seconds("RESEND_COOLDOWN_SECONDS", defaults.resend_cooldown)?,
            resend_limit: count("RESEND_LIMIT", defaults.resend_limit)?,
            unaccepted_request_limit: count("UNACCEPTED_REQUEST_LIMIT", defaults.unaccepted_request_limit)?,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            mail_from,
            account_claim: var("ACCOUNT_CLAIM").filter(|c| !c.is_empty()).unwrap_or(defaults.account_claim),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_specs() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.token_ttl, Duration::days(7));
        assert_eq!(config.resend_cooldown, Duration::seconds(60));
        assert_eq!((config.resend_limit, config.unaccepted_request_limit), (5, 3));
        assert_eq!(config.account_claim, "sub");
    }

    #[test]
    fn bad_values_are_refused_at_start() {
        for (name, value) in [("TOKEN_TTL_SECONDS", "0"), ("RESEND_COOLDOWN_SECONDS", "soon"), ("PUBLIC_BASE_URL", "ftp://x"), ("MAIL_FROM", "nobody"), ("RESEND_LIMIT", "0"), ("RESEND_LIMIT", "21"), ("UNACCEPTED_REQUEST_LIMIT", "-1")] {
            let result = Config::from_lookup(|n| (n == name).then(|| value.to_owned()));
            assert!(result.is_err(), "{name}={value} was accepted");
        }
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash() {
        let config = Config::from_lookup(|n| (n == "PUBLIC_BASE_URL").then(|| "https://x.example/".to_owned())).unwrap();
        assert_eq!(config.public_base_url, "https://x.example");
    }
}
