//! The baseline of `scripts/bench`: the least a Rust function on `lambda_runtime` does. It
//! parses the event as JSON and answers a fixed HTTP API (payload 2.0) response, with the
//! workspace's release profile and the same single-threaded runtime as the functions, so
//! that what the functions cost beyond it is what they do: logging, configuration, SDK
//! clients, routing, DynamoDB.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": "{\"hello\":\"world\"}",
            "isBase64Encoded": false
        }))
    }))
    .await
}
