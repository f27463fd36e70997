"""`flep fl simulate` through the real `flep` app (registry/cli.py loads the fl group lazily)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from clients.fl import DatasetError, DPConfigError
from registry.cli import app as root

runner = CliRunner()


def _simulate(*args: str):
    return runner.invoke(root, ["fl", "simulate", "--clients", "2", "--rounds", "2", "--local-epochs", "1", *args])


def test_simulate_json_reports_accuracy() -> None:
    result = _simulate("--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rounds"] == 2 and len(report["history"]) == 2
    assert report["final_accuracy"] > 0.5
    assert report["epsilon"] is None and report["model"] == "cnn"
    assert len(report["metrics"]["confusion"]) == 10


def test_simulate_text_prints_rounds_and_metrics() -> None:
    result = _simulate("--dataset", "synthetic", "--partition", "dirichlet", "--alpha", "1.0")
    assert result.exit_code == 0, result.output
    assert "round   1  accuracy" in result.output and "round   2" in result.output
    assert "confusion matrix" in result.output


def test_simulate_dp_reports_epsilon() -> None:
    result = _simulate("--model", "logistic", "--dp", "--target-epsilon", "4", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert 1.0 < report["epsilon"] <= 4.0 + 1e-2
    assert report["noise_multiplier"] > 0 and report["delta"] == 1e-5
    assert "RDP" in report["accountant"]
    assert set(report["history"][-1]["epsilons"]) == {"client-0", "client-1"}


def test_simulate_mnist_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=images, y_train=labels, x_test=images[:10], y_test=labels[:10])
    result = _simulate("--dataset", "mnist", "--mnist-path", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["metrics"]["num_samples"] == 10


def test_mnist_without_path_is_an_actionable_error() -> None:
    result = _simulate("--dataset", "mnist")
    assert isinstance(result.exception, DatasetError)
    assert "--mnist-path" in str(result.exception)


@pytest.mark.parametrize(
    "args",
    [("--dp",), ("--dp", "--noise-multiplier", "1", "--target-epsilon", "3"), ("--noise-multiplier", "1")],
)
def test_dp_flag_combinations_refused(args: tuple[str, ...]) -> None:
    result = _simulate(*args)
    assert result.exit_code == 2
    assert "--noise-multiplier" in result.output


def test_dp_settings_rejected() -> None:
    result = _simulate("--dp", "--noise-multiplier", "1", "--max-grad-norm", "0")
    assert isinstance(result.exception, DPConfigError)
