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


HOSTILE = "[red]x[/red][link=https://evil.example]y[/link]:warning:"


def test_error_line_prints_untrusted_text_literally(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"FLEP_HOME": str(tmp_path), "FLEP_IPFS_API": "http://127.0.0.1:9", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(  # a malformed CID is refused before any request, so no node is needed
        [sys.executable, "-m", "registry", "store", "get", HOSTILE, "-o", str(tmp_path / "out")],
        env=env, capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {HOSTILE!r} is not a CID this store can verify")


def test_command_error_prints_a_hostile_file_name_literally(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / f"{HOSTILE}.key"
    result = CliRunner().invoke(app, ["codec", "encrypt", "skimage:camera", "-k", str(key), "-o", str(tmp_path / "c")])
    assert result.exit_code == 1
    assert f"cannot read codec key {key}" in result.output
