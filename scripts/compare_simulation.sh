#!/usr/bin/env bash
# Final accuracy of `flep round run` (every party a process, Paillier, sealed models) beside the plaintext
# `flep fl simulate` of the same seed and partitions, on a devnet of its own. Usage:
#   scripts/compare_simulation.sh [ANALYSTS] [ROUNDS] [MODEL]
set -euo pipefail
analysts=${1:-4} rounds=${2:-4} model=${3:-cnn}
cd "$(dirname "$0")/.."
home=$(mktemp -d)
export FLEP_HOME=$home FLEP_ANVIL_PORT=0 FLEP_IPFS_PORT=0 FLEP_PASSPHRASE=compare-simulation
trap '.venv/bin/flep devnet down >/dev/null; rm -rf "$home"' EXIT
.venv/bin/flep devnet up >/dev/null
.venv/bin/flep registry deploy >/dev/null
.venv/bin/flep round run --analysts "$analysts" --rounds "$rounds" --model "$model" --json >"$home/run.json"
.venv/bin/flep fl simulate --clients "$analysts" --rounds "$rounds" --model "$model" --local-epochs 1 \
    --device cpu --json >"$home/simulate.json"
.venv/bin/python - "$home/run.json" "$home/simulate.json" <<'PY'
import json, sys
run, sim = (json.load(open(path)) for path in sys.argv[1:])
ours = [r["accuracy"] for r in run["rounds"]]
theirs = [r["accuracy"] for r in sim["history"]]
for n, (a, b) in enumerate(zip(ours, theirs), 1):
    print(f"round {n}: flep round run {a:.4f}  flep fl simulate {b:.4f}  difference {abs(a - b) * 100:.2f} points")
PY
