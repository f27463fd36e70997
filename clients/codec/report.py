"""Quality report of the codec on real images: differential attack, statistics, key sensitivity, fidelity.

The differential test (NPCR/UACI) encrypts two plaintexts that differ in one pixel under the same key and
the same nonce, hence the same noise. With fresh noise per encryption the two ciphers would differ almost
everywhere from the noise alone and NPCR would look ideal whatever the scheme does, so that number would say
nothing about diffusion. Paper-mode ciphers are float; they are rounded and clipped to 0..255 for the
byte-statistics (NPCR/UACI, entropy, histogram, EQ).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from clients.codec.cipher import PlaneDenoiser, decrypt_planes, encrypt_planes, from_planes, to_planes
from clients.codec.codec import NONCE_BYTES, decrypt, encrypt
from clients.codec.container import open_sealed
from clients.codec.keys import CodecKey
from clients.codec.metrics import (
    adjacent_correlation,
    chi_square,
    encryption_quality,
    entropy,
    npcr_uaci,
    psnr,
    ssim,
    wu_test,
)


def _as_bytes(cipher: np.ndarray) -> np.ndarray:
    if cipher.dtype == np.uint8:
        return cipher
    return np.clip(np.rint(cipher), 0, 255).astype(np.uint8)


def _timed(fn, *args, **kwargs):  # noqa: ANN001, ANN202 - small local helper
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - t0) * 1000.0


def analyze_image(
    image: np.ndarray,
    key: CodecKey,
    mode: str = "exact",
    seed: int = 0,
    denoiser: PlaneDenoiser | None = None,
    plots_dir: str | Path | None = None,
    name: str = "image",
    trials: int = 1,
) -> dict:
    """Measure one image under one key and mode.

    Args:
        image: uint8 (H, W) or (H, W, C) plaintext.
        key: Codec key.
        mode: ``exact`` or ``paper``.
        seed: Seeds the nonce, the changed pixel and the flipped key bit (the report is reproducible).
        denoiser: Paper mode denoiser; the shipped DnCNN when omitted.
        plots_dir: Write ``<name>_<mode>.png`` (images and histograms) there when given.
        name: Label used in the result and the plot file name.
        trials: Differential tests to run (fresh pixel and nonce each). The first is judged as the per-image
            Wu test; with more, ``wu_pass_rate`` gives the share that passed (an ideal cipher passes both
            tests at level alpha with probability about (1 - alpha)^2, e.g. ~90 % at 0.05).

    Returns:
        A JSON-ready dict of every measured figure.

    Raises:
        ImageFormatError: the image is not a valid uint8 image.
    """
    rng = np.random.default_rng(seed)
    nonce = rng.bytes(NONCE_BYTES)
    plain = to_planes(image, key.block_side)
    encrypt(image, key, mode, nonce=nonce)  # warm-up: derive per-shape key material once, as a batch would
    blob, enc_ms = _timed(encrypt, image, key, mode, nonce=nonce)
    decrypted, dec_ms = _timed(decrypt, blob, key, denoiser=denoiser)
    _, cipher = open_sealed(blob, key)
    cbytes = _as_bytes(cipher)

    # Differential attack: one pixel (first channel) changed by one level, same key and nonce.
    y, x = int(rng.integers(image.shape[0])), int(rng.integers(image.shape[1]))
    npcr, uaci = _differential(image, key, mode, nonce, (y, x), cbytes)
    more = []
    for _ in range(trials - 1):
        t_nonce = rng.bytes(NONCE_BYTES)
        base = _as_bytes(encrypt_planes(plain, key, mode, t_nonce))
        pos = (int(rng.integers(image.shape[0])), int(rng.integers(image.shape[1])))
        more.append(_differential(image, key, mode, t_nonce, pos, base))

    # Key sensitivity: one secret bit flipped -> decrypt the same cipher, and encrypt the same plaintext.
    bit = int(rng.integers(256))
    other = key.with_secret_bit_flipped(bit)
    wrong = from_planes(decrypt_planes(cipher, other, mode, nonce, denoiser=denoiser), image.shape)
    cipher_other = _as_bytes(encrypt_planes(plain, other, mode, nonce))
    key_npcr, key_uaci = npcr_uaci(cbytes, cipher_other)

    row: dict = {
        "name": name,
        "mode": mode,
        "shape": list(image.shape),
        "cipher_shape": list(cipher.shape),
        "npcr": npcr,
        "uaci": uaci,
        "changed_pixel": [y, x],
        "wu_test": wu_test(npcr, uaci, cbytes.size),
        "differential_trials": trials,
        "entropy_plain": entropy(plain),
        "entropy_cipher": entropy(cbytes),
        "encryption_quality": encryption_quality(plain, cbytes),
        "chi2_plain": chi_square(plain),
        "chi2_cipher": chi_square(cbytes),
        "correlation_plain": adjacent_correlation(plain[0]),
        "correlation_cipher": adjacent_correlation(cbytes[0]),
        "key_sensitivity": {"flipped_bit": bit, "decrypt_psnr": psnr(image, wrong), "cipher_npcr": key_npcr,
                            "cipher_uaci": key_uaci},
        "decrypt_psnr": psnr(image, decrypted),
        "decrypt_ssim": ssim(image, decrypted),
        "bit_exact": bool(np.array_equal(image, decrypted)),
        "encrypt_ms": enc_ms,
        "decrypt_ms": dec_ms,
        "container_bytes": len(blob),
    }
    if more:
        runs = [(npcr, uaci), *more]
        judged = [wu_test(n, u, cbytes.size) for n, u in runs]
        row["npcr_trials_mean"] = float(np.mean([n for n, _ in runs]))
        row["uaci_trials_mean"] = float(np.mean([u for _, u in runs]))
        row["wu_pass_rate"] = {a: float(np.mean([j[a]["pass"] for j in judged])) for a in judged[0]}
    if mode == "paper":
        alt = decrypt(blob, key, denoiser=denoiser, order="denoise-last")
        raw = decrypt(blob, key, denoiser=lambda p: p)
        row["decrypt_denoise_last_psnr"] = psnr(image, alt)
        row["decrypt_denoise_last_ssim"] = ssim(image, alt)
        row["decrypt_no_denoiser_psnr"] = psnr(image, raw)
    if plots_dir is not None:
        row["plot"] = str(plot_panels(image, cbytes, decrypted, Path(plots_dir) / f"{name}_{mode}.png"))
    return row


def _differential(image: np.ndarray, key: CodecKey, mode: str, nonce: bytes, pos: tuple[int, int],
                  base: np.ndarray) -> tuple[float, float]:
    changed = image.copy()
    idx = pos if image.ndim == 2 else (*pos, 0)
    changed[idx] = (int(changed[idx]) + 1) % 256
    return npcr_uaci(base, _as_bytes(encrypt_planes(to_planes(changed, key.block_side), key, mode, nonce)))


def plot_panels(plain: np.ndarray, cipher: np.ndarray, decrypted: np.ndarray, path: Path) -> Path:
    """Save plain / cipher / decrypted images over their histograms (like the paper's Fig. 4)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    cimg = cipher[0] if cipher.shape[0] == 1 else np.moveaxis(cipher[:3], 0, -1)
    panels = (("plain", plain), ("cipher", cimg), ("decrypted", decrypted))
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for col, (title, img) in enumerate(panels):
        axes[0, col].imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
        axes[0, col].set_title(title)
        axes[0, col].axis("off")
        axes[1, col].hist(np.asarray(img).reshape(-1), bins=256, range=(0, 256), color="0.3")
        axes[1, col].set_xlim(0, 255)
        axes[1, col].set_xlabel("value")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _numeric_leaves(row: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(_numeric_leaves(v, f"{prefix}{k}."))
        elif isinstance(v, bool | np.bool_):
            out[f"{prefix}{k}"] = float(v)
        elif isinstance(v, int | float) and k not in ("flipped_bit",):
            out[f"{prefix}{k}"] = float(v)
    return out


def summarize(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Mean and std over images of every numeric figure (pass flags become pass rates)."""
    leaves = [_numeric_leaves(r) for r in rows]
    keys = [k for k in leaves[0] if all(k in lf for lf in leaves)]
    out = {}
    for k in keys:
        vals = np.array([lf[k] for lf in leaves])
        finite = vals[np.isfinite(vals)]
        out[k] = {"mean": float(finite.mean()) if finite.size else float(vals[0]),
                  "std": float(finite.std()) if finite.size else 0.0}
    return out


def run_report(
    images: dict[str, np.ndarray],
    key: CodecKey | None = None,
    modes: tuple[str, ...] = ("exact",),
    seed: int = 0,
    denoiser: PlaneDenoiser | None = None,
    plots_dir: str | Path | None = None,
    trials: int = 1,
) -> dict:
    """Analyze every image in every mode and summarize; a fresh key is generated when none is given."""
    key = key if key is not None else CodecKey.generate()
    result: dict = {"key_fingerprint": key.fingerprint.hex(), "seed": seed, "modes": {}}
    for mode in modes:
        rows = [analyze_image(img, key, mode, seed=seed + i, denoiser=denoiser, plots_dir=plots_dir, name=name,
                             trials=trials)
                for i, (name, img) in enumerate(images.items())]
        result["modes"][mode] = {"images": rows, "summary": summarize(rows)}
    result["cpu_count"] = os.cpu_count()
    return result
