//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through the fuzz target
//! functions, so that a stable `cargo test` guards every input the fuzzers found
//! interesting, crashes included, without nightly or libFuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/lib.rs"]
mod targets;

/// A fuzz target function: panics when an invariant breaks.
type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 7] = [
    ("parse_datagram", targets::parse_datagram),
    ("parse_stream", targets::parse_stream),
    ("parse_uri", targets::parse_uri),
    ("roundtrip", targets::roundtrip),
    ("transaction_ops", targets::transaction_ops),
    ("endpoint_receive", targets::endpoint_receive),
    ("endpoint_ops", targets::endpoint_ops),
];

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

/// Every regular file under `dir`, sorted so that failures read the same on every run.
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut out: Vec<PathBuf> =
        entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    out.sort();
    out
}

/// Runs `target` over every file of its corpus; returns how many ran and which panicked.
fn replay(name: &str, target: Target) -> (usize, Vec<String>) {
    let mut failed = Vec::new();
    let corpus = files(&corpus_root().join(name));
    for path in &corpus {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
            failed.push(format!("{name}/{}", path.file_name().unwrap_or_default().display()));
        }
    }
    (corpus.len(), failed)
}

#[test]
fn every_corpus_file_replays_through_its_target() {
    let mut failed = Vec::new();
    for (name, target) in TARGETS {
        let (count, mut bad) = replay(name, target);
        assert!(count > 0, "fuzz/corpus/{name} has no file to replay");
        failed.append(&mut bad);
    }
    assert!(failed.is_empty(), "{} corpus file(s) panicked: {failed:#?}", failed.len());
}

#[test]
fn every_corpus_directory_has_a_target() {
    for dir in std::fs::read_dir(corpus_root()).expect("fuzz/corpus").map(|e| e.unwrap().path()) {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/corpus/{name} matches no target function"
        );
    }
}

/// The whole call flows the `endpoint_receive` corpus was seeded with replay clean,
/// whichever of them minimization kept. Building them checks the statuses the endpoint
/// answers each request with; replaying them, the target's invariants.
#[test]
fn the_endpoint_seed_flows_replay() {
    let mut failed = Vec::new();
    for (name, data) in targets::endpoint_receive_seeds() {
        if catch_unwind(AssertUnwindSafe(|| targets::endpoint_receive(&data))).is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "seed flow(s) panicked: {failed:#?}");
}
