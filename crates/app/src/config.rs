//! Configuration, from the environment (SPEC §6), read once at start: every variable the
//! Lambda functions and `contacts-local` read is read here ([`Config::from_lookup`]), and a
//! value that cannot work is refused with a message that names it. (The functions' log level,
//! [`log_spec`] of `RUST_LOG` or `LOG_LEVEL`, is read where logging starts, before this.)
//!
//! Whether a URL is on the loopback interface is decided once too, by its exact host
//! ([`is_loopback_url`]): it makes the emulators' credentials apply to an endpoint, and plain
//! http acceptable for `PUBLIC_BASE_URL`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use time::Duration;

use contacts_domain::{EmailAddress, Retention};

#[derive(Debug, Clone)]
pub struct Config {
    /// How long a request (and so its tokens) stays pending: `TOKEN_TTL_SECONDS`.
    pub token_ttl: Duration,
    /// The pause between two resends of one request: `RESEND_COOLDOWN_SECONDS`.
    pub resend_cooldown: Duration,
    /// How many times one request's emails may be sent again: `RESEND_LIMIT`.
    pub resend_limit: u32,
    /// How long before its expiry a pending request's awaited parties get their one reminder,
    /// with fresh codes: `REMINDER_BEFORE_SECONDS`. Zero: no reminders (expiry still swept). A
    /// value at or above `TOKEN_TTL_SECONDS` reminds at the first sweep after the request is made.
    pub reminder_before: Duration,
    /// How often `contacts-local` sweeps (expiry, reminders) in process: `SWEEP_INTERVAL_SECONDS`.
    /// The Lambda deployment sweeps on its schedule instead (template.yaml).
    pub sweep_interval: Duration,
    /// How long a closed request or batch, and everything of it, is kept (SPEC §8):
    /// `RETENTION_SECONDS`, within [`Retention::RANGE_SECONDS`].
    pub retention: Retention,
    /// How many requests from one requester to one new contact may end unaccepted within
    /// [`contacts_domain::limits::UNACCEPTED_WINDOW`] before a new one is refused: `UNACCEPTED_REQUEST_LIMIT`.
    pub unaccepted_request_limit: u32,
    /// Where the emailed links point: `PUBLIC_BASE_URL`, without a trailing slash.
    pub public_base_url: String,
    /// The sender of every email: `MAIL_FROM`.
    pub mail_from: EmailAddress,
    /// The JWT claim that carries the caller's account id: `ACCOUNT_CLAIM`.
    pub account_claim: String,
    /// The AWS principals (ARNs) that may call the internal API, from `PROVIDER_PRINCIPALS`
    /// (comma-separated); empty: none, whatever IAM authorised. A role's ARN also admits
    /// its sessions (`arn:aws:sts::{account}:assumed-role/{name}/{session}`), which is what
    /// API Gateway reports for a caller with a role's credentials ([`Config::admits_provider`]).
    pub provider_principals: Vec<String>,
    /// The CloudWatch namespace of the metrics the functions emit (contacts_telemetry):
    /// `METRICS_NAMESPACE`, from template.yaml's `MetricsNamespace`.
    pub metrics_namespace: String,
    /// Where the data and the mail go: DynamoDB's table, SES, their endpoints.
    pub aws: AwsConfig,
}

/// DynamoDB and SES: the Lambda functions always use them; `contacts-local` when it is pointed
/// at them; `contacts-admin` reads only these variables (not [`Config`]'s others). A variable
/// set to blanks counts as not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsConfig {
    /// `TABLE_NAME`: the DynamoDB table ([`AwsConfig::table`]; `contacts-admin`'s `--table`
    /// when that is not given).
    pub table_name: Option<String>,
    /// `SES_CONFIGURATION_SET`: the SES configuration set the functions send through.
    pub ses_configuration_set: Option<String>,
    /// `SES_MAX_SEND_RATE`: the most mails a second one process sends, within
    /// [`SES_MAX_SEND_RATE_RANGE`] ([`AwsConfig::ses_max_send_rate`]).
    pub ses_max_send_rate: Option<u32>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`: DynamoDB's endpoint instead of AWS's (DynamoDB Local).
    pub endpoint_url_dynamodb: Option<String>,
    /// `AWS_ENDPOINT_URL_SESV2`: SES v2's endpoint instead of AWS's (the SES emulator).
    pub endpoint_url_sesv2: Option<String>,
    /// `EVENT_BUS_NAME`: the EventBridge bus the publisher puts events on (its name or ARN;
    /// `default` is the account's default bus). Only the functions that publish need it.
    pub event_bus_name: Option<String>,
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE`: EventBridge's endpoint instead of AWS's (the emulator).
    pub endpoint_url_eventbridge: Option<String>,
    /// `AWS_ENDPOINT_URL`: every service's endpoint when its own is not set, as `aws_config`
    /// reads it (the functions and `contacts-admin`; `contacts-local` reads only its two own).
    pub endpoint_url: Option<String>,
    /// `AWS_REGION`, which Lambda always sets; the functions build their SDK configuration
    /// from it (`contacts_aws::sdk`).
    pub region: Option<String>,
    /// `AWS_CA_BUNDLE`: a PEM file of the certificates the functions trust for HTTPS instead
    /// of the compiled-in public roots, for a private endpoint (`contacts_aws::sdk::Trust`); read
    /// and checked when the function starts.
    pub ca_bundle: Option<PathBuf>,
    /// `AWS_ACCESS_KEY_ID`, read here only for the emulators ([`AwsConfig::emulator_access_key`]);
    /// on AWS the credentials provider reads it itself, with its secret and session token.
    pub access_key_id: Option<String>,
}

