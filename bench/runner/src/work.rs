//! DynamoDB work per operation: the app (the same `Router` the functions run) on a
//! `DynamoStore` over DynamoDB Local, counted twice: by the store's own `metrics()` (calls
//! and summed capacity) and by an SDK interceptor that reads each answer's
//! `ConsumedCapacity` (so read and write units can be told apart for the cost).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::interceptors::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};
use bytes::Bytes;
use contacts_api::{ApiRequest, Caller, Router};
use contacts_app::App;
use contacts_app::config::Config;
use contacts_app::mail::Mail;
use contacts_app::ports::{MailError, Mailer, SystemClock};
use contacts_app::seed::Fixtures;
use contacts_aws::{DynamoStore, SesMailer, dynamodb, sdk};
use http::{HeaderMap, Method};
use lambda_harness::mail::token_in;
use serde_json::{Value, json};

/// One successful DynamoDB call: the operation, the capacity DynamoDB (Local) reported, and
/// for a transaction the write units by DynamoDB's published rules (see [`transaction_wru`]).
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: &'static str,
    pub reported: f64,
    pub by_rules: Option<f64>,
    pub items: Option<String>,
}

/// Each successful DynamoDB answer, in order.
#[derive(Debug, Clone, Default)]
pub struct CapacityLog {
    calls: Arc<Mutex<Vec<Call>>>,
    /// The transaction being sent (the app makes its DynamoDB calls one at a time).
    pending: Arc<Mutex<Option<(f64, String)>>>,
}

impl CapacityLog {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

fn units(capacity: &[ConsumedCapacity]) -> f64 {
    capacity.iter().filter_map(ConsumedCapacity::capacity_units).sum()
}

/// An item's size as DynamoDB bills it: the lengths of the attribute names and values
/// (a number: about one byte per two significant digits, plus one).
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.trim_start_matches('-').replace('.', "").trim_start_matches('0').len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| k.len() + value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// A transaction's write units by DynamoDB's published rules: 2 per KB (rounded up) of each
/// item put, 2 for each item deleted, updated or condition-checked (all ours are under 1 KB).
/// DynamoDB Local's own figure for a transaction does not follow them (2.0 for a create of
/// seven items; a 3-item one gives 6.0), so the cost uses this one.
fn transaction_wru(input: &TransactWriteItemsInput) -> (f64, String) {
    let (mut wru, mut puts, mut deletes, mut checks, mut updates, mut largest) = (0.0, 0, 0, 0, 0, 0);
    for item in input.transact_items() {
        if let Some(put) = item.put() {
            let size = item_size(put.item());
            largest = largest.max(size);
            wru += 2.0 * size.div_ceil(1024).max(1) as f64;
            puts += 1;
        } else if item.delete().is_some() {
            wru += 2.0;
            deletes += 1;
        } else if item.condition_check().is_some() {
            wru += 2.0;
            checks += 1;
        } else if item.update().is_some() {
            wru += 2.0;
            updates += 1;
        }
    }
    let mut parts = vec![format!("{puts} Put")];
    for (n, what) in [(deletes, "Delete"), (checks, "ConditionCheck"), (updates, "Update")] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    (wru, format!("{}; largest item {largest} B", parts.join(" + ")))
}

impl Intercept for CapacityLog {
    fn name(&self) -> &'static str {
        "CapacityLog"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        *self.pending.lock().unwrap() = context.input().downcast_ref::<TransactWriteItemsInput>().map(transaction_wru);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let pending = self.pending.lock().unwrap().take();
        let Some(Ok(output)) = context.output_or_error() else { return Ok(()) };
        let (operation, reported) = if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            ("GetItem", o.consumed_capacity().and_then(ConsumedCapacity::capacity_units).unwrap_or(0.0))
        } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
            ("Query", o.consumed_capacity().and_then(ConsumedCapacity::capacity_units).unwrap_or(0.0))
        } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
            ("BatchGetItem", units(o.consumed_capacity()))
        } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
            ("TransactWriteItems", units(o.consumed_capacity()))
        } else if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
            ("UpdateItem", o.consumed_capacity().and_then(ConsumedCapacity::capacity_units).unwrap_or(0.0))
        } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
            ("PutItem", o.consumed_capacity().and_then(ConsumedCapacity::capacity_units).unwrap_or(0.0))
        } else {
            ("other", 0.0)
        };
        let (by_rules, items) = match (operation, pending) {
            ("TransactWriteItems", Some((wru, items))) => (Some(wru), Some(items)),
            _ => (None, None),
        };
        self.calls.lock().unwrap().push(Call { operation, reported, by_rules, items });
        Ok(())
    }
}

