"""Keystore test fixtures: keystores with a low scrypt cost (only tests pass one), in temporary directories."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from registry.keystore import Keystore

FAST_SCRYPT_N = 2**4


@pytest.fixture()
def passphrase() -> str:
    """The passphrase of the test keystores (non-ASCII, to cover UTF-8 encoding)."""
    return "correct horse battery staple ✓"


@pytest.fixture()
def make_keystore(tmp_path: Path, passphrase: str) -> Callable[..., Keystore]:
    """Create keystores under ``tmp_path`` (``name`` is the directory) that are cheap to derive."""

    def make(name: str = "party", **options: object) -> Keystore:
        options.setdefault("passphrase", passphrase)
        options.setdefault("scrypt_n", FAST_SCRYPT_N)
        return Keystore.create(tmp_path / name, **options)

    return make
