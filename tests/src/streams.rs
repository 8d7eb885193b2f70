//! A table's stream as Lambda hands it to the mailer, read for real from DynamoDB Local.
//!
//! DynamoDB Local serves the DynamoDB Streams API on its own port (docs/dynamodb.md, the stream),
//! and the workspace links no Streams client (the AWS SDK's is a crate of its own): this module
//! speaks the API itself, as the SDK would, with plain HTTP POSTs of
//! `application/x-amz-json-1.0` bodies, `X-Amz-Target: DynamoDBStreams_20120810.<Op>` and a
//! SigV4 `Authorization` header with the dummy secret. DynamoDB Local does not check the
//! signature, but it reads the access key and the region from the header's credential scope to
//! pick its database unless started with `-sharedDb`, as scripts/emulators does: which is what
//! lets a poller sign as the function it feeds (and each function as itself) and still read
//! the tables the tests' SDK clients made with their key (`local`). The region is theirs too
//! (`AWS_REGION`, else `eu-west-1`).
//!
//! [`stream_arn`]: `DescribeTable` (the table's `LatestStreamArn`). [`StreamPoller`]: what an
//! event source mapping's poller does, signing as the function it feeds (Lambda reads the
//! stream with the function's role): `DescribeStream` (the shards, every page),
//! `GetShardIterator` (`TRIM_HORIZON`, once per shard) and `GetRecords` from where it stopped
//! until a shard has nothing more: every record not handed over yet, oldest first.
//! [`poller`] is such a reader with the tests' own key (the in-process mailer's,
//! [`crate::mailer_stream`]), [`read_stream`] its first poll of every record. [`lambda_event`]
//! wraps records as Lambda's DynamoDB event source does (`{"Records": [...]}`, each with its
//! `eventSourceARN`); which records a function gets is its mapping's filter, read from
//! template.yaml ([`crate::template::StreamMapping::lets_through`]).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The tests' dummy credentials (`aws::emulator_sdk_config`, scripts/emulators).
const ACCESS_KEY: &str = "local";
const SECRET_KEY: &str = "local";
/// The signing name of DynamoDB and of DynamoDB Streams alike.
const SERVICE: &str = "dynamodb";

/// One record of a table's stream, as `GetRecords` gives it.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    /// The stream it was read from (Lambda's `eventSourceARN`).
    pub stream_arn: String,
    pub record: Value,
}

impl StreamRecord {
    pub fn event_name(&self) -> &str {
        self.record["eventName"].as_str().unwrap_or_default()
    }

    /// The string key `name` (`pk`, `sk`) of the item.
    pub fn key(&self, name: &str) -> &str {
        self.record["dynamodb"]["Keys"][name]["S"].as_str().unwrap_or_default()
    }

    pub fn sequence_number(&self) -> &str {
        self.record["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default()
    }

    /// The record as Lambda's event source mapping delivers it: `GetRecords`' record and the
    /// stream's ARN as `eventSourceARN`.
    pub fn as_lambda_record(&self) -> Value {
        let mut record = self.record.clone();
        record["eventSourceARN"] = json!(self.stream_arn);
        record
    }
}

/// One Lambda DynamoDB event of `records`, in their order.
pub fn lambda_event<'a>(records: impl IntoIterator<Item = &'a StreamRecord>) -> Value {
    json!({ "Records": records.into_iter().map(StreamRecord::as_lambda_record).collect::<Vec<_>>() })
}

/// Every record of `table`'s stream in DynamoDB Local at `endpoint` (`http://host:port`),
/// shard by shard, oldest first. Panics, saying why, if the table has no stream.
pub async fn read_stream(endpoint: &str, table: &str) -> Vec<StreamRecord> {
    poller(endpoint, table).await.poll().await
}

/// A reader of `table`'s stream in DynamoDB Local at `endpoint` that signs with the tests' own
/// key, from the stream's first record: the in-process mailer's (`Backend::Aws`), as a mapping's
/// poller reads it for its function. Panics, saying why, if the table has no stream.
pub async fn poller(endpoint: &str, table: &str) -> StreamPoller {
    StreamPoller::new(endpoint, ACCESS_KEY, &stream_arn(endpoint, table).await)
}

/// The ARN of `table`'s stream (what template.yaml's `!GetAtt ContactsTable.StreamArn` gives
/// a mapping), read with the tests' own key. Panics, saying why, if the table has no stream.
pub async fn stream_arn(endpoint: &str, table: &str) -> String {
    let described = StreamsClient::new(endpoint, ACCESS_KEY).call("DynamoDB_20120810.DescribeTable", &json!({ "TableName": table })).await;
    described["Table"]["LatestStreamArn"]
        .as_str()
        .unwrap_or_else(|| panic!("table {table} has no stream (made before it had one? delete it): {described}"))
        .to_owned()
}