fn is_read(operation: &str) -> bool {
    matches!(operation, "GetItem" | "Query" | "BatchGetItem")
}

/// Passes every mail on to SES (the emulator) and keeps a copy, to read tokens and count mails.
struct Recording {
    inner: SesMailer,
    sent: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl Mailer for Recording {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.inner.send(mail).await?;
        self.sent.lock().unwrap().push((mail.to.as_str().to_owned(), mail.text.clone()));
        Ok(())
    }
}

/// One operation's DynamoDB work.
#[derive(Debug, Clone)]
pub struct Work {
    pub operation: &'static str,
    pub status: u16,
    pub calls: u64,
    pub operations: Vec<&'static str>,
    pub read_units: f64,
    /// By DynamoDB's rules for transactions (see [`transaction_wru`]), as reported otherwise.
    pub write_units: f64,
    /// The write units DynamoDB Local reported.
    pub write_units_reported: f64,
    /// What each transaction held.
    pub transactions: Vec<String>,
    pub mails: usize,
    /// The target for `calls`, if it sets one.
    pub target: Option<u64>,
}

pub struct Bench {
    router: Router,
    store: Arc<DynamoStore>,
    log: CapacityLog,
    mailer: Arc<Recording>,
}

pub const ADA: &str = "ad1000-ovh";
pub const NED: &str = "ne4000-ovh";

