//! Prints RSS after each stage of loading a dump (memory investigation aid):
//! `cargo run --release --example mem_probe -- dump.yaml`
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status").unwrap_or_default().lines().find(|l| l.starts_with("VmRSS")).unwrap_or("").to_string()
}
fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("dump path"));
    println!("start {}", rss());
    let docs = ordinal::manifest::load_file(&path).expect("loads");
    println!("parsed {} docs {}", docs.len(), rss());
    drop(docs);
    println!("dropped docs {}", rss());
    let mut source = ordinal::source::manifests::ManifestSource::new(vec![path]);
    source.load_all();
    println!("source loaded {}", rss());
    let (mut cache, zone) = ordinal::cache::Cache::new(ordinal::cache::ZoneConfig::default());
    source.apply(&mut cache);
    println!("cache applied ({} names) {}", zone.names.len(), rss());
    drop(source);
    println!("source dropped {}", rss());
}
