//! `contacts-admin`: loads the provider's accounts and services into the table in bulk, and
//! exports them back. The DynamoDB side is the adapter's (`shared::adapters::dynamodb::bulk`);
//! this crate reads and checks files, shows progress, and reports.

pub mod export;
pub mod generate;
pub mod import;
pub mod progress;

use shared::adapters::aws;
use shared::config::AwsConfig;

/// Whether `url` is on this machine (DynamoDB Local): the configuration's one loopback test.
pub use shared::config::is_loopback_url as is_loopback;

/// A DynamoDB client as `config` (the environment) says: at its DynamoDB endpoint
/// (`AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`) when it names one, with the
/// emulators' configuration (dummy credentials, generous timeouts) when that is on this
/// machine; otherwise AWS's (credentials and region from the usual variables and files).
pub async fn dynamodb_client(config: &AwsConfig) -> aws_sdk_dynamodb::Client {
    let endpoint = config.dynamodb_endpoint();
    let sdk = match endpoint {
        Some(url) if is_loopback(url) => aws::emulator_sdk_config_in(config.region.as_deref()).await,
        _ => aws::sdk_config().await,
    };
    match endpoint {
        Some(url) => aws::dynamodb_client_at(&sdk, url),
        None => aws::dynamodb_client(&sdk),
    }
}

#[cfg(test)]
mod tests {
    use shared::seed::Fixtures;

    #[test]
    fn demo_jsonl_is_the_local_servers_demo_set() {
        let file = Fixtures::parse_any(include_str!("../demo.jsonl")).expect("admin/demo.jsonl is valid");
        let demo = Fixtures::demo();
        assert_eq!((file.accounts, file.services), (demo.accounts, demo.services));
    }
}
