//! How the outside world reaches the router: on AWS Lambda, behind API Gateway's HTTP API, and
//! SES's events through EventBridge, and the table's stream to the mailer and the publisher. (The local server,
//! `contacts-local`, is the other entry point; it lives in its own crate.)

pub mod bounces;
#[cfg(feature = "lambda")]
pub mod job;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "aws")]
pub mod mailer;
#[cfg(feature = "aws")]
pub mod publisher;
#[cfg(feature = "lambda")]
pub mod scheduled;
