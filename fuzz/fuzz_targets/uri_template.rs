//! Fuzz target: see `mcp_runtime::fuzzing::uri_template`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_runtime::fuzzing::uri_template(data));
