"""Wu-Noonan-Agaian critical values from the formula, and the scheme's differential-attack behaviour."""

import numpy as np
import pytest

from clients.codec import CodecKey, npcr_critical, npcr_uaci, uaci_critical, wu_test
from clients.codec.cipher import encrypt_planes, to_planes
from clients.codec.metrics import adjacent_correlation, chi_square, encryption_quality, entropy

KEY = CodecKey(secret=bytes(range(32)))


@pytest.mark.parametrize(
    ("n", "alpha", "npcr", "uaci"),
    [
        (256 * 256, 0.05, 99.5693, (33.2824, 33.6447)),
        (256 * 256, 0.01, 99.5527, (33.2255, 33.7016)),
        (256 * 256, 0.001, 99.5341, (33.1594, 33.7677)),
        (512 * 512, 0.05, 99.5893, (33.3730, 33.5541)),
        (512 * 512, 0.01, 99.5810, (33.3445, 33.5826)),
        (512 * 512, 0.001, 99.5717, (33.3115, 33.6156)),
    ],
)
def test_critical_values_reproduce_wu_et_al(n: int, alpha: float, npcr: float, uaci: tuple[float, float]) -> None:
    assert npcr_critical(alpha, n) == pytest.approx(npcr, abs=5e-5)
    lo, hi = uaci_critical(alpha, n)
    assert (lo, hi) == (pytest.approx(uaci[0], abs=5e-5), pytest.approx(uaci[1], abs=5e-5))


def test_npcr_uaci_definitions() -> None:
    a = np.zeros((4, 4), dtype=np.uint8)
    b = a.copy()
    assert npcr_uaci(a, b) == (0.0, 0.0)
    b[0, 0] = 255
    npcr, uaci = npcr_uaci(a, b)
    assert npcr == pytest.approx(100 / 16) and uaci == pytest.approx(100 / 16)


def test_wu_test_judges_each_alpha() -> None:
    res = wu_test(99.0, 33.46, 256 * 256)
    assert set(res) == {"0.05", "0.01", "0.001"}
    assert not res["0.05"]["npcr_pass"] and res["0.05"]["uaci_pass"]


@pytest.mark.parametrize("shape", [(256, 256), (512, 512)])
def test_one_pixel_change_passes_the_differential_test(shape: tuple[int, int]) -> None:
    img = np.random.default_rng(5).integers(0, 256, shape, dtype=np.uint8) // 4  # low-entropy plaintext
    other = img.copy()
    other[shape[0] // 3, shape[1] // 5] += 1
    nonce = bytes(16)
    c1 = encrypt_planes(to_planes(img), KEY, "exact", nonce)
    c2 = encrypt_planes(to_planes(other), KEY, "exact", nonce)
    npcr, uaci = npcr_uaci(c1, c2)
    result = wu_test(npcr, uaci, c1.size)
    assert result["0.001"]["npcr_pass"] and result["0.001"]["uaci_pass"], (npcr, uaci)


def test_without_diffusion_the_change_would_stay_local() -> None:
    # Sanity check of the test itself: paper mode has no diffusion, so one pixel changes ~one cipher pixel.
    img = np.random.default_rng(6).integers(0, 256, (64, 64), dtype=np.uint8)
    other = img.copy()
    other[10, 10] ^= 0x80
    nonce = bytes(16)
    c1 = np.rint(encrypt_planes(to_planes(img), KEY, "paper", nonce))
    c2 = np.rint(encrypt_planes(to_planes(other), KEY, "paper", nonce))
    assert np.mean(c1 != c2) < 0.01


def test_statistics_of_plain_versus_cipher() -> None:
    plain = np.tile(np.arange(64, dtype=np.uint8), (64, 1))
    cipher = encrypt_planes(to_planes(plain), KEY, "exact", bytes(16))[0]
    assert entropy(plain) == pytest.approx(6.0)
    assert entropy(cipher) > 7.9
    assert chi_square(cipher)["pass"] and not chi_square(plain)["pass"]
    assert adjacent_correlation(plain)["H"] > 0.9
    assert all(abs(v) < 0.1 for v in adjacent_correlation(cipher).values())
    assert encryption_quality(plain, cipher) > 0


def _worst_npcr(rounds: int, trials: int = 300, side: int = 64) -> float:
    rng = np.random.default_rng(9)
    img = rng.integers(0, 256, (side, side), dtype=np.uint8)
    worst = 100.0
    for t in range(trials):
        key = CodecKey(secret=t.to_bytes(32, "big"), diffusion_rounds=rounds)
        other = img.copy()
        y, x = rng.integers(side, size=2)
        other[y, x] ^= 1
        nonce = rng.bytes(16)
        npcr, _ = npcr_uaci(encrypt_planes(to_planes(img), key, "exact", nonce),
                            encrypt_planes(to_planes(other), key, "exact", nonce))
        worst = min(worst, npcr)
        if worst < 97.0:
            break
    return worst


def test_default_two_diffusion_rounds_never_leave_a_slice_unchanged() -> None:
    # One round leaves a whole hypercube slice unchanged when a chained difference cancels at a lane's end
    # (~1/256 per pass); the default second round repairs it. Both halves are deterministic (fixed keys).
    assert _worst_npcr(rounds=1) < 97.0
    assert _worst_npcr(rounds=2) > 98.0
