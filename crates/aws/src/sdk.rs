//! How every AWS client of the project is built: one pinned behaviour version, one retry
//! policy and one set of timeouts, so the Lambda functions, the local server and the tests
//! talk to DynamoDB and SES the same way.
//!
//! Endpoints are not configured here: the callers take them from the configuration
//! ([`contacts_app::config::AwsConfig`]: `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SESV2`,
//! `AWS_ENDPOINT_URL`) and build their clients with [`dynamodb_client_at`] and
//! [`ses_client_at`]; which of the configurations below applies is the configuration's
//! [`contacts_app::config::is_loopback_url`]. (A configuration from `aws_config`'s loader would also
//! find those variables by itself, which is how the tests' clients reach the emulators.)

use std::path::Path;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::config::{Credentials, SharedAsyncSleep, SharedCredentialsProvider, SharedHttpClient};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SharedTimeSource;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use contacts_telemetry::{self as telemetry, Metric};

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

/// Whom the HTTPS client trusts to authenticate an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The roots of Amazon Trust Services, AWS's own CA, to which the AWS endpoints'
    /// certificates chain ([`AWS_ROOT_NAMES`]), compiled into the binary as Mozilla's list has
    /// them (`aws_roots.pem`): the functions' default. Reading the system's store instead was
    /// most of a cold start's CPU (BENCHMARKS.md: 146 hashed files in /etc/ssl/certs read one
    /// by one, then the bundle), and so was handing the SDK's client all of Mozilla's 118
    /// roots: it takes PEM only, which rustls-pki-types decodes in constant time, slowly. Five
    /// roots also trust five CAs, not a hundred, for the traffic to DynamoDB and SES.
    Compiled,
    /// The operating system's store (`rustls-native-certs`): the local server and the admin
    /// tool, which run on a workstation whose store may hold a company's CA.
    System,
    /// Exactly the certificates of a PEM bundle, as [`trust_of`] read it from the file
    /// `AWS_CA_BUNDLE` names: for a private endpoint (a TLS-inspecting proxy, an emulator
    /// behind TLS) whose CA is not a public one. Like the other AWS SDKs' `AWS_CA_BUNDLE`, it
    /// replaces the default roots rather than adding to them; naming the system's bundle
    /// (`/etc/pki/tls/certs/ca-bundle.crt` on Amazon Linux) trusts the system's store.
    Bundle(Vec<u8>),
}

/// The trust of a Lambda function: the bundle `ca_bundle` names (the configuration's
/// `AWS_CA_BUNDLE`), else [`Trust::Compiled`]. A file that cannot be read, or holds no
/// certificate, or one that cannot be a trust anchor, is refused here, at start, with its
/// name: the SDK's HTTP client would panic on it at the first connection.
pub fn trust_of(ca_bundle: Option<&Path>) -> Result<Trust, String> {
    let Some(path) = ca_bundle else { return Ok(Trust::Compiled) };
    let fail = |why: String| format!("AWS_CA_BUNDLE {}: {why}", path.display());
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot be read ({e})")))?;
    let certificates = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| fail(format!("is not PEM ({e})")))?;
    if certificates.is_empty() {
        return Err(fail("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned()));
    }
    let (_, unusable) = rustls::RootCertStore::empty().add_parsable_certificates(certificates);
    if unusable > 0 {
        return Err(fail(format!("{unusable} of its certificates cannot be a trust anchor")));
    }
    Ok(Trust::Bundle(pem))
}

/// The common names of the roots of [`Trust::Compiled`], in `aws_roots.pem`'s order: Amazon
/// Trust Services' four (RSA 2048 and 4096, ECDSA P-256 and P-384) and the Starfield Services
/// root that cross-signs them for older clients, the roots AWS names as those its endpoints need.
pub const AWS_ROOT_NAMES: [&str; 5] =
    ["Amazon Root CA 1", "Amazon Root CA 2", "Amazon Root CA 3", "Amazon Root CA 4", "Starfield Services Root Certificate Authority - G2"];

/// [`AWS_ROOT_NAMES`]' certificates, as the PEM the SDK's client takes (it takes no DER): a
/// copy of Mozilla's, which the test of this module checks against `webpki-root-certs`, so
/// that the binary holds these five and nothing to convert at start.
const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws_roots.pem");

/// The one HTTPS client of every AWS client (and so one connection pool for DynamoDB and
/// SES): hyper with rustls on *ring*, trusting `trust`.
///
/// Not the SDK's default client, which is the same rustls on aws-lc: aws-lc is a large C
/// library (about 1 MiB of each bootstrap, and its slowest dependency to build) for what a
/// client that verifies certificates and runs TLS 1.3 with AES-GCM or ChaCha20 needs, which
/// *ring* has. What that gives up is TLS's post-quantum hybrid key exchange
/// (X25519MLKEM768), which rustls offers only with aws-lc: traffic to DynamoDB and SES uses
/// X25519 (BENCHMARKS.md, "What was fixed").
pub fn https_client(trust: Trust) -> SharedHttpClient {
    let store = match trust {
        Trust::Compiled => TrustStore::empty().with_pem_certificate(AWS_ROOTS_PEM),
        Trust::System => TrustStore::default().with_native_roots(true),
        Trust::Bundle(pem) => TrustStore::empty().with_pem_certificate(pem),
    };
    let tls = TlsContext::builder().with_trust_store(store).build().expect("a TLS context takes any trust store");
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).tls_context(tls).build_https()
}

