"""Compile the registry contracts with py-solc-x through the project's pinned compiler.

The compiler is ``scripts/solc``, the same launcher Forge uses (npm ``solc`` 0.8.30), with the same
optimizer and EVM settings as ``foundry.toml``, so Python deploys the bytecode the Foundry tests test.
Compiling the WebAssembly compiler takes tens of seconds, so outputs are cached under ``build/chain``
keyed by the sha256 of the sources and settings.

The ``ModelRegistry`` build also ships as package data (``registry/chain/compiled/ModelRegistry.json``),
so that reading the chain and deploying need neither solc nor ``node_modules``: see
:func:`registry_contract`. ``tests/chain/test_packaged_abi.py`` fails when that file is stale;
:data:`REGENERATE_COMMAND` rewrites it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from registry.chain.errors import CompilationError
from registry.config import PROJECT_ROOT

REMAPPINGS = ["@openzeppelin/=node_modules/@openzeppelin/"]
# Keep in step with foundry.toml: same bytecode in Forge tests and in Python deployments.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "remappings": REMAPPINGS,
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}
# The packaged ModelRegistry build, inside the ``registry.chain`` package (see pyproject package-data).
PACKAGED_REGISTRY = "compiled/ModelRegistry.json"
REGENERATE_COMMAND = ".venv/bin/python scripts/package_abi.py"


@dataclass(frozen=True)
class CompiledContract:
    """ABI and bytecode of one compiled contract.

    ``custody_abi`` is set on ``ModelRegistry``: the ABI of the ``ThresholdCustody`` contract its constructor
    deploys (the registry's bytecode includes it), to read that contract's views.
    """

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    custody_abi: list[dict[str, Any]] = field(default_factory=list)


def _standard_input(root: Path) -> dict[str, Any]:
    sources = {
        path.relative_to(root).as_posix(): {"content": path.read_text()}
        for path in sorted((root / "contracts").glob("*.sol"))
    }
    if not sources:
        raise CompilationError(f"no Solidity sources in {root / 'contracts'}")
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def _canonical(standard_input: dict[str, Any]) -> bytes:
    return json.dumps(standard_input, sort_keys=True).encode()


def input_sha256(root: Path = PROJECT_ROOT) -> str:
    """The sha256 of the compiler input for ``root/contracts``: every source and the settings.

    Raises:
        CompilationError: If ``root/contracts`` holds no Solidity source.
    """
    return hashlib.sha256(_canonical(_standard_input(root))).hexdigest()


def _cache_key(standard_input: dict[str, Any], root: Path) -> str:
    digest = hashlib.sha256(_canonical(standard_input))
    # Imported OpenZeppelin sources are part of the input too; their version pins them.
    oz = root / "node_modules" / "@openzeppelin" / "contracts" / "package.json"
    if oz.exists():
        digest.update(oz.read_bytes())
    return digest.hexdigest()[:16]


def compile_contracts(root: Path = PROJECT_ROOT, use_cache: bool = True) -> dict[str, CompiledContract]:
    """Compile every contract in ``contracts/`` and return them by name.

    Args:
        root: Project root holding ``contracts/``, ``scripts/solc`` and ``node_modules``.
        use_cache: Reuse a cached output for identical sources and settings.

    Raises:
        CompilationError: If the launcher is missing or the compiler reports an error.
    """
    launcher = root / "scripts" / "solc"
    if not launcher.exists():
        raise CompilationError(f"compiler launcher {launcher} is missing")
    if not (root / "node_modules" / "solc").exists():
        raise CompilationError(f"npm solc is not installed under {root / 'node_modules'}; run `npm ci` first")
    standard_input = _standard_input(root)
    cache_file = root / "build" / "chain" / f"contracts-{_cache_key(standard_input, root)}.json"
    if use_cache and cache_file.exists():
        output = json.loads(cache_file.read_text())
    else:
        try:
            output = solcx.compile_standard(
                standard_input, solc_binary=launcher, base_path=str(root), allow_paths=[str(root)]
            )
        except SolcError as exc:
            raise CompilationError(f"compiling {root / 'contracts'} failed: {exc}") from exc
        errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise CompilationError("; ".join(e.get("formattedMessage", e["message"]) for e in errors))
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(output))
        tmp.replace(cache_file)
    compiled: dict[str, CompiledContract] = {}
    for source, contracts in output["contracts"].items():
        if not source.startswith("contracts/"):
            continue
        for name, data in contracts.items():
            compiled[name] = CompiledContract(
                name=name,
                abi=data["abi"],
                bytecode="0x" + data["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
            )
    return compiled


def compile_registry(root: Path = PROJECT_ROOT) -> CompiledContract:
    """The compiled ``ModelRegistry`` contract.

    Raises:
        CompilationError: If compilation fails.
    """
    contracts = compile_contracts(root)
    registry = contracts["ModelRegistry"]
    return CompiledContract(registry.name, registry.abi, registry.bytecode, registry.deployed_bytecode,
                            contracts["ThresholdCustody"].abi)


def packaged_registry() -> tuple[CompiledContract, str]:
    """The ``ModelRegistry`` build shipped as package data, and the :func:`input_sha256` it was built from.

    Raises:
        CompilationError: If the package data is missing or unreadable.
    """
    resource = resources.files("registry.chain").joinpath(PACKAGED_REGISTRY)
    try:
        data = json.loads(resource.read_text())
        contract = CompiledContract(
            name=data["name"], abi=data["abi"], bytecode=data["bytecode"], deployed_bytecode=data["deployed_bytecode"],
            custody_abi=data["custody_abi"],
        )
        return contract, data["input_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CompilationError(
            f"packaged contract build {resource} is missing or corrupt ({exc!r}); "
            f"reinstall the package or regenerate it with `{REGENERATE_COMMAND}`"
        ) from exc


def registry_contract(root: Path = PROJECT_ROOT) -> CompiledContract:
    """The ``ModelRegistry`` ABI and bytecode, compiled only when the packaged build cannot be trusted.

    The packaged build is used when it was built from the sources in ``root/contracts``, or when there are
    no sources (an installed package): reading the chain or deploying then needs neither solc nor
    ``node_modules``. A checkout whose contracts changed since the package data was written is compiled
    instead, so that nothing deploys or decodes with a stale build.

    Raises:
        CompilationError: If the package data is unreadable, or the changed contracts do not compile.
    """
    contract, built_from = packaged_registry()
    if (root / "contracts").is_dir() and input_sha256(root) != built_from:
        return compile_registry(root)
    return contract


def write_package_data(root: Path = PROJECT_ROOT) -> Path:
    """Compile ``ModelRegistry`` from ``root/contracts`` and write it as the packaged build.

    Returns:
        The file written.

    Raises:
        CompilationError: If compilation fails.
    """
    contract = compile_registry(root)
    data = {
        "name": contract.name,
        "input_sha256": input_sha256(root),
        "abi": contract.abi,
        "bytecode": contract.bytecode,
        "deployed_bytecode": contract.deployed_bytecode,
        "custody_abi": contract.custody_abi,
    }
    path = root / "registry" / "chain" / PACKAGED_REGISTRY
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    return path
