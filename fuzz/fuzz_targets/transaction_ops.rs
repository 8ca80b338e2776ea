#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipwire_fuzz::transaction_ops(data));
