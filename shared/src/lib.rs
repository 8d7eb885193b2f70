//! service-contacts: who holds the `admin`, `tech` and `billing` roles of a service, and how
//! a holder moves a role to another account with every party's emailed consent.
//!
//! - [`domain`]: the rules of the provider's guide as types (no I/O, no HTTP);
//! - [`ports`]: what the use cases need from the outside world (`Store`, `Mailer`, `Clock`);
//! - [`app`]: the use cases, written against the ports;
//! - [`mail`]: the emails, rendered in the recipient's language;
//! - [`api`]: the HTTP contract (routes, bodies, problem+json, the confirmation page),
//!   shared by the local server and every Lambda function;
//! - [`adapters`]: the ports' implementations (embedded store, outbox, and with the
//!   `aws` feature DynamoDB and SES);
//! - [`seed`]: accounts and services from a file or the demo set, loaded through [`app`]
//!   (the local server, the bulk import, the tests);
//! - [`entrypoints`]: with the `lambda` feature, the Lambda functions' shared `run`;
//! - [`deadline`]: the time an invocation has left, which the use cases respect;
//! - [`telemetry`]: what each invocation measured, as CloudWatch EMF lines on stdout.

pub mod adapters;
/// The Lambda entry points, their own crate (`crates/lambda`); the old paths until the last step.
#[cfg(feature = "aws")]
pub mod entrypoints {
    pub use contacts_lambda as lambda;
    pub use contacts_lambda::{bounces, job, mailer, publisher, scheduled};
}

/// The HTTP contract, its own crate (`crates/api`); the old path until the layers above move out too.
pub use contacts_api as api;
/// The application, its own crate (`crates/app`); the old paths until the layers above move out too.
pub use contacts_app as app;
pub use contacts_app::{config, deadline, mail, ports, seed};
/// The domain, now its own crate (`crates/domain`); the old path until the layers above move out too.
pub use contacts_domain as domain;
/// The metrics, a leaf crate (`crates/telemetry`); the old path until the layers above move out too.
pub use contacts_telemetry as telemetry;
