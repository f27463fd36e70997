"""The grant ``info`` has one spelling per grant and refuses malformed fields."""

from __future__ import annotations

import pytest

from registry.keystore import InvalidGrantError, grant_info

GRANTEE = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def test_info_has_the_documented_canonical_form() -> None:
    assert grant_info(7, "codec_key", GRANTEE, 3) == (
        b"FLEP-grant-v1|federation=7|kind=codec_key|grantee=0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed|epoch=3"
    )


def test_grantee_spellings_give_the_same_info() -> None:
    spellings = [GRANTEE, GRANTEE.lower(), "0x" + GRANTEE[2:].upper(), GRANTEE[2:].lower()]

    assert len({grant_info(1, "model_key", grantee) for grantee in spellings}) == 1


def test_every_field_changes_the_info() -> None:
    base = dict(federation_id=1, key_kind="model_key", grantee=GRANTEE, epoch=0)
    variants = [
        {"federation_id": 2},
        {"key_kind": "codec_key"},
        {"grantee": "0x" + "11" * 20},
        {"epoch": 1},
    ]

    infos = {grant_info(**base)} | {grant_info(**{**base, **change}) for change in variants}
    assert len(infos) == 1 + len(variants)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ((-1, "codec_key", GRANTEE), "federation id"),
        ((2**64, "codec_key", GRANTEE), "federation id"),
        ((True, "codec_key", GRANTEE), "federation id"),
        ((1, "codec_key", GRANTEE, -1), "key epoch"),
        ((1, "codec_key", GRANTEE, 2**32), "key epoch"),
        ((1, "CODEC_KEY", GRANTEE), "key kind"),
        ((1, "codec|key", GRANTEE), "key kind"),
        ((1, "", GRANTEE), "key kind"),
        ((1, "codec_key", "0x1234"), "grantee"),
        ((1, "codec_key", GRANTEE.replace("a", "A", 1)), "grantee"),
    ],
)
def test_malformed_fields_are_refused(arguments: tuple, problem: str) -> None:
    with pytest.raises(InvalidGrantError, match=problem):
        grant_info(*arguments)
