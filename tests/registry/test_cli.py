"""The `flep` entry point: lazy command groups and one-line errors."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from registry.cli import app

HEAVY = ("torch", "opacus", "tenseal", "web3", "phe")


def test_startup_imports_no_heavy_library() -> None:
    probe = "import sys, registry.cli; print(','.join(m for m in %r if m in sys.modules))" % (HEAVY,)
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_help_lists_lazy_groups_without_loading_them() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("devnet", "store", "registry", "codec", "fl", "he", "bench"):
        assert name in result.output


def test_lazy_group_runs_its_real_commands() -> None:
    result = CliRunner().invoke(app, ["he", "--help"])
    assert result.exit_code == 0
    assert "keygen" in result.output


def test_errors_are_one_line_without_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"FLEP_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "registry", "store", "get", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "-o", "x"],
        env=env, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no IPFS API configured")
    assert "Traceback" not in result.stderr
