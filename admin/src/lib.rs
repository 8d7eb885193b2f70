//! `contacts-admin`: loads the provider's accounts and services into the table in bulk, and
//! exports them back. The DynamoDB side is the adapter's (`shared::adapters::dynamodb::bulk`);
//! this crate reads and checks files, shows progress, and reports.

pub mod export;
pub mod generate;
pub mod import;
pub mod progress;

use shared::adapters::aws;

/// The DynamoDB endpoint the environment names (`AWS_ENDPOINT_URL_DYNAMODB`, else
/// `AWS_ENDPOINT_URL`), if any.
pub fn endpoint_from_env() -> Option<String> {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"].into_iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// Whether `url` is on this machine (DynamoDB Local): the configuration's one loopback test.
pub use shared::config::is_loopback_url as is_loopback;

/// A DynamoDB client as the environment configures it: against an endpoint on this machine,
/// the emulators' configuration (dummy credentials, generous timeouts); otherwise AWS's
/// (credentials, region and endpoint from the usual variables and files).
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = match endpoint_from_env() {
        Some(endpoint) if is_loopback(&endpoint) => aws::emulator_sdk_config().await,
        _ => aws::sdk_config().await,
    };
    aws::dynamodb_client(&config)
}

#[cfg(test)]
mod tests {
    use shared::fixtures::Fixtures;

    #[test]
    fn demo_jsonl_is_the_local_servers_demo_set() {
        let file = Fixtures::parse_any(include_str!("../demo.jsonl")).expect("admin/demo.jsonl is valid");
        let demo = Fixtures::demo();
        assert_eq!((file.accounts, file.services), (demo.accounts, demo.services));
    }
}
