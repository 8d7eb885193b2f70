//! `openapi.yaml` documents exactly the routes the router serves, and which need a signed-in caller.

use std::collections::BTreeSet;

use shared::api::ROUTES;

/// `(METHOD path, signed in)` for each operation of the document. The document is ours and
/// laid out regularly (paths at two spaces, methods at four), so a line scan reads it exactly.
fn documented() -> BTreeSet<(String, bool)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).expect("openapi.yaml at the root");
    let mut operations = BTreeSet::new();
    let mut path: Option<String> = None;
    let mut current: Option<(String, bool)> = None;
    let mut in_paths = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(method) = ["get", "post", "patch", "put", "delete"].iter().find(|m| line == format!("    {m}:")) {
            operations.extend(current.take());
            current = Some((format!("{} {}", method.to_uppercase(), path.clone().expect("a method under a path")), true));
        } else if line.trim() == "security: []" {
            if let Some((_, signed_in)) = current.as_mut() {
                *signed_in = false;
            }
        }
    }
    operations.extend(current);
    operations
}

#[test]
fn the_openapi_document_lists_exactly_the_routers_routes() {
    let served: BTreeSet<(String, bool)> = ROUTES.iter().map(|r| (r.route_key(), r.signed_in)).collect();
    let documented = documented();
    assert_eq!(documented.len(), 13, "{documented:#?}");
    assert_eq!(documented, served);
}