/// An event source mapping's reader of one stream: each [`StreamPoller::poll`] gives the
/// records written since the last one, shard by shard, oldest first.
pub struct StreamPoller {
    client: StreamsClient,
    stream_arn: String,
    /// Where each shard met so far was left: the iterator to go on from, or `None` once the
    /// shard is closed and read to its end.
    shards: std::collections::BTreeMap<String, Option<String>>,
}

impl StreamPoller {
    /// A reader of `stream_arn` at `endpoint` that signs with `access_key`.
    pub fn new(endpoint: &str, access_key: &str, stream_arn: &str) -> Self {
        Self { client: StreamsClient::new(endpoint, access_key), stream_arn: stream_arn.to_owned(), shards: Default::default() }
    }

    /// The records not handed over yet.
    pub async fn poll(&mut self) -> Vec<StreamRecord> {
        let mut records = Vec::new();
        for shard in self.client.shards(&self.stream_arn).await {
            let iterator = match self.shards.get(&shard) {
                Some(left_at) => left_at.clone(),
                None => Some(self.first_iterator(&shard).await),
            };
            let (got, left_at) = self.read_shard(iterator).await;
            records.extend(got);
            self.shards.insert(shard, left_at);
        }
        records
    }

    async fn first_iterator(&self, shard: &str) -> String {
        let start = json!({ "StreamArn": self.stream_arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" });
        let answer = self.client.call("DynamoDBStreams_20120810.GetShardIterator", &start).await;
        answer["ShardIterator"].as_str().unwrap_or_else(|| panic!("no ShardIterator for {shard}: {answer}")).to_owned()
    }

    /// The records from `iterator` on, and the iterator to go on from next time.
    async fn read_shard(&self, mut iterator: Option<String>) -> (Vec<StreamRecord>, Option<String>) {
        let mut records = Vec::new();
        // An open shard always answers a next iterator: its end, for now, is an empty page.
        while let Some(current) = iterator {
            let page = self.client.call("DynamoDBStreams_20120810.GetRecords", &json!({ "ShardIterator": current })).await;
            let got = page["Records"].as_array().cloned().unwrap_or_default();
            iterator = page["NextShardIterator"].as_str().map(str::to_owned);
            if got.is_empty() {
                break;
            }
            records.extend(got.into_iter().map(|record| StreamRecord { stream_arn: self.stream_arn.clone(), record }));
        }
        (records, iterator)
    }
}

/// The least client of the Streams API (and of `DescribeTable`) on DynamoDB Local.
struct StreamsClient {
    /// `host:port`.
    authority: String,
    region: String,
    /// Who signs: the tests' dummy key, or a function's logical id.
    access_key: String,
}

impl StreamsClient {
    fn new(endpoint: &str, access_key: &str) -> Self {
        let authority = endpoint.strip_prefix("http://").unwrap_or_else(|| panic!("not an http:// endpoint: {endpoint}")).trim_end_matches('/').to_owned();
        let region = std::env::var("AWS_REGION").ok().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).unwrap_or_else(|| "eu-west-1".to_owned());
        Self { authority, region, access_key: access_key.to_owned() }
    }

    /// The ids of every shard of the stream, parents before children (`DescribeStream`'s
    /// order), every page of them.
    async fn shards(&self, stream_arn: &str) -> Vec<String> {
        let mut shards = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut input = json!({ "StreamArn": stream_arn });
            if let Some(last) = &after {
                input["ExclusiveStartShardId"] = json!(last);
            }
            let description = self.call("DynamoDBStreams_20120810.DescribeStream", &input).await["StreamDescription"].clone();
            shards.extend(description["Shards"].as_array().into_iter().flatten().filter_map(|s| s["ShardId"].as_str()).map(str::to_owned));
            after = description["LastEvaluatedShardId"].as_str().map(str::to_owned);
            if after.is_none() {
                return shards;
            }
        }
    }

    /// `POST /` of `input` as operation `target`, signed: the answer's JSON, or a panic with
    /// DynamoDB Local's error.
    async fn call(&self, target: &str, input: &Value) -> Value {
        let body = input.to_string();
        let amz_date = amz_date(OffsetDateTime::now_utc());
        let headers = [
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("host", self.authority.clone()),
            ("x-amz-date", amz_date.clone()),
            ("x-amz-target", target.to_owned()),
        ];
        let scope = Scope { access_key: &self.access_key, secret_key: SECRET_KEY, region: &self.region, service: SERVICE, amz_date: &amz_date };
        let authorization = scope.authorization("POST", "/", &headers, body.as_bytes());
        let mut request = String::from("POST / HTTP/1.0\r\n");
        let unsigned = [("authorization", authorization), ("content-length", body.len().to_string())];
        for (name, value) in headers.iter().chain(&unsigned) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        let (status, answer) =
            exchange(&self.authority, request.as_bytes()).await.unwrap_or_else(|e| panic!("{target} to DynamoDB Local at {}: {e}", self.authority));
        let answer: Value = serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{target}: not JSON ({e}): {}", String::from_utf8_lossy(&answer)));
        assert_eq!(status, 200, "{target} {input}: {answer}");
        answer
    }
}