/// The configuration for AWS of the local server and the admin tool: credentials and region
/// from `aws_config`'s provider chains, the system's trust store ([`Trust::System`]), pinned
/// behaviour, [`timeouts`] and [`retries`].
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(behavior_version()).http_client(https_client(Trust::System)).timeout_config(timeouts()).retry_config(retries()).load().await
}

/// The configuration for the local emulators (DynamoDB Local, aws-ses-v2-local), for the
/// tests and tools that have no [`contacts_app::config::AwsConfig`] at hand: [`emulator_sdk_config_in`]
/// the region `AWS_REGION` names. Endpoints still come from `AWS_ENDPOINT_URL_DYNAMODB` /
/// `AWS_ENDPOINT_URL_SESV2`.
pub async fn emulator_sdk_config() -> SdkConfig {
    emulator_sdk_config_in(std::env::var("AWS_REGION").ok().as_deref()).await
}

/// The configuration for the local emulators: fixed dummy credentials (never real ones,
/// whatever the environment holds), `region` or `eu-west-1`, and [`emulator_timeouts`].
pub async fn emulator_sdk_config_in(region: Option<&str>) -> SdkConfig {
    let region = region.map(str::trim).filter(|r| !r.is_empty()).unwrap_or("eu-west-1").to_owned();
    // Plain http on the loopback: nothing to authenticate, so nothing to read from the system.
    aws_config::defaults(behavior_version())
        .http_client(https_client(Trust::Compiled))
        .credentials_provider(Credentials::new("local", "local", None, None, "emulators"))
        .region(Region::new(region))
        .timeout_config(emulator_timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// Where a function's calls go, which decides its credentials and timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallsTo<'a> {
    /// AWS itself: the role's credentials, as Lambda gives them.
    Aws,
    /// The emulators on the loopback interface (the tests under the Runtime Interface
    /// Emulator): `access_key` ([`contacts_app::config::AwsConfig::emulator_access_key`]) with a dummy
    /// secret, never real credentials.
    Emulators { access_key: &'a str },
}

/// The configuration of a Lambda function, built from what Lambda gives it rather than by
/// `aws_config`'s provider chains: `region` (the configuration's `AWS_REGION`) and the role's credentials
/// from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, which is where
/// the default chain finds them on Lambda too (its first provider). Not linking the chains
/// (profile files, web identity through STS, ECS, IMDS) keeps about half a MiB out of each
/// bootstrap and their work out of its init. Against [`CallsTo::Emulators`], dummy
/// credentials, the default region and [`emulator_sdk_config`]'s patient timeouts instead.
///
/// Endpoints: the caller applies `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SESV2` /
/// `AWS_ENDPOINT_URL` itself ([`dynamodb_client_at`], [`ses_client_at`]), as `aws_config`
/// would have. Trust: `trust` ([`trust_of`] the configuration's `AWS_CA_BUNDLE`).
pub fn lambda_sdk_config(region: Option<&str>, calls_to: CallsTo<'_>, trust: Trust) -> Result<SdkConfig, String> {
    let region = region.map(str::to_owned).filter(|r| !r.is_empty());
    let builder = SdkConfig::builder()
        .behavior_version(behavior_version())
        .http_client(https_client(trust))
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .time_source(SharedTimeSource::default())
        .retry_config(retries());
    let builder = match calls_to {
        CallsTo::Emulators { access_key } => builder
            .region(Region::new(region.unwrap_or_else(|| "eu-west-1".to_owned())))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(access_key, "local", None, None, "emulators")))
            .timeout_config(emulator_timeouts()),
        CallsTo::Aws => builder
            .region(Region::new(region.ok_or("AWS_REGION is not set (Lambda always sets it)")?))
            .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
            .timeout_config(timeouts()),
    };
    Ok(builder.build())
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(config).interceptor(DynamoTelemetry).build())
}

