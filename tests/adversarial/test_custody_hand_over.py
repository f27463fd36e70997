"""Custody hand-over on the real devnet: a key holder passes the epoch's Paillier and model keys, sealed, to a
successor the admin records; every wrong turn (wrong party, wrong blob, wrong key) is refused and records nothing."""

from __future__ import annotations

import pytest

from clients.he import generate_keypair, private_key_to_bytes
from registry.chain import KeyKind
from registry.chain import errors as err
from registry.keystore import Keystore, SealedBlobError
from registry.roles import open_grant, publish_encryption_key
from registry.roles.agents import KeyHolderAgent
from registry.roles.custody import CustodyError, hand_over, record_hand_over, take_custody
from registry.roles.grants import seal_grant
from registry.roles.models import model_params
from registry.store import IntegrityError, StoreError

PASSPHRASE = "custody-test"


def _finished_round(federation, parties, drain_agent, key_holder) -> int:
    round_ = federation.open_round()
    for agent in parties.analysts:
        drain_agent(agent)
    drain_agent(parties.aggregator)
    finalized = [a.result for a in drain_agent(key_holder) if a.round == round_]
    assert finalized, f"round {round_} was not finalized"
    return finalized[0]


@pytest.fixture()
def successor(federation, tmp_path) -> Keystore:
    """The stranger's keystore, its encryption key registered: the key holder to be."""
    keystore = Keystore.create(tmp_path / "successor", PASSPHRASE, private_key=federation.stranger.sender.key,
                               scrypt_n=2**10)
    publish_encryption_key(federation.stranger, keystore)
    return keystore


def test_a_successor_takes_custody_and_finalizes_models_members_can_read(federation, make_agents, drain_agent,
                                                                         successor) -> None:
    parties = make_agents()
    holder = parties.keystores["key holder"]
    assert _finished_round(federation, parties, drain_agent, parties.key_holder) == 1
    fid, stranger = federation.federation_id, federation.stranger

    handed = hand_over(parties.key_holder.context, holder, successor.address)
    assert handed.epoch == 1 and handed.model_key_grant is not None
    sealed = federation.context(stranger).store.get_bytes(handed.sealed_key.cid)
    assert holder.get_secret("paillier-epoch-1") not in sealed  # only the sealed key went to IPFS
    agent = KeyHolderAgent(federation.context(stranger), successor)
    assert agent.step() is None  # the chain does not name it a key holder yet: it takes nothing
    assert not successor.has_secret("paillier-epoch-1")

    recorded = record_hand_over(federation.context(federation.admin), successor.address, handed.sealed_key.cid,
                                handed.sealed_key.sha256)
    assert recorded.value and federation.admin.is_key_holder(fid, successor.address)
    assert [a.action for a in drain_agent(agent)] == ["took custody of the epoch-1 Paillier key"]
    for name in ("paillier-epoch-1", "model-key-epoch-1"):
        assert successor.get_secret(name) == holder.get_secret(name)

    # The successor finalizes round 2 under the same epoch; the members open its model with their grants.
    assert _finished_round(federation, parties, drain_agent, agent) == 2
    member = parties.analysts[0].analyst
    params = model_params(member.context, 2,
                          lambda e: open_grant(member.context, member.keystore, KeyKind.MODEL_KEY, epoch=e))
    assert params.size == parties.plan.num_values
    assert parties.key_holder.step() is None  # the predecessor finds nothing left to do
    assert take_custody(federation.context(stranger), successor) is None  # taken once


def test_only_the_epochs_key_holder_hands_over(federation, make_agents, successor) -> None:
    parties = make_agents()
    analyst = parties.keystores["analyst-1"]
    with pytest.raises(CustodyError, match="not a key holder"):
        hand_over(parties.analysts[0].analyst.context, analyst, successor.address)
    with pytest.raises(CustodyError, match="no live Paillier key grant"):
        take_custody(federation.context(federation.stranger), successor)
    assert not successor.has_secret("paillier-epoch-1")


def test_the_admin_records_only_a_blob_that_is_on_ipfs_under_its_hash(federation, make_agents, successor) -> None:
    parties = make_agents()
    handed = hand_over(parties.key_holder.context, parties.keystores["key holder"], successor.address)
    admin, fid = federation.context(federation.admin), federation.federation_id
    with pytest.raises(IntegrityError):
        record_hand_over(admin, successor.address, handed.sealed_key.cid, "00" * 32)
    with pytest.raises(StoreError):  # a CID nobody stored (the node is offline: it cannot look it up elsewhere)
        record_hand_over(admin, successor.address, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
                         handed.sealed_key.sha256)
    with pytest.raises(err.UnauthorizedAccountError):  # and only the admin records it
        record_hand_over(federation.context(federation.stranger), successor.address, handed.sealed_key.cid,
                         handed.sealed_key.sha256)
    assert not federation.admin.key_grant(fid, KeyKind.PAILLIER_PRIVATE_KEY, successor.address).granted_at


def test_a_blob_sealed_for_another_party_or_another_key_is_refused(federation, make_agents, successor,
                                                                  tmp_path) -> None:
    parties = make_agents()
    admin, fid = federation.context(federation.admin), federation.federation_id
    holder_context = parties.key_holder.context
    # A blob sealed for analyst-1, recorded as the successor's grant: the seal binds its grantee.
    for_other = seal_grant(holder_context, KeyKind.PAILLIER_PRIVATE_KEY, federation.analysts[0].account,
                           parties.keystores["key holder"].get_secret("paillier-epoch-1"), 1)
    record_hand_over(admin, successor.address, for_other.cid, for_other.sha256)
    with pytest.raises(SealedBlobError):
        take_custody(federation.context(federation.stranger), successor)
    assert not successor.has_secret("paillier-epoch-1")

    # A hostile key holder hands over a key of its own making: it is not the epoch's key, and nothing is kept.
    other = Keystore.create(tmp_path / "other", PASSPHRASE, private_key=federation.analysts[1].sender.key,
                            scrypt_n=2**10)
    publish_encryption_key(federation.analysts[1], other)
    forged = seal_grant(holder_context, KeyKind.PAILLIER_PRIVATE_KEY, other.address,
                        private_key_to_bytes(generate_keypair(1024).private_key), 1)
    record_hand_over(admin, other.address, forged.cid, forged.sha256)
    with pytest.raises(CustodyError, match="not epoch 1's"):
        take_custody(federation.context(federation.analysts[1]), other)
    assert not other.has_secret("paillier-epoch-1") and federation.admin.is_key_holder(fid, other.address)