impl Bench {
    /// A fresh table `table` in DynamoDB Local with the demo set (`contacts_app::seed`) and one
    /// service per name of `services` (Ada admin, Teo tech, Bea billing).
    pub async fn seeded(table: &str, services: &[String], public_base_url: &str) -> Bench {
        let sdk = sdk::emulator_sdk_config().await;
        let log = CapacityLog::default();
        let client = aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(log.clone()).build());
        dynamodb::create_table_if_missing(&client, table).await.unwrap_or_else(|e| panic!("cannot create table {table} in DynamoDB Local: {e}"));
        let store = Arc::new(DynamoStore::new(client, table));
        let mailer = Arc::new(Recording { inner: SesMailer::new(sdk::ses_client(&sdk), None), sent: Mutex::default() });
        let config = Config { public_base_url: public_base_url.to_owned(), ..Config::default() };
        let app = App::new(store.clone(), mailer.clone(), Arc::new(SystemClock), config);
        let mut fixtures = Fixtures::demo();
        let extra: Vec<Value> = services.iter().map(|name| json!({"name": name, "admin": ADA, "tech": "te2000-ovh", "billing": "bi3000-ovh"})).collect();
        fixtures.services.extend(Fixtures::parse(&json!({ "services": extra }).to_string()).expect("valid fixtures").services);
        fixtures.load(&app).await.expect("the fixtures load into DynamoDB Local");
        let bench = Bench { router: Router::new(app), store, log, mailer };
        bench.reset();
        bench
    }

    fn reset(&self) {
        self.store.reset_metrics();
        self.log.take();
    }

    pub async fn call(&self, method: Method, path: &str, caller: Option<&str>, body: Value) -> (u16, Value) {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path.to_owned(), None),
        };
        let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
        let request = ApiRequest { method, path, query, headers: HeaderMap::new(), body, caller: Caller::customer(caller), source: None };
        self.handle(request).await
    }

    pub async fn handle(&self, request: ApiRequest) -> (u16, Value) {
        let response = self.router.handle(request).await;
        let status = response.status().as_u16();
        (status, serde_json::from_slice(response.body()).unwrap_or(Value::Null))
    }

    /// Runs `call`, and counts what it did.
    pub async fn measure(&self, operation: &'static str, target: Option<u64>, call: impl std::future::Future<Output = (u16, Value)>) -> (Work, Value) {
        self.reset();
        let mails_before = self.mailer.sent.lock().unwrap().len();
        let (status, body) = call.await;
        let metrics = self.store.metrics();
        let log = self.log.take();
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            eprintln!("bench: {operation}: {log:?}");
        }
        let read_units: f64 = 0.0 + log.iter().filter(|c| is_read(c.operation)).map(|c| c.reported).sum::<f64>();
        let write_units: f64 = 0.0 + log.iter().filter(|c| !is_read(c.operation)).map(|c| c.by_rules.unwrap_or(c.reported)).sum::<f64>();
        let write_units_reported: f64 = 0.0 + log.iter().filter(|c| !is_read(c.operation)).map(|c| c.reported).sum::<f64>();
        let transactions = log.iter().filter_map(|c| c.items.clone()).collect();
        let mails = self.mailer.sent.lock().unwrap().len() - mails_before;
        // Two witnesses of the same answers: the store's sum and the interceptor's.
        assert!(
            (metrics.capacity_units - (read_units + write_units_reported)).abs() < 1e-6,
            "{operation}: capacity {} vs {read_units} + {write_units_reported}",
            metrics.capacity_units
        );
        let work = Work {
            operation,
            status,
            calls: metrics.calls,
            operations: metrics.operations,
            read_units,
            write_units,
            write_units_reported,
            transactions,
            mails,
            target,
        };
        (work, body)
    }

    /// Runs the mailer over the outbox (as the stream's mailer function does, in process), and
    /// counts what it did: `operation` names whose mails they are.
    pub async fn deliver(&self, operation: &'static str) -> Work {
        let app = self.router.app().clone();
        let (work, report) = self
            .measure(operation, None, async move {
                let report = app.deliver_outbox(contacts_app::ports::Clock::now(&SystemClock)).await.expect("the outbox is readable");
                (if report.interrupted { 503 } else { 200 }, json!({ "sent": report.sent, "settled": report.settled }))
            })
            .await;
        assert_eq!(work.status, 200, "{operation}: {report}");
        assert_eq!(report["sent"].as_u64(), Some(work.mails as u64), "{operation}: every mail it took went: {report}");
        work
    }

    /// The token last mailed to `address` for request `id`.
    pub fn token(&self, address: &str, id: &str) -> String {
        let sent = self.mailer.sent.lock().unwrap();
        let (_, text) = sent
            .iter()
            .rev()
            .find(|(to, text)| to == address && text.contains(id) && text.contains("#token="))
            .unwrap_or_else(|| panic!("no token mailed to {address} for {id}"));
        token_in(text).expect("a token")
    }

    /// Every operation the benchmark reports, on `service` and `other` (two fresh services):
    /// Ada asks for Ned as `service`'s tech contact; both accept (with a resend between);
    /// on `other`, Ned refuses.
    pub async fn operations(&self, service: &str, other: &str) -> Vec<Work> {
        const GET: Method = Method::GET;
        const POST: Method = Method::POST;
        let mut all = Vec::new();
        let (work, created) =
            self.measure("create", Some(2), self.call(POST, &format!("/v1/services/{service}/contact-changes"), Some(ADA), json!({"tech": NED}))).await;
        assert_eq!(work.status, 201, "create: {created}");
        let id = created["requests"][0]["id"].as_str().expect("the new request's id").to_owned();
        all.push(work);
        all.push(self.deliver("mailer: create's 3 mails").await);

        let (work, _) = self.measure("list (my requests)", Some(1), self.call(GET, "/v1/me/contact-changes", Some(NED), Value::Null)).await;
        all.push(work);
        let (work, _) = self.measure("get (a request)", Some(1), self.call(GET, &format!("/v1/contact-changes/{id}"), Some(NED), Value::Null)).await;
        all.push(work);
        let (work, _) = self.measure("get my profile", Some(1), self.call(GET, "/v1/me", Some(ADA), Value::Null)).await;
        all.push(work);

        let token = self.token("ada@example.com", &id);
        let (work, body) =
            self.measure("first accept", Some(2), self.call(POST, &format!("/v1/contact-changes/{id}/accept"), Some(ADA), json!({"token": token}))).await;
        assert_eq!(work.status, 200, "first accept: {body}");
        all.push(work);

        let (work, body) = self.measure("resend", Some(2), self.call(POST, &format!("/v1/contact-changes/{id}/resend"), Some(ADA), json!({}))).await;
        assert_eq!(work.status, 202, "resend: {body}");
        all.push(work);
        all.push(self.deliver("mailer: resend's mail").await);

        let token = self.token("ned@example.com", &id);
        let (work, body) =
            self.measure("last accept", Some(2), self.call(POST, &format!("/v1/contact-changes/{id}/accept"), Some(NED), json!({"token": token}))).await;
        assert_eq!(work.status, 200, "last accept: {body}");
        assert_eq!(body["state"], "done", "the last accept applies the change");
        all.push(work);
        all.push(self.deliver("mailer: done's 3 mails").await);

        let (_, created) = self.call(POST, &format!("/v1/services/{other}/contact-changes"), Some(ADA), json!({"tech": NED})).await;
        let other_id = created["requests"][0]["id"].as_str().expect("the other request's id").to_owned();
        self.deliver("mailer (not reported)").await;
        let token = self.token("ned@example.com", &other_id);
        let (work, body) =
            self.measure("refuse", None, self.call(POST, &format!("/v1/contact-changes/{other_id}/refuse"), Some(NED), json!({"token": token}))).await;
        assert_eq!(work.status, 200, "refuse: {body}");
        all.push(work);
        all
    }
}
