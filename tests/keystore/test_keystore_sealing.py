"""Sealed blobs open only for their recipient and their grant, in both HPKE suites."""

from __future__ import annotations

from typing import Callable

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

from registry.keystore import (
    InvalidPublicKeyError,
    Keystore,
    SealedBlobError,
    UnknownSuiteError,
    grant_info,
    seal_for,
)
from registry.keystore.suites import MlKem768X25519Suite

MakeKeystore = Callable[..., Keystore]
SUITES = ["x25519", "mlkem768-x25519"]
SECRET = b"codec key: " + bytes(range(32))

# X-Wing test vector 1 (draft-connolly-cfrg-xwing-kem, appendix C): the 32-byte seed and its public key.
XWING_SEED = bytes.fromhex("7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26")
XWING_PUBLIC_KEY = bytes.fromhex(
    "e2236b35a8c24b39b10aa1323a96a919a2ced88400633a7b07131713fc14b2b5b19cfc3da5fa1a92c49f25513e0fd30d"
    "6b1611c9ab9635d7086727a4b7d21d34244e66969cf15b3b2a785329f61b096b277ea037383479a6b556de7231fe4b7f"
    "a9c9ac24c0699a0018a5253401bacfa905ca816573e56a2d2e067e9b7287533ba13a937dedb31fa44baced4076992361"
    "0034ae31e619a170245199b3c5c39864859fe1b4c9717a07c30495bdfb98a0a002ccf56c1286cef5041dede3c44cf16b"
    "f562c7448518026b3d8b9940680abd38a1575fd27b58da063bfac32c39c30869374c05c1aeb1898b6b303cc68be45534"
    "6ee0af699636224a148ca2aea10463111c709f69b69c70ce8538746698c4c60a9aef0030c7924ceec42a5d36816f545e"
    "ae13293460b3acb37ea0e13d70e4aa78686da398a8397c08eaf96882113fe4f7bad4da40b0501e1c753efe73053c8701"
    "4e8661c33099afe8bede414a5b1aa27d8392b3e131e9a70c1055878240cad0f40d5fe3cdf85236ead97e2a97448363b2"
    "808caafd516cd25052c5c362543c2517e4acd0e60ec07163009b6425fc32277acee71c24bab53ed9f29e74c66a0a3564"
    "955998d76b96a9a8b50d1635a4d7a67eb42df5644d330457293a8042f53cc7a69288f17ed55827e82b28e82665a86a14"
    "fbd96645eca8172c044f83bc0d8c0b4c8626985631ca87af829068f1358963cb333664ca482763ba3b3bb208577f9ba6"
    "ac62c25f76592743b64be519317714cb4102cb7b2f9a25b2b4f0615de31decd9ca55026d6da0b65111b16fe52feed8a4"
    "87e144462a6dba93728f500b6ffc49e515569ef25fed17aff520507368253525860f58be3be61c964604a6ac814e6935"
    "596402a520a4670b3d284318866593d15a4bb01c35e3e587ee0c67d2880d6f2407fb7a70712b838deb96c5d7bf2b44bc"
    "f6038ccbe33fbcf51a54a584fe90083c91c7a6d43d4fb15f48c60c2fd66e0a8aad4ad64e5c42bb8877c0ebec2b5e387c"
    "8a988fdc23beb9e16c8757781e0a1499c61e138c21f216c29d076979871caa6942bafc090544bee99b54b16cb9a9a364"
    "d6246d9f42cce53c66b59c45c8f9ae9299a75d15180c3c952151a91b7a10772429dc4cbae6fcc622fa8018c63439f890"
    "630b9928db6bb7f9438ae4065ed34d73d486f3f52f90f0807dc88dfdd8c728e954f1ac35c06c000ce41a0582580e3bb5"
    "7b672972890ac5e7988e7850657116f1b57d0809aaedec0bede1ae148148311c6f7e317346e5189fb8cd635b986f8c0b"
    "dd27641c584b778b3a911a80be1c9692ab8e1bbb12839573cce19df183b45835bbb55052f9fc66a1678ef2a36dea7841"
    "1e6c8d60501b4e60592d13698a943b509185db912e2ea10be06171236b327c71716094c964a68b03377f513a05bcd99c"
    "1f346583bb052977a10a12adfc758034e5617da4c1276585e5774e1f3b9978b09d0e9c44d3bc86151c43aad185712717"
    "340223ac381d21150a04294e97bb13bbda21b5a182b6da969e19a7fd072737fa8e880a53c2428e3d049b7d2197405296"
    "ddb361912a7bcf4827ced611d0c7a7da104dde4322095339f64a61d5bb108ff0bf4d780cae509fb22c256914193ff734"
    "9042581237d522828824ee3bdfd07fb03f1f942d2ea179fe722f06cc03de5b69859edb06eff389b27dce598445702162"
    "23593d4ba32d9abac8cd049040ef6534"
)


def _info(keystore: Keystore, epoch: int = 0) -> bytes:
    return grant_info(7, "codec_key", keystore.address, epoch)


