"""Image files for the codec CLI: PNG/JPEG/TIFF/BMP via scikit-image, raw arrays via .npy, sample images."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clients.codec.errors import ImageFormatError

RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
SAMPLE_PREFIX = "skimage:"


def read_image(spec: str | Path) -> np.ndarray:
    """Read a uint8 image from a file (.png/.jpg/.tif/.bmp/.npy) or ``skimage:NAME`` (a shipped sample image).

    Raises:
        ImageFormatError: missing file, unsupported suffix, or not a uint8 (H, W) / (H, W, C) image.
    """
    text = str(spec)
    if text.startswith(SAMPLE_PREFIX):
        from skimage import data

        loader = getattr(data, text[len(SAMPLE_PREFIX):], None)
        if loader is None:
            raise ImageFormatError(f"scikit-image ships no sample image {text!r}")
        img = np.asarray(loader())
    else:
        path = Path(text)
        if not path.is_file():
            raise ImageFormatError(f"image file not found: {path}")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            try:
                img = np.load(path, allow_pickle=False)
            except ValueError as exc:
                raise ImageFormatError(f"{path} is not a plain .npy array: {exc}") from exc
        elif suffix in RASTER_SUFFIXES:
            from skimage import io

            try:
                img = np.asarray(io.imread(path))
            except (OSError, ValueError) as exc:
                raise ImageFormatError(f"cannot decode image {path}: {exc}") from exc
        else:
            raise ImageFormatError(f"unsupported image format {suffix!r} for {path}; use one of {RASTER_SUFFIXES} or .npy")
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.dtype != np.uint8:
        raise ImageFormatError(f"{text}: only 8-bit images are supported, got dtype {img.dtype}")
    return img


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 image as .png (or another raster suffix) or .npy.

    Raises:
        ImageFormatError: unsupported suffix.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".npy":
        np.save(file, image, allow_pickle=False)
    elif suffix in RASTER_SUFFIXES:
        from skimage import io

        io.imsave(file, image, check_contrast=False)
    else:
        raise ImageFormatError(f"unsupported output format {suffix!r} for {file}; use .png or .npy")
    return file
