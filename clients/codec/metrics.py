"""Security and quality metrics for cipher images (the paper's Tables I and II, with statistical tests).

NPCR/UACI follow Wu, Noonan & Agaian, "NPCR and UACI Randomness Tests for Image Encryption" (Cyber Journals,
2011): for two independent uniformly random images with values 0..F and ``n`` pixels,

    NPCR* (alpha) = (F - z(alpha) * sqrt(F / n)) / (F + 1)                 (one-sided: pass if NPCR >= NPCR*)
    mu_U = (F + 2) / (3F + 3),  sigma_U^2 = (F + 2)(F^2 + 2F + 3) / (18 (F + 1)^2 n F)
    UACI*- , UACI*+ = mu_U -/+ z(alpha / 2) * sigma_U                       (two-sided: pass if inside)

with z(p) the upper-p quantile of the standard normal distribution.
"""

from __future__ import annotations

# scipy and scikit-image are imported by the functions that use them: both are slow to import, and a process
# that only decrypts (an analyst's Flower ClientApp, started for each round) never measures.

import numpy as np

ALPHAS = (0.05, 0.01, 0.001)
F_MAX = 255


def npcr_uaci(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """NPCR and UACI in percent between two uint8 cipher images of the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"NPCR/UACI need images of one shape, got {a.shape} and {b.shape}")
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return float(np.mean(diff != 0) * 100.0), float(np.mean(diff) / F_MAX * 100.0)


def npcr_critical(alpha: float, n: int, f: int = F_MAX) -> float:
    """Wu et al.'s NPCR critical value in percent for ``n`` pixels at significance ``alpha``."""
    from scipy import stats

    z = stats.norm.ppf(1.0 - alpha)
    return float((f - z * np.sqrt(f / n)) / (f + 1) * 100.0)


def uaci_critical(alpha: float, n: int, f: int = F_MAX) -> tuple[float, float]:
    """Wu et al.'s UACI acceptance interval (low, high) in percent for ``n`` pixels at significance ``alpha``."""
    from scipy import stats

    mu = (f + 2) / (3 * f + 3)
    sigma = np.sqrt((f + 2) * (f * f + 2 * f + 3) / (18 * (f + 1) ** 2 * n * f))
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    return float((mu - z * sigma) * 100.0), float((mu + z * sigma) * 100.0)


def wu_test(npcr: float, uaci: float, n: int) -> dict[str, dict[str, object]]:
    """Pass/fail of NPCR and UACI at each alpha in :data:`ALPHAS`, with the critical values used."""
    out: dict[str, dict[str, object]] = {}
    for alpha in ALPHAS:
        n_star = npcr_critical(alpha, n)
        lo, hi = uaci_critical(alpha, n)
        out[str(alpha)] = {
            "npcr_critical": n_star,
            "uaci_interval": [lo, hi],
            "npcr_pass": npcr >= n_star,
            "uaci_pass": lo <= uaci <= hi,
            "pass": npcr >= n_star and lo <= uaci <= hi,
        }
    return out


def entropy(img: np.ndarray) -> float:
    """Shannon entropy in bits of the uint8 value histogram (ideal for a cipher: 8)."""
    p = np.bincount(img.reshape(-1), minlength=256) / img.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def chi_square(img: np.ndarray) -> dict[str, float | bool]:
    """Chi-square test of histogram uniformity (255 degrees of freedom); passes at alpha=0.05 if stat < 293.25."""
    from scipy import stats

    hist = np.bincount(img.reshape(-1), minlength=256).astype(np.float64)
    expected = img.size / 256.0
    stat = float(((hist - expected) ** 2 / expected).sum())
    critical = float(stats.chi2.ppf(0.95, 255))
    return {"chi2": stat, "p_value": float(stats.chi2.sf(stat, 255)), "critical_0.05": critical, "pass": stat < critical}


def encryption_quality(plain: np.ndarray, cipher: np.ndarray) -> float:
    """Encryption quality (Ahmed et al. 2007): mean absolute change of the histogram, sum_L |H_C - H_P| / 256."""
    hp = np.bincount(plain.reshape(-1), minlength=256)
    hc = np.bincount(cipher.reshape(-1), minlength=256)
    return float(np.abs(hc - hp).sum() / 256.0)


def adjacent_correlation(img: np.ndarray) -> dict[str, float]:
    """Pearson correlation of all horizontally, vertically and diagonally adjacent pixel pairs of a 2-D image."""
    x = img.astype(np.float64)
    pairs = {"H": (x[:, :-1], x[:, 1:]), "V": (x[:-1, :], x[1:, :]), "D": (x[:-1, :-1], x[1:, 1:])}
    out = {}
    for name, (a, b) in pairs.items():
        a, b = a.reshape(-1), b.reshape(-1)
        sa, sb = a.std(), b.std()
        out[name] = float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb)) if sa > 0 and sb > 0 else float("nan")
    return out


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of uint8 images (inf when identical)."""
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(reference, test):
        return float("inf")
    return float(peak_signal_noise_ratio(reference, test, data_range=255))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """SSIM of uint8 images ((H, W) or (H, W, C)); small images use the largest odd window that fits."""
    from skimage.metrics import structural_similarity

    win = min(7, *reference.shape[:2])
    win -= 1 - win % 2
    if win < 3:
        return float(np.array_equal(reference, test))
    kw = {"channel_axis": -1} if reference.ndim == 3 else {}
    return float(structural_similarity(reference, test, data_range=255, win_size=win, **kw))
