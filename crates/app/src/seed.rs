//! Seeding a store: accounts and services in the fixtures' shape of SPEC §6, read from a file
//! ([`RecordReader`], [`Fixtures::parse_any`]) and loaded through the use cases
//! ([`Fixtures::load`]), and the demo set the local server starts with ([`Fixtures::demo`]).
//! What the tools share (`contacts-local --fixtures`, `contacts-admin import`, the tests' and
//! the benchmark's seeding); it sits above the use cases ([`crate::App`]), and the records it reads are the
//! domain's ([`Record`]), which the bulk adapter writes.
//!
//! Two file formats carry them, told apart by their first line ([`RecordReader`]):
//!
//! - the fixtures document: `{"accounts": [...], "services": [...]}` (SPEC §6), read whole;
//! - JSON Lines: one record per line, `{"kind": "account", "id", "name", "email", "language",
//!   "payment_status"}` or `{"kind": "service", "name", "admin", "tech", "billing"}`, read one
//!   line at a time, so that a file of any size is read in bounded memory.
//!
//! Validation is the domain's own: a record is deserialized into [`Account`] or [`Service`],
//! which refuse invalid ids, names, emails and unknown fields. Every invalid record is told
//! with its place in the file ([`Location`]) and the reason.

use std::fmt;
use std::io::{self, BufRead, Read};

use serde::Deserialize;
use serde_json::Value;

use crate::{App, Error};
use contacts_domain::{Account, Record, Service, ServiceName};

/// How many services a load writes at once.
const LOAD_CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub services: Vec<Service>,
}

impl Fixtures {
    /// The fixtures document only (SPEC §6's shape).
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// A fixtures document or JSON Lines (see the module's documentation), in full: every
    /// invalid record is listed in the error.
    pub fn parse_any(text: &str) -> Result<Self, FixturesError> {
        let mut fixtures = Fixtures::default();
        let mut rejected = Vec::new();
        for entry in RecordReader::new(text.as_bytes()).map_err(|e| FixturesError { rejected: vec![Rejected::io(e)] })? {
            match entry {
                Ok((_, Record::Account(account))) => fixtures.accounts.push(account),
                Ok((_, Record::Service(service))) => fixtures.services.push(service),
                Err(ReadError::Invalid(invalid)) => rejected.push(invalid),
                Err(ReadError::Io(error)) => rejected.push(Rejected::io(error)),
            }
        }
        if rejected.is_empty() { Ok(fixtures) } else { Err(FixturesError { rejected }) }
    }

    /// The demo set: a domain and a VPS, four people, one of them overdue.
    pub fn demo() -> Self {
        Self::parse(DEMO).expect("the demo fixtures are valid")
    }

    /// Loads every account, then every service, into the app's store.
    pub async fn load(&self, app: &App) -> Result<(), Error> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        for account in &self.accounts {
            app.put_account(account).await?;
        }
        // The services a few at once (each is its own read and write), unless one is named
        // twice: then in the file's order, so that the last one stands.
        let mut names: Vec<&ServiceName> = self.services.iter().map(|service| &service.name).collect();
        names.sort();
        names.dedup();
        let at_once = if names.len() == self.services.len() { LOAD_CONCURRENCY } else { 1 };
        stream::iter(&self.services).map(|service| app.put_service(service)).buffer_unordered(at_once).try_collect::<Vec<_>>().await?;
        Ok(())
    }
}

/// Why a fixtures file was refused: each invalid record, where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixturesError {
    pub rejected: Vec<Rejected>,
}

impl fmt::Display for FixturesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 10;
        for (i, rejected) in self.rejected.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", rejected.location, rejected.reason)?;
        }
        if self.rejected.len() > SHOWN {
            write!(f, "; and {} more", self.rejected.len() - SHOWN)?;
        }
        Ok(())
    }
}

impl std::error::Error for FixturesError {}

/// Where a record is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// A line of JSON Lines, from 1.
    Line(u64),
    /// An entry of a fixtures document's `accounts` or `services` list, from 0.
    Entry { list: &'static str, index: usize },
    /// The fixtures document as a whole.
    Document,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(f, "line {line}"),
            Location::Entry { list, index } => write!(f, "{list}[{index}]"),
            Location::Document => f.write_str("the document"),
        }
    }
}

