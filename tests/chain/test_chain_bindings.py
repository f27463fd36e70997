"""Bindings: ABI coverage of the exception classes, digests, types, and `flep registry deploy`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from registry.chain import (
    ArtifactInput,
    ArtifactKind,
    CompiledContract,
    DpParameters,
    ErrorDecoder,
    Role,
    artifact_digest,
    connect,
    error_classes,
    role_by_name,
    role_name,
)
from registry.chain import errors as err
from registry.commands.chain import app
from registry.config import read_devnet_file


def test_every_contract_error_has_a_dedicated_exception(compiled_registry: CompiledContract) -> None:
    names = {entry["name"] for entry in compiled_registry.abi if entry["type"] == "error"}
    assert names <= set(error_classes()), f"no exception class for {sorted(names - set(error_classes()))}"


def test_error_decoder_builds_fields_and_message(compiled_registry: CompiledContract) -> None:
    from eth_abi import encode
    from eth_utils import keccak

    account = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    data = keccak(text="ModelRegistryUnauthorizedAccount(uint64,address,bytes32)")[:4] + encode(
        ["uint64", "address", "bytes32"], [3, account, Role.AGGREGATOR]
    )
    decoded = ErrorDecoder(compiled_registry.abi).decode("0x" + data.hex())
    assert isinstance(decoded, err.UnauthorizedAccountError)
    assert decoded.fields == {"federation_id": 3, "account": account, "role": Role.AGGREGATOR}
    assert str(decoded).startswith(f"account {account} lacks role AGGREGATOR in federation 3")
    assert ErrorDecoder(compiled_registry.abi).decode("0xdeadbeef") is None


def test_python_digest_matches_the_contract(deployed) -> None:
    fid = deployed.create_federation(deployed.account, 1).value
    first, second = (deployed.register_artifact(fid, ArtifactKind.METRICS, ArtifactInput(f"QmCid{i}", bytes([i]) * 32,
                                                                                       1000 + i)).value
                     for i in (1, 2))
    child = ArtifactInput("QmChild", b"\x05" * 32, 123456)
    artifact_id = deployed.register_artifact(fid, ArtifactKind.METRICS, child, [second, first]).value
    expected = artifact_digest(ArtifactKind.METRICS, fid, 0, deployed.account, child.cid, child.sha256, child.size,
                               (second, first))
    assert deployed.artifact_digest(artifact_id) == expected
    assert artifact_digest(ArtifactKind.METRICS, fid, 0, deployed.account, child.cid, child.sha256, child.size,
                           (first, second)) != expected  # the parents' order is part of it


def test_dp_parameters_round_trip_to_fixed_point() -> None:
    dp = DpParameters.from_floats(epsilon=2.5, delta=1e-5, noise_multiplier=1.3, clip_norm=0.75, accountant="prv")
    assert dp.as_tuple() == (2_500_000, 10**13, 1_300_000, 750_000, "prv")
    assert (dp.epsilon, dp.delta, dp.noise_multiplier, dp.clip_norm) == (2.5, 1e-5, 1.3, 0.75)
    assert dp.enabled and not DpParameters.none().enabled


def test_role_names() -> None:
    assert role_by_name("analyst") == Role.ANALYST
    assert role_by_name("Data-Owner") == Role.DATA_OWNER
    assert role_by_name("admin") == Role.FEDERATION_ADMIN
    assert role_name(Role.AGGREGATOR) == "AGGREGATOR"
    with pytest.raises(ValueError, match="unknown role"):
        role_by_name("key holder")


def test_deploy_command_prints_json_and_records_the_address(devnet, devnet_env) -> None:
    result = CliRunner().invoke(app, ["deploy", "--json"], env=devnet_env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["chain_id"] == devnet.chain_id and out["block"] > 0
    w3 = connect(devnet.rpc_url, devnet.chain_id)
    assert w3.eth.get_code(out["address"])
    assert read_devnet_file(Path(out["recorded_in"]))["registry_address"] == out["address"]
    status = CliRunner().invoke(app, ["status", "--json"], env=devnet_env)
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout) == {
        "address": out["address"], "chain_id": devnet.chain_id, "federations": 0, "artifacts": 0}


def test_python_compiler_settings_match_foundry() -> None:
    import tomllib

    from registry.chain.compiler import REMAPPINGS, SETTINGS
    from registry.config import PROJECT_ROOT

    profile = tomllib.loads((PROJECT_ROOT / "foundry.toml").read_text())["profile"]["default"]
    assert SETTINGS["optimizer"] == {"enabled": profile["optimizer"], "runs": profile["optimizer_runs"]}
    assert SETTINGS["evmVersion"] == profile["evm_version"]
    assert REMAPPINGS == profile["remappings"]
