"""Models: flat parameter vectors, determinism, Opacus compatibility, bad vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from clients.fl import (
    DPConfigError,
    ModelConfigError,
    ParameterShapeError,
    build_model,
    check_dp_compatible,
    get_flat_params,
    num_parameters,
    set_flat_params,
)


@pytest.mark.parametrize(
    ("name", "shape"),
    [("cnn", (1, 8, 8)), ("cnn", (1, 28, 28)), ("mlp", (20,)), ("logistic", (20,)), ("svm", (1, 8, 8))],
)
def test_flat_roundtrip_and_forward(name: str, shape: tuple[int, ...]) -> None:
    model = build_model(name, shape, 6, seed=3)
    flat = get_flat_params(model)
    assert flat.dtype == np.float32 and flat.shape == (num_parameters(model),)
    other = build_model(name, shape, 6, seed=4)
    assert not np.array_equal(get_flat_params(other), flat)
    set_flat_params(other, flat)
    np.testing.assert_array_equal(get_flat_params(other), flat)
    x = torch.randn(5, *shape)
    torch.testing.assert_close(model(x), other(x))
    assert model(x).shape == (5, 6)
    check_dp_compatible(model)


def test_same_seed_same_model_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = get_flat_params(build_model("cnn", (1, 8, 8), 10, seed=7))
    after = torch.rand(1)
    b = get_flat_params(build_model("cnn", (1, 8, 8), 10, seed=7))
    np.testing.assert_array_equal(a, b)
    assert torch.equal(before, after)


def test_flat_vector_is_a_copy() -> None:
    model = build_model("mlp", (4,), 3)
    flat = get_flat_params(model)
    flat[:] = 0.0
    assert np.any(get_flat_params(model) != 0.0)


@pytest.mark.parametrize(
    ("vector", "match"),
    [
        (np.zeros(10, dtype=np.float32), "has length 10"),
        (np.zeros((2, 5), dtype=np.float32), "must be 1-D"),
        (np.zeros(1, dtype=np.int64), "must hold floats"),
    ],
)
def test_incompatible_vectors_refused(vector: np.ndarray, match: str) -> None:
    model = build_model("logistic", (4,), 3)
    with pytest.raises(ParameterShapeError, match=match):
        set_flat_params(model, vector)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_vector_refused_and_model_unchanged(bad: float) -> None:
    model = build_model("logistic", (4,), 3)
    before = get_flat_params(model)
    vector = before.copy()
    vector[2] = bad
    with pytest.raises(ParameterShapeError, match="NaN/Inf"):
        set_flat_params(model, vector)
    np.testing.assert_array_equal(get_flat_params(model), before)


def test_vector_of_other_architecture_refused() -> None:
    digits_cnn = get_flat_params(build_model("cnn", (1, 8, 8), 10))
    with pytest.raises(ParameterShapeError, match="same model"):
        set_flat_params(build_model("cnn", (1, 28, 28), 10), digits_cnn)


@pytest.mark.parametrize(
    ("name", "shape", "classes", "match"),
    [
        ("resnet", (1, 8, 8), 10, "unknown model"),
        ("cnn", (64,), 10, "channels, height, width"),
        ("mlp", (4,), 1, "2 classes"),
    ],
)
def test_bad_model_requests(name: str, shape: tuple[int, ...], classes: int, match: str) -> None:
    with pytest.raises(ModelConfigError, match=match):
        build_model(name, shape, classes)


def test_batchnorm_model_rejected_for_dp() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with pytest.raises(DPConfigError, match="GroupNorm"):
        check_dp_compatible(model)
