"""`make demo`: start the devnet, store an artifact through the `flep` CLI, run one federated round, stop.

Every step runs against a real Anvil chain and a real IPFS node: the store steps
are `flep` commands (each printed with what it answered); the round composes the
registry and client layers through their Python APIs (see `scripts/demo_round.py`)
and prints every party's action with its CID and gas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from demo_round import run_demo_round
from registry.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
FLEP = [str(ROOT / ".venv" / "bin" / "flep")]


def step(title: str) -> None:
    print(f"\n=== {title}")


def flep(*args: str, expect_ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one `flep` command, echoing it and its output."""
    print("$ flep " + " ".join(args))
    result = subprocess.run(FLEP + list(args), capture_output=True, text=True, cwd=ROOT)
    output = (result.stdout + result.stderr).rstrip()
    if output:
        print("  " + output.replace("\n", "\n  "))
    if expect_ok and result.returncode != 0:
        raise SystemExit(f"demo failed at `flep {' '.join(args)}` (exit {result.returncode})")
    if not expect_ok and result.returncode == 0:
        raise SystemExit(f"demo expected `flep {' '.join(args)}` to be refused, but it succeeded")
    return result


def main() -> None:
    os.chdir(ROOT)
    # The machine's cores are shared: one torch thread; Paillier uses its own process pool.
    torch.set_num_threads(1)
    step("1. Start the local devnet (Anvil + IPFS node, loopback only)")
    flep("devnet", "up")
    try:
        status = json.loads(flep("devnet", "status", "--json").stdout)
        assert status["running"], "devnet did not report running"

        with tempfile.TemporaryDirectory(prefix="flep-demo-") as tmp:
            artifact = Path(tmp) / "artifact.bin"
            artifact.write_bytes(os.urandom(3_000_000))  # 3 MB: a multi-chunk DAG

            step("2. Store an artifact: CID and sha256 are recomputed locally and checked against the node")
            stored = json.loads(flep("store", "put", str(artifact), "--json").stdout)

            step("3. Fetch it back: verified (CID recomputed, sha256 and size compared) before it is written")
            fetched = Path(tmp) / "fetched.bin"
            flep("store", "get", stored["cid"], "-o", str(fetched),
                 "--sha256", stored["sha256"], "--size", str(stored["size"]))
            assert fetched.read_bytes() == artifact.read_bytes(), "fetched bytes differ"
            print("  fetched bytes are identical to the original")

            step("4. A wrong expected hash (as if the chain recorded other content) is refused, nothing written")
            refused = Path(tmp) / "refused.bin"
            flep("store", "get", stored["cid"], "-o", str(refused), "--sha256", "00" * 32, expect_ok=False)
            assert not refused.exists(), "a refused artifact was written"
            print("  refused, and no file was written")

        step("5. One federated round: owner, 3 analysts, aggregator, key holder, auditor (each its own account)")
        summary = run_demo_round(load_settings())
        # A fresh registry is deployed for every run, so its first round always yields version 1.
        assert summary.model_version == 1, f"expected model version 1, got {summary.model_version}"
        assert summary.artifacts_verified == summary.artifacts_total, "an artifact failed re-verification"
    finally:
        step("6. Stop the devnet (chain state and IPFS repo are kept for the next run)")
        flep("devnet", "down")
    print("\ndemo finished: every step passed")


if __name__ == "__main__":
    sys.exit(main())
