"""Round contexts and the checks of an update or aggregate against its chain record."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.he import (
    ContextMismatchError,
    EncodingParams,
    EncryptedAggregate,
    EncryptedUpdate,
    InvalidParametersError,
    RoundContext,
    SlotLayout,
    UpdateContext,
    check_aggregate_context,
    check_update_context,
    encoding_digest,
    normalize_address,
)

PARAMS = EncodingParams()
LAYOUT = SlotLayout.for_key_bits(PARAMS, 1024)
DIGEST = encoding_digest(PARAMS)
ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20


def _update(context: UpdateContext, params: EncodingParams = PARAMS) -> EncryptedUpdate:
    """An in-memory update: the context checks read only its header fields."""
    return EncryptedUpdate(bytes(32), SlotLayout.for_key_bits(params, 1024), 1, context, 1, (1,))


def _aggregate(context: RoundContext) -> EncryptedAggregate:
    return EncryptedAggregate(bytes(32), LAYOUT, 1, context, 2, 2, (bytes(32), b"\1" * 32), (1,))


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ((0, 1, 1), "federation_id"),
        ((1, 0, 1), "round"),
        ((1, 1, 0), "key_epoch"),
        ((2**64, 1, 1), "federation_id"),
        ((1, 2**64, 1), "round"),
        ((1, 1, 2**32), "key_epoch"),
        ((1, -3, 1), "round"),
        ((True, 1, 1), "federation_id"),
        ((1, 1.0, 1), "round"),
    ],
)
def test_round_context_out_of_range_is_refused_naming_the_field(fields, name):
    with pytest.raises(InvalidParametersError, match=f"{name} must be an integer in 1\\.\\."):
        RoundContext(*fields)
    with pytest.raises(InvalidParametersError, match=name):
        UpdateContext(*fields, ALICE)


def test_round_context_accepts_the_full_ranges():
    assert RoundContext(2**64 - 1, 2**64 - 1, 2**32 - 1).key_epoch == 2**32 - 1


def test_submitter_is_stored_lowercase_and_compared_case_insensitively():
    mixed = "0x" + "Ab" * 20
    context = UpdateContext(1, 2, 3, mixed)
    assert context.submitter == mixed.lower() == normalize_address("0X" + "AB" * 20)
    assert context == UpdateContext(1, 2, 3, mixed.lower())
    assert context.round_context == RoundContext(1, 2, 3)
    assert UpdateContext.for_round(RoundContext(1, 2, 3), mixed) == context


@pytest.mark.parametrize(
    "bad",
    ["a1" * 20, "0x" + "a1" * 19, "0x" + "a1" * 21, "0x" + "g1" * 20, "", "0x", "0x" + "a1" * 19 + "  ",
     "0x" + "a1" * 19 + "٣٣", "0x" + "[red]" + "a" * 35, 0x1234],
)
def test_malformed_submitter_is_refused(bad):
    with pytest.raises(InvalidParametersError, match="submitter"):
        UpdateContext(1, 1, 1, bad)


def test_matching_update_passes_whatever_the_letter_case():
    update = _update(UpdateContext(5, 6, 7, ALICE))
    check_update_context(update, UpdateContext(5, 6, 7, ALICE.upper().replace("0X", "0x")), DIGEST)


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (UpdateContext(9, 6, 7, ALICE), "federation: expected 9, found 5"),
        (UpdateContext(5, 9, 7, ALICE), "round: expected 9, found 6"),
        (UpdateContext(5, 6, 9, ALICE), "key epoch: expected 9, found 7"),
        (UpdateContext(5, 6, 7, BOB), f"submitter: expected {BOB}, found {ALICE}"),
    ],
)
def test_each_update_field_mismatch_is_named_with_expected_and_found(expected, message):
    with pytest.raises(ContextMismatchError, match=f"update of {ALICE} .*{re.escape(message)}"):
        check_update_context(_update(UpdateContext(5, 6, 7, ALICE)), expected, DIGEST)


def test_update_of_another_encoding_is_refused_naming_the_digest():
    other = EncodingParams(clip_bound=2.0)
    update = _update(UpdateContext(5, 6, 7, ALICE), other)
    message = f"encoding digest: expected {DIGEST.hex()[:16]}…, found {encoding_digest(other).hex()[:16]}…"
    with pytest.raises(ContextMismatchError, match=re.escape(message)):
        check_update_context(update, UpdateContext(5, 6, 7, ALICE), DIGEST)


_SMALL = st.integers(1, 3)


@settings(max_examples=100, deadline=None)
@given(_SMALL, _SMALL, _SMALL, st.booleans(), _SMALL, _SMALL, _SMALL, st.booleans(), st.booleans())
def test_update_check_names_exactly_the_differing_fields(f1, r1, e1, alice1, f2, r2, e2, alice2, same_encoding):
    found = UpdateContext(f1, r1, e1, ALICE if alice1 else BOB)
    expected = UpdateContext(f2, r2, e2, ALICE if alice2 else BOB)
    params = PARAMS if same_encoding else EncodingParams(value_bits=12)
    differing = {name for name, a, b in [("federation", f1, f2), ("round", r1, r2), ("key epoch", e1, e2),
                                         ("submitter", alice1, alice2), ("encoding digest", same_encoding, True)]
                 if a != b}
    if not differing:
        check_update_context(_update(found, params), expected, DIGEST)
        return
    with pytest.raises(ContextMismatchError) as raised:
        check_update_context(_update(found, params), expected, DIGEST)
    named = set(re.findall(r"(federation|round|key epoch|submitter|encoding digest): expected", str(raised.value)))
    assert named == differing


def test_matching_aggregate_passes():
    check_aggregate_context(_aggregate(RoundContext(1, 2, 3)), RoundContext(1, 2, 3), DIGEST)


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (RoundContext(4, 2, 3), "federation: expected 4, found 1"),
        (RoundContext(1, 4, 3), "round: expected 4, found 2"),
        (RoundContext(1, 2, 4), "key epoch: expected 4, found 3"),
    ],
)
def test_each_aggregate_field_mismatch_is_named(expected, message):
    with pytest.raises(ContextMismatchError, match=f"aggregate .*{re.escape(message)}.*do not decrypt"):
        check_aggregate_context(_aggregate(RoundContext(1, 2, 3)), expected, DIGEST)


def test_aggregate_of_another_encoding_is_refused():
    with pytest.raises(ContextMismatchError, match="encoding digest: expected 0000"):
        check_aggregate_context(_aggregate(RoundContext(1, 2, 3)), RoundContext(1, 2, 3), bytes(32))
