//! Prints RSS after each stage of loading a dump (memory investigation aid), and
//! again after `malloc_trim` to separate live memory from freed peak glibc keeps:
//! `cargo run --release --example mem_probe -- dump.yaml`
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Live heap bytes, to tell live data from fragmentation.
static LIVE: AtomicIsize = AtomicIsize::new(0);
struct Counting;
// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `System` with `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: `p` came from `System` with `l`.
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("")
        .to_string()
}

fn trimmed() -> String {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim(3) takes a plain integer and only touches the allocator's state.
    unsafe {
        malloc_trim(0);
    }
    format!(
        "(trimmed {}, live heap {} kB)",
        rss().trim_start_matches("VmRSS:").trim(),
        LIVE.load(Ordering::Relaxed) / 1024
    )
}

fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("dump path"));
    println!("start {}", rss());
    let docs = ordinal::manifest::load_file(&path).expect("loads");
    println!("parsed {} docs {} {}", docs.len(), rss(), trimmed());
    drop(docs);
    println!("dropped docs {} {}", rss(), trimmed());
    let mut source = ordinal::source::manifests::ManifestSource::new(vec![path]);
    source.load_all();
    println!("source loaded {} {}", rss(), trimmed());
    let (mut cache, zone) = ordinal::cache::Cache::new(ordinal::cache::ZoneConfig::default());
    source.apply(&mut cache);
    println!("cache applied ({} names) {} {}", zone.names.len(), rss(), trimmed());
    drop(source);
    println!("source dropped {} {}", rss(), trimmed());
}
