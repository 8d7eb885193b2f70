//! How every AWS client of the project is built: one pinned behaviour version, one retry
//! policy and one set of timeouts, so the Lambda functions, the local server and the tests
//! talk to DynamoDB and SES the same way.
//!
//! Endpoints are not configured here: the SDK reads `AWS_ENDPOINT_URL_DYNAMODB` and
//! `AWS_ENDPOINT_URL_SESV2` itself (and `AWS_ENDPOINT_URL`), which is how the emulators are
//! reached locally.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

/// Pinned, not `latest()`: a dependency update must not change retry or timeout defaults
/// under us. v2026_01_12 is the newest in the resolved `aws-smithy-runtime-api`.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// Timeouts against AWS.
///
/// - Attempt 1 s: DynamoDB answers a GetItem/Query/TransactWriteItems and SES a SendEmail
///   in tens of milliseconds at p99; one second is over ten times that, so a healthy call never
///   hits it, and a stuck connection is abandoned early enough for a retry to fit.
/// - Operation 3 s: room for the standard policy's 3 attempts with backoff, and a bound on
///   any one call. A use case makes at most about 8 calls in sequence (store reads, one
///   transaction, a few mails): 8 x 3 s = 24 s stays under API Gateway's 30 s integration
///   limit, so a slow dependency becomes our 503 with `Retry-After`, never a gateway 504 or a
///   hung Lambda.
/// - Connect 1 s: a TCP+TLS handshake to a regional endpoint takes milliseconds.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(3))
        .build()
}

/// Timeouts against the local emulators (DynamoDB Local is a JVM: its first calls, or a
/// 2-core machine busy compiling, can take seconds). Generous so that a slow emulator is not
/// mistaken for an outage; still bounded so that a dead one fails the test instead of
/// hanging it.
pub fn emulator_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(15))
        .operation_timeout(Duration::from_secs(40))
        .build()
}

/// Standard mode, 3 attempts: the SDK retries throttling, transient and timeout errors
/// only, never a conditional-check failure. TransactWriteItems carries an idempotency token
/// (`ClientRequestToken`, filled in by the SDK and kept across attempts), so a retried
/// transaction that had in fact committed is not applied twice.
pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

/// The configuration for AWS: credentials and region from the environment (the Lambda
/// role), pinned behaviour, [`timeouts`] and [`retries`].
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(behavior_version()).timeout_config(timeouts()).retry_config(retries()).load().await
}

/// The configuration for the local emulators (DynamoDB Local, aws-ses-v2-local): fixed dummy
/// credentials (never real ones, whatever the environment holds), the region from
/// `AWS_REGION` or `eu-west-1`, and [`emulator_timeouts`]. Endpoints still come from
/// `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SESV2`.
pub async fn emulator_sdk_config() -> SdkConfig {
    let region = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()).unwrap_or_else(|| "eu-west-1".to_owned());
    aws_config::defaults(behavior_version())
        .credentials_provider(Credentials::new("local", "local", None, None, "emulators"))
        .region(Region::new(region))
        .timeout_config(emulator_timeouts())
        .retry_config(retries())
        .load()
        .await
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn ses_client(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(config)
}

/// A DynamoDB client for an explicit endpoint (a flag of the local server, a test), over
/// whatever `AWS_ENDPOINT_URL_DYNAMODB` says.
pub fn dynamodb_client_at(config: &SdkConfig, endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(config).endpoint_url(endpoint).build())
}

/// An SES v2 client for an explicit endpoint, over whatever `AWS_ENDPOINT_URL_SESV2` says.
pub fn ses_client_at(config: &SdkConfig, endpoint: &str) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(aws_sdk_sesv2::config::Builder::from(config).endpoint_url(endpoint).build())
}