/// An invalid record: where, why, and its text (the line as it was, or a document's entry as
/// a JSON line with its `kind`), for a file of rejects that can be fixed and imported again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub location: Location,
    pub reason: String,
    pub text: String,
}

impl Rejected {
    pub fn new(location: Location, reason: impl Into<String>, text: impl Into<String>) -> Self {
        Self { location, reason: reason.into(), text: text.into() }
    }

    fn io(error: io::Error) -> Self {
        Self::new(Location::Document, format!("cannot be read: {error}"), "")
    }
}

#[derive(Debug)]
pub enum ReadError {
    /// This record is invalid; the next ones are still read.
    Invalid(Rejected),
    /// The file could not be read any further.
    Io(io::Error),
}

/// The two formats of a fixtures file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Document,
}

/// A line longer than this is refused without being held in memory (a record is well under
/// 1 KiB: ids, a name of at most 200 characters, an email, a service name of at most 253).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A fixtures document is read whole, whatever its layout (`json.dump` writes it on one line),
/// up to this size: some 400,000 records. Above it, JSON Lines, which is read a record at a time.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Reads the records of a fixtures file one at a time, each with its [`Location`].
///
/// The format is told by the first non-blank line: it starts a fixtures document when it is
/// a JSON object without `kind` that has `accounts` or `services` (or is `{}`), or when it is
/// the start of one (`{` alone, or `{"accounts"...`/`{"services"...` not yet closed).
/// Anything else is JSON Lines, where a bad first line is reported as line 1 like any other.
/// JSON Lines are streamed; a document is read whole, up to [`MAX_DOCUMENT_BYTES`].
pub struct RecordReader<R> {
    input: R,
    format: Format,
    /// The first non-blank line, read to tell the format, and its number.
    first: Option<(u64, Vec<u8>, bool)>,
    line: u64,
    /// A document's entries, once read.
    entries: std::vec::IntoIter<Result<(Location, Record), Rejected>>,
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(mut input: R) -> io::Result<Self> {
        if peeks_document(&mut input)? {
            let mut text = Vec::new();
            (&mut input).take(MAX_DOCUMENT_BYTES as u64 + 1).read_to_end(&mut text)?;
            let entries = if text.len() > MAX_DOCUMENT_BYTES {
                let reason = format!("larger than {} MiB: write it as JSON Lines, which is read a record at a time", MAX_DOCUMENT_BYTES >> 20);
                vec![Err(Rejected::new(Location::Document, reason, ""))]
            } else {
                document_entries(&strip_bom(text))
            };
            return Ok(Self { input, format: Format::Document, first: None, line: 0, entries: entries.into_iter() });
        }
        let mut line = 0;
        let mut first = None;
        while let Some((bytes, too_long)) = read_line(&mut input)? {
            line += 1;
            let bytes = if line == 1 { strip_bom(bytes) } else { bytes };
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                first = Some((line, bytes, too_long));
                break;
            }
        }
        Ok(Self { input, format: Format::JsonLines, first, line, entries: Vec::new().into_iter() })
    }

    pub fn format(&self) -> Format {
        self.format
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<(Location, Record), ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.format == Format::Document {
            return self.entries.next().map(|entry| entry.map_err(ReadError::Invalid));
        }
        let (number, bytes, too_long) = match self.first.take() {
            Some(first) => first,
            None => loop {
                match read_line(&mut self.input) {
                    Ok(Some((bytes, too_long))) => {
                        self.line += 1;
                        if !bytes.iter().all(u8::is_ascii_whitespace) {
                            break (self.line, bytes, too_long);
                        }
                    }
                    Ok(None) => return None,
                    Err(error) => return Some(Err(ReadError::Io(error))),
                }
            },
        };
        Some(parse_line(number, bytes, too_long).map_err(ReadError::Invalid))
    }
}

fn strip_bom(bytes: Vec<u8>) -> Vec<u8> {
    match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    }
}

/// The next line without its line ending, and whether it was cut at [`MAX_LINE_BYTES`] (the
/// rest of it is skipped, never held); `None` at the end of the input.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<(Vec<u8>, bool)>> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            break;
        }
        read_any = true;
        let (taken, done) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        let content = &available[..if done { taken - 1 } else { taken }];
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        if content.len() > room {
            too_long = true;
        }
        line.extend_from_slice(&content[..content.len().min(room)]);
        input.consume(taken);
        if done {
            break;
        }
    }
    if !read_any {
        return Ok(None);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some((line, too_long)))
}

