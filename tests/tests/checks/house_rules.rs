//! The rules of the house that a reader relies on, checked on the sources themselves so that
//! no change drifts from them (issue "a house a newcomer can change"):
//! - no function outside tests and the bench is longer than [`MAX_FUNCTION_LINES`];
//! - the adapters use the application's ports, not its use cases (the other arrows between the
//!   layers are Cargo's to check: each layer is a crate);
//! - inside each layer's crate, no two modules use each other, directly or around a loop.

use std::path::{Path, PathBuf};

/// A function longer than this does more than one thing: split it by step.
const MAX_FUNCTION_LINES: usize = 70;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found
}

/// The production code of the workspace: what runs in a function or a tool, not tests or bench.
fn production_sources() -> Vec<PathBuf> {
    let root = root();
    let mut dirs = vec![root.join("local/src"), root.join("admin/src")];
    for parent in ["crates", "functions"] {
        for member in std::fs::read_dir(root.join(parent)).unwrap_or_else(|e| panic!("{parent}/: {e}")) {
            dirs.push(member.expect("an entry").path().join("src"));
        }
    }
    dirs.iter().flat_map(|dir| sources(dir)).collect()
}

/// `source` without comments and without the contents of string and char literals, line for
/// line, so that braces can be counted.
fn code_only(source: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block_comment = false;
    for line in source.lines() {
        let mut out = String::new();
        let mut chars = line.chars().peekable();
        let mut in_string = false;
        while let Some(c) = chars.next() {
            if in_block_comment {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_block_comment = false;
                }
            } else if in_string {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => in_string = false,
                    _ => {}
                }
            } else {
                match c {
                    '/' if chars.peek() == Some(&'/') => break,
                    '/' if chars.peek() == Some(&'*') => in_block_comment = true,
                    '"' => in_string = true,
                    // A char literal ('{', '\'', '\n'); a lifetime ('a) has no closing quote.
                    '\'' => {
                        let rest: String = chars.clone().take(3).collect();
                        if rest.starts_with('\\') {
                            for next in chars.by_ref() {
                                if next == '\'' {
                                    break;
                                }
                            }
                        } else if rest.chars().nth(1) == Some('\'') {
                            chars.next();
                            chars.next();
                        }
                    }
                    _ => out.push(c),
                }
            }
        }
        lines.push(out);
    }
    lines
}

/// `(name, first line, length in lines)` of every function with a body, up to the file's
/// `#[cfg(test)]` module.
fn functions(source: &str) -> Vec<(String, usize, usize)> {
    let lines = code_only(source);
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_start();
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let signature = line.trim_start_matches("pub(crate) ").trim_start_matches("pub(super) ").trim_start_matches("pub ");
        let signature = signature.trim_start_matches("const ").trim_start_matches("async ").trim_start_matches("unsafe ");
        if let Some(rest) = signature.strip_prefix("fn ") {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let (mut depth, mut opened, mut end) = (0i32, false, i);
            for (j, body) in lines.iter().enumerate().skip(i) {
                depth += body.matches('{').count() as i32 - body.matches('}').count() as i32;
                opened |= body.contains('{');
                end = j;
                if (opened && depth <= 0) || (!opened && body.trim_end().ends_with(';')) {
                    break;
                }
            }
            found.push((name, i + 1, end - i + 1));
            i = end + 1;
            continue;
        }
        i += 1;
    }
    found
}

#[test]
fn no_function_of_the_production_code_is_longer_than_seventy_lines() {
    let mut long = Vec::new();
    for path in production_sources() {
        let source = std::fs::read_to_string(&path).expect("a source file");
        for (name, line, length) in functions(&source) {
            if length > MAX_FUNCTION_LINES {
                long.push(format!("{}:{line} fn {name}: {length} lines", path.strip_prefix(root()).unwrap_or(&path).display()));
            }
        }
    }
    assert!(long.is_empty(), "split these by step (at most {MAX_FUNCTION_LINES} lines each):\n{}", long.join("\n"));
}

#[test]
fn the_checker_measures_functions_and_ignores_braces_in_literals_and_tests() {
    let source = "fn short() {\n    let open = '{';\n    let text = \"}}}\";\n}\n\nasync fn longer() {\n    if x {\n        y();\n    }\n}\n#[cfg(test)]\nmod tests {\n    fn hidden() {}\n}\n";
    assert_eq!(functions(source), vec![("short".to_owned(), 1, 4), ("longer".to_owned(), 6, 5)]);
}

