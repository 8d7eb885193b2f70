//! `contacts-admin`: loads the provider's accounts and services into the table in bulk, and
//! exports them back; erases accounts a file names, and writes everything held about one
//! (SPEC §8). The DynamoDB side is the
//! adapter's (`contacts_aws::dynamodb::bulk`; the erasure, the store's through the use case);
//! this crate reads and checks files, shows progress, and reports.

pub mod data;
pub mod erase;
pub mod export;
pub mod generate;
pub mod import;
pub mod progress;

use contacts_app::config::AwsConfig;
use contacts_aws::sdk;

/// Whether `url` is on this machine (DynamoDB Local): the configuration's one loopback test.
pub use contacts_app::config::is_loopback_url as is_loopback;

/// A DynamoDB client as `config` (the environment) says: at its DynamoDB endpoint
/// (`AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`) when it names one, with the
/// emulators' configuration (dummy credentials, generous timeouts) when that is on this
/// machine; otherwise AWS's (credentials and region from the usual variables and files).
pub async fn dynamodb_client(config: &AwsConfig) -> aws_sdk_dynamodb::Client {
    let endpoint = config.dynamodb_endpoint();
    let sdk = match endpoint {
        Some(url) if is_loopback(url) => sdk::emulator_sdk_config_in(config.region.as_deref()).await,
        _ => sdk::sdk_config().await,
    };
    match endpoint {
        Some(url) => sdk::dynamodb_client_at(&sdk, url),
        None => sdk::dynamodb_client(&sdk),
    }
}

#[cfg(test)]
mod tests {
    use contacts_app::seed::Fixtures;

    #[test]
    fn demo_jsonl_is_the_local_servers_demo_set() {
        let file = Fixtures::parse_any(include_str!("../demo.jsonl")).expect("admin/demo.jsonl is valid");
        let demo = Fixtures::demo();
        assert_eq!((file.accounts, file.services), (demo.accounts, demo.services));
    }
}
