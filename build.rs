//! Build script: one job. In release builds for x86_64 Linux it hands the linker
//! `link/symbol-order.txt`, the functions ordinal runs, hottest first, so they are
//! laid out together at the start of `.text`.
//!
//! Why: the kernel maps a binary's code around each page touched (64 KB at a time),
//! so resident code follows how widely the executed functions are spread. Unordered,
//! the ~2.6 MB that cluster mode runs is spread over 13 MB of text and ~9 MiB of it
//! is resident. `scripts/symbol-order.sh` regenerates the list; a stale list only
//! costs memory (missing symbols are skipped silently), never correctness.
//!
//! Only where rustc links with LLD by default (x86_64-unknown-linux-gnu, Rust 1.90+),
//! which reads `--symbol-ordering-file`. `ORDINAL_NO_SYMBOL_ORDER=1` turns it off, for
//! a linker that does not know the flag (GNU ld, gold).

fn main() {
    println!("cargo:rerun-if-changed=link/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=ORDINAL_NO_SYMBOL_ORDER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let wanted = var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("ORDINAL_NO_SYMBOL_ORDER").is_empty();
    if !wanted {
        return;
    }
    let list = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("link/symbol-order.txt");
    if !list.is_file() {
        println!("cargo:warning=link/symbol-order.txt is missing: code is laid out unordered");
        return;
    }
    println!("cargo:rustc-link-arg-bin=ordinal=-Wl,--symbol-ordering-file={}", list.display());
    println!("cargo:rustc-link-arg-bin=ordinal=-Wl,--no-warn-symbol-ordering");
}