impl AwsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The variables as `var` gives them; an endpoint that is not an http:// or https:// URL
    /// with a host is refused.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let endpoint = |name: &str| match set(name) {
            Some(url) if http_url(&url).is_none_or(|parts| parts.host.is_empty()) || url.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                Err(ConfigError::new(format!(
                    "{name} must be an http:// or https:// URL with a host (DynamoDB Local's is like http://127.0.0.1:8000), not {:?}",
                    url.chars().take(80).collect::<String>()
                )))
            }
            url => Ok(url),
        };
        Ok(Self {
            table_name: set("TABLE_NAME"),
            ses_configuration_set: set("SES_CONFIGURATION_SET"),
            ses_max_send_rate: match set("SES_MAX_SEND_RATE") {
                None => None,
                Some(raw) => {
                    let (min, max) = SES_MAX_SEND_RATE_RANGE;
                    let message = || format!("SES_MAX_SEND_RATE must be a whole number of mails a second from {min} to {max}, not {raw:?}");
                    match raw.parse::<u32>() {
                        Ok(rate) if (min..=max).contains(&rate) => Some(rate),
                        Ok(_) => return Err(ConfigError::new(message())),
                        Err(e) => return Err(ConfigError::because(message(), e)),
                    }
                }
            },
            endpoint_url_dynamodb: endpoint("AWS_ENDPOINT_URL_DYNAMODB")?,
            endpoint_url_sesv2: endpoint("AWS_ENDPOINT_URL_SESV2")?,
            event_bus_name: set("EVENT_BUS_NAME"),
            endpoint_url_eventbridge: endpoint("AWS_ENDPOINT_URL_EVENTBRIDGE")?,
            endpoint_url: endpoint("AWS_ENDPOINT_URL")?,
            region: set("AWS_REGION"),
            ca_bundle: set("AWS_CA_BUNDLE").map(PathBuf::from),
            access_key_id: set("AWS_ACCESS_KEY_ID"),
        })
    }

    /// The most mails a second one process sends through SES: `SES_MAX_SEND_RATE`, else
    /// [`DEFAULT_SES_MAX_SEND_RATE`].
    pub fn ses_max_send_rate(&self) -> u32 {
        self.ses_max_send_rate.unwrap_or(DEFAULT_SES_MAX_SEND_RATE)
    }

    /// `TABLE_NAME`, which the functions cannot start without.
    pub fn table(&self) -> Result<&str, ConfigError> {
        self.table_name.as_deref().ok_or_else(|| ConfigError::new("TABLE_NAME is not set: the DynamoDB table to use".to_owned()))
    }

    /// DynamoDB's endpoint, when it is not AWS's: `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`.
    pub fn dynamodb_endpoint(&self) -> Option<&str> {
        self.endpoint_url_dynamodb.as_deref().or(self.endpoint_url.as_deref())
    }

    /// SES v2's endpoint, when it is not AWS's: `AWS_ENDPOINT_URL_SESV2`, else `AWS_ENDPOINT_URL`.
    pub fn ses_endpoint(&self) -> Option<&str> {
        self.endpoint_url_sesv2.as_deref().or(self.endpoint_url.as_deref())
    }

    /// EventBridge's endpoint, when it is not AWS's: `AWS_ENDPOINT_URL_EVENTBRIDGE`, else `AWS_ENDPOINT_URL`.
    pub fn eventbridge_endpoint(&self) -> Option<&str> {
        self.endpoint_url_eventbridge.as_deref().or(self.endpoint_url.as_deref())
    }

    /// The access key the functions sign with against the emulators: `AWS_ACCESS_KEY_ID`, else
    /// `local`. A name, not a secret (the secret there is always a dummy): the tests give each
    /// function its logical id in template.yaml, so that a recorder of the calls
    /// (`AWS_CALL_RECORDER`) knows which function made each and judges it by that one's policy.
    pub fn emulator_access_key(&self) -> &str {
        self.access_key_id.as_deref().unwrap_or("local")
    }

    /// Whether any endpoint variable points at the loopback interface, as the tests under the
    /// Runtime Interface Emulator set them: then the functions take the emulators'
    /// configuration (dummy credentials, patient timeouts). Never the case on AWS.
    pub fn points_at_emulators(&self) -> bool {
        [&self.endpoint_url_dynamodb, &self.endpoint_url_sesv2, &self.endpoint_url_eventbridge, &self.endpoint_url]
            .into_iter()
            .flatten()
            .any(|url| is_loopback_url(url))
    }
}

