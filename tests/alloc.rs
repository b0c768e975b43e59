//! Proof that the answer path allocates nothing per query after warm-up, for every
//! benchmarked query type, on both transports, with and without EDNS. The one
//! documented slow path, the ExternalName CNAME chase, is excluded.
//!
//! A counting global allocator wraps the system allocator; it counts only on the
//! thread that switched counting on (a const, destructor-free thread local, so
//! reading it never allocates), so the test harness's own threads do not disturb
//! the count. `unsafe` is confined to this test: the library forbids it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use ordinal::cache::ZoneConfig;
use ordinal::dns::answer::{Limits, Outcome, Transport, answer};
use ordinal::synthetic::{CASES, DumpSize, dump_yaml, query, zone_from_yaml};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the wrapper only
// bumps an atomic counter, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: `ptr` was allocated by `System` through this wrapper with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: `ptr` was allocated by `System` through this wrapper with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and frees) made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn the_answer_path_allocates_nothing_per_query() {
    let yaml = dump_yaml(DumpSize { services: 100, pods: 1000 });
    let (_cache, zone) = zone_from_yaml(&yaml, ZoneConfig::default());
    let limits = Limits::default();
    let mut out = Vec::with_capacity(65535);
    let mut report = Vec::new();
    for &(label, name, qtype) in CASES {
        for transport in [Transport::Udp, Transport::Tcp] {
            for edns in [false, true] {
                let msg = query(7, name, qtype, edns);
                let warm = answer(&msg, &zone, transport, &limits, &mut out);
                assert!(matches!(warm, Outcome::Reply { .. }), "{label}: {warm:?}");
                let n = allocations(|| {
                    for _ in 0..1000 {
                        std::hint::black_box(answer(std::hint::black_box(&msg), &zone, transport, &limits, &mut out));
                    }
                });
                if n != 0 {
                    report.push(format!("{label} ({transport:?}, edns {edns}): {n} allocations in 1000 queries"));
                }
            }
        }
    }
    assert!(report.is_empty(), "the answer path allocated:\n{}", report.join("\n"));
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the proof above against a counter that never counts.
    let n = allocations(|| {
        std::hint::black_box(vec![1u8; 64]);
    });
    assert!(n >= 1, "counting allocator saw {n} allocations");
}
