"""BatchCrypt-style encoding: clip, quantize, shift, weight and pack into slots.

A float update ``x`` is clipped to ``[-B, B]``, quantized to
``q = round((x + B) * scale)`` with ``scale = (2^v - 1) / (2B)`` so that
``0 <= q <= 2^v - 1`` (``v`` = ``value_bits``), multiplied by the client's
FedAvg weight ``w`` (its sample count), and packed ``k`` slots per Paillier
plaintext. Each slot is ``slot_bits`` wide with ``slot_bits`` the bit length of
``max_clients * max_weight * (2^v - 1)``: the weighted sum of up to
``max_clients`` updates with weights up to ``max_weight`` can never carry into
the next slot, and ``k * slot_bits <= |n| - 1`` keeps every plaintext and every
sum of plaintexts below ``n``. Overflow is thus impossible by construction as
long as the aggregator refuses rounds beyond the headroom (it does).

Slot order: value ``i * k + j`` sits in slot ``j`` of plaintext ``i``, slot 0 in
the most significant bits. Padding slots of the last plaintext are zero.

Decoding divides the slot sum by the total weight ``W`` and undoes the shift:
``x̂ = (Σ w_i q_i / W) / scale - B``. Rounding moves each ``q_i`` by at most
1/2, so ``|x̂ - Σ w_i x_i / W| <= 1 / (2 * scale)`` (the quantization bound)
for inputs inside ``[-B, B]``; values beyond ``B`` are clipped first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from clients.he.errors import (
    InvalidParametersError,
    NonFiniteUpdateError,
    SlotOverflowError,
    WeightOutOfRangeError,
)

MAX_SLOT_BITS = 64
"""Slots are handled as uint64 lanes; wider slots are refused."""

MAX_CLIP_BOUND = 1e6
"""Largest clip bound B accepted: model values and deltas are far smaller, and a
bound beyond it in a file header means the file is corrupted or forged."""

MAX_CLIENTS = 1_000_000
"""Largest ``max_clients`` accepted (the aggregate header lists one 32-byte digest per client)."""


@dataclass(frozen=True)
class EncodingParams:
    """What the federation agrees on before a round (independent of the key).

    Attributes:
        clip_bound: ``B``; every value is clipped to ``[-B, B]`` (at most ``MAX_CLIP_BOUND``).
        value_bits: ``v``; quantization levels ``2^v`` over ``[-B, B]``.
        max_clients: Most updates one aggregate may contain (at most ``MAX_CLIENTS``).
        max_weight: Largest per-client FedAvg weight (sample count).

    Raises:
        InvalidParametersError: On construction, if a field is out of range or
            the slot would need more than ``MAX_SLOT_BITS`` bits.
    """

    clip_bound: float = 1.0
    value_bits: int = 16
    max_clients: int = 10
    max_weight: int = 1024

    def __post_init__(self) -> None:
        if not (math.isfinite(self.clip_bound) and 0 < self.clip_bound <= MAX_CLIP_BOUND):
            raise InvalidParametersError(
                f"clip_bound must be a finite float in (0, {MAX_CLIP_BOUND:g}], got {self.clip_bound}"
            )
        if not 1 <= self.value_bits <= 32:
            raise InvalidParametersError(f"value_bits must be in 1..32, got {self.value_bits}")
        if not 1 <= self.max_clients <= MAX_CLIENTS or self.max_weight < 1:
            raise InvalidParametersError(
                f"max_clients must be in 1..{MAX_CLIENTS} and max_weight >= 1, "
                f"got {self.max_clients} and {self.max_weight}"
            )
        if self.slot_bits > MAX_SLOT_BITS:
            raise InvalidParametersError(
                f"a slot needs {self.slot_bits} bits (value_bits {self.value_bits} + headroom for "
                f"{self.max_clients} clients x weight {self.max_weight}); the limit is {MAX_SLOT_BITS}: "
                "lower value_bits, max_clients or max_weight"
            )

    @property
    def max_level(self) -> int:
        """Largest quantized value ``2^v - 1``."""
        return (1 << self.value_bits) - 1

    @property
    def scale(self) -> float:
        """Quantization steps per unit: ``(2^v - 1) / (2B)``."""
        return self.max_level / (2.0 * self.clip_bound)

    @property
    def slot_bits(self) -> int:
        """Bits per slot: room for the largest possible weighted sum."""
        return (self.max_clients * self.max_weight * self.max_level).bit_length()

    @property
    def quantization_bound(self) -> float:
        """Largest decoding error versus the plaintext weighted mean: ``1 / (2 * scale)``."""
        return 0.5 / self.scale

    def differences(self, other: EncodingParams) -> list[str]:
        """Names and values of the fields where ``other`` differs from these parameters."""
        return _differences(self, other)


@dataclass(frozen=True)
class SlotLayout:
    """The encoding parameters fixed to a key size: what every header records.

    Build it with :meth:`for_key_bits`; two updates aggregate only when their
    layouts are equal.
    """

    clip_bound: float
    value_bits: int
    max_clients: int
    max_weight: int
    scale: float
    slot_bits: int
    slots_per_ciphertext: int

    @classmethod
    def for_key_bits(cls, params: EncodingParams, key_bits: int) -> SlotLayout:
        """Lay ``params`` out for a modulus of ``key_bits`` bits.

        Raises:
            InvalidParametersError: If not even one slot fits below n.
        """
        slots = (key_bits - 1) // params.slot_bits
        if slots < 1:
            raise InvalidParametersError(
                f"a {params.slot_bits}-bit slot does not fit a {key_bits}-bit Paillier plaintext"
            )
        return cls(
            clip_bound=params.clip_bound,
            value_bits=params.value_bits,
            max_clients=params.max_clients,
            max_weight=params.max_weight,
            scale=params.scale,
            slot_bits=params.slot_bits,
            slots_per_ciphertext=slots,
        )

    @property
    def params(self) -> EncodingParams:
        """The key-independent parameters this layout was built from."""
        return EncodingParams(self.clip_bound, self.value_bits, self.max_clients, self.max_weight)

    @property
    def quantization_bound(self) -> float:
        """Largest decoding error versus the plaintext weighted mean."""
        return 0.5 / self.scale

    def num_ciphertexts(self, num_values: int) -> int:
        """Ciphertexts needed for ``num_values`` values."""
        return -(-num_values // self.slots_per_ciphertext)

    def differences(self, other: SlotLayout) -> list[str]:
        """Names and values of the fields where ``other`` differs from this layout."""
        return _differences(self, other)


def _differences(ours: EncodingParams | SlotLayout, other: EncodingParams | SlotLayout) -> list[str]:
    """``"<field> <ours> != <other>"`` for each dataclass field where the two differ."""
    return [
        f"{f.name} {getattr(ours, f.name)} != {getattr(other, f.name)}"
        for f in fields(ours)
        if getattr(ours, f.name) != getattr(other, f.name)
    ]


def quantize(values: np.ndarray, params: EncodingParams) -> tuple[np.ndarray, int]:
    """Clip, quantize and shift a float vector to levels ``0 .. 2^v - 1``.

    Args:
        values: Flat float vector.
        params: Encoding parameters (clip bound and value bits).

    Returns:
        The uint64 levels and how many values were clipped.

    Raises:
        NonFiniteUpdateError: If ``values`` holds NaN or Inf.
        InvalidParametersError: If ``values`` is not a flat vector.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidParametersError(f"an update must be a flat vector, got shape {arr.shape}")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise NonFiniteUpdateError(
            f"update holds {bad.size} NaN/Inf values (first at index {int(bad[0])}); "
            "fix the training step before encrypting"
        )
    bound = params.clip_bound
    clipped = int(np.count_nonzero(np.abs(arr) > bound))
    levels = np.rint((np.clip(arr, -bound, bound) + bound) * params.scale)
    return np.clip(levels, 0, params.max_level).astype(np.uint64), clipped


