//! "Never stale": after any sequence of upserts, removals and relists, the zone the
//! cache maintains incrementally equals a zone built from scratch from the final
//! objects. Random sequences, deterministic seeds.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use ordinal::cache::{Cache, Kind, Object, ZoneConfig};
use serde_json::json;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn service(rng: &mut Rng, i: u64) -> Object {
    let kind = rng.below(3);
    let spec = match kind {
        0 => json!({"clusterIP": "None", "ports": [{"name": "p", "port": 80}]}),
        1 => {
            json!({"clusterIP": format!("10.96.0.{}", i + 1), "ports": [{"name": "p", "port": 80}, {"name": "q", "port": 81, "protocol": "UDP"}]})
        }
        _ => json!({"type": "ExternalName", "externalName": format!("svc-{}.ns-0.svc.cluster.local", rng.below(6))}),
    };
    let ns = i % 2;
    Object::Service(
        serde_json::from_value::<Service>(
            json!({"metadata": {"name": format!("svc-{i}"), "namespace": format!("ns-{ns}")}, "spec": spec}),
        )
        .unwrap(),
    )
}

fn slice(rng: &mut Rng, i: u64, part: u64) -> Object {
    let n = rng.below(4);
    let eps: Vec<_> = (0..n)
        .map(|e| {
            // Shared addresses across services make PTR names shared between owners.
            let ip = format!("10.1.0.{}", rng.below(8) + 1);
            let host = if rng.below(2) == 0 { json!(format!("h-{e}")) } else { json!(null) };
            json!({"addresses": [ip], "hostname": host, "conditions": {"ready": rng.below(4) != 0}})
        })
        .collect();
    let ns = i % 2;
    Object::EndpointSlice(
        serde_json::from_value::<EndpointSlice>(json!({
            "metadata": {"name": format!("svc-{i}-{part}"), "namespace": format!("ns-{ns}"), "labels": {"kubernetes.io/service-name": format!("svc-{i}")}},
            "addressType": "IPv4", "endpoints": eps, "ports": [{"name": "p", "port": 8080}]
        }))
        .unwrap(),
    )
}

/// The zone as comparable data: every name → its entry, minus the apex (its SOA serial moves).
fn snapshot(zone: &ordinal::cache::Zone) -> BTreeMap<Vec<u8>, String> {
    let apex = ordinal::dns::name::to_wire("cluster.local").unwrap();
    zone.names
        .iter()
        .filter(|e| e.key().name() != &apex[..])
        .map(|e| (e.key().name().to_vec(), format!("{:?}", e.key().view())))
        .collect()
}

#[test]
fn incremental_updates_equal_a_fresh_build() {
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (mut cache, zone) = Cache::new(ZoneConfig::default());
        let mut live: BTreeMap<(Kind, String), Object> = BTreeMap::new();
        for step in 0..120 {
            let i = rng.below(6);
            match rng.below(7) {
                0 | 1 => {
                    let o = service(&mut rng, i);
                    cache.upsert(&o).unwrap();
                    live.insert((Kind::Service, format!("svc-{i}")), o);
                }
                2 | 3 => {
                    let part = rng.below(2);
                    let o = slice(&mut rng, i, part);
                    cache.upsert(&o).unwrap();
                    live.insert((Kind::EndpointSlice, format!("svc-{i}-{part}")), o);
                }
                4 => {
                    if let Some(o) = live.remove(&(Kind::Service, format!("svc-{i}"))) {
                        cache.remove(Kind::Service, &o.key().unwrap());
                    }
                }
                5 => {
                    let part = rng.below(2);
                    if let Some(o) = live.remove(&(Kind::EndpointSlice, format!("svc-{i}-{part}"))) {
                        cache.remove(Kind::EndpointSlice, &o.key().unwrap());
                    }
                }
                _ => {
                    // A relist of slices: some vanish, one changes.
                    let keep: Vec<Object> = live
                        .iter()
                        .filter(|((k, _), _)| *k == Kind::EndpointSlice)
                        .filter(|_| rng.below(3) != 0)
                        .map(|(_, o)| o.clone())
                        .collect();
                    live.retain(|(k, _), _| *k != Kind::EndpointSlice);
                    for o in &keep {
                        live.insert((Kind::EndpointSlice, o.key().unwrap().name), o.clone());
                    }
                    assert!(cache.replace(Kind::EndpointSlice, &keep).is_empty());
                }
            }
            if rng.below(3) == 0 || step == 119 {
                cache.flush();
            }
        }
        cache.flush();
        let (mut fresh, fresh_zone) = Cache::new(ZoneConfig::default());
        let ns: Vec<Object> = (0..2)
            .map(|n| {
                Object::Namespace(
                    serde_json::from_value::<Namespace>(json!({"metadata": {"name": format!("ns-{n}")}})).unwrap(),
                )
            })
            .collect();
        let _ = ns; // namespaces are implied by their services in both caches
        for o in live.values() {
            fresh.upsert(o).unwrap();
        }
        fresh.flush();
        let (a, b) = (snapshot(&zone), snapshot(&fresh_zone));
        let only_a: Vec<String> =
            a.keys().filter(|k| !b.contains_key(*k)).map(|k| ordinal::dns::name::to_text(k)).collect();
        let only_b: Vec<String> =
            b.keys().filter(|k| !a.contains_key(*k)).map(|k| ordinal::dns::name::to_text(k)).collect();
        assert!(
            only_a.is_empty() && only_b.is_empty(),
            "seed {seed}: stale names {only_a:?}, missing names {only_b:?}"
        );
        for (k, v) in &a {
            assert_eq!(v, &b[k], "seed {seed}: name {} differs", ordinal::dns::name::to_text(k));
        }
    }
}
