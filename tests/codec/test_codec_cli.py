"""`flep codec` commands end to end through the real CLI app (files on disk, no mocks)."""

import json
import os

import numpy as np
from skimage import io
from typer.testing import CliRunner

from registry.cli import app

runner = CliRunner()


def _write_png(path, seed: int = 0, shape=(40, 36)):  # noqa: ANN001, ANN202
    img = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    io.imsave(path, img, check_contrast=False)
    return img


def test_keygen_encrypt_decrypt_round_trip(tmp_path) -> None:  # noqa: ANN001
    key = tmp_path / "k.json"
    res = runner.invoke(app, ["codec", "keygen", "-o", str(key)])
    assert res.exit_code == 0, res.output
    assert "0o600" in res.output and "SECRET" in res.output
    assert os.stat(key).st_mode & 0o777 == 0o600
    first = key.read_bytes()
    again = runner.invoke(app, ["codec", "keygen", "-o", str(key)])
    assert again.exit_code == 1 and "already exists; keys are never overwritten" in again.output
    assert key.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.json"]  # the refused attempt left no temp file
    img = _write_png(tmp_path / "in.png")
    res = runner.invoke(app, ["codec", "encrypt", str(tmp_path / "in.png"), "-k", str(key), "-o", str(tmp_path / "c.bin")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["codec", "decrypt", str(tmp_path / "c.bin"), "-k", str(key), "-o", str(tmp_path / "out.png")])
    assert res.exit_code == 0, res.output
    assert np.array_equal(io.imread(tmp_path / "out.png"), img)
    res = runner.invoke(app, ["codec", "decrypt", str(tmp_path / "c.bin"), "-k", str(key), "-o", str(tmp_path / "o.npy")])
    assert np.array_equal(np.load(tmp_path / "o.npy"), img)


def test_decrypt_with_wrong_key_exits_with_clear_message(tmp_path) -> None:  # noqa: ANN001
    for name in ("a.json", "b.json"):
        assert runner.invoke(app, ["codec", "keygen", "-o", str(tmp_path / name)]).exit_code == 0
    _write_png(tmp_path / "in.png")
    runner.invoke(app, ["codec", "encrypt", str(tmp_path / "in.png"), "-k", str(tmp_path / "a.json"), "-o", str(tmp_path / "c")])
    res = runner.invoke(app, ["codec", "decrypt", str(tmp_path / "c"), "-k", str(tmp_path / "b.json"), "-o", str(tmp_path / "o.png")])
    assert res.exit_code == 1
    assert "wrong key" in res.output
    assert not (tmp_path / "o.png").exists()


def test_unsupported_image_format_is_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    assert runner.invoke(app, ["codec", "keygen", "-o", str(tmp_path / "k")]).exit_code == 0
    (tmp_path / "x.gifx").write_bytes(b"nope")
    res = runner.invoke(app, ["codec", "encrypt", str(tmp_path / "x.gifx"), "-k", str(tmp_path / "k"), "-o", str(tmp_path / "c")])
    assert res.exit_code == 1 and "unsupported image format" in res.output


def test_report_json_shape_and_plots(tmp_path) -> None:  # noqa: ANN001
    _write_png(tmp_path / "one.png", 1, (64, 64))
    np.save(tmp_path / "two.npy", np.random.default_rng(2).integers(0, 256, (48, 40, 3), dtype=np.uint8))
    res = runner.invoke(app, ["codec", "report", str(tmp_path / "one.png"), str(tmp_path / "two.npy"), "--json",
                              "--plots", str(tmp_path / "plots"), "--trials", "3"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    block = data["modes"]["exact"]
    assert [r["name"] for r in block["images"]] == ["one", "two"]
    for row in block["images"]:
        assert row["bit_exact"] is True
        assert set(row["wu_test"]) == {"0.05", "0.01", "0.001"}
        assert set(row["correlation_cipher"]) == {"H", "V", "D"}
        assert row["key_sensitivity"]["decrypt_psnr"] < 15
        assert 0 <= row["npcr"] <= 100 and 0 <= row["uaci"] <= 100
        assert os.path.getsize(row["plot"]) > 1000
        assert row["differential_trials"] == 3 and set(row["wu_pass_rate"]) == {"0.05", "0.01", "0.001"}
        assert all(0.0 <= v <= 1.0 for v in row["wu_pass_rate"].values())
    assert {"mean", "std"} == set(block["summary"]["npcr"])


def test_report_table_output(tmp_path) -> None:  # noqa: ANN001
    _write_png(tmp_path / "one.png", 3, (32, 32))
    res = runner.invoke(app, ["codec", "report", str(tmp_path / "one.png")])
    assert res.exit_code == 0, res.output
    assert "Differential attack" in res.output and "mean" in res.output and "Wu, Noonan" in res.output
    assert "one" in res.output and "inf" in res.output  # exact mode: decrypted PSNR is infinite
