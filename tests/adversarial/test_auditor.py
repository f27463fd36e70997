"""The auditor (`flep verify`): an honest round verifies; a tampered artifact, a wrong exclusion and a wrong
sum are each named, and the command exits 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clients.he import aggregate_update_bytes
from registry.chain import Exclusion, ExclusionReason
from registry.cli import app
from registry.roles import Auditor


def _finalized_round(federation) -> int:
    round_, _ = federation.honest_round(3)
    federation.aggregator_role().aggregate_round(round_)
    federation.finalize(round_)
    return round_


def _verify_cli(federation, devnet_manager, *args: str):
    env = {"FLEP_HOME": str(devnet_manager.home), "FLEP_REGISTRY_ADDRESS": federation.admin.address}
    return CliRunner().invoke(app, ["verify", *args, "--federation", str(federation.federation_id), "--json"],
                              env=env)


def test_honest_round_and_model_verify(federation, devnet_manager) -> None:
    round_ = _finalized_round(federation)
    auditor = Auditor(federation.context(federation.stranger))
    result = auditor.verify_round(round_)
    assert result.ok, result.failures
    names = {c.name for c in result.checks}
    assert {"content", "inclusion valid", "recomputation", "weights", "lineage"} <= names
    assert sum(c.name == "content" for c in result.checks) == 3 + 1 + 2  # updates, aggregate, model + metrics
    second = _finalized_round(federation)
    model = auditor.verify_model(2)
    assert model.ok and {c.subject for c in model.checks} >= {"round 1" if round_ == 1 else f"round {round_}",
                                                              f"round {second}"}
    cli = _verify_cli(federation, devnet_manager, "--model", "2")
    assert cli.exit_code == 0, cli.output
    report = json.loads(cli.output)
    assert report["ok"] and report["target"] == "model v2" and len(report["checks"]) == len(model.checks)


def test_wrong_exclusion_and_wrong_sum_are_named(federation, devnet_manager) -> None:
    round_, ids = federation.honest_round(3)
    federation.aggregator.close_round(federation.federation_id, round_)
    ordered = sorted(ids, key=federation.sha)
    kept, victim = ordered[:2], ordered[2]
    # The posted bytes are not even the sum of the two it includes: a sum of one of them only.
    wrong = federation.put(aggregate_update_bytes([federation.blob(kept[0])], federation.keys.public_key))
    federation.aggregator.post_aggregate(federation.federation_id, round_, wrong, [federation.sha(i) for i in kept],
                                         [Exclusion(federation.sha(victim), ExclusionReason.UNPARSEABLE)])
    result = Auditor(federation.context(federation.stranger)).verify_round(round_)
    failed = {(c.subject, c.name) for c in result.failures}
    assert (f"update #{victim}", "exclusion justified") in failed
    assert (f"aggregate #{federation.admin.round(federation.federation_id, round_).aggregate_artifact}",
            "recomputation") in failed
    assert (f"round {round_}", "weights") in failed  # the header counts one update's weight, the chain two
    cli = _verify_cli(federation, devnet_manager, "--round", str(round_))
    assert cli.exit_code == 1
    assert not json.loads(cli.output)["ok"]


def test_corrupted_update_on_the_nodes_disk_is_named(federation, devnet, devnet_manager) -> None:
    round_ = _finalized_round(federation)
    update = federation.admin.round_updates(federation.federation_id, round_, federation.deploy_block)[0]
    marker = federation.blob(update.artifact_id)[-64:]
    blocks = [p for p in Path(devnet.ipfs_repo).rglob("*") if p.is_file() and marker in p.read_bytes()]
    assert len(blocks) == 1
    blocks[0].write_bytes(blocks[0].read_bytes().replace(marker, bytes(64)))
    result = Auditor(federation.context(federation.stranger)).verify_round(round_)
    assert (f"model_update #{update.artifact_id}", "content") in {(c.subject, c.name) for c in result.failures}
    cli = _verify_cli(federation, devnet_manager, str(update.artifact_id))
    assert cli.exit_code == 1
    assert json.loads(cli.output)["checks"][0]["ok"] is False


def test_a_claimed_size_beyond_the_limit_is_refused_before_fetching(federation) -> None:
    from registry.chain import ArtifactInput

    stored = federation.store.put_bytes(b"a small dataset that claims to be 2 GiB")
    lying = ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), 2 << 30)
    dataset = federation.owner.register_dataset(federation.federation_id, lying, 10).value
    result = Auditor(federation.context(federation.stranger)).verify_artifact(dataset)
    assert not result.ok and "larger than the 1073741824-byte limit" in result.checks[0].detail
