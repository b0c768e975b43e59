//! The fuzz target's oracle ([`ordinal::dns::answer::fuzz_check`]) on stable Rust:
//! ~200k deterministic inputs — random bytes, valid queries for the fixture's names,
//! and mutations of them (bit flips, truncations, splices, count and length edits) —
//! answered over UDP and TCP. `fuzz/` runs the same check under libFuzzer (nightly).

use ordinal::cache::ZoneConfig;
use ordinal::dns::answer::fuzz_check;
use ordinal::synthetic::{CASES, DumpSize, dump_yaml, query, zone_from_yaml};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Seeds: the benchmark cases plus names covering the other answer shapes.
fn seeds() -> Vec<Vec<u8>> {
    let mut names: Vec<(&str, u16)> = CASES.iter().map(|&(_, n, t)| (n, t)).collect();
    names.extend([
        ("cluster.local", 6),
        ("cluster.local", 2),
        ("cluster.local", 255),
        ("cluster.local", 252),
        ("dns-version.cluster.local", 16),
        ("ns.dns.cluster.local", 1),
        ("_grpc._tcp.svc-0.ns-0.svc.cluster.local", 33),
        ("svc-1.ns-1.svc.cluster.local", 255),
        ("fd00--1.ns-0.pod.cluster.local", 28),
        ("ns-0.svc.cluster.local", 1),
        ("example.com", 1),
        ("ext.prod.svc.cluster.local", 1),
        ("alias.prod.svc.cluster.local", 1),
        ("Alias.Prod.svc.cluster.local", 5),
        ("_pg._tcp.db6.prod.svc.cluster.local", 33),
        ("db6-0.db6.prod.svc.cluster.local", 28),
        ("web.prod.svc.cluster.local", 1),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", 12),
    ]);
    let mut out = Vec::new();
    for (name, t) in names {
        out.push(query(0xBEEF, name, t, false));
        out.push(query(0xBEEF, name, t, true));
    }
    out
}

fn mutate(rng: &mut Rng, seed: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(8) {
            0 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
            1 if !m.is_empty() => {
                let i = rng.below(m.len());
                m[i] = rng.next() as u8;
            }
            2 => m.truncate(rng.below(m.len() + 1)),
            3 => {
                let extra = rng.below(32);
                m.extend((0..extra).map(|_| rng.next() as u8));
            }
            4 if m.len() >= 12 => {
                // Section counts: qd/an/ns/ar.
                let i = 4 + 2 * rng.below(4);
                m[i + 1] = rng.below(4) as u8;
                m[i] = if rng.below(8) == 0 { 0xFF } else { 0 };
            }
            5 if m.len() > 12 => {
                // A label length or a compression pointer in the question.
                let i = 12 + rng.below(m.len() - 12);
                m[i] = [0, 1, 63, 64, 0xC0, 0xFF][rng.below(6)];
            }
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(m.len() + 1);
                let from = rng.below(other.len() + 1);
                m.truncate(cut);
                m.extend_from_slice(&other[from..]);
            }
            _ if m.len() >= 4 => {
                // Flags: opcode, QR, RD, CD.
                m[2] = rng.next() as u8;
                m[3] = rng.next() as u8;
            }
            _ => {}
        }
    }
    m
}

/// The conformance fixture (ExternalName chases, dual stack, the checklist's corner
/// cases) and a synthetic dump; half of the inputs go to each.
#[test]
fn no_input_breaks_the_answer_path() {
    let total: usize = std::env::var("FUZZ_SMOKE_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let conformance = include_str!("fixtures/conformance.yaml");
    let synthetic = dump_yaml(DumpSize { services: 20, pods: 200 });
    for (i, yaml) in [conformance, synthetic.as_str()].into_iter().enumerate() {
        let (_cache, zone) = zone_from_yaml(yaml, ZoneConfig::default());
        run(&zone, total / 2, 0x9E37_79B9_7F4A_7C15 + i as u64);
    }
}

fn run(zone: &ordinal::cache::Zone, iterations: usize, seed: u64) {
    let seeds = seeds();
    let mut out = Vec::with_capacity(65535);
    let mut rng = Rng(seed);
    for seed in &seeds {
        fuzz_check(seed, zone, &mut out);
    }
    for i in 0..iterations {
        let input = if i % 10 == 0 {
            let len = rng.below(600);
            (0..len).map(|_| rng.next() as u8).collect()
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed, &seeds)
        };
        fuzz_check(&input, zone, &mut out);
    }
}
