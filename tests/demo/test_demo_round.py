"""Integration: the demo's federated round on the session devnet (real Anvil, real IPFS node), read back.

Every outcome is checked against the chain and IPFS directly, not only against what the round reports.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from rich.console import Console

from clients.codec import CodecKey
from clients.fl import build_model, evaluate, load_digits_data, set_flat_params, split_train_test
from clients.he import aggregate_update_bytes, public_key_from_bytes
from registry.chain import ArtifactKind, KeyKind, ModelRegistry, RoundStatus, connect, events
from registry.config import load_settings
from registry.devnet import Devnet, dev_account
from registry.keystore import Keystore
from registry.roles import FederationContext, GrantError, ModelSealError, open_grant, open_model
from registry.store import ArtifactStore

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_round.py"
CHANCE = 0.1  # ten digit classes
PASSPHRASE = "demo-test-passphrase"


def _load_demo_round() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_round", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_round"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


demo_round = _load_demo_round()


@pytest.fixture(scope="module")
def round_result(devnet_manager: Devnet):
    """One round (3 analysts, 1024-bit Paillier to stay fast, 1 epoch) and the devnet settings."""
    torch.set_num_threads(1)
    settings = load_settings({"FLEP_HOME": str(devnet_manager.home)})
    output = io.StringIO()
    options = demo_round.RoundOptions(paillier_bits=1024, analysts=3, local_epochs=1, workers=1,
                                      passphrase=PASSPHRASE, scrypt_n=2**10)
    summary = demo_round.run_demo_round(settings, options, Console(file=output, width=200))
    return settings, summary, output.getvalue()


def _auditor(settings, summary) -> ModelRegistry:
    w3 = connect(settings.rpc_url, settings.chain_id)
    return ModelRegistry.at(w3, summary.registry_address, dev_account(7).address)


def test_model_version_1_is_on_chain_with_its_lineage(round_result) -> None:
    settings, summary, _ = round_result
    registry = _auditor(settings, summary)
    fid = summary.federation_id
    version = registry.model_version(fid, 1)
    assert summary.model_version == 1 and version.round == summary.round and version.parent_version == 0
    stored_round = registry.round(fid, summary.round)
    assert stored_round.status == RoundStatus.FINALIZED and stored_round.update_count == 3
    # The key holder re-checked the aggregate before decrypting, and disputed nothing.
    assert not stored_round.disputed
    assert registry.events(events.AggregateDisputed, from_block=summary.deploy_block, federation_id=fid) == []
    model = registry.artifact(version.global_model_artifact, from_block=summary.deploy_block)
    aggregate = registry.artifact(stored_round.aggregate_artifact, from_block=summary.deploy_block)
    assert model.kind == ArtifactKind.GLOBAL_MODEL and model.parents == (aggregate.artifact_id,)
    updates = [registry.artifact(u, from_block=summary.deploy_block) for u in aggregate.parents]
    assert [u.kind for u in updates] == [ArtifactKind.MODEL_UPDATE] * 3
    assert len({u.submitter for u in updates}) == 3  # three different analysts
    datasets = [registry.artifact(p, from_block=summary.deploy_block) for u in updates for p in u.parents]
    assert [d.kind for d in datasets] == [ArtifactKind.DATASET] * 3
    assert summary.lineage == {"model": model.artifact_id, "aggregate": aggregate.artifact_id,
                               "updates": sorted(u.artifact_id for u in updates),
                               "datasets": sorted(d.artifact_id for d in datasets)}
    finalized = registry.events(events.RoundFinalized, from_block=summary.deploy_block, federation_id=fid)
    assert [(f.round, f.version, f.dp.enabled) for f in finalized] == [(summary.round, 1, False)]


def test_aggregate_hash_matches_an_independent_recomputation(round_result) -> None:
    settings, summary, _ = round_result
    registry = _auditor(settings, summary)
    store = ArtifactStore(settings.ipfs_api)
    fid = summary.federation_id
    stored_round = registry.round(fid, summary.round)
    aggregate = registry.artifact(stored_round.aggregate_artifact, from_block=summary.deploy_block)
    updates = [registry.artifact(u, from_block=summary.deploy_block) for u in aggregate.parents]
    blobs = [store.get_bytes(u.cid, expected_sha256=u.sha256.hex()) for u in updates]
    key_record = registry.artifact(registry.federation(fid).paillier_public_key_artifact)
    public_key = public_key_from_bytes(store.get_bytes(key_record.cid, expected_sha256=key_record.sha256.hex()))
    recomputed = hashlib.sha256(aggregate_update_bytes(blobs, public_key)).digest()
    assert recomputed == stored_round.aggregate_sha256 == aggregate.sha256
    assert summary.aggregate_sha256 == recomputed.hex()
    # The auditor recomputed it too, from the update CIDs, and every check of its lineage audit passed.
    recomputations = [c for c in summary.audit_checks if c.name == "recomputation"]
    assert [(c.artifact_id, c.ok) for c in recomputations] == [(aggregate.artifact_id, True)]
    assert recomputed.hex() in recomputations[0].detail
    assert summary.audit_checks and all(c.ok for c in summary.audit_checks)
    assert public_key.n.bit_length() == summary.paillier_bits == 1024


def test_every_artifact_verifies_on_chain_and_on_ipfs(round_result) -> None:
    settings, summary, _ = round_result
    registry = _auditor(settings, summary)
    store = ArtifactStore(settings.ipfs_api)
    everything = registry.artifacts(federation_id=summary.federation_id, from_block=summary.deploy_block)
    # Public key, training plan, 3 datasets, 3 updates, aggregate, model, metrics.
    assert len(everything) == summary.artifacts_total == summary.artifacts_verified == 11
    for record in everything:
        assert registry.verify_artifact(record)
        content = store.get_bytes(record.cid, expected_sha256=record.sha256.hex())
        assert len(content) == record.size
    grants = registry.events(events.KeyGranted, from_block=summary.deploy_block, federation_id=summary.federation_id)
    assert [g.kind.name for g in grants] == ["PAILLIER_PRIVATE_KEY"] + ["MODEL_KEY"] * 3 + ["CODEC_KEY"] * 3
    assert summary.key_grants_verified == 7
    custody = json.loads(store.get_bytes(grants[0].wrapped_key_cid, expected_sha256=grants[0].wrapped_key_sha256.hex()))
    assert custody["key_holder"] == grants[0].account and custody["wrapped_key"] is None
    analysts = {u.submitter for u in everything if u.kind == ArtifactKind.MODEL_UPDATE}
    assert {g.account for g in grants[1:4]} == {g.account for g in grants[4:]} == analysts


def test_global_model_is_better_than_chance_and_only_members_can_read_it(round_result) -> None:
    settings, summary, _ = round_result
    registry = _auditor(settings, summary)
    store = ArtifactStore(settings.ipfs_api)
    fid = summary.federation_id
    version = registry.model_version(fid, 1)
    metrics_record = registry.artifact(version.metrics_artifact, from_block=summary.deploy_block)
    metrics = json.loads(store.get_bytes(metrics_record.cid, expected_sha256=metrics_record.sha256.hex()))
    assert metrics["accuracy"] == summary.accuracy > 2 * CHANCE
    model_record = registry.artifact(version.global_model_artifact, from_block=summary.deploy_block)
    sealed = store.get_bytes(model_record.cid, expected_sha256=model_record.sha256.hex())
    with pytest.raises(ValueError):  # on IPFS the model is ciphertext, not a .npy
        np.load(io.BytesIO(sealed), allow_pickle=False)
    # A member opens its sealed model-key grant from its own keystore and reads the model.
    keystore = Keystore.open(Path(summary.keystores) / "analyst-1", PASSPHRASE)
    context = FederationContext(registry, store, fid, summary.deploy_block)
    model_key = open_grant(context, keystore, KeyKind.MODEL_KEY)
    params = np.load(io.BytesIO(open_model(model_key, sealed, fid, version.round, 1)), allow_pickle=False)
    assert params.dtype == np.float32 and params.size == metrics["num_parameters"]
    # The metrics are the sealed model's: it scores the reported accuracy on the held-out digits.
    _, test = split_train_test(load_digits_data(), 0.2, seed=0)
    model = build_model("cnn", test.sample_shape, test.num_classes, seed=0)
    set_flat_params(model, params)
    assert evaluate(model, test).accuracy == metrics["accuracy"]
    assert summary.model_opened_by == [u.submitter for u in registry.artifacts(federation_id=fid,
                                       from_block=summary.deploy_block) if u.kind == ArtifactKind.MODEL_UPDATE]
    # The aggregator holds no model-key grant, and the model does not open under another key.
    aggregator = Keystore.open(Path(summary.keystores) / "aggregator", PASSPHRASE)
    with pytest.raises(GrantError, match="does not exist"):
        open_grant(context, aggregator, KeyKind.MODEL_KEY)
    with pytest.raises(ModelSealError):
        open_model(bytes(32), sealed, fid, version.round, 1)
    # Nothing secret in clear on disk: the codec key's secret appears in no keystore file.
    owner = registry.events(events.DatasetRegistered, summary.deploy_block, federation_id=fid)[0].owner
    codec_key = CodecKey.from_json(open_grant(context, keystore, KeyKind.CODEC_KEY, key_owner=owner).decode())
    secret_hex = json.loads(codec_key.to_json())["secret"]
    for path in Path(summary.keystores).rglob("*"):
        if path.is_file():
            assert secret_hex.encode() not in path.read_bytes() and model_key.hex().encode() not in path.read_bytes()


def test_output_names_parties_cids_gas_and_the_in_process_codec_key(round_result) -> None:
    _, summary, output = round_result
    for party in ("admin", "owner", "analyst-1", "analyst-2", "analyst-3", "aggregator", "key holder", "auditor"):
        assert party in output
    assert "1024-bit packed Paillier" in output
    assert "sealed for its registered key" in output and "keystores" in output
    assert "aggregator  try to read model v1: refused" in output
    assert all(gas > 0 for _, _, gas in summary.gas)
    assert {action.split()[0] for _, action, _ in summary.gas} >= {"deploy", "submit", "close", "finalize"}
