//! What template.yaml says about how the functions are deployed, for the tests that run them
//! as deployed (`Backend::Lambda`, tests/tests/lambda_rie.rs): each function's logical id by
//! the binary it runs (the access key its bootstrap signs with, so that the recorder of the
//! calls knows who made each), and the event source mappings of the table's stream (which
//! function each feeds, in batches of how many, through which filter).
//!
//! Read line by line, as tests/tests/checks/routes_match_template.rs reads the routes: every
//! function names its binary in `Metadata.BuildProperties.Binary`, every mapping has one
//! `FunctionName: !Ref`, one `BatchSize:` and its filters as `- Pattern: '...'` lines. A
//! template that drifted from that shape fails here, loudly, rather than being read wrong.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::pattern::Pattern;

/// One `AWS::Lambda::EventSourceMapping` of the table's stream.
#[derive(Debug)]
pub struct StreamMapping {
    /// Its logical id (`MailerStream`).
    pub name: String,
    /// The logical id of the function it invokes (`MailerFunction`).
    pub function: String,
    /// The most records one invocation gets.
    pub batch_size: usize,
    /// `FilterCriteria.Filters`: a record goes to the function when any of them matches it.
    pub filters: Vec<Pattern>,
}

impl StreamMapping {
    /// Whether Lambda hands `record` (a stream record as `GetRecords` gives it) to the function.
    pub fn lets_through(&self, record: &serde_json::Value) -> bool {
        self.filters.iter().any(|filter| filter.matches(record))
    }
}

#[derive(Debug)]
pub struct Template {
    /// The logical id of each `AWS::Serverless::Function`, by its binary (`create` ->
    /// `CreateFunction`).
    functions: BTreeMap<String, String>,
    mappings: Vec<StreamMapping>,
}

impl Template {
    /// The workspace's template.yaml, read once.
    pub fn deployed() -> &'static Template {
        static TEMPLATE: OnceLock<Template> = OnceLock::new();
        TEMPLATE.get_or_init(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").join("template.yaml");
            Template::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        })
    }

    /// The logical id of the function whose binary is `binary`.
    pub fn logical_id(&self, binary: &str) -> &str {
        self.functions.get(binary).unwrap_or_else(|| panic!("template.yaml has no AWS::Serverless::Function with `Binary: {binary}`"))
    }

    /// The binary of the function `logical_id`.
    pub fn binary_of(&self, logical_id: &str) -> &str {
        let found = self.functions.iter().find(|(_, id)| *id == logical_id);
        found.map(|(binary, _)| binary.as_str()).unwrap_or_else(|| panic!("template.yaml has no function {logical_id} with a Binary"))
    }

    /// Every event source mapping of the table's stream, in the template's order.
    pub fn stream_mappings(&self) -> &[StreamMapping] {
        &self.mappings
    }

    /// The mapping that feeds the function whose binary is `binary`.
    pub fn stream_mapping_of(&self, binary: &str) -> &StreamMapping {
        let function = self.logical_id(binary);
        self.mappings.iter().find(|m| m.function == function).unwrap_or_else(|| panic!("no event source mapping of template.yaml invokes {function}"))
    }

    fn parse(text: &str) -> Template {
        let mut functions = BTreeMap::new();
        let mut mappings: Vec<StreamMapping> = Vec::new();
        let mut resource: Option<Resource> = None;
        for line in text.lines().map(str::trim_end).filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
            if !line.starts_with(' ') {
                Resource::finish(resource.take(), &mut functions, &mut mappings);
                continue;
            }
            // A resource's logical id: two spaces of indentation (and only under Resources:
            // the parameters and conditions have no `Type: AWS::...` a resource below needs).
            if let Some(id) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')).and_then(|l| l.strip_suffix(':')) {
                Resource::finish(resource.replace(Resource::new(id)), &mut functions, &mut mappings);
                continue;
            }
            if let Some(resource) = resource.as_mut() {
                resource.read(line);
            }
        }
        Resource::finish(resource, &mut functions, &mut mappings);
        assert!(!functions.is_empty() && !mappings.is_empty(), "template.yaml: no function with a Binary, or no event source mapping");
        Template { functions, mappings }
    }
}

