"""Integration: every refusal surfaces as the right Python exception with the contract's fields."""

from __future__ import annotations

import hashlib
import socket

import pytest

from registry.chain import (
    ArtifactInput,
    ArtifactKind,
    ChainConnectionError,
    DpParameters,
    KeyKind,
    ModelRegistry,
    RegistryNotDeployedError,
    Role,
    RoundStatus,
    WrongChainError,
    connect,
)
from registry.chain import errors as err
from registry.devnet import dev_account

CID = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"


def sha(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()


def _deadline(registry: ModelRegistry, seconds: int = 3600) -> int:
    return registry.w3.eth.get_block("latest")["timestamp"] + seconds


def _posted_round(parties, artifact) -> int:
    fed = parties.federation_id
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    parties.analyst.submit_update(fed, round_, artifact(b"u1"), 100, [parties.dataset])
    parties.analyst2.submit_update(fed, round_, artifact(b"u2"), 100, [parties.dataset])
    parties.aggregator.close_round(fed, round_)
    parties.aggregator.post_aggregate(fed, round_, artifact(b"agg"), sorted([sha(b"u1"), sha(b"u2")]))
    return round_


def test_non_member_is_refused_with_a_readable_message(parties, artifact) -> None:
    fed = parties.federation_id
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    with pytest.raises(err.UnauthorizedAccountError) as caught:
        parties.stranger.submit_update(fed, round_, artifact(b"x"), 100, [parties.dataset])
    e = caught.value
    assert (e.federation_id, e.account, e.role) == (fed, parties.stranger.account, Role.ANALYST)
    assert str(e).startswith(f"account {parties.stranger.account} lacks role ANALYST in federation {fed}")


def test_zero_cid_and_zero_hash_are_refused(parties) -> None:
    fed = parties.federation_id
    with pytest.raises(err.EmptyCidError):
        parties.owner.register_dataset(fed, ArtifactInput("", b"\x01" * 32, 1), 10)
    with pytest.raises(err.ZeroHashError, match="sha256 is all zero"):
        parties.owner.register_dataset(fed, ArtifactInput(CID, bytes(32), 1), 10)


def test_wrong_kind_is_refused(parties, artifact) -> None:
    with pytest.raises(err.WrongArtifactKindError) as caught:
        parties.owner.register_artifact(parties.federation_id, ArtifactKind.MODEL_UPDATE, artifact(b"x"))
    assert caught.value.kind == ArtifactKind.MODEL_UPDATE


def test_unknown_parent_is_refused(parties, artifact) -> None:
    missing = parties.owner.artifact_count() + 100
    with pytest.raises(err.UnknownArtifactError) as caught:
        parties.owner.register_dataset(parties.federation_id, artifact(b"x"), 10, [missing])
    assert caught.value.artifact_id == missing


def test_duplicate_submission_is_refused(parties, artifact) -> None:
    fed = parties.federation_id
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    parties.analyst.submit_update(fed, round_, artifact(b"first"), 100, [parties.dataset])
    with pytest.raises(err.DuplicateUpdateError) as caught:
        parties.analyst.submit_update(fed, round_, artifact(b"second"), 100, [parties.dataset])
    assert caught.value.digest == parties.admin.update_digest(fed, round_, parties.analyst.account)
    assert "one update per analyst per round" in str(caught.value)


def test_submission_after_deadline_is_refused(parties, artifact) -> None:
    fed = parties.federation_id
    w3 = parties.admin.w3
    deadline = _deadline(parties.admin, seconds=2)
    round_ = parties.admin.open_round(fed, deadline).value
    # Mine one block just past the deadline: the shared devnet's clock moves by seconds only.
    w3.provider.make_request("evm_setNextBlockTimestamp", [deadline + 1])
    w3.provider.make_request("evm_mine", [])
    with pytest.raises(err.DeadlinePassedError) as caught:
        parties.analyst.submit_update(fed, round_, artifact(b"late"), 100, [parties.dataset])
    assert (caught.value.round, caught.value.deadline) == (round_, deadline)
    assert caught.value.timestamp > deadline


def test_finalize_without_aggregate_is_refused(parties, artifact) -> None:
    fed = parties.federation_id
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    parties.analyst.submit_update(fed, round_, artifact(b"u1"), 100, [parties.dataset])
    parties.analyst2.submit_update(fed, round_, artifact(b"u2"), 100, [parties.dataset])
    parties.aggregator.close_round(fed, round_)
    with pytest.raises(err.AggregateMissingError, match="must post it"):
        parties.key_holder.finalize_round(fed, round_, artifact(b"m"), artifact(b"x"), DpParameters.none())


def test_revoked_key_holder_is_refused(parties, artifact) -> None:
    fed = parties.federation_id
    round_ = _posted_round(parties, artifact)
    parties.admin.revoke_key(fed, KeyKind.PAILLIER_PRIVATE_KEY, parties.key_holder.account)
    with pytest.raises(err.KeyGrantRevokedError) as caught:
        parties.key_holder.finalize_round(fed, round_, artifact(b"m"), artifact(b"x"), DpParameters.none())
    assert caught.value.account == parties.key_holder.account and caught.value.kind == KeyKind.PAILLIER_PRIVATE_KEY
    with pytest.raises(err.KeyEpochRevokedError):
        parties.admin.grant_key(fed, KeyKind.PAILLIER_PRIVATE_KEY, parties.key_holder.account, CID, b"\x02" * 32)
    assert parties.admin.round(fed, round_).status == RoundStatus.AGGREGATING


def test_non_key_holder_cannot_finalize(parties, artifact) -> None:
    fed = parties.federation_id
    round_ = _posted_round(parties, artifact)
    with pytest.raises(err.KeyNotGrantedError, match="holds no paillier_private_key grant"):
        parties.aggregator.finalize_round(fed, round_, artifact(b"m"), artifact(b"x"), DpParameters.none())


def test_round_state_machine_refusals(parties, artifact) -> None:
    fed = parties.federation_id
    round_ = parties.admin.open_round(fed, _deadline(parties.admin)).value
    with pytest.raises(err.RoundInProgressError):
        parties.admin.open_round(fed, _deadline(parties.admin))
    parties.analyst.submit_update(fed, round_, artifact(b"u1"), 100, [parties.dataset])
    with pytest.raises(err.TooFewUpdatesError) as caught:
        parties.aggregator.close_round(fed, round_)
    assert (caught.value.update_count, caught.value.min_participants) == (1, 2)
    with pytest.raises(err.WrongRoundStatusError) as wrong:
        parties.aggregator.post_aggregate(fed, round_, artifact(b"agg"), [sha(b"u1")])
    assert (wrong.value.status, wrong.value.expected) == (RoundStatus.OPEN, RoundStatus.AGGREGATING)
    with pytest.raises(err.UnknownRoundError):
        parties.analyst.submit_update(fed, round_ + 5, artifact(b"x"), 100, [parties.dataset])
    parties.admin.abort_round(fed, round_, "make room")
    with pytest.raises(err.DeadlineInPastError):
        parties.admin.open_round(fed, 1)
    with pytest.raises(err.WrongRoundStatusError):
        parties.admin.abort_round(fed, round_, "aborted rounds stay aborted")


def test_bad_dp_record_is_refused(parties, artifact) -> None:
    round_ = _posted_round(parties, artifact)
    half = DpParameters(3_000_000, 10**13, 0, 1_000_000, "rdp")
    with pytest.raises(err.InvalidDpParametersError) as caught:
        parties.key_holder.finalize_round(parties.federation_id, round_, artifact(b"m"), artifact(b"x"), half)
    assert caught.value.noise_multiplier_micros == 0


def test_federation_creation_needs_the_creator_role(parties) -> None:
    with pytest.raises(err.AccessControlUnauthorizedError) as caught:
        parties.stranger.create_federation(parties.stranger.account, 1)
    assert caught.value.needed_role == Role.FEDERATION_CREATOR
    assert "lacks role FEDERATION_CREATOR" in str(caught.value)


def test_views_refuse_unknown_ids(parties) -> None:
    with pytest.raises(err.UnknownFederationError):
        parties.admin.federation(10_000)
    with pytest.raises(err.UnknownModelVersionError):
        parties.admin.model_version(parties.federation_id, 99)
    with pytest.raises(err.UnknownArtifactError):
        parties.admin.artifact(10**9)


def test_wrong_chain_rpc_is_refused(devnet) -> None:
    with pytest.raises(WrongChainError) as caught:
        connect(devnet.rpc_url, expected_chain_id=devnet.chain_id + 1)
    assert (caught.value.expected, caught.value.actual) == (devnet.chain_id + 1, devnet.chain_id)
    assert "FLEP_RPC_URL" in str(caught.value)


def test_unreachable_rpc_is_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but never listening: nothing answers
        with pytest.raises(ChainConnectionError, match=f"127.0.0.1:{port}.*flep devnet up"):
            connect(f"http://127.0.0.1:{port}", 31337, timeout=2)


def test_no_contract_at_address_is_reported(deployed) -> None:
    with pytest.raises(RegistryNotDeployedError, match="flep registry deploy"):
        ModelRegistry.at(deployed.w3, dev_account(9).address, dev_account(9), deployed.compiled)


def test_node_managed_sender_gets_the_same_decoded_errors(parties, artifact) -> None:
    # Anvil manages the dev accounts too: eth_sendTransaction instead of a locally signed transaction.
    managed = parties.admin.as_account(dev_account(8).address)
    with pytest.raises(err.UnauthorizedAccountError, match="lacks role DATA_OWNER"):
        managed.register_dataset(parties.federation_id, artifact(b"x"), 10)
    parties.admin.grant_role(parties.federation_id, Role.DATA_OWNER, managed.account)
    assert managed.register_dataset(parties.federation_id, artifact(b"x"), 10).value > 0
