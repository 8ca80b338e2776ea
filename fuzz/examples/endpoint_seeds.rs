//! Writes the seed corpus of the `endpoint_receive` target: every conformance and bench
//! fixture as one UDP and one TCP record, and the whole call flows of
//! [`sipwire_fuzz::endpoint_receive_seeds`].
//!
//! `cargo run --example endpoint_seeds -- corpus/endpoint_receive` (from `fuzz/`).

use std::path::{Path, PathBuf};

use sipwire_fuzz::{Record, encode_records, endpoint_receive_seeds};

fn sip_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.map(|e| e.expect("directory entry").path()) {
        if path.is_dir() {
            sip_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sip") {
            out.push(path);
        }
    }
}

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or("corpus/endpoint_receive".into()));
    std::fs::create_dir_all(&out)?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/sipwire/tests/fixtures");
    let mut files = Vec::new();
    sip_files(&fixtures, &mut files);
    files.sort();
    let mut written = 0;
    for path in &files {
        let bytes = std::fs::read(path)?;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        for tcp in [false, true] {
            let record = Record { tcp, ..Record::after_ms(0) };
            let name = format!("seed-{stem}-{}", if tcp { "tcp" } else { "udp" });
            std::fs::write(out.join(name), encode_records(&[(record, bytes.clone())]))?;
            written += 1;
        }
    }
    for (name, bytes) in endpoint_receive_seeds() {
        std::fs::write(out.join(format!("seed-{name}")), bytes)?;
        written += 1;
    }
    println!("{written} seeds in {}", out.display());
    Ok(())
}
