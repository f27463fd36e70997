"""MNIST-format loader for local files: IDX (raw or gzip) directories and ``.npz`` archives.

Nothing is downloaded: point it at the four IDX files (as distributed by
LeCun et al.) or at a Keras-style ``mnist.npz`` with ``x_train``, ``y_train``,
``x_test``, ``y_test``.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from clients.fl.datasets import LabelledData
from clients.fl.errors import DatasetError

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzip-compressed if it ends in ``.gz``).

    Args:
        path: The IDX file.

    Returns:
        A ``uint8`` array with the dimensions stored in the header.

    Raises:
        DatasetError: If the file is missing, is not IDX, is not of unsigned
            bytes, or is shorter than its header says.
    """
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read IDX file {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(f"{path} is not an IDX file (bad magic number); expected MNIST IDX data")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != _UBYTE:
        raise DatasetError(f"{path} stores IDX type 0x{dtype_code:02x}; only unsigned bytes (0x08) are supported")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise DatasetError(f"{path} is truncated inside its IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header_end])
    expected = int(np.prod(dims)) if dims else 0
    payload = np.frombuffer(raw, dtype=np.uint8, offset=header_end)
    if payload.size != expected:
        raise DatasetError(f"{path} holds {payload.size} data bytes but its header {dims} needs {expected}")
    return payload.reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise DatasetError(f"MNIST file {stem}[.gz] not found in {directory}; expected the four standard IDX files")


def _as_data(images: np.ndarray, labels: np.ndarray, source: str) -> LabelledData:
    if images.ndim != 3:
        raise DatasetError(f"{source}: images must be (N, height, width), got shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DatasetError(f"{source}: {images.shape[0]} images but labels of shape {labels.shape}")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{source}: MNIST labels must be digits 0-9, found {int(labels.max())}")
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return LabelledData(x, labels.astype(np.int64), 10, tuple(str(d) for d in range(10)))


def load_mnist(path: str | Path) -> tuple[LabelledData, LabelledData]:
    """Load MNIST-format train and test sets from a directory of IDX files or an ``.npz`` file.

    Args:
        path: A directory with ``train-images-idx3-ubyte[.gz]``,
            ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]``
            and ``t10k-labels-idx1-ubyte[.gz]``, or an ``.npz`` with
            ``x_train``, ``y_train``, ``x_test``, ``y_test``.

    Returns:
        ``(train, test)`` with images scaled to [0, 1], shaped ``(N, 1, H, W)``.

    Raises:
        DatasetError: If the path does not exist, files are missing or malformed.
    """
    source = Path(path)
    if source.is_dir():
        arrays = {key: read_idx(_find_idx(source, stem)) for key, stem in _IDX_FILES.items()}
    elif source.is_file() and source.suffix == ".npz":
        try:
            with np.load(source, allow_pickle=False) as archive:
                missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in archive]
                if missing:
                    raise DatasetError(f"{source} lacks arrays {missing}; expected x_train, y_train, x_test, y_test")
                arrays = {
                    "train_images": archive["x_train"],
                    "train_labels": archive["y_train"],
                    "test_images": archive["x_test"],
                    "test_labels": archive["y_test"],
                }
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read {source} as an .npz archive: {exc}") from exc
    else:
        raise DatasetError(f"MNIST path {source} is neither a directory of IDX files nor an existing .npz file")
    train = _as_data(arrays["train_images"], arrays["train_labels"], f"{source} (train)")
    test = _as_data(arrays["test_images"], arrays["test_labels"], f"{source} (test)")
    return train, test
