"""Size bounds on fetches, as pure logic: an endless producer is cut off right after the bound.

The real node is exercised in test_store_node.py; here a fake chunk generator
stands in for the HTTP stream so that "endless" and "closed" can be observed.
"""

from __future__ import annotations

from typing import Generator, Iterator

import pytest

from registry.store import ArtifactTooLargeError, IntegrityError, SizeLimit, SizeMismatchError, bounded

CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
PIECE = b"x" * 1000


class EndlessProducer:
    """A chunk generator that never ends on its own; records how much was pulled and whether it was closed."""

    def __init__(self) -> None:
        self.pulled = 0
        self.closed = False

    def pieces(self) -> Generator[bytes, None, None]:
        try:
            while True:
                self.pulled += len(PIECE)
                yield PIECE
        finally:
            self.closed = True


def iter_pieces(count: int) -> Generator[bytes, None, None]:
    yield from [PIECE] * count


def _drain(pieces: Iterator[bytes]) -> bytes:
    return b"".join(pieces)


def test_endless_stream_is_aborted_at_the_registered_size() -> None:
    producer = EndlessProducer()
    with pytest.raises(SizeMismatchError) as info:
        _drain(bounded(producer.pieces(), SizeLimit(CID, expected_size=4500)))
    assert producer.pulled == 5000  # the fifth piece crosses 4500 bytes; no sixth is requested
    assert producer.closed  # the source was closed before the error reached the caller
    message = str(info.value)
    assert CID in message and "4500 bytes" in message
    assert "more than 4500 bytes arrived; the artifact on IPFS is not the registered one" in message
    assert isinstance(info.value, IntegrityError) and info.value.what == "size"


def test_endless_stream_is_aborted_at_max_size() -> None:
    producer = EndlessProducer()
    with pytest.raises(ArtifactTooLargeError, match=f"artifact {CID} is larger than the 2000-byte limit"):
        _drain(bounded(producer.pieces(), SizeLimit(CID, max_size=2000)))
    assert producer.pulled == 3000 and producer.closed


def test_short_stream_is_refused_at_its_end() -> None:
    with pytest.raises(SizeMismatchError, match="size is 3001 bytes, but the node's stream ended after 3000 bytes"):
        _drain(bounded(iter_pieces(3), SizeLimit(CID, expected_size=3001)))


def test_exact_size_passes_every_byte_through() -> None:
    assert _drain(bounded(iter_pieces(3), SizeLimit(CID, expected_size=3000, max_size=3000))) == PIECE * 3


def test_no_bounds_pass_everything() -> None:
    assert _drain(bounded(iter_pieces(2), SizeLimit(CID))) == PIECE * 2


def test_expected_size_zero_refuses_any_byte() -> None:
    with pytest.raises(SizeMismatchError, match="more than 0 bytes arrived"):
        _drain(bounded(iter_pieces(1), SizeLimit(CID, expected_size=0)))


def test_negative_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="expected_size must be a byte count >= 0, got -1"):
        SizeLimit(CID, expected_size=-1)
    with pytest.raises(ValueError, match="max_size"):
        SizeLimit(CID, max_size=-5)