/// The modules of `krate` (`crate` or a dependency's name) a file uses: `krate::{` counts as
/// `{`, a use that does not say which module.
fn uses_of(source: &str, krate: &str) -> Vec<String> {
    let prefix = format!("{krate}::");
    let mut used = Vec::new();
    for line in code_only(source) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find(&prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let module: String = if rest.starts_with('{') { "{".to_owned() } else { rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
            if !module.is_empty() {
                used.push(module);
            }
        }
    }
    used
}

/// Cargo refuses a wrong-way dependency between the layers' crates (ARCHITECTURE.md); what it
/// cannot see is inside one: the adapters depend on `contacts-app` for its ports, and must
/// not use its use cases or its seeding. So the AWS adapters and the memory twins use of the
/// application only these modules.
const WHAT_ADAPTERS_USE: [&str; 4] = ["ports", "config", "mail", "deadline"];

#[test]
fn the_adapters_use_the_ports_and_not_the_use_cases() {
    let root = root();
    let adapters = [(root.join("crates/aws/src"), "contacts_app"), (root.join("crates/app/src/memory"), "crate")];
    let mut crossings = Vec::new();
    for (dir, application) in adapters {
        for path in sources(&dir) {
            let source = std::fs::read_to_string(&path).expect("a source file");
            for module in uses_of(&source, application) {
                if !WHAT_ADAPTERS_USE.contains(&module.as_str()) {
                    crossings.push(format!("{} uses {application}::{module}", path.strip_prefix(&root).unwrap_or(&path).display()));
                }
            }
        }
    }
    assert!(crossings.is_empty(), "an adapter uses more of the application than its ports:\n{}", crossings.join("\n"));
}

#[test]
fn the_checker_sees_each_module_a_file_uses() {
    let source = "use contacts_app::ports::Store;\nuse contacts_app::{App, ports};\n// contacts_app::seed\nlet x = my_contacts_app::seed;\n";
    assert_eq!(uses_of(source, "contacts_app"), vec!["ports".to_owned(), "{".to_owned()]);
}

/// The top-level modules of the crate at `src` and the others each one uses (by `crate::m` or,
/// from a top-level module's own file, `super::m`), outside its tests. A nested module's
/// `super::` is its parent, inside the same top-level module.
fn module_uses(src: &Path) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let top_of = |path: &Path| {
        let relative = path.strip_prefix(src).expect("under src");
        let first = relative.components().next().expect("a path").as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned();
        let is_top_file = relative.components().count() == 1 || relative.file_name().is_some_and(|name| name == "mod.rs") && relative.components().count() == 2;
        (first, is_top_file)
    };
    let files: Vec<(String, bool, String)> = sources(src)
        .into_iter()
        .map(|path| {
            let (top, is_top_file) = top_of(&path);
            let source = std::fs::read_to_string(&path).expect("a source file");
            let production = source.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
            (top, is_top_file, production)
        })
        .filter(|(top, _, _)| top != "lib")
        .collect();
    let modules: std::collections::BTreeSet<String> = files.iter().map(|(top, _, _)| top.clone()).collect();
    let mut uses: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = modules.iter().map(|m| (m.clone(), Default::default())).collect();
    for (top, is_top_file, source) in &files {
        let mut used = uses_of(source, "crate");
        if *is_top_file {
            used.extend(uses_of(source, "super"));
        }
        let entry = uses.get_mut(top).expect("a module");
        entry.extend(used.into_iter().filter(|m| m != top && modules.contains(m)));
    }
    uses
}

/// A loop among `uses`, as the modules along it, if there is one.
fn a_loop(uses: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        uses: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            return Some(path[at..].iter().cloned().chain([module.to_owned()]).collect());
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in uses.get(module).into_iter().flatten() {
            if let Some(found) = visit(next, uses, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    uses.keys().find_map(|module| visit(module, uses, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_modules_of_a_layer_use_each_other() {
    let mut loops = Vec::new();
    for layer in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let src = layer.expect("an entry").path().join("src");
        if let Some(found) = a_loop(&module_uses(&src)) {
            loops.push(format!("{}: {}", src.strip_prefix(root()).unwrap_or(&src).display(), found.join(" -> ")));
        }
    }
    assert!(loops.is_empty(), "modules that use each other (move what both need to a module of its own):\n{}", loops.join("\n"));
}

#[test]
fn the_checker_finds_a_loop_of_modules() {
    let graph = |edges: &[(&str, &str)]| {
        let mut uses: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> = Default::default();
        for (from, to) in edges {
            uses.entry(from.to_string()).or_default().insert(to.to_string());
            uses.entry(to.to_string()).or_default();
        }
        uses
    };
    assert_eq!(a_loop(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(a_loop(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}