def weight_levels(levels: np.ndarray, weight: int, params: EncodingParams) -> np.ndarray:
    """Multiply quantized levels by the client's FedAvg weight (inside the plaintext).

    Raises:
        WeightOutOfRangeError: If ``weight`` is not in ``1 .. max_weight``.
    """
    if not 1 <= weight <= params.max_weight:
        raise WeightOutOfRangeError(
            f"FedAvg weight {weight} is outside 1..{params.max_weight} allowed by the slot headroom; "
            "raise max_weight for the federation or cap the sample count"
        )
    return levels * np.uint64(weight)


def pack(slots: np.ndarray, layout: SlotLayout) -> list[int]:
    """Pack uint64 slot values into Paillier plaintexts.

    Raises:
        SlotOverflowError: If a value does not fit ``slot_bits``.
    """
    bits, per = layout.slot_bits, layout.slots_per_ciphertext
    values = np.asarray(slots, dtype=np.uint64)
    if values.size and int(values.max()) >> bits:
        raise SlotOverflowError(f"slot value {int(values.max())} does not fit {bits} bits")
    count = -(-values.size // per)
    padded = np.zeros(count * per, dtype=">u8")
    padded[: values.size] = values
    lanes = np.unpackbits(padded.view(np.uint8).reshape(-1, 8), axis=1)[:, MAX_SLOT_BITS - bits :]
    rows = lanes.reshape(count, per * bits)
    pad = (-per * bits) % 8
    if pad:
        rows = np.concatenate([np.zeros((count, pad), dtype=np.uint8), rows], axis=1)
    packed = np.packbits(rows, axis=1)
    return [int.from_bytes(row.tobytes(), "big") for row in packed]


def unpack(plaintexts: list[int], layout: SlotLayout, num_values: int) -> np.ndarray:
    """Split plaintexts back into ``num_values`` uint64 slot values.

    Raises:
        SlotOverflowError: If a plaintext is wider than its slots or a padding
            slot is not zero (an input was out of range or forged).
    """
    bits, per = layout.slot_bits, layout.slots_per_ciphertext
    width = per * bits
    nbytes = (width + 7) // 8
    chunks = []
    for index, plaintext in enumerate(plaintexts):
        if plaintext < 0 or plaintext.bit_length() > width:
            raise SlotOverflowError(
                f"plaintext {index} has {plaintext.bit_length()} bits, the layout holds {width}: "
                "an input update was outside its slot range; recompute the aggregate from verified updates"
            )
        chunks.append(plaintext.to_bytes(nbytes, "big"))
    rows = np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(len(plaintexts), nbytes)
    lanes = np.unpackbits(rows, axis=1)[:, nbytes * 8 - width :].reshape(-1, bits)
    full = np.zeros((lanes.shape[0], MAX_SLOT_BITS), dtype=np.uint8)
    full[:, MAX_SLOT_BITS - bits :] = lanes
    values = np.packbits(full, axis=1).view(">u8").reshape(-1).astype(np.uint64)
    if np.any(values[num_values:]):
        raise SlotOverflowError("padding slots after the last value are not zero: the aggregate was forged")
    return values[:num_values]


def dequantize(slot_sums: np.ndarray, weights_total: int, layout: SlotLayout) -> np.ndarray:
    """Turn summed weighted levels into the weighted-mean float vector."""
    sums = np.asarray(slot_sums, dtype=np.uint64)
    total = np.uint64(weights_total)
    # Integer division first keeps every float below 2^53 (exact), even for 64-bit sums.
    mean_levels = (sums // total).astype(np.float64) + (sums % total).astype(np.float64) / weights_total
    return mean_levels / layout.scale - layout.clip_bound
