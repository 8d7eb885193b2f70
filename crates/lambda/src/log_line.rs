//! The functions' JSON log line: `tracing_subscriber`'s JSON with the event's fields flattened
//! and one `span` object, which holds the fields of every span the line is in (the
//! invocation's, then each narrower one's: a mail's, a use case's, a store call's) and the name
//! of the narrowest. `tracing_subscriber`'s own `span` has the narrowest span's fields only: a
//! line in a use case's span would lose the invocation's `lambda_request_id`, which every line
//! of an invocation carries (docs/operations.md: `filter span.lambda_request_id = "…"`). The
//! Lambda runtime's own span calls that id `requestId`: it is written `lambda_request_id` too,
//! so that the runtime's lines (an event it cannot read, a handler's error) are found by the
//! same filter.

use std::fmt;

use serde::Serializer as _;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The format of [`crate`]'s log lines (with [`JsonFields`] for the spans' fields).
pub(crate) struct LogLine;

impl<S> FormatEvent<S, JsonFields> for LogLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, JsonFields>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let meta = event.metadata();
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let span = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current()).map(|narrowest| {
            let mut merged = Map::new();
            for span in narrowest.scope().from_root() {
                let extensions = span.extensions();
                let own = extensions.get::<FormattedFields<JsonFields>>().and_then(|f| serde_json::from_str::<Map<String, Value>>(f).ok());
                merged.extend(own.unwrap_or_default());
            }
            // The runtime's span names Lambda's request id `requestId`: one name on every line.
            if let Some(id) = merged.remove("requestId") {
                merged.entry("lambda_request_id").or_insert(id);
            }
            merged.insert("name".to_owned(), narrowest.name().into());
            merged
        });

        let mut line = Vec::new();
        let mut serializer = serde_json::Serializer::new(&mut line);
        let written: Result<(), serde_json::Error> = (|| {
            let mut map = serializer.serialize_map(None)?;
            map.serialize_entry("timestamp", &timestamp)?;
            map.serialize_entry("level", meta.level().as_str())?;
            for (name, value) in &fields.0 {
                map.serialize_entry(name, value)?;
            }
            map.serialize_entry("target", meta.target())?;
            if let Some(span) = &span {
                map.serialize_entry("span", span)?;
            }
            map.end()
        })();
        written.map_err(|_| fmt::Error)?;
        writeln!(writer, "{}", String::from_utf8_lossy(&line))
    }
}

/// An event's fields, in their order, as JSON values.
#[derive(Default)]
struct EventFields(Vec<(&'static str, Value)>);

impl EventFields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        self.0.push((name.strip_prefix("r#").unwrap_or(name), value));
    }
}

impl Visit for EventFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_line_in_a_narrower_span_still_has_the_invocations_fields() {
        let lines = Lines::default();
        let writer = lines.clone();
        let layer = tracing_subscriber::fmt::layer().fmt_fields(JsonFields::new()).event_format(LogLine).with_writer(move || writer.clone());
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        async {
            tracing::info!(count = 2_u64, "outside");
            async { tracing::warn!(error = "boom", "inside") }.instrument(tracing::info_span!("store", table = "t")).await;
        }
        .instrument(tracing::info_span!("invocation", lambda_request_id = "abc"))
        .await;
        async { tracing::error!("the runtime's line") }.instrument(tracing::info_span!("Lambda runtime invoke", requestId = "def")).await;
        tracing::info!("after");

        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!((lines[0]["message"].as_str(), lines[0]["count"].as_u64(), lines[0]["level"].as_str()), (Some("outside"), Some(2), Some("INFO")));
        assert_eq!(lines[0]["span"], serde_json::json!({"lambda_request_id": "abc", "name": "invocation"}));
        assert_eq!(lines[1]["span"], serde_json::json!({"lambda_request_id": "abc", "table": "t", "name": "store"}));
        assert_eq!((lines[1]["error"].as_str(), lines[1]["target"].as_str()), (Some("boom"), Some(module_path!())));
        assert_eq!(lines[2]["span"], serde_json::json!({"lambda_request_id": "def", "name": "Lambda runtime invoke"}), "one name for the request id");
        assert!(lines[3].get("span").is_none() && lines[3]["timestamp"].is_string());
    }
}