pub fn ses_client(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(config)
}

pub fn eventbridge_client(config: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(config)
}

/// An EventBridge client for an explicit endpoint (the emulator).
pub fn eventbridge_client_at(config: &SdkConfig, endpoint: &str) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(aws_sdk_eventbridge::config::Builder::from(config).endpoint_url(endpoint).build())
}

/// A DynamoDB client for an explicit endpoint (a flag of the local server, a test), over
/// whatever `AWS_ENDPOINT_URL_DYNAMODB` says.
pub fn dynamodb_client_at(config: &SdkConfig, endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(config).endpoint_url(endpoint).interceptor(DynamoTelemetry).build())
}

/// An SES v2 client for an explicit endpoint, over whatever `AWS_ENDPOINT_URL_SESV2` says.
pub fn ses_client_at(config: &SdkConfig, endpoint: &str) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(aws_sdk_sesv2::config::Builder::from(config).endpoint_url(endpoint).build())
}

/// Counts every DynamoDB call, each attempt and each refusal by a condition into the
/// invocation's metrics ([`contacts_telemetry`]): on the client, so that every call of every
/// adapter is counted and none of them changes. Outside an invocation it counts nothing.
#[derive(Debug)]
struct DynamoTelemetry;

impl Intercept for DynamoTelemetry {
    fn name(&self) -> &'static str {
        "DynamoTelemetry"
    }

    fn read_before_execution(&self, _: &BeforeSerializationInterceptorContextRef<'_>, _: &mut ConfigBag) -> Result<(), BoxError> {
        telemetry::count(Metric::DynamoCalls);
        Ok(())
    }

    fn read_before_attempt(&self, _: &BeforeTransmitInterceptorContextRef<'_>, _: &RuntimeComponents, _: &mut ConfigBag) -> Result<(), BoxError> {
        telemetry::dynamo_attempt();
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if response.status().as_u16() == 400 && response.body().bytes().is_some_and(refused_by_condition) {
            telemetry::count(Metric::DynamoConditionalFailures);
        }
        Ok(())
    }
}

/// Whether a DynamoDB error body (`{"__type": "...#Code", ...}`, read whole by then) is a
/// condition's refusal: `ConditionalCheckFailedException`, or a cancelled transaction one of
/// whose reasons is `ConditionalCheckFailed` (not one cancelled by a conflict or throttling).
/// Only the codes are read; an item the body may carry is not looked at.
fn refused_by_condition(body: &[u8]) -> bool {
    let Ok(error) = serde_json::from_slice::<serde_json::Value>(body) else { return false };
    let code = error["__type"].as_str().unwrap_or_default();
    let reasons = error["CancellationReasons"].as_array().map(Vec::as_slice).unwrap_or_default();
    code.ends_with("#ConditionalCheckFailedException")
        || (code.ends_with("#TransactionCanceledException") && reasons.iter().any(|reason| reason["Code"] == "ConditionalCheckFailed"))
}

/// What a failed AWS call means for its caller, whichever service it went to: each adapter
/// maps it to its port's error (`StoreError`, `MailError`). The message names the service, the
/// operation and the error's code, never the request: an item can hold values read from the
/// table, a mail's body a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The service takes no more from this account for now (its rate or quota: a throttling
    /// code, HTTP 429): nothing was done, and the same call will work once the caller slows down.
    Throttled(String),
    /// A timeout, an unreachable endpoint, an unreadable answer, a 5xx, a conflict: nothing was
    /// done, and trying again later may work (the SDK's retry policy has already retried what
    /// it safely could).
    Transient(String),
    /// Anything else (validation, a refused address, a request that could not be built):
    /// trying again will not help.
    Permanent(String),
}

