"""`flep codec ...`: key generation, image encryption/decryption, the quality report; `flep bench codec`.

Files: keys are the JSON format of :class:`clients.codec.CodecKey` (secret material, written 0600);
cipher containers the binary format of :mod:`clients.codec.container`; images PNG (or JPEG/TIFF/BMP) or
``.npy``, and ``skimage:NAME`` names a sample image scikit-image ships.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from clients.codec import (
    CodecError,
    CodecKey,
    decrypt,
    decrypt_batch,
    encrypt,
    encrypt_batch,
    read_header,
    read_image,
    run_report,
    write_image,
)
from registry.commands.output import console, emit_json, literal, print_error
from registry.secret_files import write_secret

app = typer.Typer(help="Data-tier image codec: keys, encrypt/decrypt, quality report.", no_args_is_help=True)

MODES = ("exact", "paper")


def _fail(message: str) -> typer.Exit:
    print_error(message)
    return typer.Exit(code=1)


def _load_key(path: Path) -> CodecKey:
    try:
        return CodecKey.load(path)
    except CodecError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def keygen(
    out: Path = typer.Option(..., "-o", "--out", help="Key file to create (must not exist)."),
    alpha: float = typer.Option(0.8, help="Blend weight of the image's wavelet coefficients (0 < alpha <= 1)."),
    noise_std: float = typer.Option(25.0, help="Standard deviation of the additive Gaussian noise."),
    noise_mean: float = typer.Option(0.0, help="Mean of the additive Gaussian noise."),
    block_side: int = typer.Option(0, help="Scrambling sub-block side (power of two), 0 = by image size."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Generate a codec key (256-bit secret from the OS CSPRNG) and write it with 0600 permissions."""
    try:
        key = CodecKey.generate(alpha=alpha, noise_std=noise_std, noise_mean=noise_mean, block_side=block_side)
        write_secret(out, key.to_bytes())
    except FileExistsError as exc:
        raise _fail(f"{out} already exists; keys are never overwritten, choose another path") from exc
    except (CodecError, OSError) as exc:
        raise _fail(f"cannot write key {out}: {exc}") from exc
    info = {"key": str(out), "fingerprint": key.fingerprint.hex(), "permissions": oct(os.stat(out).st_mode & 0o777)}
    if json_out:
        emit_json(info)
        return
    console.print(f"wrote codec key {literal(out)} (fingerprint {info['fingerprint']})")
    console.print(f"permissions {info['permissions']}: this file is SECRET material; share it only through key grants")


