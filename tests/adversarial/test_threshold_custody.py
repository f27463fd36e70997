"""Threshold custody on the real devnet, parties stepped in-process: a ceremony deals the key to three
custodians (any two decrypt), rounds finalize from verified partials, a forged partial is named and skipped,
a revoked custodian's share opens nothing of the next epoch, and the chain refuses what the rules forbid."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest

from clients.he import KeyMismatchError, PartialDecryption, partial_decrypt_aggregate
from registry.chain import ArtifactKind, DpParameters, KeyKind, RoundStatus, events
from registry.chain import errors as err
from registry.keystore import Keystore
from registry.roles import Auditor, Custodian, member_model_key, publish_encryption_key, run_ceremony
from registry.roles.agents import CustodianAgent
from registry.roles.context import as_input, fund_accounts
from registry.devnet import dev_account
from registry.roles.models import model_params
from registry.roles.partials import open_partial, seal_partial

PASSPHRASE = "threshold-test"


@dataclass
class Threshold:
    """A federation whose key epoch 2 is shared 2 of 3, with its analysts, aggregator and custodians as agents."""

    federation: object
    parties: object
    custodians: list[Keystore]
    agents: list[CustodianAgent]
    epoch: int

    def custodian_context(self, index: int):
        keystore = self.custodians[index - 1]
        return self.federation.context(self.federation.admin.as_account(keystore.account))

    def run_to_aggregate(self, drain) -> int:
        """Open a round, let every analyst submit and the aggregator post; returns the round."""
        round_ = self.federation.open_round()
        for analyst in self.parties.analysts:
            drain(analyst)
        drain(self.parties.aggregator)
        assert self.federation.status(round_) == RoundStatus.AGGREGATING
        return round_


def _custodian_keystores(federation, directory, count: int, first: int = 20) -> list[Keystore]:
    """Fresh custodian keystores on funded dev accounts, each with its encryption key registered."""
    stores = [Keystore.create(directory / f"custodian-{i}", PASSPHRASE, private_key=dev_account(first + i).key,
                              scrypt_n=2**10) for i in range(count)]
    w3 = federation.admin.w3
    fund_accounts(w3, dev_account(0), [k.address for k in stores], 10**19)
    for keystore in stores:
        publish_encryption_key(federation.admin.as_account(keystore.account), keystore)
    return stores


@pytest.fixture()
def threshold(federation, make_agents, tmp_path) -> Threshold:
    parties = make_agents()
    custodians = _custodian_keystores(federation, tmp_path, 3)
    ceremony = run_ceremony(federation.context(federation.admin), [k.address for k in custodians], 2, federation.encoding, 1024)
    agents = [CustodianAgent(federation.context(federation.admin.as_account(k.account)), k, grace_seconds=3600)
              for k in custodians]
    return Threshold(federation, parties, custodians, agents, ceremony.epoch)


def test_a_round_finalizes_from_two_verified_partials_and_an_auditor_redoes_it(threshold, drain_agent) -> None:
    federation, (c1, c2, c3) = threshold.federation, threshold.agents
    fid = federation.federation_id
    custody = federation.admin.epoch_custody(fid, threshold.epoch)
    assert (custody.threshold, custody.custodian_count) == (2, 3)
    key_artifact = federation.admin.artifact(custody.threshold_key_artifact)
    assert key_artifact.kind == ArtifactKind.THRESHOLD_KEY
    assert list(key_artifact.parents) == [federation.admin.key_epoch(fid, threshold.epoch).public_key_artifact]
    # The first custodian grants the epoch's model key to the three analysts; the others find nothing to do.
    assert len(drain_agent(c1)) == 3 and drain_agent(c2) == [] and drain_agent(c3) == []

    round_ = threshold.run_to_aggregate(drain_agent)
    assert [a.action for a in drain_agent(c2)] == ["submitted partial decryption as custodian 2"]
    assert federation.status(round_) == RoundStatus.AGGREGATING  # one partial of the two needed
    # With two partials in, custodian 2 leaves the finalization to custodian 1 (the lowest submitter).
    assert [a.action for a in drain_agent(c1)][0] == "submitted partial decryption as custodian 1"
    assert federation.status(round_) == RoundStatus.FINALIZED
    assert drain_agent(c2) == [] and drain_agent(c3) == []
    stored = federation.admin.model_version(fid, 1)
    report = json.loads(federation.blob(stored.metrics_artifact))
    assert report["custodian_indices"] == [1, 2] and report["rejected_partials"] == []

    # A member re-checks every proof and that the model is the combination's.
    analyst_keystore = threshold.parties.keystores["analyst-1"]
    member = federation.context(federation.analysts[0])
    auditor = Auditor(federation.context(federation.stranger), model_key_for=member_model_key(member,
                                                                                            analyst_keystore))
    verification = auditor.verify_round(round_)
    assert verification.ok, verification.failures
    names = [c.name for c in verification.checks]
    assert names.count("proof") == 2 and "combination" in names
    lineage = auditor.lineage(1)
    assert lineage.ok and lineage.rounds[0].custodians == (threshold.custodians[0].address,
                                                          threshold.custodians[1].address)
    # Without a model key the proofs are reported as skipped, never as verified silently.
    plain = Auditor(federation.context(federation.stranger)).verify_round(round_)
    assert [c.detail.split(":")[0] for c in plain.checks if c.name == "partial proofs"] == ["skipped"]

    # Custodian 1 offline: custodians 2 and 3 finalize the next round without it.
    round_ = threshold.run_to_aggregate(drain_agent)
    drain_agent(c3)
    assert [a.action.split(" from")[0] for a in drain_agent(c2)] == [
        "submitted partial decryption as custodian 2", "finalized model v2"]
    report = json.loads(federation.blob(federation.admin.model_version(fid, 2).metrics_artifact))
    assert report["custodian_indices"] == [2, 3]
    assert auditor.verify_round(round_).ok


def test_a_forged_partial_is_named_skipped_and_flagged_by_the_auditor(threshold, drain_agent) -> None:
    federation, (_, c2, c3) = threshold.federation, threshold.agents
    fid = federation.federation_id
    drain_agent(c2)  # model keys
    round_ = threshold.run_to_aggregate(drain_agent)
    # Custodian 1 posts a partial whose first value is not c^(2Δs_1): well formed, properly sealed, wrong.
    liar = Custodian(threshold.custodian_context(1), threshold.custodians[0], threshold.parties.plan.num_values)
    review = liar.review(round_)
    holding = liar.holding(threshold.epoch)
    honest = partial_decrypt_aggregate(holding.share, holding.custody.threshold_key, review.aggregate, 2, workers=1)
    nsquare = holding.custody.threshold_key.n ** 2
    forged = replace(honest, values=((honest.values[0] * 4) % nsquare, *honest.values[1:]))
    sealed = federation.store.put_bytes(seal_partial(holding.model_key, forged.to_bytes(holding.custody.threshold_key),
                                                     fid, round_, threshold.epoch, 1))
    liar.context.registry.submit_partial_decryption(fid, round_, as_input(sealed))

    # Two partials are registered (the chain's minimum), but only one verifies: custodian 2 cannot combine yet.
    fast = CustodianAgent(c2.context, c2.keystore, grace_seconds=0)
    fast.step()  # its own partial
    with pytest.raises(Exception, match="only 1 valid partial decryption") as refused:
        fast.step()
    assert "custodian 1" in str(refused.value)
    assert fast.step() is None  # the same partials are not combined again: it waits for another custodian's
    assert federation.status(round_) == RoundStatus.AGGREGATING
    drain_agent(c3)
    assert fast.step().action == "finalized model v1 from the partials of custodians [2, 3], skipped custodian(s) [1]"
    report = json.loads(federation.blob(federation.admin.model_version(fid, 1).metrics_artifact))
    assert [(r["index"], r["custodian"]) for r in report["rejected_partials"]] == [(1, threshold.custodians[0].address)]

    member = federation.context(federation.analysts[0])
    auditor = Auditor(federation.context(federation.stranger),
                      model_key_for=member_model_key(member, threshold.parties.keystores["analyst-1"]))
    verification = auditor.verify_round(round_)
    assert [(c.name, c.artifact_id) for c in verification.failures] == [("proof", sealed_artifact(federation, round_))]
    assert "custodian 1" in verification.failures[0].detail
    assert [c.ok for c in verification.checks if c.name == "combination"] == [True]


def sealed_artifact(federation, round_: int) -> int:
    """The artifact id of custodian 1's partial of ``round_``."""
    found = federation.admin.events(events.PartialDecryptionSubmitted, federation_id=federation.federation_id,
                                    round=round_)
    return next(e.artifact_id for e in found if e.index == 1)


