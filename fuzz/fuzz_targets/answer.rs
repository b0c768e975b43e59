//! Arbitrary bytes as a DNS query → the answer path, over UDP and TCP, on a small
//! fixture zone (the conformance checklist's). The oracle,
//! [`ordinal::dns::answer::fuzz_check`], asserts any reply decodes with hickory-proto,
//! is a response within the transport's size limit and echoes the query's ID and
//! question; a panic anywhere is a finding. `tests/fuzz_smoke.rs` runs the same
//! oracle over deterministic inputs on stable Rust.
//!
//! `cd fuzz && cargo +nightly fuzz run answer`
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use ordinal::cache::{Cache, Zone, ZoneConfig};

static ZONE: OnceLock<(std::sync::Mutex<Cache>, Arc<Zone>)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (_, zone) = ZONE.get_or_init(|| {
        let yaml = include_str!("../../tests/fixtures/conformance.yaml");
        let (cache, zone) = ordinal::synthetic::zone_from_yaml(yaml, ZoneConfig::default());
        (std::sync::Mutex::new(cache), zone)
    });
    let mut out = Vec::with_capacity(65535);
    ordinal::dns::answer::fuzz_check(data, zone, &mut out);
});