/// One HTTP/1.0 exchange (so the answer is never chunked, and ends with the connection): the
/// status and the body, within 10 s.
async fn exchange(authority: &str, request: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        stream.write_all(request).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 10 s");
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), exchange).await.map_err(|_| timed_out())??;
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad HTTP answer: {what}"));
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| invalid("no header end"))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| invalid("status line"))?;
    Ok((status, response[split + 4..].to_vec()))
}

/// `20261202T001500Z`: SigV4's timestamp.
fn amz_date(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    at.to_offset(time::UtcOffset::UTC).format(&format).expect("a formattable date")
}

/// What a SigV4 signature is made with: the credentials, the scope, the request's timestamp.
struct Scope<'a> {
    access_key: &'a str,
    secret_key: &'a str,
    region: &'a str,
    service: &'a str,
    /// The `x-amz-date` header's value; the scope's date is its first 8 characters.
    amz_date: &'a str,
}

impl Scope<'_> {
    /// The `Authorization` header of a request with no query string, `headers` (lower-case
    /// names, every one signed, `host` and `x-amz-date` among them) and `body`.
    fn authorization(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> String {
        let mut headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.trim())).collect();
        headers.sort();
        let canonical_headers: String = headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
        let signed_headers = headers.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(";");
        let canonical_request = format!("{method}\n{path}\n\n{canonical_headers}\n{signed_headers}\n{}", hex(&Sha256::digest(body)));
        let date = &self.amz_date[..8];
        let credential_scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!("AWS4-HMAC-SHA256\n{}\n{credential_scope}\n{}", self.amz_date, hex(&Sha256::digest(canonical_request.as_bytes())));
        let mut key = hmac_sha256(format!("AWS4{}", self.secret_key).as_bytes(), date.as_bytes());
        for part in [self.region, self.service, "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
        format!("AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}", self.access_key)
    }
}

/// HMAC-SHA256 (RFC 2104) on the workspace's `sha2`.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_is_rfc_4231s() {
        // RFC 4231, test cases 2 and 6 (a key longer than the block).
        assert_eq!(hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_signature_is_aws_sigv4s() {
        // AWS's SigV4 test suite, get-vanilla.
        let scope = Scope {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
            amz_date: "20150830T123600Z",
        };
        let headers = [("host", "example.amazonaws.com".to_owned()), ("x-amz-date", "20150830T123600Z".to_owned())];
        assert_eq!(
            scope.authorization("GET", "/", &headers, b""),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        // A Streams call as this module sends it, as botocore's SigV4Auth signs the same request.
        let scope = Scope { access_key: "local", secret_key: "local", region: "eu-west-1", service: "dynamodb", amz_date: "20261202T001500Z" };
        let headers = [
            ("content-type", "application/x-amz-json-1.0".to_owned()),
            ("host", "127.0.0.1:8000".to_owned()),
            ("x-amz-date", "20261202T001500Z".to_owned()),
            ("x-amz-target", "DynamoDBStreams_20120810.DescribeStream".to_owned()),
        ];
        let body = br#"{"StreamArn":"arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x"}"#;
        assert_eq!(
            scope.authorization("POST", "/", &headers, body),
            "AWS4-HMAC-SHA256 Credential=local/20261202/eu-west-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
             Signature=5f71520fc2aff2b75065382855ee877bc2970be018524ecb47d382a1703d5373"
        );
        assert_eq!(amz_date(time::macros::datetime!(2026-12-02 00:15:00 UTC)), "20261202T001500Z");
    }

    #[test]
    fn a_record_becomes_lambdas_with_its_streams_arn() {
        let mail = StreamRecord {
            stream_arn: "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x".to_owned(),
            record: json!({"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "REQUEST#01J"}, "sk": {"S": "MAIL#0000000001#00"}}, "SequenceNumber": "7"}}),
        };
        let event = lambda_event([&mail]);
        assert_eq!(event["Records"][0]["eventSourceARN"], "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/x");
        assert_eq!((mail.key("pk"), mail.sequence_number()), ("REQUEST#01J", "7"));
    }
}
