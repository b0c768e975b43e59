#!/usr/bin/env bash
# The whole test suite: Rust unit and integration tests (real sockets, dig/kdig, the
# real binary), the README's quick start on the release build, then the real
# control-plane suite when its Go toolchain is present.
# Usage: scripts/test.sh            (everything)
#        ORDINAL_SKIP_CLUSTER=1 scripts/test.sh   (Rust tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
echo "== cargo test (all targets)"
cargo test --all-targets --locked 2>&1 | tee /tmp/ordinal-cargo-test.log
[ "${PIPESTATUS[0]}" = 0 ] || { echo "cargo test failed" >&2; exit 1; }
echo "== quick start on the release build (scripts/quickstart.sh)"
bash scripts/quickstart.sh
if [ "${ORDINAL_SKIP_CLUSTER:-0}" != 1 ] && [ -x tests/cluster/ci.sh ]; then
  echo "== real control plane (tests/cluster/ci.sh)"
  bash tests/cluster/ci.sh
fi
passed=$(grep -Eo '[0-9]+ passed' /tmp/ordinal-cargo-test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' /tmp/ordinal-cargo-test.log | awk '{s+=$1} END {print s+0}')
echo "== all tests passed in $(( $(date +%s) - start ))s"
echo "tests: ${passed} passed, ${failed} failed"
