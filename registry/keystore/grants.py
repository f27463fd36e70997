"""The canonical HPKE ``info`` of a key grant: what a sealed key is for, bound into the seal.

Format (ASCII, fields in this order, one spelling per grant)::

    FLEP-grant-v1|federation=<decimal>|kind=<key kind>|grantee=0x<40 hex, lowercase>|epoch=<decimal>

A blob sealed for one grant does not open as another: not for another federation, key kind, grantee
or key epoch.
"""

from __future__ import annotations

import re

from eth_utils import is_checksum_address, is_checksum_formatted_address, is_hex_address, to_normalized_address

from registry.keystore.errors import InvalidGrantError

GRANT_DOMAIN = "FLEP-grant-v1"
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_MAX_UINT64 = 2**64 - 1


def grant_info(federation_id: int, key_kind: str, grantee: str, epoch: int = 0) -> bytes:
    """The ``info`` bytes binding a sealed key to its grant.

    Args:
        federation_id: The federation (a uint64, as on chain).
        key_kind: Which key, in lowercase (e.g. ``"codec_key"``, ``KeyKind.CODEC_KEY.name.lower()``).
        grantee: The grantee's address, in any case (written lowercase).
        epoch: The key epoch (a uint32, as on chain; 0 for keys without epochs).

    Raises:
        InvalidGrantError: If a field is out of range or malformed.
    """
    if not _is_int(federation_id) or not 0 <= federation_id <= _MAX_UINT64:
        raise InvalidGrantError(f"federation id must be an integer from 0 to 2**64-1, not {federation_id!r}")
    if not _is_int(epoch) or not 0 <= epoch < 2**32:
        raise InvalidGrantError(f"key epoch must be an integer from 0 to 2**32-1, not {epoch!r}")
    if not isinstance(key_kind, str) or not _KIND.fullmatch(key_kind):
        raise InvalidGrantError(
            f"key kind {key_kind!r} is not a lowercase name (letters, digits, '_' or '-'), e.g. 'codec_key'"
        )
    if not _is_address(grantee):
        raise InvalidGrantError(
            f"grantee {grantee!r} is not an address (40 hex digits after 0x; mixed case must be a valid checksum)"
        )
    fields = (
        GRANT_DOMAIN,
        f"federation={federation_id}",
        f"kind={key_kind}",
        f"grantee={to_normalized_address(grantee)}",
        f"epoch={epoch}",
    )
    return "|".join(fields).encode("ascii")


def _is_address(value: object) -> bool:
    """A hex address (``0x`` optional); in mixed case only with a valid EIP-55 checksum."""
    if not isinstance(value, str) or not is_hex_address(value):
        return False
    return not is_checksum_formatted_address(value) or is_checksum_address(value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