/// `TOKEN_TTL_SECONDS`: from a minute to 90 days (a request pending longer is forgotten, and
/// the reminder before expiry needs room).
pub const TOKEN_TTL_RANGE: (i64, i64) = (60, 90 * 24 * 3600);
/// `RESEND_COOLDOWN_SECONDS`: from a second to a day.
pub const RESEND_COOLDOWN_RANGE: (i64, i64) = (1, 24 * 3600);
/// `REMINDER_BEFORE_SECONDS`: none (0) to 30 days.
pub const REMINDER_BEFORE_RANGE: (i64, i64) = (0, 30 * 24 * 3600);
/// `SES_MAX_SEND_RATE`: from one mail a second to SES's largest quotas.
pub const SES_MAX_SEND_RATE_RANGE: (u32, u32) = (1, 50_000);
/// SES's maximum sending rate of an account just out of the sandbox.
pub const DEFAULT_SES_MAX_SEND_RATE: u32 = 14;
/// `SWEEP_INTERVAL_SECONDS`: from a second to an hour.
pub const SWEEP_INTERVAL_RANGE: (i64, i64) = (1, 3600);

/// The largest `RESEND_LIMIT` and `UNACCEPTED_REQUEST_LIMIT`: each bounds mail a person did not
/// ask for, and the resend limit bounds a request's history (SPEC §3), so neither is unbounded.
pub const MAX_COUNT: u32 = 20;

/// The functions' log level as the template sets it (its `LogLevel`): `DEBUG`, `INFO`, `WARN`,
/// `ERROR` or `FATAL` (which is ERROR: tracing has no FATAL).
pub const LOG_LEVEL: &str = "LOG_LEVEL";

/// What the functions log, in `RUST_LOG`'s `level,target=level` form: `RUST_LOG` if set (a
/// developer's override), else [`LOG_LEVEL`], else `info`.
///
/// Not Lambda's `AWS_LAMBDA_LOG_LEVEL`: that is the level Lambda itself filters at
/// (`ApplicationLogLevel`), and Lambda counts a JSON line without a `level` field, every EMF line
/// of [`contacts_telemetry`], as INFO. The template keeps Lambda's filter at DEBUG, where those
/// lines pass whatever `LogLevel` is, and the functions filter their own lines at `LOG_LEVEL`
/// (tests/tests/checks/template_parameters.rs proves it for every level the template allows).
pub fn log_spec(var: impl Fn(&str) -> Option<String>) -> String {
    let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    set("RUST_LOG").or_else(|| set(LOG_LEVEL).map(|level| level.to_ascii_lowercase().replace("fatal", "error"))).unwrap_or_else(|| "info".to_owned())
}

/// A setting that cannot work: the message names it (never a secret: the settings hold none),
/// and the error that refused its value, when one did, is its source.
#[derive(thiserror::Error)]
#[error("configuration: {message}")]
pub struct ConfigError {
    message: String,
    #[source]
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        ConfigError { message: message.into(), source: None }
    }

    fn because(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        ConfigError { message: message.into(), source: Some(std::sync::Arc::new(source)) }
    }
}

