"""`make demo`: start the devnet, store an artifact, run a narrated round, then a federation whose parties are
separate processes: four rounds, the audit of the final model, a corrupted update caught by `flep verify`, a
revoked analyst that cannot read the next model; stop.

Every step runs against a real Anvil chain and a real IPFS node: the store steps
are `flep` commands (each printed with what it answered); the narrated round drives the
role modules (`registry.roles`) in one process, in order (see `scripts/demo_round.py`),
and prints every party's action with its CID and gas; `flep round run` starts every
party as its own OS process with its own keystore and chain account.
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
        federation_run()
    finally:
        step("11. Stop the devnet (chain state and IPFS repo are kept for the next run)")
        flep("devnet", "down")
    print("\ndemo finished: every step passed")


def federation_run() -> None:
    """Steps 6-10: every party its own process; audit; a corrupted update caught; a revocation that holds."""
    step("6. A registry for the multi-process federation")
    flep("registry", "deploy")
    step("7. 4 analysts, aggregator and key holder as separate processes (own keystore and account each): "
         "3 rounds (round 3 with DP-SGD), then analyst-4 is revoked and the key epoch rotated, and round 4 runs "
         "without it")
    run = json.loads(flep("round", "run", "--analysts", "4", "--rounds", "4", "--revoke-after-round", "3",
                          "--model", "cnn", "--paillier-bits", "2048", "--dp", "--target-epsilon", "8",
                          "--dp-rounds", "3", "--json").stdout)
    for r in run["rounds"]:
        dp = f"DP epsilon {r['dp']['epsilon']:.2f} (cumulative {r['cumulative_epsilon']:.2f})" if r["dp"] else "no DP"
        print(f"  round {r['round']}: {r['status']}, model v{r['model_version']}, accuracy {r['accuracy']:.3f}, "
              f"{r['included']} updates, {dp}, gas {r['gas']:,}, {r['seconds']:.1f} s")
    fid = str(run["federation"])
    assert [r["status"] for r in run["rounds"]] == ["finalized"] * 4, "a round did not finalize"
    step("8. The audit lineage of the final model (every hash re-verified)")
    flep("audit", "model", "4", "--federation", fid)
    step("9. Corrupt one stored update of round 3 on the IPFS node's disk: `flep verify` catches it")
    corrupted = corrupt_an_update(load_settings().home / "ipfs", fid, 3)
    print(f"  overwrote bytes of update #{corrupted} in the node's blockstore")
    flep("verify", "--round", "3", "--federation", fid, expect_ok=False)
    step("10. The revoked analyst cannot read round 4's model")
    print(f"  {run['revoked']}: {run['revoked_reads_latest_model']}")
    assert run["revoked_reads_latest_model"].startswith("refused"), "the revoked analyst read the new model"
    print(f"  keystores and agent logs of the run: {run['directory']}")


def corrupt_an_update(repo: Path, federation: str, round_: int) -> int:
    """Flip bytes of the first update of the round inside the IPFS node's block files; returns its artifact id."""
    from registry.chain import ZERO_ADDRESS, ModelRegistry, connect
    from registry.store import ArtifactStore

    settings = load_settings()
    registry = ModelRegistry.at(connect(settings.rpc_url, settings.chain_id), settings.registry_address, ZERO_ADDRESS)
    update = registry.round_updates(int(federation), round_)[0]
    data = ArtifactStore(settings.ipfs_api).get_bytes(update.cid, expected_sha256=update.sha256.hex(),
                                                      expected_size=update.size)
    marker = data[-64:]
    for block in (p for p in repo.rglob("*") if p.is_file()):
        content = block.read_bytes()
        if marker in content:
            block.write_bytes(content.replace(marker, bytes(64)))
            return update.artifact_id
    raise SystemExit(f"demo failed: no block of update #{update.artifact_id} found under {repo}")


if __name__ == "__main__":
    sys.exit(main())
