"""The shipped DnCNN weights load into the paper's architecture and denoise a held-out image."""

import numpy as np
import pytest
import torch

from clients.codec import CodecKey, DnCNN, DnCNNWeightsError, decrypt, encrypt, load_dncnn
from clients.codec.denoise_eval import HELD_OUT_IMAGES, TRAIN_IMAGES, load_skimage_gray
from clients.codec.dncnn import Denoiser, weights_path
from clients.codec.metrics import psnr


def test_architecture_is_the_papers() -> None:
    model = DnCNN()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == 9 and len(bns) == 7
    assert all(c.out_channels == 64 for c in convs[:-1]) and all(c.padding == (1, 1) for c in convs)
    assert isinstance(model.body[1], torch.nn.ReLU) and not isinstance(model.body[-1], torch.nn.ReLU)


def test_shipped_weights_are_small_and_load() -> None:
    path = weights_path()
    assert path.is_file() and path.stat().st_size <= 3 * 1024 * 1024
    model = load_dncnn()
    assert not model.training


def test_held_out_images_were_not_trained_on() -> None:
    assert not set(HELD_OUT_IMAGES) & set(TRAIN_IMAGES)


def test_denoises_a_held_out_image_better_than_the_noisy_input() -> None:
    torch.set_num_threads(1)
    clean = load_skimage_gray("camera")[128:256, 192:320]
    noisy = clean.astype(np.float64) + np.random.default_rng(0).normal(0, 25, clean.shape)
    noisy_u8 = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    den = np.clip(np.rint(Denoiser()(noisy)), 0, 255).astype(np.uint8)
    assert psnr(clean, den) > psnr(clean, noisy_u8) + 4.0


def test_paper_mode_decrypt_uses_the_shipped_denoiser() -> None:
    torch.set_num_threads(1)
    img = load_skimage_gray("camera")[::4, ::4]
    key = CodecKey(secret=bytes(range(32)))
    blob = encrypt(img, key, mode="paper")
    raw = decrypt(blob, key, denoiser=lambda p: p, order="denoise-last")
    den = decrypt(blob, key, order="denoise-last")
    assert psnr(img, den) > psnr(img, raw)


def test_mismatched_weights_are_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.pt"
    torch.save({"body.0.weight": torch.zeros(3)}, bad)
    with pytest.raises(DnCNNWeightsError, match="do not fit"):
        load_dncnn(bad)
    with pytest.raises(DnCNNWeightsError, match="not found"):
        load_dncnn(tmp_path / "missing.pt")
