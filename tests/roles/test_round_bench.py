"""`flep bench round` on the session devnet: one real round broken into phases, beside its plaintext twin.

Only the structure is checked (every phase measured, gas recorded, the round finalized and verified, both
accuracies reported); the figures themselves are measurements, never pass/fail.
"""

from __future__ import annotations

from dataclasses import asdict

from typer.testing import CliRunner

from registry.chain import ModelRegistry, RoundStatus, connect
from registry.cli import app
from registry.devnet import dev_account
from registry.roles.round_bench import RoundBenchConfig, run_round_bench

PHASES = {"train", "encrypt", "ipfs", "chain", "aggregate", "decrypt", "verify", "other"}


def test_a_small_round_is_timed_by_phase_beside_the_plaintext_round(devnet, tmp_path) -> None:
    w3 = connect(devnet.rpc_url, devnet.chain_id)
    registry, _ = ModelRegistry.deploy(w3, dev_account(0))
    lines: list[str] = []
    result = run_round_bench(devnet.rpc_url, devnet.chain_id, registry.address, devnet.ipfs_api, dev_account(0),
                             tmp_path, RoundBenchConfig(analysts=3, paillier_bits=1024, model="logistic"),
                             lines.append)

    phases = asdict(result.phases)
    assert set(phases) == PHASES and all(seconds > 0 for seconds in phases.values()), phases
    assert result.setup_seconds > 0 and result.plaintext_seconds > 0 and result.overhead > 0
    assert set(result.gas) == {"open_round", "submit_update", "close_round + post_aggregate", "finalize_round"}
    assert all(gas > 0 for gas in result.gas.values()) and result.gas_total == sum(result.gas.values())
    assert result.transactions == 3 + 4

    # The round really ran on chain, every party its own fresh account, and the auditor verifies it.
    stored = registry.round(result.federation_id, result.round)
    assert stored.status == RoundStatus.FINALIZED and stored.update_count == 3 and stored.included_count == 3
    assert (result.status, result.model_version) == ("finalized", 1)
    analysts = {u.analyst for u in registry.round_updates(result.federation_id, result.round)}
    assert len(analysts) == 3 and not analysts & {dev_account(i).address for i in range(10)}
    assert result.verification_failures == ()

    # The same FedAvg up to the encoding's quantization: both accuracies reported, and close.
    assert 0.1 < result.accuracy <= 1 and 0.1 < result.plaintext_accuracy <= 1  # chance is 0.1
    assert abs(result.accuracy - result.plaintext_accuracy) <= 0.05
    assert result.max_parameter_difference < 1e-3
    assert result.num_values == 650 and result.update_bytes > 0
    assert len(lines) == 3  # setup, round, plaintext round

    figures = result.to_dict()
    assert figures["overhead"] == result.overhead and figures["phases"] == phases
    assert figures["config"]["analysts"] == 3


def test_bench_round_help() -> None:
    result = CliRunner().invoke(app, ["bench", "round", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--analysts", "--bits", "--model", "--local-epochs", "--json"):
        assert option in result.output
