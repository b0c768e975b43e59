#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests (real sockets, dig/kdig, the
# real binary), then the real control-plane suite when its Go toolchain is present.
# Usage: scripts/test.sh            (everything)
#        ORDINAL_SKIP_CLUSTER=1 scripts/test.sh   (Rust tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
echo "== cargo test (all targets)"
cargo test --all-targets --locked 2>&1 | tee /tmp/ordinal-cargo-test.log
if [ "${ORDINAL_SKIP_CLUSTER:-0}" != 1 ] && [ -x tests/cluster/ci.sh ]; then
  echo "== real control plane (tests/cluster/ci.sh)"
  bash tests/cluster/ci.sh
fi
echo "== all tests passed in $(( $(date +%s) - start ))s"
