"""Analyst side: quantize, weight, pack and encrypt one model update.

Weighted FedAvg: the client multiplies its quantized levels by its weight (its
sample count) inside the plaintext, before packing. The alternative, the
aggregator raising each ciphertext to the public weight (``c^w mod n^2``),
would cost ``|w|`` modular squarings per ciphertext per client at aggregation
and again for every verifier who recomputes the aggregate, while enforcing
nothing more: neither party can see inside a ciphertext, so in both designs a
client is bound only to the weight it declares. The declared weight is in the
update header (and the on-chain record), the aggregator checks it against the
slot headroom and sums it, and the key holder divides by that total.

Obfuscators. Under a key with a Damgård–Jurik–Nielsen base (the default of
:func:`~clients.he.keys.generate_keypair`) each ciphertext is obfuscated with
``h_s^a`` for a fresh ``ceil(|n|/2)``-bit ``a``, several times cheaper than
``r^n``. Its semantic security needs DCR plus a short-exponent assumption that
DCR does not imply; :mod:`clients.he.randomness` states both. Ciphertexts have
the same form and size either way, and aggregation uses no randomness, so
aggregates stay deterministic and publicly recomputable.
"""

from __future__ import annotations

import numpy as np
from phe import paillier

from clients.he.context import UpdateContext
from clients.he.encoding import EncodingParams, SlotLayout, pack, quantize, weight_levels
from clients.he.errors import InvalidParametersError
from clients.he.keys import key_fingerprint
from clients.he.obfuscators import ObfuscatorSpec
from clients.he.parallel import encrypt_fresh, encrypt_with, run_chunked
from clients.he.randomness import RandomnessPool
from clients.he.serialization import EncryptedUpdate


def encrypt_plaintexts(
    public_key: paillier.PaillierPublicKey,
    plaintexts: list[int],
    pool: RandomnessPool | None = None,
    workers: int | None = None,
) -> list[int]:
    """Encrypt packed plaintexts (each ``< n``) to raw Paillier ciphertexts.

    Obfuscators come from ``pool`` while it lasts (one multiplication each);
    the rest are computed fresh in a process pool: ``h_s^a`` with a short
    random exponent when the key carries a DJN base (faster, but resting on an
    assumption beyond DCR, see :mod:`clients.he.randomness`), ``r^n`` otherwise.

    Args:
        public_key: The federation's public key.
        plaintexts: Non-negative integers below n.
        pool: Optional precomputed randomness for this key.
        workers: Worker processes for fresh obfuscators; default one per core.

    Returns:
        One ciphertext per plaintext, in order.

    Raises:
        KeyMismatchError: If ``pool`` belongs to another key.
        InvalidParametersError: If a plaintext is negative or not below n.
    """
    n = public_key.n
    for index, m in enumerate(plaintexts):
        if not 0 <= m < n:
            raise InvalidParametersError(f"plaintext {index} is outside [0, n); packing must keep plaintexts below n")
    precomputed = pool.take(len(plaintexts), public_key) if pool is not None else []
    head = encrypt_with(n, list(zip(plaintexts, precomputed)))
    tail = run_chunked(encrypt_fresh, (ObfuscatorSpec.for_key(public_key),), plaintexts[len(precomputed):], workers)
    return head + tail


def encrypt_update(
    public_key: paillier.PaillierPublicKey,
    values: np.ndarray,
    weight: int,
    params: EncodingParams,
    context: UpdateContext,
    pool: RandomnessPool | None = None,
    workers: int | None = None,
) -> EncryptedUpdate:
    """Encrypt a flat float update for weighted FedAvg.

    The weight (the client's sample count) is multiplied into the quantized
    levels before packing, so the aggregator only multiplies ciphertexts and
    the key holder divides by the recorded total weight. The update is bound
    to ``context`` (federation, round, key epoch, submitter address): its header
    records them, and aggregators and key holders refuse it anywhere else.

    Args:
        public_key: The federation's public key.
        values: Flat float vector (the model or model delta).
        weight: FedAvg weight in ``1 .. params.max_weight``.
        params: Encoding parameters agreed by the federation.
        context: Federation, round, key epoch and submitter address the update is for.
        pool: Optional precomputed randomness (see :mod:`clients.he.randomness`).
        workers: Worker processes; default one per core.

    Returns:
        The encrypted update.

    Raises:
        NonFiniteUpdateError: If ``values`` holds NaN/Inf.
        WeightOutOfRangeError: If ``weight`` exceeds the layout's headroom.
        InvalidParametersError: If ``values`` is empty or not flat.
        KeyMismatchError: If ``pool`` belongs to another key.
    """
    layout = SlotLayout.for_key_bits(params, public_key.n.bit_length())
    levels, _ = quantize(values, params)
    if levels.size == 0:
        raise InvalidParametersError(f"update of submitter {context.submitter} for {context.round_context} is empty")
    plaintexts = pack(weight_levels(levels, weight, params), layout)
    ciphertexts = encrypt_plaintexts(public_key, plaintexts, pool, workers)
    return EncryptedUpdate(key_fingerprint(public_key), layout, int(levels.size), context, weight,
                           tuple(ciphertexts))