/// As its message: a function's `main` returns the error, and Lambda's init error (and the
/// log) then reads `configuration: TABLE_NAME is not set...`, not a struct.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token_ttl: Duration::days(7),
            resend_cooldown: Duration::seconds(60),
            resend_limit: 5,
            reminder_before: Duration::days(1),
            sweep_interval: Duration::seconds(60),
            retention: Retention::DEFAULT,
            unaccepted_request_limit: 3,
            public_base_url: "http://localhost:3000".to_owned(),
            mail_from: EmailAddress::parse("no-reply@contacts.example.com").expect("a valid address"),
            account_claim: "sub".to_owned(),
            provider_principals: Vec::new(),
            metrics_namespace: contacts_telemetry::DEFAULT_NAMESPACE.to_owned(),
            aws: AwsConfig::default(),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`], with `base` as `PUBLIC_BASE_URL` when that is not set: the local
    /// server's own address, so that the emailed links open it.
    pub fn from_env_serving_at(base: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(serving_at(|name| std::env::var(name).ok(), base))
    }

    /// Every variable as `var` gives them (the environment, or a test's closure).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let seconds = |name: &str, default: Duration, (min, max): (i64, i64)| -> Result<Duration, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(raw) => {
                    let message =
                        || format!("{name} must be a whole number of seconds from {min} to {max}, not {:?}", raw.chars().take(40).collect::<String>());
                    match raw.trim().parse::<i64>() {
                        Ok(n) if (min..=max).contains(&n) => Ok(Duration::seconds(n)),
                        Ok(_) => Err(ConfigError::new(message())),
                        Err(e) => Err(ConfigError::because(message(), e)),
                    }
                }
            }
        };
        let count = |name: &str, default: u32| -> Result<u32, ConfigError> {
            match var(name) {
                None => Ok(default),
                Some(raw) => {
                    let message = || format!("{name} must be a whole number from 1 to {MAX_COUNT}, not {raw:?}");
                    match raw.trim().parse::<u32>() {
                        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
                        Ok(_) => Err(ConfigError::new(message())),
                        Err(e) => Err(ConfigError::because(message(), e)),
                    }
                }
            }
        };
        let public_base_url = var("PUBLIC_BASE_URL").unwrap_or(defaults.public_base_url);
        check_public_base_url(&public_base_url)?;
        let mail_from = match var("MAIL_FROM") {
            None => defaults.mail_from,
            Some(raw) => EmailAddress::parse(&raw).map_err(|e| ConfigError::because(format!("MAIL_FROM: {e}"), e))?,
        };
        Ok(Self {
            token_ttl: seconds("TOKEN_TTL_SECONDS", defaults.token_ttl, TOKEN_TTL_RANGE)?,
            resend_cooldown: seconds("RESEND_COOLDOWN_SECONDS", defaults.resend_cooldown, RESEND_COOLDOWN_RANGE)?,
            resend_limit: count("RESEND_LIMIT", defaults.resend_limit)?,
            reminder_before: seconds("REMINDER_BEFORE_SECONDS", defaults.reminder_before, REMINDER_BEFORE_RANGE)?,
            sweep_interval: seconds("SWEEP_INTERVAL_SECONDS", defaults.sweep_interval, SWEEP_INTERVAL_RANGE)?,
            retention: Retention::new(seconds("RETENTION_SECONDS", defaults.retention.duration(), Retention::RANGE_SECONDS)?)
                .expect("a duration within its range"),
            unaccepted_request_limit: count("UNACCEPTED_REQUEST_LIMIT", defaults.unaccepted_request_limit)?,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            mail_from,
            account_claim: var("ACCOUNT_CLAIM").filter(|c| !c.is_empty()).unwrap_or(defaults.account_claim),
            provider_principals: provider_principals(var("PROVIDER_PRINCIPALS").as_deref().unwrap_or(""))?,
            metrics_namespace: metrics_namespace(var("METRICS_NAMESPACE"))?,
            aws: AwsConfig::from_lookup(&var)?,
        })
    }

    /// Whether the AWS principal IAM authorised may call the internal API: one of
    /// [`Config::provider_principals`] exactly, or a session of one of its roles
    /// (`arn:aws:iam::{account}:role/{path/}{name}` admits
    /// `arn:aws:sts::{account}:assumed-role/{name}/{session}`). None while the list is empty: IAM
    /// alone is an account's every principal that a broad policy lets through (SPEC §5: the
    /// internal API admits no one until `ProviderPrincipals` names someone).
    pub fn admits_provider(&self, principal: &str) -> bool {
        self.provider_principals.iter().any(|allowed| allowed == principal || is_session_of(principal, allowed))
    }
}

/// `METRICS_NAMESPACE`, or the default when unset or blank: CloudWatch takes 1 to 255 of
/// letters, digits and `.-_/#:`, and not `AWS/` (the services' own); one it would refuse
/// would lose every metric silently, so it stops the start instead.
fn metrics_namespace(raw: Option<String>) -> Result<String, ConfigError> {
    let Some(namespace) = raw.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else { return Ok(contacts_telemetry::DEFAULT_NAMESPACE.to_owned()) };
    let valid = namespace.len() <= 255 && namespace.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c)) && !namespace.starts_with("AWS/");
    if !valid {
        return Err(ConfigError::new(format!(
            "METRICS_NAMESPACE must be 1 to 255 letters, digits or .-_/#: and not start with AWS/, not {:?}",
            namespace.chars().take(40).collect::<String>()
        )));
    }
    Ok(namespace)
}

/// `var`, with `base` as `PUBLIC_BASE_URL` when `var` has none.
fn serving_at(var: impl Fn(&str) -> Option<String>, base: &str) -> impl Fn(&str) -> Option<String> {
    move |name| var(name).or_else(|| (name == "PUBLIC_BASE_URL").then(|| base.to_owned()))
}

/// `principal` is `arn:{partition}:sts::{account}:assumed-role/{name}/{session}` and `role` is
/// `arn:{partition}:iam::{account}:role/{path/}{name}`, with the same partition, account and name.
fn is_session_of(principal: &str, role: &str) -> bool {
    let (Some(session), Some(role)) = (arn_parts(principal), arn_parts(role)) else { return false };
    let (Some(("assumed-role", rest)), Some(("role", path))) = (session[5].split_once('/'), role[5].split_once('/')) else { return false };
    let Some((name, session_name)) = rest.split_once('/') else { return false };
    let role_name = path.rsplit('/').next().unwrap_or_default();
    session[1] == role[1]
        && session[2] == "sts"
        && role[2] == "iam"
        && !role[4].is_empty()
        && session[4] == role[4]
        && !name.is_empty()
        && name == role_name
        && !session_name.is_empty()
}

/// An ARN's `arn`, partition, service, region, account and resource.
fn arn_parts(arn: &str) -> Option<[&str; 6]> {
    let mut parts = arn.splitn(6, ':');
    let parts = [parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?];
    (parts[0] == "arn").then_some(parts)
}

/// `PROVIDER_PRINCIPALS`: ARNs separated by commas (blanks around them ignored); none is an
/// empty list.
fn provider_principals(raw: &str) -> Result<Vec<String>, ConfigError> {
    let mut principals = Vec::new();
    for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let an_arn = arn_parts(entry).is_some_and(|parts| !parts[1].is_empty() && !parts[2].is_empty() && !parts[5].is_empty());
        if !an_arn || entry.len() > 2048 || entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::new(format!(
                "PROVIDER_PRINCIPALS is a comma-separated list of AWS principal ARNs (arn:aws:iam::123456789012:role/name), and {:?} is not one",
                entry.chars().take(80).collect::<String>()
            )));
        }
        principals.push(entry.to_owned());
    }
    Ok(principals)
}

