//! Live heap of cluster mode's writer (fast path + cache) for a scale.sh-shaped cluster,
//! without an API server: objects as the watchers deliver them after slimming, fed as
//! a first list of every stream, then a full relist (as after an API-server restart).
//! `cargo run --release --example mem_kube -- [SERVICES] [PODS_PER_SERVICE]`
//! (default 1000 x 10, as `tests/cluster/scale.sh`).
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use ordinal::cache::{Cache, Kind, Object, ZoneConfig};
use ordinal::kube::writer::{Change, StreamSpec, Writer};
use serde_json::json;

/// Live heap bytes, and the peak since the last reset.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
struct Counting;
fn grew(n: isize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}
// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grew(l.size() as isize);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `System` with `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        grew(n as isize - l.size() as isize);
        // SAFETY: `p` came from `System` with `l`.
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn mb(n: isize) -> String {
    format!("{:.2} MB", n as f64 / 1e6)
}

/// The objects of one stream, as `slim` leaves them, made one service at a time.
fn objects(kind: Kind, services: usize, per: usize) -> impl Iterator<Item = Object> {
    let namespaces =
        (kind == Kind::Namespace).then_some(["default", "kube-system", "kube-public", "kube-node-lease", "scale"]);
    let namespaces = namespaces
        .into_iter()
        .flatten()
        .map(|ns| Object::Namespace(serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap()));
    (0..services).flat_map(move |i| objects_of(kind, i, per)).chain(namespaces)
}

/// The objects of service `i`.
fn objects_of(kind: Kind, i: usize, per: usize) -> Vec<Object> {
    let mut out = Vec::new();
    {
        let name = format!("s{i}");
        let headless = i % 2 == 1;
        match kind {
            Kind::Service => {
                let mut spec = json!({"selector": {"app": name}, "ports": [{"name": "web", "port": 80, "protocol": "TCP", "targetPort": 80}],
                    "type": "ClusterIP", "clusterIP": format!("10.96.{}.{}", i / 250, i % 250 + 1)});
                spec["clusterIPs"] = json!([spec["clusterIP"]]);
                if headless {
                    spec["clusterIP"] = json!("None");
                    spec["clusterIPs"] = json!(["None"]);
                }
                let v =
                    json!({"metadata": {"name": name, "namespace": "scale", "resourceVersion": "1234"}, "spec": spec});
                out.push(Object::Service(serde_json::from_value(v).unwrap()));
            }
            Kind::EndpointSlice => {
                let eps: Vec<_> = (0..per)
                    .map(|j| {
                        let n = i * per + j;
                        let mut e = json!({"addresses": [format!("10.244.{}.{}", n / 250, n % 250 + 1)],
                            "conditions": {"ready": true, "serving": true, "terminating": false},
                            "targetRef": {"kind": "Pod", "name": format!("{name}-{j}")}});
                        if headless {
                            e["hostname"] = json!(format!("{name}-{j}"));
                        }
                        e
                    })
                    .collect();
                let v = json!({"metadata": {"name": format!("{name}-x7k2p"), "namespace": "scale", "resourceVersion": "1234",
                        "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                        "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": "2026-11-21T07:20:54Z"}},
                    "addressType": "IPv4", "endpoints": eps, "ports": [{"name": "web", "port": 80, "protocol": "TCP"}]});
                out.push(Object::EndpointSlice(serde_json::from_value(v).unwrap()));
            }
            Kind::Pod => {
                for j in 0..per {
                    let n = i * per + j;
                    let mut spec = json!({"containers": []});
                    if headless {
                        spec = json!({"hostname": format!("{name}-{j}"), "subdomain": name, "containers": []});
                    }
                    let ip = format!("10.244.{}.{}", n / 250, n % 250 + 1);
                    let v = json!({"metadata": {"name": format!("{name}-{j}"), "namespace": "scale", "resourceVersion": "1234", "labels": {"app": name}},
                        "spec": spec, "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "conditions": [{"type": "Ready", "status": "True"}]}});
                    out.push(Object::Pod(serde_json::from_value(v).unwrap()));
                }
            }
            _ => {}
        }
    }
    out
}

fn list(w: &mut Writer, specs: &[StreamSpec], services: usize, per: usize) {
    for (id, spec) in specs.iter().enumerate() {
        w.apply(id, Change::Init);
        for o in objects(spec.kind, services, per) {
            w.apply(id, Change::InitApply(o));
        }
        w.apply(id, Change::InitDone);
        w.cache().flush();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let services: usize = args.next().map_or(1000, |a| a.parse().expect("SERVICES"));
    let per: usize = args.next().map_or(10, |a| a.parse().expect("PODS_PER_SERVICE"));
    println!(
        "size_of: Object {} B, Change {} B, (usize, Change) {} B",
        std::mem::size_of::<Object>(),
        std::mem::size_of::<Change>(),
        std::mem::size_of::<(usize, Change)>()
    );
    let specs: Vec<StreamSpec> = [Kind::Service, Kind::EndpointSlice, Kind::Pod, Kind::Namespace]
        .into_iter()
        .map(|kind| StreamSpec { kind, namespace: None })
        .collect();
    let base = live();
    let (cache, zone) = Cache::new(ZoneConfig::default());
    let mut w = Writer::new(cache, &specs, &[]);
    PEAK.store(live(), Ordering::Relaxed);
    list(&mut w, &specs, services, per);
    let loaded = live() - base;
    let c = w.cache().counts();
    println!(
        "first list: {} services, {} endpoint sets, {} pods, {} names; live heap {}, peak {}",
        c.services,
        c.endpoint_sets,
        c.pods,
        zone.names.len(),
        mb(loaded),
        mb(PEAK.load(Ordering::Relaxed) - base)
    );
    if std::env::var_os("MEM_KUBE_EXIT").is_some() {
        std::process::exit(0); // everything still live: for heaptrack's "leaked" view
    }
    PEAK.store(live(), Ordering::Relaxed);
    list(&mut w, &specs, services, per);
    println!(
        "after a relist of every stream: live heap {}, peak during it {}",
        mb(live() - base),
        mb(PEAK.load(Ordering::Relaxed) - base)
    );
    // What each part holds: drop the writer (fast path + cache) and see what the zone alone keeps.
    drop(w);
    println!("zone alone (names, prebuilt answers): {}", mb(live() - base));
    drop(zone);
    println!("everything dropped: {}", mb(live() - base));
    // The cache alone (no fast path): the same objects through `Cache::replace`.
    let base = live();
    let (mut cache, zone) = Cache::new(ZoneConfig::default());
    for spec in &specs {
        let objs: Vec<Object> = objects(spec.kind, services, per).collect();
        cache.replace(spec.kind, &objs);
        cache.flush();
    }
    let all = live() - base;
    drop(cache);
    println!("cache alone: {} (of which the zone {})", mb(all), mb(live() - base));
    drop(zone);
}
