//! Rewrites a copy of burn-flex so that it compiles its kernels for the dtypes the playground
//! trains with only (f32, i32/i64 indices, booleans): every `match` arm whose pattern names
//! nothing but other dtypes (`DType::F64`, `DType::F16`, ...) gets a panicking body, so the
//! kernels those arms instantiated drop out of the binary.
//!
//! It answers one question, how much of the CPU worker those instantiations are, and is not
//! used by the build. Usage (BENCHMARKS.md, "An f32-only CPU backend, measured"):
//!
//! ```sh
//! cp -r ~/.cargo/registry/src/*/burn-flex-0.22.1 /tmp/flex-f32
//! cargo run --release --manifest-path scripts/flex-f32-only/Cargo.toml -- /tmp/flex-f32/src
//! ```
//! then add `[patch.crates-io] burn-flex = { path = "/tmp/flex-f32" }` to `Cargo.toml`.

use std::{env, fs, path::Path, process::ExitCode};
use syn::visit_mut::{self, VisitMut};

/// The dtypes whose arms are dropped: everything the playground never creates.
const DROPPED: &[&str] = &[
    "F64", "F16", "BF16", "Flex32", "I8", "I16", "U16", "U64", "QFloat",
];

/// Whether every value `pattern` matches is a dropped dtype.
fn only_dropped(pattern: &syn::Pat) -> bool {
    match pattern {
        syn::Pat::Or(or) => or.cases.iter().all(only_dropped),
        syn::Pat::Path(p) => names_dropped(&p.path),
        syn::Pat::TupleStruct(p) => names_dropped(&p.path),
        syn::Pat::Struct(p) => names_dropped(&p.path),
        // `(DType::F64, _)`: one dropped component is enough for the tuple to be unreachable.
        syn::Pat::Tuple(t) => t.elems.iter().any(only_dropped),
        syn::Pat::Ident(i) => i.subpat.as_ref().is_some_and(|(_, p)| only_dropped(p)),
        _ => false,
    }
}

/// `DType::F64` and the like (the last two path segments).
fn names_dropped(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(names.as_slice(), [.., ty, variant] if ty == "DType" && DROPPED.contains(&variant.as_str()))
}

/// Counts the arms it rewrites.
struct DropArms(usize);

impl VisitMut for DropArms {
    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        if only_dropped(&arm.pat) {
            self.0 += 1;
            arm.guard = None;
            *arm.body =
                syn::parse_quote!({ panic!("burn-flex built for f32, i32, i64 and bool only") });
        } else {
            visit_mut::visit_arm_mut(self, arm);
        }
    }
}

/// Rewrites every `.rs` file under `dir` in place; returns the arms dropped.
fn rewrite(dir: &Path) -> Result<usize, String> {
    let mut dropped = 0;
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            dropped += rewrite(&path)?;
            continue;
        }
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let source = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut file = syn::parse_file(&source).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut visitor = DropArms(0);
        visitor.visit_file_mut(&mut file);
        if visitor.0 > 0 {
            eprintln!("{}: {} arms", path.display(), visitor.0);
            fs::write(&path, prettyplease::unparse(&file))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            dropped += visitor.0;
        }
    }
    Ok(dropped)
}

fn main() -> ExitCode {
    let Some(dir) = env::args().nth(1) else {
        eprintln!("usage: flex-f32-only <a copy of burn-flex's src/>");
        return ExitCode::from(2);
    };
    match rewrite(Path::new(&dir)) {
        Ok(n) => {
            eprintln!("{n} arms dropped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
