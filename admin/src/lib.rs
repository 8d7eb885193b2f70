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

/// Whether `url` is on this machine (DynamoDB Local).
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host =
        if rest.starts_with('[') { rest.split(']').next().map(|h| &h[1..]).unwrap_or_default() } else { rest.split([':', '/']).next().unwrap_or_default() };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

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

    #[test]
    fn an_endpoint_on_this_machine_is_told_from_one_on_aws() {
        for local in ["http://127.0.0.1:8000", "http://localhost:8000/", "http://[::1]:8000"] {
            assert!(super::is_loopback(local), "{local}");
        }
        for remote in ["https://dynamodb.eu-west-1.amazonaws.com", "http://127.0.0.1.example.com:80", "http://10.0.0.1:8000"] {
            assert!(!super::is_loopback(remote), "{remote}");
        }
    }
}