/// Whether `input` starts a fixtures document, told from its first buffered bytes without
/// consuming any: the first non-blank line, as far as the buffer holds it (a one-line
/// document may be far longer than any line of JSON Lines).
fn peeks_document(input: &mut impl BufRead) -> io::Result<bool> {
    let buffer = input.fill_buf()?;
    let buffer = buffer.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buffer);
    let start = buffer.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(buffer.len());
    let rest = &buffer[start..];
    let line = &rest[..rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len())];
    Ok(!line.is_empty() && starts_document(line))
}

/// Whether the first non-blank line starts a fixtures document (see [`RecordReader`]).
fn starts_document(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) {
        return !object.contains_key("kind") && (object.is_empty() || object.contains_key("accounts") || object.contains_key("services"));
    }
    match text.strip_prefix('{').map(str::trim_start) {
        Some(rest) => rest.is_empty() || rest.starts_with("\"accounts\"") || rest.starts_with("\"services\""),
        None => false,
    }
}

fn parse_line(number: u64, bytes: Vec<u8>, too_long: bool) -> Result<(Location, Record), Rejected> {
    let location = Location::Line(number);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            return Err(Rejected::new(location, "not UTF-8 text", text));
        }
    };
    if too_long {
        return Err(Rejected::new(location, format!("longer than {MAX_LINE_BYTES} bytes: not a record"), text));
    }
    match serde_json::from_str::<Record>(&text) {
        Ok(record) => Ok((location, record)),
        Err(error) => Err(Rejected::new(location, reason(&error), text)),
    }
}

/// A serde_json error as a reason: without "at line 1 column N" (a line is its own
/// document), but with the column where the JSON itself is broken.
fn reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(head, _)| head);
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => format!("not valid JSON: {message} (column {})", error.column()),
        _ => message.to_owned(),
    }
}

/// The fixtures document's shape, each entry still raw so that one bad entry does not hide
/// the others.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    #[serde(default)]
    accounts: Vec<Value>,
    #[serde(default)]
    services: Vec<Value>,
}

fn document_entries(text: &[u8]) -> Vec<Result<(Location, Record), Rejected>> {
    let document: RawDocument = match serde_json::from_slice(text) {
        Ok(document) => document,
        Err(error) => {
            let message = error.to_string();
            return vec![Err(Rejected::new(Location::Document, format!("not a fixtures document: {message}"), ""))];
        }
    };
    let entries = |list: &'static str, kind: &str, values: Vec<Value>| {
        let kind = kind.to_owned();
        values.into_iter().enumerate().map(move |(index, value)| {
            let location = Location::Entry { list, index };
            // As a line of JSON Lines, `kind` first, so that a file of rejects can be fixed
            // and imported.
            let line = match &value {
                Value::Object(object) if !object.contains_key("kind") && !object.is_empty() => {
                    format!("{{\"kind\":\"{kind}\",{}", &value.to_string()[1..])
                }
                Value::Object(object) if object.is_empty() => format!("{{\"kind\":\"{kind}\"}}"),
                other => other.to_string(),
            };
            let parsed = if kind == "account" {
                serde_json::from_value::<Account>(value).map(Record::Account)
            } else {
                serde_json::from_value::<Service>(value).map(Record::Service)
            };
            parsed.map(|record| (location, record)).map_err(|error| Rejected::new(location, reason(&error), line))
        })
    };
    entries("accounts", "account", document.accounts).chain(entries("services", "service", document.services)).collect()
}