@app.command("encrypt")
def encrypt_cmd(
    image: str = typer.Argument(..., help="Image file (.png/.npy/...) or skimage:NAME."),
    key_file: Path = typer.Option(..., "-k", "--key", help="Codec key file."),
    out: Path = typer.Option(..., "-o", "--out", help="Cipher container to write."),
    mode: str = typer.Option("exact", help="exact (bit-exact round trip) or paper (lossy, DnCNN on decrypt)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Encrypt an image into a cipher container."""
    key = _load_key(key_file)
    try:
        img = read_image(image)
        t0 = time.perf_counter()
        blob = encrypt(img, key, mode=mode)
        ms = (time.perf_counter() - t0) * 1000
        out.write_bytes(blob)
    except (CodecError, OSError) as exc:
        raise _fail(str(exc)) from exc
    info = {"image": image, "out": str(out), "mode": mode, "shape": list(img.shape), "bytes": len(blob),
            "key_fingerprint": key.fingerprint.hex(), "encrypt_ms": ms}
    if json_out:
        emit_json(info)
    else:
        console.print(f"encrypted {literal(image)} {tuple(img.shape)} -> {literal(out)} ({len(blob)} bytes, "
                      f"{literal(mode)} mode, {ms:.1f} ms)")


@app.command("decrypt")
def decrypt_cmd(
    container: Path = typer.Argument(..., help="Cipher container from `flep codec encrypt`."),
    key_file: Path = typer.Option(..., "-k", "--key", help="Codec key file."),
    out: Path = typer.Option(..., "-o", "--out", help="Image to write (.png or .npy)."),
    order: str = typer.Option("paper", help="Paper mode: 'paper' (denoise first) or 'denoise-last'."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Decrypt a cipher container to an image (exact mode: bit-exact; paper mode: DnCNN-denoised)."""
    key = _load_key(key_file)
    try:
        blob = container.read_bytes()
        t0 = time.perf_counter()
        img = decrypt(blob, key, order=order)
        ms = (time.perf_counter() - t0) * 1000
        write_image(out, img)
        mode = read_header(blob).mode
    except OSError as exc:
        raise _fail(f"cannot read {container} or write {out}: {exc}") from exc
    except CodecError as exc:
        raise _fail(f"{container}: {exc}") from exc
    info = {"container": str(container), "out": str(out), "mode": mode, "shape": list(img.shape), "decrypt_ms": ms}
    if json_out:
        emit_json(info)
    else:
        console.print(f"decrypted {literal(container)} ({literal(mode)} mode) -> {literal(out)} {tuple(img.shape)} "
                      f"in {ms:.1f} ms")


def _fmt(v: float, digits: int = 4) -> str:
    return "inf" if math.isinf(v) else f"{v:.{digits}f}"


def _wu_cell(row: dict) -> str:
    marks = []
    for res in row["wu_test"].values():
        ok = res["pass"]
        marks.append("[green]pass[/green]" if ok else "[red]FAIL[/red]")
    return "/".join(marks)


def _stat_rows(block: dict, cells) -> list[list[str]]:  # noqa: ANN001 - cells maps a row-like getter to cells
    rows = [[literal(r["name"]), *cells(lambda k, r=r: _dig(r, k))] for r in block["images"]]
    for stat in ("mean", "std"):
        rows.append([stat, *cells(lambda k, stat=stat: block["summary"][k][stat])])
    return rows


def _dig(row: dict, dotted: str) -> float:
    for part in dotted.split("."):
        row = row[part]
    return row  # type: ignore[return-value]


def _print_report(result: dict) -> None:
    for mode, block in result["modes"].items():
        title = f"{mode} mode, key {result['key_fingerprint'][:16]}"
        t1 = Table(title=f"Differential attack and statistics ({title})")
        for col in ("image", "NPCR %", "UACI %", "Wu .05/.01/.001", "entropy", "chi2", "EQ"):
            t1.add_column(col)
        for r in block["images"]:
            t1.add_row(literal(r["name"]), _fmt(r["npcr"]), _fmt(r["uaci"]), _wu_cell(r), _fmt(r["entropy_cipher"]),
                       f"{r['chi2_cipher']['chi2']:.1f} {'ok' if r['chi2_cipher']['pass'] else 'FAIL'}",
                       _fmt(r["encryption_quality"], 1))
        s = block["summary"]
        rates = "/".join(
            f"{s[f'wu_test.{a}.pass']['mean']:.0%}" for a in ("0.05", "0.01", "0.001")
        )
        for stat in ("mean", "std"):
            t1.add_row(stat, _fmt(s["npcr"][stat]), _fmt(s["uaci"][stat]), rates if stat == "mean" else "",
                       _fmt(s["entropy_cipher"][stat]),
                       f"{s['chi2_cipher.chi2'][stat]:.1f}", _fmt(s["encryption_quality"][stat], 1))
        console.print(t1)
        if "wu_pass_rate" in block["images"][0]:
            for r in block["images"]:
                rate = "/".join(f"{v:.0%}" for v in r["wu_pass_rate"].values())
                console.print(f"  {literal(r['name'])}: {r['differential_trials']} differential trials, NPCR mean "
                              f"{r['npcr_trials_mean']:.4f} %, UACI mean {r['uaci_trials_mean']:.4f} %, "
                              f"Wu pass rate {rate} (ideal cipher ~90 %/98 %/99.8 %)")
        t2 = Table(title=f"Correlation, key sensitivity, fidelity, time ({title})")
        for col in ("image", "corr H/V/D plain", "corr H/V/D cipher", "wrong-key PSNR", "PSNR", "SSIM", "enc/dec ms"):
            t2.add_column(col)
        cells = lambda get: [  # noqa: E731 - one table layout for per-image and summary rows
            "/".join(f"{get('correlation_plain.' + k):.3f}" for k in "HVD"),
            "/".join(f"{get('correlation_cipher.' + k):.4f}" for k in "HVD"),
            _fmt(get("key_sensitivity.decrypt_psnr"), 2), _fmt(get("decrypt_psnr"), 2), _fmt(get("decrypt_ssim")),
            f"{get('encrypt_ms'):.1f}/{get('decrypt_ms'):.1f}",
        ]
        for row in _stat_rows(block, cells):
            t2.add_row(*row)
        console.print(t2)
        if mode == "paper":
            for r in block["images"]:
                console.print(
                    f"  {literal(r['name'])}: decrypted PSNR paper order {r['decrypt_psnr']:.2f} dB, denoise-last "
                    f"{r['decrypt_denoise_last_psnr']:.2f} dB (SSIM {r['decrypt_denoise_last_ssim']:.4f}), "
                    f"no denoiser {r['decrypt_no_denoiser_psnr']:.2f} dB"
                )
    console.print(
        "NPCR/UACI: one pixel changed, same key and same nonce (same noise); fresh noise alone would make NPCR "
        "look ideal. Critical values: Wu, Noonan & Agaian (2011)."
    )


@app.command()
def report(
    images: list[str] = typer.Argument(..., help="Image files (.png/.npy/...) or skimage:NAME."),
    key_file: Path | None = typer.Option(None, "-k", "--key", help="Codec key file (default: a fresh key)."),
    mode: str = typer.Option("exact", help="exact, paper, or both."),
    seed: int = typer.Option(0, help="Seeds nonces, changed pixels and flipped key bits."),
    plots: Path | None = typer.Option(None, "--plots", help="Directory for image/histogram panels (PNG)."),
    trials: int = typer.Option(1, min=1, help="Differential tests per image (pass rate reported when > 1)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """NPCR/UACI with the Wu et al. test, entropy, EQ, chi2, correlations, key sensitivity, PSNR/SSIM, times."""
    if mode not in (*MODES, "both"):
        raise _fail(f"unknown mode {mode!r}; use exact, paper or both")
    modes = MODES if mode == "both" else (mode,)
    key = _load_key(key_file) if key_file is not None else None
    try:
        loaded = {}
        for spec in images:
            name = Path(spec.removeprefix("skimage:")).stem
            while name in loaded:
                name += "_"
            loaded[name] = read_image(spec)
        result = run_report(loaded, key=key, modes=modes, seed=seed, plots_dir=plots, trials=trials)
    except CodecError as exc:
        raise _fail(str(exc)) from exc
    if json_out:
        emit_json(result)
    else:
        _print_report(result)


def _median_ms(fn, repeat: int) -> float:  # noqa: ANN001 - callable benchmark body
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    repeat: int = typer.Option(20, help="Repetitions per timing (median reported)."),
) -> None:
    """Codec timings: exact-mode encrypt+decrypt, batch throughput, paper mode, DnCNN CPU inference."""
    import torch

    from clients.codec.dncnn import Denoiser

    key = CodecKey.generate()
    rng = np.random.default_rng(0)
    camera = read_image("skimage:camera")
    gray256 = camera[::2, ::2].copy()
    rgb512 = read_image("skimage:astronaut")
    results: dict = {"cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()),
                     "torch_threads": torch.get_num_threads(), "repeat": repeat}
    decrypt(encrypt(gray256, key), key)  # per-shape key material is derived once, as in any batch
    results["exact_256_gray_encrypt_ms"] = _median_ms(lambda: encrypt(gray256, key), repeat)
    blob = encrypt(gray256, key)
    results["exact_256_gray_decrypt_ms"] = _median_ms(lambda: decrypt(blob, key), repeat)
    results["exact_256_gray_roundtrip_ms"] = _median_ms(lambda: decrypt(encrypt(gray256, key), key), repeat)
    results["exact_256_gray_goal_ms"] = 50.0
    decrypt(encrypt(camera, key), key)
    results["exact_512_gray_roundtrip_ms"] = _median_ms(lambda: decrypt(encrypt(camera, key), key), max(3, repeat // 4))
    decrypt(encrypt(rgb512, key), key)
    results["exact_512_rgb_roundtrip_ms"] = _median_ms(lambda: decrypt(encrypt(rgb512, key), key), max(3, repeat // 4))
    batch = [rng.integers(0, 256, (256, 256), dtype=np.uint8) for _ in range(32)]
    t0 = time.perf_counter()
    decrypt_batch(encrypt_batch(batch, key), key)
    results["exact_256_gray_batch32_images_per_s"] = len(batch) / (time.perf_counter() - t0)
    denoiser = Denoiser()
    denoiser(gray256)
    results["dncnn_256_gray_ms"] = _median_ms(lambda: denoiser(gray256), max(3, repeat // 4))
    results["dncnn_512_gray_ms"] = _median_ms(lambda: denoiser(camera), 3)
    pblob = encrypt(gray256, key, mode="paper")
    results["paper_256_gray_encrypt_ms"] = _median_ms(lambda: encrypt(gray256, key, mode="paper"), max(3, repeat // 4))
    results["paper_256_gray_decrypt_ms"] = _median_ms(lambda: decrypt(pblob, key, denoiser=denoiser), 3)
    if json_out:
        emit_json(results)
        return
    table = Table(title="flep bench codec (CPU; medians)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in results.items():
        table.add_row(k, json.dumps(v) if isinstance(v, list) else (f"{v:.2f}" if isinstance(v, float) else str(v)))
    console.print(table)