/// The lines of one resource that this reader needs.
struct Resource {
    id: String,
    kind: String,
    binary: Option<String>,
    function: Option<String>,
    batch_size: Option<usize>,
    patterns: Vec<String>,
}

impl Resource {
    fn new(id: &str) -> Resource {
        Resource { id: id.to_owned(), kind: String::new(), binary: None, function: None, batch_size: None, patterns: Vec::new() }
    }

    fn read(&mut self, line: &str) {
        let value = |key: &str| line.trim().trim_start_matches("- ").strip_prefix(key).map(|v| v.trim().to_owned());
        // The resource's own Type: four spaces (an event's Type is deeper).
        if let Some(kind) = line.strip_prefix("    Type:") {
            self.kind = kind.trim().to_owned();
        } else if let Some(binary) = value("Binary:") {
            self.binary = Some(binary);
        } else if let Some(function) = value("FunctionName:") {
            let function = function.strip_prefix("!Ref ").unwrap_or_else(|| panic!("template.yaml: {}'s FunctionName is not a !Ref: {function}", self.id));
            self.function = Some(function.to_owned());
        } else if let Some(size) = value("BatchSize:") {
            self.batch_size = Some(size.parse().unwrap_or_else(|_| panic!("template.yaml: {}'s BatchSize is not a number: {size}", self.id)));
        } else if let Some(pattern) = value("Pattern:").filter(|p| p.starts_with('\'')) {
            // A single-quoted YAML scalar: '' is a quote.
            let inner = pattern.strip_prefix('\'').and_then(|p| p.strip_suffix('\''));
            self.patterns.push(inner.unwrap_or_else(|| panic!("template.yaml: {}'s Pattern is not one quoted line", self.id)).replace("''", "'"));
        }
    }

    fn finish(resource: Option<Resource>, functions: &mut BTreeMap<String, String>, mappings: &mut Vec<StreamMapping>) {
        let Some(resource) = resource else { return };
        match resource.kind.as_str() {
            "AWS::Serverless::Function" => {
                let binary = resource.binary.unwrap_or_else(|| panic!("template.yaml: the function {} names no Binary", resource.id));
                functions.insert(binary, resource.id);
            }
            "AWS::Lambda::EventSourceMapping" => {
                let id = resource.id.clone();
                let missing = |what: &str| -> ! { panic!("template.yaml: the event source mapping {id} has no {what}") };
                assert!(!resource.patterns.is_empty(), "template.yaml: {} has no FilterCriteria pattern: every record would reach its function", resource.id);
                mappings.push(StreamMapping {
                    function: resource.function.unwrap_or_else(|| missing("FunctionName")),
                    batch_size: resource.batch_size.unwrap_or_else(|| missing("BatchSize")),
                    filters: resource.patterns.iter().map(|p| Pattern::parse(p)).collect(),
                    name: resource.id,
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_function_is_named_by_its_binary_and_each_stream_mapping_feeds_one() {
        let template = Template::deployed();
        assert_eq!(template.logical_id("create"), "CreateFunction");
        assert_eq!(template.binary_of("MailerFunction"), "mailer");
        let mailer = template.stream_mapping_of("mailer");
        assert_eq!((mailer.name.as_str(), mailer.batch_size), ("MailerStream", 10));
        let record = |name: &str, sk: &str| json!({"eventName": name, "dynamodb": {"Keys": {"pk": {"S": "REQUEST#01J"}, "sk": {"S": sk}}}});
        assert!(mailer.lets_through(&record("INSERT", "MAIL#0000000001#00")));
        assert!(!mailer.lets_through(&record("MODIFY", "MAIL#0000000001#00")) && !mailer.lets_through(&record("INSERT", "REQUEST")));
        let publisher = template.stream_mapping_of("publisher");
        assert!(publisher.lets_through(&record("INSERT", "EVENT")) && !publisher.lets_through(&record("INSERT", "EVENTS")));
    }
}
