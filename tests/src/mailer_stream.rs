//! `Backend::Aws`'s mailer: the table's stream, read from DynamoDB Local, handed in process to
//! the mailer function's own handler (`contacts_lambda::mailer::handle`) as template.yaml's
//! `MailerStream` hands it to `MailerFunction`: only the records its filter lets through (the
//! mail items' `INSERT`s), in batches of its `BatchSize`, oldest first, each record once.
//!
//! A record the handler answers as failed (the mail service down or throttling) is handed
//! again, before the new ones, by the next delivery, as Lambda retries a batch from its failed
//! record; without Lambda's bound on those retries, which the mail's own attempts
//! (`contacts_app::MAIL_ATTEMPTS`) end anyway: a mail given up is settled, and its record then
//! succeeds. A delivery reads only what was written since the last one: it costs a few calls of
//! the Streams API however many mails are in flight, where a pass over the outbox
//! (`App::deliver_outbox`, the sweep's redrive, `TestApp::outbox_pass`) queries the `due` index.

use std::collections::BTreeSet;
use std::future::Future;

use contacts_lambda::stream::BatchResponse;
use serde_json::Value;

use crate::streams::{self, StreamPoller, StreamRecord};
use crate::template::{StreamMapping, Template};

/// The mailer's event source mapping, as the tests' in-process mailer reads it.
pub struct MailerStream {
    /// DynamoDB Local, which serves the Streams API too.
    endpoint: String,
    table: String,
    /// `MailerStream` of template.yaml: its filter and its batch size.
    mapping: &'static StreamMapping,
    /// Made on the first delivery, from the table's stream ARN.
    poller: Option<StreamPoller>,
    /// The records the handler answered as failed, oldest first: handed again, first, next time.
    failed: Vec<StreamRecord>,
}

impl MailerStream {
    /// The mapping of `table`'s stream (in DynamoDB Local at `endpoint`) to the mailer.
    pub fn new(endpoint: &str, table: &str) -> Self {
        let mapping = Template::deployed().stream_mapping_of("mailer");
        Self { endpoint: endpoint.to_owned(), table: table.to_owned(), mapping, poller: None, failed: Vec::new() }
    }

    /// Hands the records answered as failed last time, then every mail record written since the
    /// last delivery, to `handle`: one Lambda event a batch, the partial batch response back.
    pub async fn deliver<F, Fut>(&mut self, mut handle: F)
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = BatchResponse>,
    {
        let mut records = std::mem::take(&mut self.failed);
        records.extend(self.poll().await);
        for batch in records.chunks(self.mapping.batch_size) {
            let response = handle(streams::lambda_event(batch)).await;
            let failed: BTreeSet<&str> = response.batch_item_failures.iter().map(|failure| failure.item_identifier.as_str()).collect();
            self.failed.extend(batch.iter().filter(|record| failed.contains(record.sequence_number())).cloned());
        }
    }

    /// The records written since the last poll that the mapping's filter lets through.
    async fn poll(&mut self) -> Vec<StreamRecord> {
        let mapping = self.mapping;
        if self.poller.is_none() {
            self.poller = Some(streams::poller(&self.endpoint, &self.table).await);
        }
        let poller = self.poller.as_mut().expect("made above");
        poller.poll().await.into_iter().filter(|record| mapping.lets_through(&record.record)).collect()
    }
}
