"""`flep bench explorer` with a tiny scratch federation on the session devnet: the figures' structure (never
their values, which depend on the machine)."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from registry.chain import ModelRegistry, connect
from registry.cli import app
from registry.devnet import Devnet, DevnetInfo, dev_account


def test_bench_explorer_times_each_page_cold_cached_and_after_a_block(devnet_manager: Devnet,
                                                                       devnet: DevnetInfo) -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FLEP_")}
    env["FLEP_HOME"] = str(devnet_manager.home)
    result = CliRunner().invoke(app, ["bench", "explorer", "--rounds", "2", "--analysts", "2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["config"] == {"rounds": 2, "analysts": 2, "paillier_bits": 1024, "num_values": 40, "seed": 0}
    fid = figures["federation_id"]
    assert set(figures["pages"]) == {"federation", "lineage", "round", "access"}
    assert [figures["pages"][p]["path"] for p in ("federation", "lineage", "round", "access")] == [
        f"/federation/{fid}", f"/federation/{fid}/model/2", f"/federation/{fid}/round/2", f"/federation/{fid}/access"]
    for page in figures["pages"].values():
        assert page["bytes"] > 1000 and all(page[k] > 0 for k in ("cold", "cached", "next_block"))
    assert figures["lineage_nodes"] == 2 * 2 + 2 * 2 + 2  # models and rounds, updates, datasets
    assert figures["build_seconds"] > 0
    # A registry of its own, with the federation's two finalized versions.
    scratch = ModelRegistry.at(connect(devnet.rpc_url, devnet.chain_id), figures["registry_address"], dev_account(0))
    assert scratch.federation_count() == 1 and scratch.federation(fid).model_version_count == 2