def test_a_partial_sealed_for_another_round_or_custodian_does_not_open(threshold, drain_agent) -> None:
    federation = threshold.federation
    drain_agent(threshold.agents[0])
    round_ = threshold.run_to_aggregate(drain_agent)
    drain_agent(threshold.agents[0])
    event = federation.admin.events(events.PartialDecryptionSubmitted, federation_id=federation.federation_id,
                                    round=round_)[0]
    blob = federation.blob(event.artifact_id)
    key = Custodian(threshold.custodian_context(1), threshold.custodians[0], 0).model_key(threshold.epoch)
    fid = federation.federation_id
    assert PartialDecryption.from_bytes(open_partial(key, blob, fid, round_, threshold.epoch, 1),
                                        Custodian(threshold.custodian_context(1), threshold.custodians[0],
                                                  0).holding(threshold.epoch).custody.threshold_key).index == 1
    for other in ((fid, round_ + 1, threshold.epoch, 1), (fid, round_, threshold.epoch, 2), (fid + 1, round_,
                                                                                             threshold.epoch, 1)):
        with pytest.raises(Exception, match="does not open"):
            open_partial(key, blob, *other)


def test_a_revoked_custodians_share_opens_nothing_of_the_next_epoch(threshold, drain_agent, tmp_path) -> None:
    federation = threshold.federation
    fid = federation.federation_id
    admin = federation.admin
    c3 = threshold.custodians[2]
    old = Custodian(threshold.custodian_context(3), c3, threshold.parties.plan.num_values).holding(threshold.epoch)
    assert admin.revoke_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, c3.address).value
    assert admin.key_epoch(fid, threshold.epoch).revoked_at  # the shared key is retired with it
    with pytest.raises(err.KeyEpochRevokedError):
        admin.open_round(fid, admin.w3.eth.get_block("latest")["timestamp"] + 3600)
    # Re-deal to custodians 1, 2 and a new one.
    fourth = _custodian_keystores(federation, tmp_path / "new", 1, first=30)[0]
    dealt = run_ceremony(federation.context(admin), [threshold.custodians[0].address,
                                                      threshold.custodians[1].address, fourth.address], 2,
                         federation.encoding, 1024)
    assert dealt.epoch == threshold.epoch + 1
    drain_agent(threshold.agents[0])
    round_ = threshold.run_to_aggregate(drain_agent)
    aggregate = Custodian(threshold.custodian_context(1), threshold.custodians[0],
                          threshold.parties.plan.num_values).review(round_).aggregate
    with pytest.raises(KeyMismatchError):
        partial_decrypt_aggregate(old.share, old.custody.threshold_key, aggregate, 2, workers=1)
    assert threshold.agents[2].step() is None  # its agent finds nothing it may do
    junk = federation.put(b"not a partial")
    with pytest.raises(err.KeyGrantRevokedError):
        threshold.custodian_context(3).registry.submit_partial_decryption(fid, round_, junk)
    with pytest.raises(err.WrongKeyEpochError):  # the old single key holder holds epoch 1's key only
        federation.key_holder.submit_partial_decryption(fid, round_, junk)
    # A key holder of the epoch that was dealt no share is still no custodian.
    admin.grant_key(fid, KeyKind.PAILLIER_PRIVATE_KEY, federation.key_holder.account, junk.cid, junk.sha256)
    with pytest.raises(err.NotCustodianError):
        federation.key_holder.submit_partial_decryption(fid, round_, junk)