const DEMO: &str = r#"{
  "accounts": [
    {"id": "ad1000-ovh", "name": "Ada Admin", "email": "ada@example.com", "language": "en", "payment_status": "ok"},
    {"id": "te2000-ovh", "name": "Teo Tecnico", "email": "teo@example.it", "language": "it", "payment_status": "ok"},
    {"id": "bi3000-ovh", "name": "Bea Billing", "email": "bea@example.fr", "language": "fr", "payment_status": "ok"},
    {"id": "ne4000-ovh", "name": "Ned Newcomer", "email": "ned@example.com", "language": "en", "payment_status": "ok"},
    {"id": "ov5000-ovh", "name": "Otto Overdue", "email": "otto@example.com", "language": "en", "payment_status": "overdue"}
  ],
  "services": [
    {"name": "example.com", "admin": "ad1000-ovh", "tech": "te2000-ovh", "billing": "bi3000-ovh"},
    {"name": "vps-42.example.net", "admin": "ad1000-ovh", "tech": "ad1000-ovh", "billing": "ad1000-ovh"}
  ]
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    type Entries = Vec<Result<(Location, Record), String>>;

    fn read(text: &str) -> (Format, Entries) {
        let reader = RecordReader::new(text.as_bytes()).unwrap();
        let format = reader.format();
        let entries = reader
            .map(|entry| match entry {
                Ok(ok) => Ok(ok),
                Err(ReadError::Invalid(rejected)) => Err(format!("{}: {}", rejected.location, rejected.reason)),
                Err(ReadError::Io(error)) => Err(error.to_string()),
            })
            .collect();
        (format, entries)
    }

    #[test]
    fn the_demo_document_and_its_json_lines_read_alike() {
        let demo = Fixtures::demo();
        let lines: String = demo
            .accounts
            .iter()
            .cloned()
            .map(Record::Account)
            .chain(demo.services.iter().cloned().map(Record::Service))
            .map(|record| record.to_line() + "\n")
            .collect();
        assert!(lines.starts_with(r#"{"kind":"account","id":"ad1000-ovh""#), "{lines}");
        let from_lines = Fixtures::parse_any(&lines).unwrap();
        let from_document = Fixtures::parse_any(DEMO).unwrap();
        assert_eq!((from_lines.accounts, from_lines.services), (demo.accounts.clone(), demo.services.clone()));
        assert_eq!((from_document.accounts, from_document.services), (demo.accounts, demo.services));
        assert_eq!(read(DEMO).0, Format::Document);
        assert_eq!(read(&lines).0, Format::JsonLines);
        let one_line_document = serde_json::to_string(&serde_json::from_str::<Value>(DEMO).unwrap()).unwrap();
        assert_eq!(read(&one_line_document).0, Format::Document);
        assert_eq!(read("{}").0, Format::Document);
        assert_eq!(read("").1.len(), 0);
    }

    #[test]
    fn every_bad_line_is_told_with_its_number_and_reason_and_the_good_ones_still_read() {
        let text = concat!(
            "\u{feff}{\"kind\":\"account\",\"id\":\"aa1-ovh\",\"name\":\"A\",\"email\":\"a@example.com\"}\r\n",
            "\n",
            "{\"kind\":\"account\",\"id\":\"nope\",\"name\":\"B\",\"email\":\"b@example.com\"}\n",
            "{\"kind\":\"service\",\"name\":\"x.com\",\"admin\":\"aa1-ovh\",\"tech\":\"aa1-ovh\",\"billing\":\"aa1-ovh\",\"owner\":\"z\"}\n",
            "{\"kind\":\"robot\",\"name\":\"r\"}\n",
            "{\"id\":\"aa2-ovh\",\"name\":\"C\",\"email\":\"c@example.com\"}\n",
            "{\"kind\":\"account\",\"id\":\"aa3-ovh\",\"name\":\"D\",\"email\":\"not-an-email\"}\n",
            "{\"kind\":\"account\",\"id\":\"aa4-ovh\",\n",
            "[1, 2]\n",
            "{\"kind\":\"service\",\"name\":\"Y.COM\",\"admin\":\"AA1-OVH\",\"tech\":\"aa1-ovh\",\"billing\":\"aa1-ovh\"}",
        );
        let (format, entries) = read(text);
        assert_eq!(format, Format::JsonLines);
        let errors: Vec<&String> = entries.iter().filter_map(|e| e.as_ref().err()).collect();
        assert_eq!(errors.len(), 7, "{errors:#?}");
        let expect = [
            ("line 3: ", "not a customer id"),
            ("line 4: ", "unknown field `owner`"),
            ("line 5: ", "unknown variant `robot`"),
            ("line 6: ", "missing field `kind`"),
            ("line 7: ", "not an email address"),
            ("line 8: ", "not valid JSON"),
            ("line 9: ", "invalid type"),
        ];
        for (error, (at, why)) in errors.iter().zip(expect) {
            assert!(error.starts_with(at) && error.contains(why), "{error:?} should say {at}{why}");
            assert!(!error.contains("at line 1"), "{error:?}");
        }
        let good: Vec<(Location, Record)> = entries.into_iter().filter_map(Result::ok).collect();
        assert_eq!(good.len(), 2);
        assert_eq!(good[0].0, Location::Line(1));
        assert_eq!(good[1].0, Location::Line(10));
        let Record::Service(service) = &good[1].1 else { panic!("a service") };
        assert_eq!((service.name.as_str(), service.contacts.admin.as_str()), ("y.com", "aa1-ovh"));
    }

    #[test]
    fn a_document_tells_each_bad_entry_and_gives_it_back_as_a_line() {
        let text = r#"{
          "accounts": [{"id": "aa1-ovh", "name": "A", "email": "a@example.com"}, {"id": "aa2-ovh", "name": "", "email": "b@example.com"}],
          "services": [{"name": "x.com", "admin": "aa1-ovh", "tech": "aa1-ovh"}]
        }"#;
        let reader = RecordReader::new(text.as_bytes()).unwrap();
        assert_eq!(reader.format(), Format::Document);
        let rejected: Vec<Rejected> = reader
            .filter_map(|entry| match entry {
                Err(ReadError::Invalid(rejected)) => Some(rejected),
                _ => None,
            })
            .collect();
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].location, Location::Entry { list: "accounts", index: 1 });
        assert_eq!(rejected[1].location.to_string(), "services[0]");
        assert!(rejected[1].reason.contains("missing field `billing`"), "{}", rejected[1].reason);
        assert!(rejected[1].text.starts_with(r#"{"kind":"service""#), "{}", rejected[1].text);
        let error = Fixtures::parse_any(text).unwrap_err().to_string();
        assert!(error.starts_with("accounts[1]: a name is") && error.contains("; services[0]: missing field"), "{error}");
        assert!(Fixtures::parse_any(r#"{"accounts": [], "people": []}"#).unwrap_err().to_string().contains("unknown field `people`"));
    }

    #[test]
    fn a_document_on_one_line_far_longer_than_a_line_of_json_lines_is_read_whole() {
        // As `json.dump` writes it: one line, 3,200 services (well over 64 KiB).
        let accounts = serde_json::json!([{"id": "aa1-ovh", "name": "A", "email": "a@example.com"}]);
        let services: Vec<_> =
            (0..3200).map(|n| serde_json::json!({"name": format!("s{n}.example.com"), "admin": "aa1-ovh", "tech": "aa1-ovh", "billing": "aa1-ovh"})).collect();
        let text = serde_json::json!({"accounts": accounts, "services": services}).to_string();
        assert!(text.len() > 2 * MAX_LINE_BYTES && !text.contains('\n'));
        let (format, entries) = read(&text);
        assert_eq!(format, Format::Document);
        assert_eq!(entries.iter().filter(|e| e.is_ok()).count(), 3201, "every record, none refused");
        let fixtures = Fixtures::parse_any(&text).unwrap();
        assert_eq!((fixtures.accounts.len(), fixtures.services.len()), (1, 3200));
        // Through a small buffer too, as from a file.
        let reader = RecordReader::new(std::io::BufReader::with_capacity(64, text.as_bytes())).unwrap();
        assert_eq!((reader.format(), reader.count()), (Format::Document, 3201));
    }

    #[test]
    fn an_overlong_line_is_refused_without_being_held_whole() {
        let long = format!("{{\"kind\":\"account\",\"name\":\"{}\"}}\n", "x".repeat(3 * MAX_LINE_BYTES));
        let text = format!("{long}{}\n", Record::Service(Fixtures::demo().services[0].clone()).to_line());
        let reader = RecordReader::new(io::BufReader::with_capacity(1024, text.as_bytes())).unwrap();
        let entries: Vec<_> = reader.collect();
        assert_eq!(entries.len(), 2);
        match &entries[0] {
            Err(ReadError::Invalid(rejected)) => {
                assert!(rejected.reason.contains("longer than"), "{}", rejected.reason);
                assert_eq!(rejected.text.len(), MAX_LINE_BYTES);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&entries[1], Ok((Location::Line(2), Record::Service(_)))));
    }
}
