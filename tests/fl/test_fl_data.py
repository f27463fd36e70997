"""Datasets: digits, the synthetic IIoT generator, and the MNIST IDX/npz loader on generated files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from clients.fl import (
    IIOT_CLASSES,
    DatasetError,
    LabelledData,
    load_digits_data,
    load_mnist,
    make_iiot_data,
    read_idx,
    split_train_test,
    standardize,
)


def test_digits_shape_range_and_split() -> None:
    data = load_digits_data()
    assert data.x.shape == (1797, 1, 8, 8) and data.x.dtype == np.float32
    assert 0.0 <= data.x.min() and data.x.max() <= 1.0
    train, test = split_train_test(data, 0.2, seed=0)
    assert len(train) + len(test) == 1797
    assert set(np.unique(test.y)) == set(range(10))


def test_iiot_generator_is_seeded_and_labelled() -> None:
    a = make_iiot_data(num_samples=600, num_features=8, num_attack_types=3, seed=5)
    b = make_iiot_data(num_samples=600, num_features=8, num_attack_types=3, seed=5)
    c = make_iiot_data(num_samples=600, num_features=8, num_attack_types=3, seed=6)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert a.x.shape == (600, 8) and a.num_classes == 4
    assert a.class_names == IIOT_CLASSES[:4]
    counts = np.bincount(a.y, minlength=4)
    assert counts[0] == 240 and counts[1:].sum() == 360
    # Classes are genuinely different distributions: class means are apart.
    means = np.stack([a.x[a.y == k].mean(axis=0) for k in range(4)])
    assert np.linalg.norm(means[0] - means[1]) > 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_attack_types": 0}, "num_attack_types"),
        ({"num_samples": 3}, "at least"),
        ({"normal_fraction": 1.0}, "normal_fraction"),
    ],
)
def test_iiot_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        make_iiot_data(**kwargs)


def test_standardize_uses_train_statistics() -> None:
    data = make_iiot_data(num_samples=400, num_features=5, seed=1)
    train, test = standardize(*split_train_test(data, 0.25, seed=1))
    np.testing.assert_allclose(train.x.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.x.std(axis=0), 1.0, atol=1e-4)
    assert len(test) == 100


def test_labelled_data_rejects_mismatch() -> None:
    with pytest.raises(DatasetError, match="3 samples but 2 labels"):
        LabelledData(np.zeros((3, 2), np.float32), np.zeros(2, np.int64), 2, ("a", "b"))
    with pytest.raises(DatasetError, match="labels must lie"):
        LabelledData(np.zeros((2, 2), np.float32), np.array([0, 5]), 2, ("a", "b"))


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _fake_mnist(rng: np.random.Generator, n: int, side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, size=(n, side, side), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8)


@pytest.mark.parametrize("compressed", [False, True])
def test_mnist_idx_directory(tmp_path: Path, compressed: bool) -> None:
    rng = np.random.default_rng(0)
    train_x, train_y = _fake_mnist(rng, 12)
    test_x, test_y = _fake_mnist(rng, 5)
    files = {
        "train-images-idx3-ubyte": train_x,
        "train-labels-idx1-ubyte": train_y,
        "t10k-images-idx3-ubyte": test_x,
        "t10k-labels-idx1-ubyte": test_y,
    }
    for name, array in files.items():
        if compressed:
            (tmp_path / f"{name}.gz").write_bytes(gzip.compress(_idx_bytes(array)))
        else:
            (tmp_path / name).write_bytes(_idx_bytes(array))
    train, test = load_mnist(tmp_path)
    assert train.x.shape == (12, 1, 28, 28) and test.x.shape == (5, 1, 28, 28)
    np.testing.assert_allclose(train.x[:, 0] * 255.0, train_x, atol=1e-3)
    np.testing.assert_array_equal(test.y, test_y)


def test_mnist_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    train_x, train_y = _fake_mnist(rng, 7)
    test_x, test_y = _fake_mnist(rng, 3)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=train_x, y_train=train_y, x_test=test_x, y_test=test_y)
    train, test = load_mnist(path)
    np.testing.assert_array_equal(train.y, train_y)
    assert test.x.shape == (3, 1, 28, 28) and test.x.max() <= 1.0


def test_mnist_npz_missing_arrays(tmp_path: Path) -> None:
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="lacks arrays"):
        load_mnist(path)


def test_mnist_missing_files_and_paths(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_mnist(tmp_path)
    with pytest.raises(DatasetError, match="neither a directory"):
        load_mnist(tmp_path / "nope.npz")


def test_idx_malformed(tmp_path: Path) -> None:
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(bad_magic)
    truncated = tmp_path / "short"
    truncated.write_bytes(_idx_bytes(np.zeros((4, 2, 2), np.uint8))[:-3])
    with pytest.raises(DatasetError, match="needs 16"):
        read_idx(truncated)
    floats = tmp_path / "floats"
    floats.write_bytes(bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1) + b"\x00\x00\x00\x00")
    with pytest.raises(DatasetError, match="unsigned bytes"):
        read_idx(floats)
    not_gzip = tmp_path / "x.gz"
    not_gzip.write_bytes(b"plain")
    with pytest.raises(DatasetError, match="cannot read"):
        read_idx(not_gzip)


def test_mnist_labels_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    images = np.zeros((2, 28, 28), np.uint8)
    np.savez(path, x_train=images, y_train=np.array([0, 12]), x_test=images, y_test=np.array([1, 2]))
    with pytest.raises(DatasetError, match="0-9"):
        load_mnist(path)