def test_the_chain_refuses_a_finalization_below_the_threshold(threshold, drain_agent) -> None:
    federation = threshold.federation
    fid = federation.federation_id
    drain_agent(threshold.agents[0])
    round_ = threshold.run_to_aggregate(drain_agent)
    drain_agent(threshold.agents[0])  # one partial, and custodian 1 is first in line
    assert federation.status(round_) == RoundStatus.AGGREGATING
    model, metrics = federation.put(b"model"), federation.put(b"{}")
    for party in (threshold.custodian_context(1).registry, federation.admin):
        with pytest.raises(err.TooFewPartialsError, match="has 1 partial decryptions, its key epoch needs 2"):
            party.finalize_round(fid, round_, model, metrics, DpParameters.none(), parent_version=0)
    with pytest.raises(err.DuplicatePartialError):
        threshold.custodian_context(1).registry.submit_partial_decryption(fid, round_, federation.put(b"again"))
    # The admin may finalize once the threshold is in (it can combine what the custodians posted).
    drain_agent(threshold.agents[1])
    assert federation.admin.finalize_round(fid, round_, model, metrics, DpParameters.none()).value == 1


def test_members_read_threshold_models_and_outsiders_do_not(threshold, drain_agent) -> None:
    federation = threshold.federation
    drain_agent(threshold.agents[0])
    threshold.run_to_aggregate(drain_agent)
    drain_agent(threshold.agents[1])
    drain_agent(threshold.agents[0])
    analyst = federation.context(federation.analysts[0])
    params = model_params(analyst, 1, member_model_key(analyst, threshold.parties.keystores["analyst-1"]))
    assert params.size == threshold.parties.plan.num_values and np.isfinite(params).all()
    with pytest.raises(Exception, match="grant"):
        outsider = federation.context(federation.stranger)
        model_params(outsider, 1, member_model_key(outsider, threshold.parties.keystores["key holder"]))
