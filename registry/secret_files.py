"""Key files written atomically: a crash never leaves a truncated key behind.

The bytes go to a temporary file in the target's directory, created private
(``0600``, ``O_EXCL``), written whole and fsynced, then published under the
target name in one step and the directory fsynced. Any failure removes the
temporary file, so the next attempt starts clean and finds no half-written key.
Without ``overwrite`` the target is published with a hard link, which fails if
the name exists: a key created meanwhile by someone else is never replaced.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_MODE = 0o600


def write_secret(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Atomically write secret ``data`` to ``path`` with mode ``0600``.

    Args:
        path: The key file to create.
        data: Its complete content.
        overwrite: Replace an existing ``path`` (otherwise it is refused).

    Raises:
        FileExistsError: If ``path`` exists and ``overwrite`` is false; nothing was written.
        OSError: If the directory is missing or not writable, or the disk is full; nothing was left behind.
    """
    write_atomic(path, data, mode=SECRET_MODE, overwrite=overwrite)


def write_atomic(path: Path, data: bytes, *, mode: int, overwrite: bool = False) -> None:
    """Atomically write ``data`` to ``path``, which ends up with permissions ``mode``.

    The temporary file is private until its permissions are set to ``mode`` just
    before it is published, so a public file (e.g. a public key) can use this too.

    Raises:
        FileExistsError: If ``path`` exists and ``overwrite`` is false; nothing was written.
        OSError: If the directory is missing or not writable, or the disk is full; nothing was left behind.
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, SECRET_MODE)
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        _publish(temp, path, overwrite)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _publish(temp: Path, path: Path, overwrite: bool) -> None:
    """Give the complete temporary file its final name in one atomic step.

    Raises:
        FileExistsError: If ``path`` exists and ``overwrite`` is false.
    """
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except FileExistsError as exc:
        raise FileExistsError(
            f"{path} already exists; refusing to overwrite it (a key lost by overwrite is lost for good): "
            "choose another path, or move the old file away first"
        ) from exc


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry durable (the rename itself lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
