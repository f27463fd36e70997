"""Train the codec's DnCNN (sigma=25) on the images scikit-image ships, reproducibly.

The shipped weights ``clients/codec/weights/dncnn_sigma25.pt`` come from two stages run from the repository
root on the 2-core CPU machine (one thread each; ~26 + ~20 minutes)::

    .venv/bin/python scripts/train_dncnn.py --steps 400 --patch 32 --out /tmp/dncnn_stage1.pt
    .venv/bin/python scripts/train_dncnn.py --init /tmp/dncnn_stage1.pt --steps 300 --patch 32 --lr 5e-4 \
        --seed 2021 --out clients/codec/weights/dncnn_sigma25.pt

Each stage: Adam, batch 64, MSE on the noise residual (residual learning), sigma=25, learning rate divided by 10
at 60 % and 85 % of the steps, random patches of the training images at scales 1/0.9/0.8/0.7 with the 8
flips/rotations. Everything random is seeded (patch sampling, augmentation, noise, initialisation) and the run
uses deterministic algorithms, so the same arguments reproduce the same weights on the same torch build and
thread count. ``--device cuda`` trains on a GPU when one is available (not bit-identical to the CPU run).
The images in ``clients.codec.denoise_eval.HELD_OUT_IMAGES`` are never used for training: they are what the
evaluation (``--eval-only`` or the end of a run) reports PSNR on, against Gaussian and median filter baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from clients.codec.dncnn import DnCNN, load_dncnn
from clients.codec.denoise_eval import HELD_OUT_IMAGES, TRAIN_IMAGES, evaluate_denoisers, load_skimage_gray

SIGMA = 25.0


def build_pyramid(names: tuple[str, ...], scales: tuple[float, ...]) -> list[np.ndarray]:
    """Load the training images as float32 in [0, 1] at several scales (DnCNN's multi-scale augmentation)."""
    from skimage.transform import rescale

    out = []
    for name in names:
        img = load_skimage_gray(name).astype(np.float32) / 255.0
        for s in scales:
            im = img if s == 1.0 else rescale(img, s, anti_aliasing=True).astype(np.float32)
            out.append(im)
    return out


def sample_batch(rng: np.random.Generator, images: list[np.ndarray], batch: int, patch: int) -> np.ndarray:
    """Random patches with one of the 8 dihedral augmentations each; shape (batch, 1, patch, patch)."""
    sizes = np.array([im.size for im in images], dtype=np.float64)
    picks = rng.choice(len(images), size=batch, p=sizes / sizes.sum())
    out = np.empty((batch, 1, patch, patch), dtype=np.float32)
    for i, k in enumerate(picks):
        im = images[k]
        y = rng.integers(0, im.shape[0] - patch + 1)
        x = rng.integers(0, im.shape[1] - patch + 1)
        p = im[y : y + patch, x : x + patch]
        mode = rng.integers(0, 8)
        p = np.rot90(p, mode % 4)
        if mode >= 4:
            p = p[:, ::-1]
        out[i, 0] = p
    return out


def _init_residual(model: DnCNN) -> None:
    # Residual learning: start the last layer near zero so the first prediction is "no noise" and the
    # initial loss is the noise variance rather than a large random residual.
    with torch.no_grad():
        model.body[-1].weight.mul_(0.1)


def train(args: argparse.Namespace) -> None:
    """Train, checkpoint every ``--ckpt-every`` steps, then evaluate on the held-out images."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.device == "cuda":
        # cuBLAS needs a fixed workspace for deterministic algorithms.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    device = torch.device(args.device if args.device != "cuda" or torch.cuda.is_available() else "cpu")
    rng = np.random.default_rng(args.seed)
    images = build_pyramid(TRAIN_IMAGES, (1.0, 0.9, 0.8, 0.7))
    model = DnCNN()
    if args.init:
        # Continue from earlier weights (a second stage of the same recipe; see the module docstring).
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    else:
        _init_residual(model)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[int(args.steps * 0.6), int(args.steps * 0.85)], gamma=0.1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    model.train()
    for step in range(1, args.steps + 1):
        clean = torch.from_numpy(sample_batch(rng, images, args.batch, args.patch)).to(device)
        noise = torch.from_numpy(rng.standard_normal(tuple(clean.shape)).astype(np.float32)).to(device) * (SIGMA / 255.0)
        loss = nn.functional.mse_loss(model(clean + noise), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % args.log_every == 0:
            psnr = 10 * np.log10(1.0 / max(loss.item(), 1e-12))
            print(f"step {step}/{args.steps} loss {loss.item():.6f} (~{psnr:.2f} dB) lr {sched.get_last_lr()[0]:.1e} "
                  f"{time.time() - t0:.0f}s", flush=True)
        if step % args.ckpt_every == 0 or step == args.steps:
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out)
    print(f"saved {out} ({out.stat().st_size} bytes) after {time.time() - t0:.0f}s", flush=True)
    if args.skip_eval:
        return
    report = evaluate_denoisers(load_dncnn(out), HELD_OUT_IMAGES, sigma=SIGMA, seed=args.seed)
    print(json.dumps(report, indent=2), flush=True)


def main() -> None:
    """Parse arguments and train (or only evaluate)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--patch", type=int, default=40)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=2020)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cuda falls back to cpu if absent.")
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--out", default="clients/codec/weights/dncnn_sigma25.pt")
    p.add_argument("--init", default=None, help="Start from these weights instead of a fresh initialisation.")
    p.add_argument("--eval-only", action="store_true", help="Only evaluate the weights at --out.")
    p.add_argument("--skip-eval", action="store_true", help="Do not evaluate after training.")
    args = p.parse_args()
    if args.eval_only:
        torch.set_num_threads(args.threads)
        print(json.dumps(evaluate_denoisers(load_dncnn(args.out), HELD_OUT_IMAGES, sigma=SIGMA, seed=args.seed), indent=2))
    else:
        train(args)


if __name__ == "__main__":
    main()