@pytest.mark.parametrize("suite", SUITES)
def test_seal_then_open_round_trips(make_keystore: MakeKeystore, passphrase: str, suite: str) -> None:
    recipient = make_keystore(suite=suite)
    blob = seal_for(recipient.hpke_public_key_bytes, suite, SECRET, _info(recipient))

    reopened = Keystore.open(recipient.directory, passphrase)

    assert reopened.open_sealed(blob, _info(recipient)) == SECRET
    assert SECRET not in blob


@pytest.mark.parametrize("suite", SUITES)
def test_blob_carries_version_and_suite_id(make_keystore: MakeKeystore, suite: str) -> None:
    recipient = make_keystore(suite=suite)
    blob = seal_for(recipient.hpke_public_key_bytes, suite, SECRET, _info(recipient))
    kem_id = {"x25519": "0020", "mlkem768-x25519": "647a"}[suite]

    assert blob[:7].hex() == f"01{kem_id}00010002"


def test_sealing_twice_gives_different_blobs(make_keystore: MakeKeystore) -> None:
    recipient = make_keystore()
    first, second = (seal_for(recipient.hpke_public_key_bytes, "x25519", SECRET, b"i") for _ in range(2))

    assert first != second
    assert recipient.open_sealed(first, b"i") == recipient.open_sealed(second, b"i") == SECRET


@pytest.mark.parametrize("suite", SUITES)
def test_wrong_info_is_refused(make_keystore: MakeKeystore, suite: str) -> None:
    recipient = make_keystore(suite=suite)
    blob = seal_for(recipient.hpke_public_key_bytes, suite, SECRET, _info(recipient, epoch=1))

    with pytest.raises(SealedBlobError, match="another grant"):
        recipient.open_sealed(blob, _info(recipient, epoch=2))
    with pytest.raises(SealedBlobError):
        recipient.open_sealed(blob, grant_info(8, "codec_key", recipient.address, 1))


@pytest.mark.parametrize("suite", SUITES)
def test_wrong_recipient_is_refused(make_keystore: MakeKeystore, suite: str) -> None:
    alice, bob = make_keystore("alice", suite=suite), make_keystore("bob", suite=suite)
    blob = seal_for(alice.hpke_public_key_bytes, suite, SECRET, _info(alice))

    with pytest.raises(SealedBlobError, match="another recipient") as raised:
        bob.open_sealed(blob, _info(alice))
    assert bob.address in str(raised.value)


def test_blob_for_the_other_suite_is_refused_by_name(make_keystore: MakeKeystore) -> None:
    classic, hybrid = make_keystore("classic"), make_keystore("hybrid", suite="mlkem768-x25519")
    blob = seal_for(hybrid.hpke_public_key_bytes, "mlkem768-x25519", SECRET, b"i")

    with pytest.raises(SealedBlobError, match="sealed with mlkem768-x25519, but .* holds a x25519 key"):
        classic.open_sealed(blob, b"i")


@pytest.mark.parametrize("suite", SUITES)
def test_altered_or_truncated_blobs_are_refused(make_keystore: MakeKeystore, suite: str) -> None:
    recipient = make_keystore(suite=suite)
    blob = seal_for(recipient.hpke_public_key_bytes, suite, SECRET, b"i")
    altered = [blob[:-1], blob[:7], blob[:3], b"", b"\x02" + blob[1:], blob[:1] + b"\xff" + blob[2:]]
    altered += [blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1 :] for i in (7, len(blob) // 2, len(blob) - 1)]

    for bad in altered:
        with pytest.raises(SealedBlobError):
            recipient.open_sealed(bad, b"i")


def test_public_key_of_wrong_size_or_suite_is_refused(make_keystore: MakeKeystore) -> None:
    hybrid = make_keystore(suite="mlkem768-x25519")

    with pytest.raises(InvalidPublicKeyError, match="1216 bytes, but a x25519 public key is 32"):
        seal_for(hybrid.hpke_public_key_bytes, "x25519", SECRET, b"i")
    with pytest.raises(InvalidPublicKeyError, match="is not a valid mlkem768-x25519 key"):
        seal_for(b"\xff" * 1216, "mlkem768-x25519", SECRET, b"i")
    with pytest.raises(UnknownSuiteError, match="'p256'"):
        seal_for(hybrid.hpke_public_key_bytes, "p256", SECRET, b"i")


def test_x25519_blob_opens_with_plain_rfc9180_hpke() -> None:
    private_key = x25519.X25519PrivateKey.generate()
    blob = seal_for(private_key.public_key().public_bytes_raw(), "x25519", SECRET, b"info")
    suite = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

    assert suite.decrypt(blob[7:], private_key, info=b"info") == SECRET


def test_hybrid_public_key_matches_the_xwing_test_vector() -> None:
    assert MlKem768X25519Suite().public_key_bytes(XWING_SEED) == XWING_PUBLIC_KEY
