//! Writes a synthetic `kubectl get -o yaml`-shaped dump to stdout:
//! `cargo run --release --example synth_dump -- 1000 10000 > dump.yaml`
fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let services = args.next().and_then(Result::ok).unwrap_or(1000);
    let pods = args.next().and_then(Result::ok).unwrap_or(10000);
    print!("{}", ordinal::synthetic::dump_yaml(ordinal::synthetic::DumpSize { services, pods }));
}
