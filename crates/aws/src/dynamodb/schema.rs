//! The table, defined once: string keys `pk` (partition) and `sk` (sort), on-demand
//! capacity, TTL on `ttl`, two sparse global secondary indexes, every attribute projected:
//! `due` (`due_pk`, `due_sk`) of the pending requests by expiry and the unsettled mails, and
//! `by_type` (`type_pk`, `type_sk`) of the memberships by service type and name; a third,
//! `by_email` (`email_key`, keys only), of the accounts by address in lower case; and
//! a stream of the keys of every changed item (`KEYS_ONLY`: the mailer reads the mail item
//! itself). The SAM template declares the same table; docs/dynamodb.md describes it. Change all
//! three together.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification,
};

use super::errors::{build_error, classify};
use super::items::{DUE_INDEX, DUE_PK, DUE_SK, EMAIL_INDEX, EMAIL_KEY, PK, SK, TTL, TYPE_INDEX, TYPE_PK, TYPE_SK};
use contacts_app::ports::StoreError;

fn attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().map_err(build_error)
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(build_error)
}

fn all_attributes() -> Projection {
    Projection::builder().projection_type(ProjectionType::All).build()
}

/// The table's stream: the keys of each item written, for the mailer (its event source
/// mapping lets only the inserted `MAIL#` items through).
fn keys_only_stream() -> Result<StreamSpecification, StoreError> {
    StreamSpecification::builder().stream_enabled(true).stream_view_type(StreamViewType::KeysOnly).build().map_err(build_error)
}

/// The `CreateTable` call for the table `name`.
pub fn table_definition(client: &Client, name: &str) -> Result<CreateTableFluentBuilder, StoreError> {
    let due = GlobalSecondaryIndex::builder()
        .index_name(DUE_INDEX)
        .key_schema(key(DUE_PK, KeyType::Hash)?)
        .key_schema(key(DUE_SK, KeyType::Range)?)
        .projection(all_attributes())
        .build()
        .map_err(build_error)?;
    let by_type = GlobalSecondaryIndex::builder()
        .index_name(TYPE_INDEX)
        .key_schema(key(TYPE_PK, KeyType::Hash)?)
        .key_schema(key(TYPE_SK, KeyType::Range)?)
        .projection(all_attributes())
        .build()
        .map_err(build_error)?;
    let by_email = GlobalSecondaryIndex::builder()
        .index_name(EMAIL_INDEX)
        .key_schema(key(EMAIL_KEY, KeyType::Hash)?)
        .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
        .build()
        .map_err(build_error)?;
    Ok(client
        .create_table()
        .table_name(name)
        .attribute_definitions(attribute(PK)?)
        .attribute_definitions(attribute(SK)?)
        .attribute_definitions(attribute(DUE_PK)?)
        .attribute_definitions(attribute(DUE_SK)?)
        .attribute_definitions(attribute(TYPE_PK)?)
        .attribute_definitions(attribute(TYPE_SK)?)
        .attribute_definitions(attribute(EMAIL_KEY)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(due)
        .global_secondary_indexes(by_type)
        .global_secondary_indexes(by_email)
        .stream_specification(keys_only_stream()?)
        .billing_mode(BillingMode::PayPerRequest))
}

/// Refuses a table made before the `due` index: the sweep could not read it. It is not added
/// here with `UpdateTable`: DynamoDB Local reports an index added that way `CREATING` for good
/// and then fails every write to the table (`InternalFailure`). On AWS the template adds it.
async fn check_due_index(client: &Client, name: &str) -> Result<(), StoreError> {
    let output = client.describe_table().table_name(name).send().await.map_err(|e| classify("DescribeTable", e))?;
    let has = |index: &str| output.table().is_some_and(|t| t.global_secondary_indexes().iter().any(|i| i.index_name() == Some(index)));
    for (index, since) in [(DUE_INDEX, "the sweep"), (TYPE_INDEX, "service types"), (EMAIL_INDEX, "naming contacts by address")] {
        if !has(index) {
            return Err(StoreError::Failed(
                format!(
                    "table {name} has no `{index}` index (it predates {since}): delete it to have it made anew (DynamoDB Local), or deploy template.yaml (AWS)"
                )
                .into(),
            ));
        }
    }
    Ok(())
}

/// Creates the table `name` if it does not exist, waits until it and its index are active,
/// and turns TTL on for `ttl`; a table that exists without the `due` index is refused. Returns whether it created the table. For the local server and the tests;
/// in AWS the SAM template creates it.
pub async fn create_table_if_missing(client: &Client, name: &str) -> Result<bool, StoreError> {
    let created = match client.describe_table().table_name(name).send().await {
        Ok(_) => false,
        Err(error) if matches!(error.as_service_error(), Some(DescribeTableError::ResourceNotFoundException(_))) => {
            match table_definition(client, name)?.send().await {
                Ok(_) => true,
                // Someone else created it meanwhile: fine.
                Err(error) if error.as_service_error().and_then(|e| e.code()) == Some("ResourceInUseException") => false,
                Err(error) => return Err(classify("CreateTable", error)),
            }
        }
        Err(error) => return Err(classify("DescribeTable", error)),
    };
    wait_until_active(client, name).await?;
    check_due_index(client, name).await?;
    let ttl = TimeToLiveSpecification::builder().attribute_name(TTL).enabled(true).build().map_err(build_error)?;
    match client.update_time_to_live().table_name(name).time_to_live_specification(ttl).send().await {
        Ok(_) => {}
        // "TimeToLive is already enabled": as wanted.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.code() == Some("ValidationException") && e.message().is_some_and(|m| m.contains("already enabled"))) => {}
        Err(error) => return Err(classify("UpdateTimeToLive", error)),
    }
    Ok(created)
}

/// Whether the table `name` exists.
pub async fn table_exists(client: &Client, name: &str) -> Result<bool, StoreError> {
    match client.describe_table().table_name(name).send().await {
        Ok(_) => Ok(true),
        Err(error) if matches!(error.as_service_error(), Some(DescribeTableError::ResourceNotFoundException(_))) => Ok(false),
        Err(error) => Err(classify("DescribeTable", error)),
    }
}

/// Waits until the table and its secondary indexes are active.
async fn wait_until_active(client: &Client, name: &str) -> Result<(), StoreError> {
    for _ in 0..120 {
        let output = client.describe_table().table_name(name).send().await.map_err(|e| classify("DescribeTable", e))?;
        let table = output.table();
        let indexes_active = table.is_some_and(|t| t.global_secondary_indexes().iter().all(|i| i.index_status() == Some(&IndexStatus::Active)));
        if table.and_then(|t| t.table_status()) == Some(&TableStatus::Active) && indexes_active {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StoreError::Unavailable(format!("table {name} did not become active within a minute").into()))
}