/// `PUBLIC_BASE_URL` is https, or plain http on a loopback host only (`127.0.0.1`, `[::1]`,
/// `localhost`, with any port): the links carry tokens, which must not cross a network in clear.
fn check_public_base_url(url: &str) -> Result<(), ConfigError> {
    let refuse = |why: &str| Err(ConfigError::new(format!("PUBLIC_BASE_URL {why}, not {:?}", url.chars().take(80).collect::<String>())));
    let Some(parts) = http_url(url) else {
        return refuse("must be an https:// URL (http:// only on 127.0.0.1, [::1] or localhost)");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("must be a URL without spaces");
    }
    if parts.user_info {
        return refuse("must not hold a user name or password");
    }
    if parts.host.is_empty() {
        return refuse("must name a host");
    }
    // The loopback hosts the configuration table names: another address of 127.0.0.0/8 is on
    // the loopback interface too, but is not one a link is documented to point at.
    let plain_http_allowed = match loopback_host(parts.host) {
        Some(Loopback::Name | Loopback::V6) => true,
        Some(Loopback::V4(address)) => address == Ipv4Addr::LOCALHOST,
        None => false,
    };
    if !parts.https && !plain_http_allowed {
        return refuse("must be https:// (plain http:// is for 127.0.0.1, [::1] or localhost only)");
    }
    Ok(())
}

/// Whether `url` (`http://` or `https://`) points at this machine's loopback interface, by
/// its host exactly: `localhost` (any case), an address of 127.0.0.0/8 or `[::1]`. Never a
/// name that merely starts like one (`localhost.example.com`, `127.0.0.1.nip.io`, which DNS
/// may send anywhere), never the host of a user name (`http://localhost@x.example` is
/// `x.example`), and never a URL without a scheme.
///
/// This is what tells the emulators (DynamoDB Local, the SES emulator) from AWS: against the
/// loopback, dummy credentials and patient timeouts (`contacts_aws::sdk`), else AWS's.
pub fn is_loopback_url(url: &str) -> bool {
    http_url(url.trim()).is_some_and(|parts| loopback_host(parts.host).is_some())
}

/// Whether `url` is https, or plain http on the loopback ([`is_loopback_url`]): how anything
/// that decides who signs in (an issuer, its key set, its endpoints) may be reached.
pub fn is_https_or_loopback_url(url: &str) -> bool {
    http_url(url.trim()).is_some_and(|parts| parts.https || loopback_host(parts.host).is_some())
}

/// The parts of an `http://` or `https://` URL that the configuration judges.
struct HttpUrl<'a> {
    https: bool,
    /// The authority holds a `user[:password]@`.
    user_info: bool,
    /// As written: a name, an IPv4 address, or an IPv6 address in its brackets; empty if none.
    host: &'a str,
}

/// `scheme://[user@]host[:port][/path][?query][#fragment]`, for the schemes http and https
/// (any case); `None` for anything else.
fn http_url(url: &str) -> Option<HttpUrl<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let https = match scheme {
        s if s.eq_ignore_ascii_case("https") => true,
        s if s.eq_ignore_ascii_case("http") => false,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (user_info, host_and_port) = match authority.rsplit_once('@') {
        Some((_, host_and_port)) => (true, host_and_port),
        None => (false, authority),
    };
    let host = if host_and_port.starts_with('[') {
        host_and_port.find(']').map_or(host_and_port, |end| &host_and_port[..=end])
    } else {
        host_and_port.split(':').next().unwrap_or_default()
    };
    Some(HttpUrl { https, user_info, host })
}

/// Which loopback host a URL's host is, if it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loopback {
    /// `localhost`, in any case (not `localhost.`, nor any name under it).
    Name,
    /// An address of 127.0.0.0/8, in dotted decimal (no octal or short forms).
    V4(Ipv4Addr),
    /// `[::1]`, however it is spelled.
    V6,
}

