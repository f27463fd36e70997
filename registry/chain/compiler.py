"""Compile the registry contracts with py-solc-x through the project's pinned compiler.

The compiler is ``scripts/solc``, the same launcher Forge uses (npm ``solc`` 0.8.30), with the same
optimizer and EVM settings as ``foundry.toml``, so Python deploys the bytecode the Foundry tests test.
Compiling the WebAssembly compiler takes tens of seconds, so outputs are cached under ``build/chain``
keyed by the sha256 of the sources and settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CompiledContract:
    """ABI and bytecode of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


def _standard_input(root: Path) -> dict[str, Any]:
    sources = {
        path.relative_to(root).as_posix(): {"content": path.read_text()}
        for path in sorted((root / "contracts").glob("*.sol"))
    }
    if not sources:
        raise CompilationError(f"no Solidity sources in {root / 'contracts'}")
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def _cache_key(standard_input: dict[str, Any], root: Path) -> str:
    digest = hashlib.sha256(json.dumps(standard_input, sort_keys=True).encode())
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
    return compile_contracts(root)["ModelRegistry"]
