//! Criterion benchmarks for sipwire live in `benches/benches/`; this library is empty.
