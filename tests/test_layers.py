"""The import-linter contracts in pyproject.toml: the project keeps them, and each one catches what it forbids.

Each case copies the Python sources of ``registry`` and ``clients`` to a temporary tree, adds one import
that crosses a layer, and runs ``lint-imports`` with the project's configuration on that tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from registry.config import PROJECT_ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with ``root``'s pyproject.toml over the packages under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "400"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the project's Python packages and pyproject.toml."""
    for package in ("registry", "clients"):
        for source in (PROJECT_ROOT / package).rglob("*.py"):
            target = tmp_path / source.relative_to(PROJECT_ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    shutil.copyfile(PROJECT_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_project_keeps_its_layers() -> None:
    result = lint_imports(PROJECT_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copied_tree_is_what_gets_analysed(tree: Path) -> None:
    # Guards the cases below: the copy, not the installed project, is linted.
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    (tree / "clients" / "fl" / "probe.py").write_text("import registry.chain\n")
    assert "clients.fl.probe -> registry.chain" in lint_imports(tree).stdout


CLIENTS_PURE = "clients are pure crypto / ML libraries"
CLIENTS_INDEPENDENT = "clients.codec, clients.fl and clients.he are independent"
REGISTRY_LAYERS = "registry: cli -> commands -> roles"
NO_CLI_BELOW = "below the CLI nothing prints through a CLI library"


@pytest.mark.parametrize(
    ("module", "source", "contracts"),
    [
        ("clients/he/probe.py", "import registry.store\n", [CLIENTS_PURE]),
        ("clients/codec/probe.py", "import web3\n", [CLIENTS_PURE]),
        ("clients/he/probe.py", "import clients.fl\n", [CLIENTS_INDEPENDENT]),
        ("clients/aggregation.py", "import clients.fl\n", [CLIENTS_INDEPENDENT]),  # the shared layer, upwards
        ("registry/chain/probe.py", "import registry.store\n", [REGISTRY_LAYERS]),
        ("registry/keystore/__init__.py", "import registry.roles\n", [REGISTRY_LAYERS]),  # the optional layer
        ("registry/chain/probe.py", "import rich\n", [NO_CLI_BELOW]),
        # Upwards, and through commands.output to rich: both contracts name it.
        ("registry/roles/probe.py", "import registry.commands.output\n", [REGISTRY_LAYERS, NO_CLI_BELOW]),
    ],
)
def test_a_crossing_import_breaks_its_contract(tree: Path, module: str, source: str, contracts: list[str]) -> None:
    (tree / module).parent.mkdir(parents=True, exist_ok=True)
    (tree / module).write_text(source)
    result = lint_imports(tree)
    broken = [line.removesuffix(" BROKEN") for line in result.stdout.splitlines() if line.endswith(" BROKEN")]
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(broken) == len(contracts), broken
    assert all(name.startswith(prefix) for name, prefix in zip(sorted(broken), sorted(contracts))), broken
