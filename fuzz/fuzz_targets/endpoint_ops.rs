#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sipwire_fuzz::endpoint_ops(data));