/// The codes after which nothing was done and trying again later may work: DynamoDB's
/// (throttling, conflicting transactions, and the same as a transaction's cancellation reasons)
/// and SES's (`TooManyRequests`; `LimitExceeded` is what SES says when a sending quota is used
/// up: later, it is not).
const TRANSIENT_CODES: &[&str] = &[
    "TransactionConflictException",
    "TransactionConflict",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// The codes of a service that takes no more for now: DynamoDB's throughput and request
/// limits, SES's sending rate (`TooManyRequests`) and sending quota (`LimitExceeded`: later,
/// it is not used up for good).
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottlingError",
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
];

/// Whether trying again later may work after `code`: a throttling or a transient fault.
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code) || THROTTLING_CODES.contains(&code)
}

/// The HTTP status of a raw response: the SDK's, and a bare number in the tests (the SDK's
/// response type cannot be built outside it).
pub trait HttpStatus {
    fn http_status(&self) -> u16;
}

impl HttpStatus for HttpResponse {
    fn http_status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// One classification of an SDK error for every client: timeouts, dispatch failures and
/// unreadable responses are transient; a service's answer is transient when its code says
/// throttling or a transient fault, or its status is 429 or 5xx; anything else is permanent.
/// `service` names the endpoint in the message ("DynamoDB", "SES").
pub fn classify<E, R>(service: &str, operation: &str, error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata,
    R: HttpStatus,
{
    match error {
        SdkError::TimeoutError(_) => Failure::Transient(format!("{operation}: timed out")),
        SdkError::DispatchFailure(failure) => Failure::Transient(if failure.is_timeout() {
            format!("{operation}: timed out")
        } else if failure.is_io() {
            format!("{operation}: could not reach {service}")
        } else {
            format!("{operation}: could not send the request")
        }),
        SdkError::ResponseError(_) => Failure::Transient(format!("{operation}: unreadable response")),
        SdkError::ServiceError(answer) => {
            let status = answer.raw().http_status();
            let code = answer.err().code().unwrap_or("unknown");
            let message = format!("{operation}: {code} (HTTP {status})");
            if THROTTLING_CODES.contains(&code) || status == 429 {
                Failure::Throttled(message)
            } else if is_transient_code(code) || (500..600).contains(&status) {
                Failure::Transient(message)
            } else {
                Failure::Permanent(message)
            }
        }
        _ => Failure::Permanent(format!("{operation}: the request could not be built")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::{ConnectorError, ErrorMetadata};

    impl HttpStatus for u16 {
        fn http_status(&self) -> u16 {
            *self
        }
    }

    fn answer(code: &str, status: u16) -> Failure {
        classify("DynamoDB", "Query", &SdkError::<ErrorMetadata, u16>::service_error(ErrorMetadata::builder().code(code).build(), status))
    }

    #[test]
    fn throttling_is_throttling_timeouts_unreachable_endpoints_and_5xx_are_transient_and_the_rest_permanent() {
        let transient = |failure: Failure| matches!(failure, Failure::Transient(_));
        let throttled = |failure: Failure| matches!(failure, Failure::Throttled(_));
        for code in ["ThrottlingException", "ProvisionedThroughputExceededException", "TooManyRequestsException", "LimitExceededException"] {
            assert!(throttled(answer(code, 400)), "{code}");
            assert!(is_transient_code(code), "{code}: later, it may work");
        }
        assert!(transient(answer("TransactionConflictException", 400)));
        assert!(transient(answer("InternalServerError", 500)));
        assert!(transient(answer("Whatever", 503)), "any 5xx");
        assert!(throttled(answer("Whatever", 429)), "429 is throttling whatever the code");
        for code in ["ValidationException", "ConditionalCheckFailedException", "MessageRejected", "AccountSuspendedException", "NotFoundException"] {
            assert_eq!(answer(code, 400), Failure::Permanent(format!("Query: {code} (HTTP 400)")));
        }

        let timed_out = SdkError::<ErrorMetadata, u16>::timeout_error("slow");
        assert_eq!(classify("SES", "SendEmail", &timed_out), Failure::Transient("SendEmail: timed out".to_owned()));
        let unreachable = SdkError::<ErrorMetadata, u16>::dispatch_failure(ConnectorError::io("refused".into()));
        assert_eq!(classify("SES", "SendEmail", &unreachable), Failure::Transient("SendEmail: could not reach SES".to_owned()));
        let connect_timeout = SdkError::<ErrorMetadata, u16>::dispatch_failure(ConnectorError::timeout("slow".into()));
        assert_eq!(classify("DynamoDB", "GetItem", &connect_timeout), Failure::Transient("GetItem: timed out".to_owned()));
        let unreadable = SdkError::<ErrorMetadata, u16>::response_error("garbled", 200);
        assert!(transient(classify("DynamoDB", "GetItem", &unreadable)));
        let unbuildable = SdkError::<ErrorMetadata, u16>::construction_failure("no table");
        assert!(matches!(classify("DynamoDB", "GetItem", &unbuildable), Failure::Permanent(_)));
    }

    #[test]
    fn a_message_names_the_operation_and_the_code_never_the_errors_own_message() {
        let error = ErrorMetadata::builder().code("ValidationException").message("item {secret-value} is invalid").build();
        let Failure::Permanent(message) = classify("DynamoDB", "PutItem", &SdkError::<ErrorMetadata, u16>::service_error(error, 400)) else { panic!() };
        assert!(message.contains("PutItem") && message.contains("ValidationException") && !message.contains("secret"), "{message}");
    }

    #[test]
    fn the_compiled_in_roots_are_mozillas_copies_of_the_five_aws_roots_and_each_an_anchor() {
        let certificates = CertificateDer::pem_slice_iter(AWS_ROOTS_PEM).collect::<Result<Vec<_>, _>>().expect("PEM the SDK's client reads");
        assert_eq!(certificates.len(), AWS_ROOT_NAMES.len());
        // Each is the root its name says (its subject holds the name, as a root's issuer does
        // too), byte for byte the one of Mozilla's list that holds the name, the only one there.
        let holds = |certificate: &[u8], name: &str| certificate.windows(name.len()).any(|w| w == name.as_bytes());
        for (certificate, name) in certificates.iter().zip(AWS_ROOT_NAMES) {
            let mozillas: Vec<_> = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().filter(|c| holds(c, name)).collect();
            assert_eq!(mozillas, [certificate], "{name}: aws_roots.pem holds Mozilla's copy (no longer in the list, or changed?)");
        }
        // The SDK's client panics on a certificate that is no anchor: none is.
        assert_eq!(rustls::RootCertStore::empty().add_parsable_certificates(certificates), (AWS_ROOT_NAMES.len(), 0));
    }

    #[test]
    fn a_lambda_configuration_takes_the_region_lambda_sets_and_needs_it() {
        let sdk = lambda_sdk_config(Some("eu-south-1"), CallsTo::Aws, Trust::Compiled).expect("a configuration");
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-south-1"));
        assert!(sdk.credentials_provider().is_some() && sdk.http_client().is_some() && sdk.sleep_impl().is_some());
        assert!(lambda_sdk_config(None, CallsTo::Aws, Trust::Compiled).is_err(), "no region, no start");

        let emulators = lambda_sdk_config(None, CallsTo::Emulators { access_key: "CreateFunction" }, Trust::Compiled).expect("the emulators' configuration");
        assert_eq!(emulators.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(emulators.timeout_config().and_then(|t| t.operation_timeout()), Some(Duration::from_secs(40)));
    }

    #[tokio::test]
    async fn against_the_emulators_a_function_signs_with_its_access_key_and_the_dummy_secret() {
        use aws_sdk_dynamodb::config::ProvideCredentials;
        let emulators = lambda_sdk_config(None, CallsTo::Emulators { access_key: "CreateFunction" }, Trust::Compiled).expect("a configuration");
        let credentials = emulators.credentials_provider().expect("credentials").provide_credentials().await.expect("dummy ones");
        assert_eq!((credentials.access_key_id(), credentials.secret_access_key()), ("CreateFunction", "local"));
    }

    #[test]
    fn a_conditions_refusal_is_told_from_other_errors_by_its_codes_only() {
        let refused = |body: serde_json::Value| refused_by_condition(body.to_string().as_bytes());
        assert!(refused(
            serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "The conditional request failed"})
        ));
        let cancelled = |codes: &[&str]| {
            let reasons: Vec<_> = codes.iter().map(|code| serde_json::json!({"Code": code})).collect();
            refused(serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException", "CancellationReasons": reasons}))
        };
        assert!(cancelled(&["None", "ConditionalCheckFailed"]));
        assert!(!cancelled(&["None", "TransactionConflict"]), "a conflict is no condition's refusal");
        assert!(!refused(serde_json::json!({"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"})));
        assert!(!refused(serde_json::json!({"__type": "#ValidationException", "message": "ConditionalCheckFailedException"})), "the code, not the message");
        assert!(!refused_by_condition(b"not json"));
    }
}
