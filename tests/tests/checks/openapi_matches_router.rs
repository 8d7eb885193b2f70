//! `openapi.yaml` documents exactly the routes the router serves, and who may call each.

use std::collections::BTreeSet;

use contacts_api::{Auth, ROUTES};

/// `(METHOD path, auth)` for each operation of the document: the document's default security
/// (a signed-in customer) unless the operation says `security: []` (anyone) or names the `iam`
/// scheme. The document is ours and laid out regularly (paths at two spaces, methods at four,
/// an operation's security list just under its `security:` line), so a line scan reads it exactly.
fn documented() -> BTreeSet<(String, Auth)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).expect("openapi.yaml at the root");
    let mut operations = BTreeSet::new();
    let mut path: Option<String> = None;
    let mut current: Option<(String, Auth)> = None;
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
            current = Some((format!("{} {}", method.to_uppercase(), path.clone().expect("a method under a path")), Auth::Jwt));
        } else if let Some((_, auth)) = current.as_mut() {
            match line.trim() {
                "security: []" => *auth = Auth::Public,
                "- iam: []" => *auth = Auth::Iam,
                _ => {}
            }
        }
    }
    operations.extend(current);
    operations
}

#[test]
fn the_openapi_document_lists_exactly_the_routers_routes() {
    let served: BTreeSet<(String, Auth)> = ROUTES.iter().map(|r| (r.route_key(), r.auth)).collect();
    let documented = documented();
    assert_eq!(documented.len(), ROUTES.len(), "{documented:#?}");
    assert_eq!(documented, served);
}
