"""DnCNN evaluation on held-out images against Gaussian and median filter baselines (AWGN, known sigma).

The baselines get their best parameter per image (an oracle choice from a small grid), so the margin
reported for DnCNN is a lower bound on its advantage over a tuned classical filter.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage
from skimage import color, data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from clients.codec.dncnn import DnCNN, Denoiser

# Images scikit-image ships offline. HELD_OUT_IMAGES are never used for training the shipped weights.
TRAIN_IMAGES: tuple[str, ...] = (
    "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "text", "page", "moon", "clock",
    "hubble_deep_field", "immunohistochemistry", "retina", "cell", "colorwheel",
)
HELD_OUT_IMAGES: tuple[str, ...] = ("camera", "astronaut", "coins")
GAUSS_SIGMAS = (0.6, 0.8, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5)
MEDIAN_SIZES = (3, 5, 7)


def load_skimage_gray(name: str) -> np.ndarray:
    """A scikit-image sample image as a uint8 grayscale array (RGB converted with ITU-R 601 weights).

    Raises:
        ValueError: ``name`` is not an image scikit-image ships.
    """
    loader = getattr(data, name, None)
    if loader is None:
        raise ValueError(f"scikit-image ships no image named {name!r}")
    img = np.asarray(loader())
    if img.ndim == 3:
        img = color.rgb2gray(img[..., :3]) * 255.0
    elif img.dtype != np.uint8:
        img = img.astype(np.float64) * (255.0 / max(float(img.max()), 1e-12))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _psnr(clean: np.ndarray, est: np.ndarray) -> float:
    return float(peak_signal_noise_ratio(clean, np.clip(est, 0, 255), data_range=255))


def _ssim(clean: np.ndarray, est: np.ndarray) -> float:
    return float(structural_similarity(clean, np.clip(est, 0, 255), data_range=255))


def _best(clean: np.ndarray, candidates: dict[str, np.ndarray]) -> tuple[str, np.ndarray]:
    key = max(candidates, key=lambda k: _psnr(clean, candidates[k]))
    return key, candidates[key]


def evaluate_denoisers(model: DnCNN, names: tuple[str, ...], sigma: float = 25.0, seed: int = 0) -> dict:
    """PSNR/SSIM of noisy input, DnCNN, best Gaussian and best median filter on each named image.

    Returns:
        ``{"sigma", "images": {name: {...}}, "mean": {...}}`` with dB / SSIM figures.
    """
    torch.set_grad_enabled(False)
    denoise = Denoiser(model)
    rng = np.random.default_rng(seed)
    rows: dict[str, dict] = {}
    for name in names:
        clean = load_skimage_gray(name).astype(np.float64)
        noisy = clean + rng.normal(0.0, sigma, clean.shape)
        gname, gbest = _best(clean, {f"sigma={s}": ndimage.gaussian_filter(noisy, s) for s in GAUSS_SIGMAS})
        mname, mbest = _best(clean, {f"size={k}": ndimage.median_filter(noisy, size=k) for k in MEDIAN_SIZES})
        den = denoise(noisy)
        rows[name] = {
            "shape": list(clean.shape),
            "noisy_psnr": _psnr(clean, noisy),
            "dncnn_psnr": _psnr(clean, den),
            "dncnn_ssim": _ssim(clean, den),
            "gaussian_psnr": _psnr(clean, gbest),
            "gaussian_ssim": _ssim(clean, gbest),
            "gaussian_param": gname,
            "median_psnr": _psnr(clean, mbest),
            "median_ssim": _ssim(clean, mbest),
            "median_param": mname,
        }
    keys = [k for k in next(iter(rows.values())) if k.endswith(("_psnr", "_ssim"))]
    mean = {k: float(np.mean([r[k] for r in rows.values()])) for k in keys}
    mean["margin_over_best_baseline_db"] = mean["dncnn_psnr"] - max(mean["gaussian_psnr"], mean["median_psnr"])
    return {"sigma": sigma, "images": rows, "mean": mean}