fn loopback_host(host: &str) -> Option<Loopback> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some(Loopback::Name);
    }
    if let Some(address) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return address.parse::<Ipv6Addr>().ok().filter(Ipv6Addr::is_loopback).map(|_| Loopback::V6);
    }
    host.parse::<Ipv4Addr>().ok().filter(Ipv4Addr::is_loopback).map(Loopback::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_level_is_rust_log_else_log_level_and_never_lambdas_own() {
        let spec = |vars: &[(&str, &str)]| log_spec(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()));
        assert_eq!(spec(&[]), "info");
        assert_eq!(spec(&[("LOG_LEVEL", "WARN"), ("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]), "warn", "Lambda's filter is not ours");
        assert_eq!(spec(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR")]), "info");
        assert_eq!(spec(&[("LOG_LEVEL", "FATAL")]), "error", "tracing has no FATAL");
        assert_eq!(spec(&[("LOG_LEVEL", "warn"), ("RUST_LOG", "debug,hyper=info")]), "debug,hyper=info");
        assert_eq!(spec(&[("LOG_LEVEL", " "), ("RUST_LOG", "")]), "info", "blank is unset");
    }

    #[test]
    fn the_metrics_namespace_is_one_cloudwatch_takes() {
        let namespace = |value: &str| Config::from_lookup(|name| (name == "METRICS_NAMESPACE").then(|| value.to_owned())).map(|c| c.metrics_namespace);
        assert_eq!(namespace("  ").unwrap(), "ServiceContacts", "blank is the default");
        assert_eq!(namespace("Acme/Contacts-prod").unwrap(), "Acme/Contacts-prod");
        for refused in ["AWS/Lambda", "with space", "é", &"x".repeat(256)] {
            assert!(namespace(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn defaults_are_the_specs() {
        let config = Config::from_lookup(|_| None).unwrap();
        assert_eq!(config.token_ttl, Duration::days(7));
        assert_eq!(config.resend_cooldown, Duration::seconds(60));
        assert_eq!((config.resend_limit, config.unaccepted_request_limit), (5, 3));
        assert_eq!((config.reminder_before, config.sweep_interval), (Duration::days(1), Duration::seconds(60)));
        assert_eq!(config.account_claim, "sub");
    }

    #[test]
    fn bad_values_are_refused_at_start() {
        for (name, value) in [
            ("TOKEN_TTL_SECONDS", "0"),
            ("RESEND_COOLDOWN_SECONDS", "soon"),
            ("PUBLIC_BASE_URL", "ftp://x"),
            ("MAIL_FROM", "nobody"),
            ("RESEND_LIMIT", "0"),
            ("RESEND_LIMIT", "21"),
            ("UNACCEPTED_REQUEST_LIMIT", "-1"),
            ("REMINDER_BEFORE_SECONDS", "-1"),
            ("REMINDER_BEFORE_SECONDS", "2592001"),
            ("SWEEP_INTERVAL_SECONDS", "0"),
            ("SWEEP_INTERVAL_SECONDS", "3601"),
        ] {
            let result = Config::from_lookup(|n| (n == name).then(|| value.to_owned()));
            assert!(result.is_err(), "{name}={value} was accepted");
        }
    }

    fn with(name: &str, value: &str) -> Result<Config, ConfigError> {
        Config::from_lookup(|n| (n == name).then(|| value.to_owned()))
    }

    #[test]
    fn the_retention_is_400_days_unless_set_from_a_minute_to_ten_years() {
        assert_eq!(Config::from_lookup(|_| None).unwrap().retention.duration(), Duration::days(400));
        assert_eq!(with("RETENTION_SECONDS", "60").unwrap().retention.duration(), Duration::minutes(1));
        assert_eq!(with("RETENTION_SECONDS", "315360000").unwrap().retention.duration(), Duration::days(3650));
        for value in ["59", "0", "315360001", "-60", "forever"] {
            let message = with("RETENTION_SECONDS", value).expect_err(value).to_string();
            assert!(message.contains("RETENTION_SECONDS") && message.contains("from 60 to 315360000"), "{message}");
        }
    }

    #[test]
    fn a_reminder_before_of_zero_means_no_reminders_and_is_accepted() {
        assert_eq!(with("REMINDER_BEFORE_SECONDS", "0").unwrap().reminder_before, Duration::ZERO);
        assert_eq!(with("REMINDER_BEFORE_SECONDS", "2592000").unwrap().reminder_before, Duration::days(30));
    }

    #[test]
    fn absurd_durations_are_refused_with_their_bounds_never_an_overflow() {
        let absurd = ["59", "7776001", "9223372036854775807", "-9223372036854775808", "99999999999999999999999", "1e9", "-60"];
        for value in absurd {
            let message = with("TOKEN_TTL_SECONDS", value).expect_err(value).to_string();
            assert!(message.contains("TOKEN_TTL_SECONDS") && message.contains("from 60 to 7776000"), "{message}");
        }
        for value in ["0", "86401", "9223372036854775807", "-1"] {
            let message = with("RESEND_COOLDOWN_SECONDS", value).expect_err(value).to_string();
            assert!(message.contains("RESEND_COOLDOWN_SECONDS") && message.contains("from 1 to 86400"), "{message}");
        }
        // The bounds themselves are fine, and a request can be opened at the longest TTL.
        assert_eq!(with("TOKEN_TTL_SECONDS", "60").unwrap().token_ttl, Duration::seconds(60));
        let longest = with("TOKEN_TTL_SECONDS", " 7776000 ").unwrap().token_ttl;
        assert_eq!(longest, Duration::days(90));
        assert!(time::OffsetDateTime::now_utc().checked_add(longest).is_some());
        assert_eq!(with("RESEND_COOLDOWN_SECONDS", "86400").unwrap().resend_cooldown, Duration::days(1));
        assert_eq!(with("RESEND_COOLDOWN_SECONDS", "1").unwrap().resend_cooldown, Duration::seconds(1));
    }

    #[test]
    fn the_ses_sending_rate_is_the_accounts_from_1_to_50000_a_second_else_a_new_accounts() {
        assert_eq!(Config::from_lookup(|_| None).unwrap().aws.ses_max_send_rate(), DEFAULT_SES_MAX_SEND_RATE);
        assert_eq!(with("SES_MAX_SEND_RATE", " 200 ").unwrap().aws.ses_max_send_rate(), 200);
        assert_eq!(with("SES_MAX_SEND_RATE", "1").unwrap().aws.ses_max_send_rate(), 1);
        for value in ["0", "50001", "-1", "1.5", "fast"] {
            let message = with("SES_MAX_SEND_RATE", value).expect_err(value).to_string();
            assert!(message.contains("SES_MAX_SEND_RATE") && message.contains("from 1 to 50000"), "{message}");
        }
    }

    #[test]
    fn the_base_url_is_https_unless_its_host_is_a_loopback_one() {
        for good in [
            "https://contacts.example.com",
            "https://x.example:8443/base/",
            "HTTPS://X.EXAMPLE",
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            "http://localhost",
            "http://[::1]:3000/",
            "http://LOCALHOST:1",
        ] {
            assert!(with("PUBLIC_BASE_URL", good).is_ok(), "{good} was refused");
        }
        for bad in [
            "http://contacts.example.com",
            "http://localhost.example.com",
            "http://localhost.:3000",
            "http://127.0.0.1.nip.io",
            "http://127.0.0.2",
            "http://[::2]:3000",
            "http://localhost@evil.example",
            "http://evil.example#@localhost",
            "https://",
            "https://user:pw@x.example",
            "https://x.example/a b",
            "ftp://x.example",
            "contacts.example.com",
        ] {
            let message = with("PUBLIC_BASE_URL", bad).expect_err(bad).to_string();
            assert!(message.contains("PUBLIC_BASE_URL"), "{message}");
        }
        assert!(with("PUBLIC_BASE_URL", "http://x.example").unwrap_err().to_string().contains("https://"), "the message says what to do");
        assert!(Config::from_lookup(|_| None).is_ok(), "the default, the local server's own address, is a loopback one");
    }

    #[test]
    fn https_or_http_on_the_loopback_only() {
        for trusted in
            ["https://issuer.example.com/jwks", "HTTPS://issuer.example.com", "http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9/keys"]
        {
            assert!(is_https_or_loopback_url(trusted), "{trusted}");
        }
        for refused in [
            "http://issuer.example.com/jwks",
            "http://localhost.evil.example/jwks",
            "http://localhost@evil.example/",
            "ftp://127.0.0.1/jwks",
            "file:///etc/jwks",
            "//issuer.example.com/jwks",
        ] {
            assert!(!is_https_or_loopback_url(refused), "{refused}");
        }
    }

    #[test]
    fn provider_principals_are_a_list_of_arns_and_empty_admits_nobody() {
        let none = Config::from_lookup(|_| None).unwrap();
        assert!(none.provider_principals.is_empty() && !none.admits_provider("arn:aws:iam::123456789012:role/whoever"));
        assert!(with("PROVIDER_PRINCIPALS", " , ").unwrap().provider_principals.is_empty(), "blank is none");

        let config = with("PROVIDER_PRINCIPALS", " arn:aws:iam::123456789012:role/billing-sync ,arn:aws:iam::123456789012:role/ops/provisioning,").unwrap();
        assert_eq!(config.provider_principals, ["arn:aws:iam::123456789012:role/billing-sync", "arn:aws:iam::123456789012:role/ops/provisioning"]);
        for admitted in [
            "arn:aws:iam::123456789012:role/billing-sync",
            "arn:aws:sts::123456789012:assumed-role/billing-sync/lambda-session",
            "arn:aws:sts::123456789012:assumed-role/provisioning/i-0abc",
        ] {
            assert!(config.admits_provider(admitted), "{admitted}");
        }
        for refused in [
            "arn:aws:iam::123456789012:role/billing-sync-2",
            "arn:aws:iam::123456789012:role/billing",
            "arn:aws:iam::210987654321:role/billing-sync",
            "arn:aws:sts::210987654321:assumed-role/billing-sync/s",
            "arn:aws-cn:sts::123456789012:assumed-role/billing-sync/s",
            "arn:aws:sts::123456789012:assumed-role/billing-sync/",
            "arn:aws:sts::123456789012:assumed-role/ops/provisioning",
            "arn:aws:iam::123456789012:user/billing-sync",
            "AROAEXAMPLEID:billing-sync",
            "",
        ] {
            assert!(!config.admits_provider(refused), "{refused}");
        }
        for bad in ["billing-sync", "arn:aws:iam::123456789012", "arn:aws:iam::123456789012:role/a b", "*"] {
            let message = with("PROVIDER_PRINCIPALS", bad).expect_err(bad).to_string();
            assert!(message.contains("PROVIDER_PRINCIPALS"), "{message}");
        }
    }

    #[test]
    fn an_endpoint_is_on_the_loopback_only_by_its_exact_host() {
        for local in [
            "http://127.0.0.1:8000",
            "http://127.0.0.1",
            "http://127.1.2.3:9/path",
            "https://127.255.255.254",
            "http://localhost:8000/",
            "HTTP://LocalHost:8000",
            "http://[::1]:8000",
            "http://[::1]",
            "http://[0:0:0:0:0:0:0:1]:8000",
            " http://127.0.0.1:8000 ",
            "http://user@127.0.0.1:8000",
        ] {
            assert!(is_loopback_url(local), "{local} is on the loopback");
        }
        for remote in [
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://localhost.example.com:8000",
            "http://localhost.:8000",
            "http://localhost-1:8000",
            "http://mylocalhost",
            "http://127.0.0.1.nip.io:8000",
            "http://127.0.0.1.example.com:80",
            "http://127.0.0.01:8000",
            "http://0177.0.0.1",
            "http://127.1",
            "http://128.0.0.1",
            "http://10.0.0.1:8000",
            "http://0.0.0.0:8000",
            "http://[::2]:8000",
            "http://[::ffff:127.0.0.1]:8000",
            "http://[::1",
            "http://::1:8000",
            "http://localhost@evil.example",
            "http://evil.example/localhost",
            "http://evil.example?127.0.0.1",
            "http://evil.example#[::1]",
            "127.0.0.1:8000",
            "localhost",
            "ftp://127.0.0.1",
            "",
        ] {
            assert!(!is_loopback_url(remote), "{remote} is not on the loopback");
        }
    }

    #[test]
    fn the_local_server_is_the_base_url_unless_one_is_set() {
        let local = Config::from_lookup(serving_at(|_| None, "http://127.0.0.1:41234")).unwrap();
        assert_eq!(local.public_base_url, "http://127.0.0.1:41234");
        let set = |name: &str| (name == "PUBLIC_BASE_URL").then(|| "https://contacts.example.com/".to_owned());
        assert_eq!(Config::from_lookup(serving_at(set, "http://127.0.0.1:41234")).unwrap().public_base_url, "https://contacts.example.com");
        let refused = |name: &str| (name == "PUBLIC_BASE_URL").then(|| "http://contacts.example.com".to_owned());
        assert!(Config::from_lookup(serving_at(refused, "http://127.0.0.1:41234")).is_err(), "a base URL set is judged, never replaced");
    }

    #[test]
    fn the_aws_variables_are_read_with_the_rest_and_blank_is_unset() {
        let none = Config::from_lookup(|_| None).unwrap().aws;
        assert_eq!(none, AwsConfig::default());
        assert!(!none.points_at_emulators() && none.dynamodb_endpoint().is_none() && none.ses_endpoint().is_none());
        assert_eq!(none.table().unwrap_err().to_string(), "configuration: TABLE_NAME is not set: the DynamoDB table to use");
        assert_eq!(format!("{:?}", none.table().unwrap_err()), "configuration: TABLE_NAME is not set: the DynamoDB table to use", "what main prints");

        let config = Config::from_lookup(|name| {
            let value = match name {
                "TABLE_NAME" => " contacts ",
                "SES_CONFIGURATION_SET" => "  ",
                "AWS_ENDPOINT_URL_DYNAMODB" => "http://127.0.0.1:8000",
                "AWS_REGION" => "eu-south-1",
                _ => return None,
            };
            Some(value.to_owned())
        })
        .unwrap();
        assert_eq!(config.aws.table().unwrap(), "contacts");
        assert_eq!(config.aws.ses_configuration_set, None, "blank is unset");
        assert_eq!((config.aws.dynamodb_endpoint(), config.aws.ses_endpoint()), (Some("http://127.0.0.1:8000"), None));
        assert_eq!(config.aws.region.as_deref(), Some("eu-south-1"));
        assert!(config.aws.points_at_emulators());
        assert_eq!(config.aws.ca_bundle, None);
        let bundle = with("AWS_CA_BUNDLE", " /opt/ca/private.pem ").unwrap().aws.ca_bundle;
        assert_eq!(bundle.as_deref(), Some(std::path::Path::new("/opt/ca/private.pem")));
        assert_eq!(with("AWS_CA_BUNDLE", " ").unwrap().aws.ca_bundle, None, "blank is unset");
        assert_eq!(config.aws.emulator_access_key(), "local", "the dummy key unless one is given");
        assert_eq!(with("AWS_ACCESS_KEY_ID", "CreateFunction").unwrap().aws.emulator_access_key(), "CreateFunction");
    }

    #[test]
    fn aws_endpoint_url_stands_in_for_a_service_without_its_own() {
        let aws = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
            AwsConfig::from_lookup(move |name| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()))
        };
        let shared = aws(&[("AWS_ENDPOINT_URL", "http://localhost:4566"), ("AWS_ENDPOINT_URL_SESV2", "http://[::1]:8005")]).unwrap();
        assert_eq!((shared.dynamodb_endpoint(), shared.ses_endpoint()), (Some("http://localhost:4566"), Some("http://[::1]:8005")));
        assert!(shared.points_at_emulators());
        let remote = aws(&[("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-west-1.amazonaws.com")]).unwrap();
        assert!(!remote.points_at_emulators());
        assert!(!aws(&[("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost.example.com:8000")]).unwrap().points_at_emulators());
        for name in ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL"] {
            for bad in ["127.0.0.1:8000", "http://", "http://a b", "ftp://127.0.0.1"] {
                let message = aws(&[(name, bad)]).expect_err(bad).to_string();
                assert!(message.contains(name) && message.contains("http://"), "{message}");
                assert!(with(name, bad).is_err(), "Config refuses {name}={bad} too");
            }
        }
    }

    #[test]
    fn the_base_url_loses_its_trailing_slash() {
        let config = Config::from_lookup(|n| (n == "PUBLIC_BASE_URL").then(|| "https://x.example/".to_owned())).unwrap();
        assert_eq!(config.public_base_url, "https://x.example");
    }
}
