//! The ports' implementations on AWS: DynamoDB (the store), SES v2 (the mailer), EventBridge
//! (the publisher), and the one setup of the SDK they share ([`sdk`]: whom its HTTPS client
//! trusts, one classification of the SDK's errors, the metrics' interceptor); with the HTTPS
//! client of the identity provider's discovery document ([`https_json`]). Their twins in
//! memory are the application's (`contacts_app::memory`).

pub mod dynamodb;
pub mod eventbridge;
pub mod https_json;
pub mod sdk;
pub mod ses;

pub use dynamodb::DynamoStore;
pub use eventbridge::EventBridgePublisher;
pub use ses::SesMailer;
