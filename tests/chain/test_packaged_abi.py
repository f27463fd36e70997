"""The packaged ModelRegistry build: exactly what the compiler produces, and all that reading or deploying needs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from registry.chain import CompiledContract, ModelRegistry, Role, connect
from registry.chain import compiler
from registry.chain import events as ev
from registry.chain.compiler import REGENERATE_COMMAND, input_sha256, packaged_registry, registry_contract
from registry.chain.errors import CompilationError
from registry.config import PROJECT_ROOT
from registry.devnet import DevnetInfo, dev_account

STALE = (
    f"registry/chain/{compiler.PACKAGED_REGISTRY} is stale against contracts/: "
    f"regenerate it with `{REGENERATE_COMMAND}`"
)


@pytest.fixture()
def no_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any compilation fail the test (a cached compile too: the patch sits above the cache)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"compiled instead of using the packaged build; if it is stale: {STALE}")

    monkeypatch.setattr(compiler, "compile_contracts", refuse)


def test_packaged_build_is_what_the_compiler_produces(compiled_registry: CompiledContract) -> None:
    packaged, built_from = packaged_registry()
    assert built_from == input_sha256(), STALE
    assert packaged.abi == compiled_registry.abi, STALE
    assert packaged.bytecode == compiled_registry.bytecode, STALE
    assert packaged.deployed_bytecode == compiled_registry.deployed_bytecode, STALE
    assert packaged.custody_abi == compiled_registry.custody_abi, STALE
    assert packaged == compiled_registry


def test_packaged_build_is_declared_package_data() -> None:
    import tomllib

    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["registry.chain"]
    packaged = PROJECT_ROOT / "registry" / "chain" / compiler.PACKAGED_REGISTRY
    assert any(packaged.match(pattern) for pattern in patterns), f"{packaged} is not in {patterns}"


def test_reading_the_chain_never_compiles(devnet: DevnetInfo, parties, no_compiler: None) -> None:
    w3 = connect(devnet.rpc_url, devnet.chain_id)
    reader = ModelRegistry.at(w3, parties.operator.address, dev_account(8).address)
    fid = parties.federation_id

    assert reader.federation(fid) == parties.admin.federation(fid)
    assert reader.federation(fid).key_epoch == 1
    granted = {(e.role, e.account) for e in reader.events(ev.FederationRoleGranted, federation_id=fid)}
    assert (Role.AGGREGATOR, parties.aggregator.account) in granted
    assert (Role.DATA_OWNER, parties.owner.account) in granted
    artifacts = reader.artifacts(federation_id=fid)
    assert {a.artifact_id for a in artifacts} >= {parties.dataset}
    assert all(reader.verify_artifact(a) for a in artifacts)


def test_deploying_uses_the_packaged_bytecode(devnet: DevnetInfo, no_compiler: None) -> None:
    w3 = connect(devnet.rpc_url, devnet.chain_id)
    registry, deployment = ModelRegistry.deploy(w3, dev_account(0))
    packaged, _ = packaged_registry()
    assert registry.compiled == packaged
    # The runtime code embeds one immutable: the custody books' address, which the constructor deployed.
    custody = registry.contract.functions.custody().call()
    code = "0x" + bytes(w3.eth.get_code(deployment.address)).hex()
    assert code.replace("0" * 24 + custody[2:].lower(), "0" * 64) == packaged.deployed_bytecode
    assert w3.eth.get_code(custody)
    assert registry.federation_count() == 0


def test_an_installed_package_uses_the_packaged_build(tmp_path: Path, no_compiler: None) -> None:
    # No contracts/ beside the package: nothing to compile, nothing to compare against.
    assert registry_contract(tmp_path) == packaged_registry()[0]


def test_changed_contracts_are_compiled_not_read_from_the_stale_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(PROJECT_ROOT / "contracts", tmp_path / "contracts")
    fresh = CompiledContract("ModelRegistry", [], "0x01", "0x02")
    custody = CompiledContract("ThresholdCustody", [{"type": "function", "name": "x"}], "0x03", "0x04")
    compiled_roots: list[Path] = []

    def compile_contracts(root: Path, use_cache: bool = True) -> dict[str, CompiledContract]:
        compiled_roots.append(root)
        return {"ModelRegistry": fresh, "ThresholdCustody": custody}

    monkeypatch.setattr(compiler, "compile_contracts", compile_contracts)
    assert registry_contract(tmp_path) == packaged_registry()[0], STALE  # same sources: no compile
    assert compiled_roots == []

    source = tmp_path / "contracts" / "ModelRegistry.sol"
    source.write_text(source.read_text() + "\n// edited\n")
    assert registry_contract(tmp_path) == CompiledContract("ModelRegistry", [], "0x01", "0x02", custody.abi)
    assert compiled_roots == [tmp_path]


def test_a_missing_package_file_says_how_to_regenerate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "PACKAGED_REGISTRY", "compiled/NoSuchContract.json")
    with pytest.raises(CompilationError, match="regenerate it with `.venv/bin/python scripts/package_abi.py`"):
        packaged_registry()
