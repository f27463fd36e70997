"""Dedicated exceptions of the packed-Paillier layer.

Every error names the artifact that failed (key fingerprint, submitter, field)
and what to do next, so an analyst, aggregator or auditor can act on it.
"""

from __future__ import annotations


class HEError(Exception):
    """Base class of every error raised by :mod:`clients.he`."""


class InvalidParametersError(HEError, ValueError):
    """Encoding parameters that cannot give a correct, overflow-free layout."""


class KeyFormatError(HEError):
    """Serialized key bytes that are truncated, of an unknown version or inconsistent."""


class KeyMismatchError(HEError):
    """An artifact was produced under a different Paillier public key than expected."""


class LayoutMismatchError(HEError):
    """Updates whose slot layout, scale, clip bound or length differ."""


class NonFiniteUpdateError(HEError, ValueError):
    """An update contains NaN or Inf values; it cannot be quantized."""


class WeightOutOfRangeError(HEError, ValueError):
    """A client's FedAvg weight is not positive or exceeds the layout's weight bound."""


class HeadroomExceededError(HEError):
    """More clients (or more total weight) than the slot headroom can hold without overflow."""


class DuplicateUpdateError(HEError):
    """The same submitter's update was given twice; it would be counted twice."""


class ContextMismatchError(HEError):
    """An update or aggregate bound to another federation, round, key epoch, submitter or encoding."""


class MalformedCiphertextError(HEError):
    """A ciphertext outside Z*_{n^2} (>= n^2, zero, or sharing a factor with n)."""


class SerializationError(HEError):
    """Encrypted-update or aggregate bytes that are truncated, of a wrong kind/version or inconsistent."""


class SlotOverflowError(HEError):
    """A decrypted plaintext does not fit the slot layout: an input was out of range or forged."""


class SlotSumOutOfRangeError(HEError):
    """A decrypted slot sum exceeds ``weights_total * (2^v - 1)``: an encoder overflowed or the aggregate is forged."""


class TooFewParticipantsError(HEError):
    """An aggregate sums fewer updates than the federation's minimum; decrypting it could expose an individual."""
