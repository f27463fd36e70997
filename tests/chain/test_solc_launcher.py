"""The project's compiler launcher (scripts/solc): the CLI surface Forge and py-solc-x rely on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from registry.config import PROJECT_ROOT

SOLC = PROJECT_ROOT / "scripts" / "solc"


def _compile(source: str, *args: str) -> dict:
    standard_input = {
        "language": "Solidity",
        "sources": {"Probe.sol": {"content": source}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    }
    done = subprocess.run(
        [str(SOLC), *args, "--standard-json"], input=json.dumps(standard_input), capture_output=True, text=True,
        check=True, timeout=120,
    )
    return json.loads(done.stdout)  # stdout must hold the JSON and nothing else


def test_version_line_is_what_forge_parses() -> None:
    out = subprocess.run([str(SOLC), "--version"], capture_output=True, text=True, check=True, timeout=60).stdout
    assert "Version: 0.8.30+commit.73712a01" in out.splitlines()[-1]


def test_imports_resolve_under_base_path_and_stay_inside_allowed_paths(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "Dep.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\ncontract Dep {}\n")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.sol"
    outside.write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\ncontract Out {}\n")
    ok = _compile(
        'pragma solidity 0.8.30; import "lib/Dep.sol"; contract Probe is Dep {}',
        "--base-path", str(tmp_path), "--allow-paths", str(tmp_path),
    )
    assert "Probe" in ok["contracts"]["Probe.sol"]
    refused = _compile(
        f'pragma solidity 0.8.30; import "{outside}"; contract Probe {{}}',
        "--base-path", str(tmp_path), "--allow-paths", str(tmp_path),
    )
    messages = " ".join(e["message"] for e in refused.get("errors", []))
    assert "outside of allowed directories" in messages


def test_unknown_argument_is_refused() -> None:
    done = subprocess.run([str(SOLC), "--bin"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "unsupported argument --bin" in done.stderr
