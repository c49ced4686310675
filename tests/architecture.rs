//! ARCHITECTURE.md's module table says, for each module of `src/`, which of the crate's other
//! modules it may import (the `crate::…` paths in its "may import" column). This test holds
//! that column against the code, both ways: every `crate::…` path a module's code names (in a
//! `use` or inline, its tests left out) must be allowed by its row, and every path a row allows
//! must be used by the row's code, so the column can go stale in neither direction. Every module
//! file needs a row: a file's own, or its folder's.
//!
//! Plain text processing (std only), so it runs with the native tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One row of the table: the module or folder it is about, and what it may import.
#[derive(Debug)]
struct Row {
    /// A module path (`protocol::experiment`), or a folder's (`ui`) when `folder` is set.
    module: String,
    folder: bool,
    /// The `crate::…` paths of its "may import" column, without `crate::`.
    may_import: Vec<String>,
}

impl Row {
    fn covers(&self, module: &str) -> bool {
        module == self.module || (self.folder && is_within(module, &self.module))
    }
}

/// Whether `module` is `parent` or inside it.
fn is_within(module: &str, parent: &str) -> bool {
    module == parent
        || module
            .strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with("::"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The rows about `src/`: a table row whose first cell names `src/…` in backticks.
fn rows(architecture: &str) -> Vec<Row> {
    architecture
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().strip_prefix('|')?.split('|').collect();
            let first = backticked(cells.first()?).into_iter().next()?;
            let path = first.strip_prefix("src/")?;
            if path.starts_with("bin/") {
                // The entry points are crates of their own: they import the library by name.
                return None;
            }
            let folder = path.ends_with('/');
            let module = module_of(Path::new(path.trim_end_matches('/')));
            let last = cells.iter().rev().find(|c| !c.trim().is_empty())?;
            let may_import = backticked(last)
                .into_iter()
                .filter_map(|t| t.strip_prefix("crate::").map(str::to_string))
                .collect();
            Some(Row {
                module,
                folder,
                may_import,
            })
        })
        .collect()
}

/// The text between pairs of backticks.
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// `page/race.rs` → `page::race`; `worker/mod.rs` → `worker`; `ui` → `ui`.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Every module file under `src/` but the entry points and the crate root, by module path.
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("src/ is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    let src = root().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter_map(|f| {
            let relative = f.strip_prefix(&src).ok()?.to_path_buf();
            let skip = relative.starts_with("bin") || relative == Path::new("lib.rs");
            (!skip).then(|| (module_of(&relative), f))
        })
        .collect()
}

/// The code of a module file without its comments and its test module (by the crate's
/// convention, `#[cfg(test)] mod tests` closes the file).
fn code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every crate-internal path `module`'s code names, as written after `crate::` (`super::` read
/// from the module's place), braces of a `use` opened one level.
fn paths(module: &str, code: &str) -> BTreeSet<String> {
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let mut found = BTreeSet::new();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            // `mtl_playground::crate::` does not exist, but `x::super::` would not be ours.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            for path in expand(rest) {
                let full = if base.is_empty() {
                    path
                } else {
                    format!("{base}::{path}")
                };
                found.insert(full);
            }
        }
    }
    found
}

/// The paths at the start of `text`: `a::b::C` gives `a::b::C`; `a::{b::C, d}` gives `a::b::C`
/// and `a::d`; `{a::B, c}` gives `a::B` and `c`.
fn expand(text: &str) -> Vec<String> {
    let head: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    let head = head.trim_end_matches(':').to_string();
    let after = &text[head.len()..].trim_start_matches(':');
    if !after.starts_with('{') {
        return vec![head];
    }
    let inner = &after[1..after.find('}').unwrap_or(after.len())];
    inner
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != "self")
        .map(|p| {
            let p: String = p
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            if head.is_empty() {
                p
            } else {
                format!("{head}::{p}")
            }
        })
        .collect()
}

/// The module a path names: its longest prefix that is a module.
fn target<'a>(path: &str, modules: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    modules
        .keys()
        .filter(|m| is_within(path, m))
        .max_by_key(|m| m.len())
        .map(String::as_str)
}

#[test]
fn architecture_may_import_column_matches_the_code() {
    let table = fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let rows = rows(&table);
    let modules = modules();
    assert!(!rows.is_empty() && !modules.is_empty());
    let mut problems = Vec::new();
    // The row each module belongs to: its own, or the nearest folder's.
    let row_of = |module: &str| {
        rows.iter()
            .filter(|r| r.covers(module))
            .max_by_key(|r| (!r.folder, r.module.len()))
    };
    let mut used: BTreeMap<(String, String), bool> = BTreeMap::new();
    // One line per module and module it may not import, however many names it takes.
    let mut forbidden = BTreeSet::new();
    for row in &rows {
        for allowed in &row.may_import {
            if !modules.keys().any(|m| is_within(m, allowed)) {
                problems.push(format!(
                    "the row of {} allows crate::{allowed}, which is no module",
                    row.module
                ));
            }
            used.insert((row.module.clone(), allowed.clone()), false);
        }
    }
    for (module, file) in &modules {
        let Some(row) = row_of(module) else {
            problems.push(format!("{} has no row in the table", file.display()));
            continue;
        };
        let text = fs::read_to_string(file).expect("readable");
        for path in paths(module, &code(&text)) {
            let Some(to) = target(&path, &modules) else {
                continue;
            };
            if to == module || row.covers(to) {
                continue;
            }
            // The row's most specific path that allows it.
            let allowed = row
                .may_import
                .iter()
                .filter(|a| is_within(to, a))
                .max_by_key(|a| a.len());
            match allowed {
                Some(allowed) => {
                    used.insert((row.module.clone(), allowed.clone()), true);
                }
                None => {
                    forbidden.insert(format!(
                        "{module} imports crate::{to}, which its row does not allow"
                    ));
                }
            }
        }
    }
    problems.extend(forbidden);
    for ((row, allowed), was_used) in used {
        if !was_used {
            problems.push(format!(
                "the row of {row} allows crate::{allowed}, which its code never names"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's \"may import\" column and the code disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn architecture_paths_are_read_as_written() {
    let sample = "use crate::page::{dashboard::Dashboard, plot};\nlet x = crate::web::now();\n\
                use super::charts::Series;\nmtl_playground::worker::start();";
    let found = paths("ui::race", sample);
    let expected: BTreeSet<String> = [
        "page::dashboard::Dashboard",
        "page::plot",
        "web::now",
        "ui::charts::Series",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
    // Comments and the test module name nothing.
    let commented = "// see crate::secret\nlet a = 1; // crate::other\n#[cfg(test)]\nmod tests {\n    use crate::x;\n}";
    assert!(paths("a::b", &code(commented)).is_empty());
}
