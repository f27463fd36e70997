"""Key files are written atomically, private, and never half-written or silently replaced."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from registry import secret_files
from registry.secret_files import write_atomic, write_secret

SECRET = os.urandom(4096) + b"\x00tail"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_secret_has_mode_0600_and_exact_content(tmp_path: Path) -> None:
    path = tmp_path / "fed.key"
    write_secret(path, SECRET)
    assert path.read_bytes() == SECRET
    assert _mode(path) == 0o600
    assert list(tmp_path.iterdir()) == [path]


def test_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        write_secret(tmp_path / "k", b"x")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "k") == 0o600


def test_public_file_gets_its_mode(tmp_path: Path) -> None:
    write_atomic(tmp_path / "fed.pub", b"public", mode=0o644)
    assert _mode(tmp_path / "fed.pub") == 0o644 and (tmp_path / "fed.pub").read_bytes() == b"public"


def test_existing_target_is_refused_unless_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "fed.key"
    path.write_bytes(b"the only copy")
    with pytest.raises(FileExistsError, match=r"fed\.key already exists; refusing to overwrite"):
        write_secret(path, SECRET)
    assert path.read_bytes() == b"the only copy"
    assert list(tmp_path.iterdir()) == [path]  # the refused attempt left no temp file
    write_secret(path, SECRET, overwrite=True)
    assert path.read_bytes() == SECRET and _mode(path) == 0o600


def test_secret_is_written_whole_even_if_os_write_is_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(secret_files.os, "write", lambda fd, data: real_write(fd, bytes(data[:1000])))
    write_secret(tmp_path / "k", SECRET)
    assert (tmp_path / "k").read_bytes() == SECRET


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_crash_mid_write_leaves_nothing_and_a_retry_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "codec.key"
    real_write = os.write
    calls: list[int] = []

    def write_then_fail(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real_write(fd, bytes(data[:100]))  # a first, partial write lands on disk

    def fail(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(secret_files.os, failing, write_then_fail if failing == "write" else fail)
    with pytest.raises(OSError, match="No space left|Input/output"):
        write_secret(path, SECRET)
    assert list(tmp_path.iterdir()) == []  # no target, no temp file
    monkeypatch.undo()
    write_secret(path, SECRET)
    assert path.read_bytes() == SECRET and _mode(path) == 0o600


def test_missing_directory_is_an_os_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        write_secret(tmp_path / "no-such-dir" / "k", SECRET)
