"""`flep bench round`: one full registry round on the current devnet, timed phase by phase, beside the same
round as a plaintext FedAvg simulation.

Every party acts in this process, so each phase is timed exactly, yet each has its own fresh chain account
(funded from a faucet) and the analysts and the key holder their own keystores (default scrypt cost): the admin
creates the federation, the key holder's Paillier key epoch and the training plan; the data owner registers one
codec-encrypted digit sheet per analyst (the ``iid`` partition of :func:`clients.fl.make_clients`) and grants
each analyst its codec key sealed; the key holder grants the epoch's model key. That setup is timed apart,
and ends with one throwaway fit, so that neither round pays torch's one-time start-up.

The round itself: the admin opens it; each analyst opens its grant, fetches, verifies and decrypts its dataset,
trains (:class:`~clients.fl.FLClient`, with the client seed :func:`clients.fl.make_clients` gives its share),
encrypts its update, uploads and submits it; the aggregator (:class:`~registry.roles.Aggregator`) closes the
round and posts the homomorphic sum; the key holder (:class:`~registry.roles.KeyHolder`) reviews and decrypts
it, scores the new model, seals it under the model key and finalizes; an auditor
(:class:`~registry.roles.Auditor`) re-verifies the round. The plaintext round is
:func:`clients.fl.run_federated` (one round of plaintext FedAvg) on the same data, seeds and partitions, so
both rounds compute the same FedAvg up to the packed encoding's clipping and quantization.

Phases are exclusive: every transaction call and JSON-RPC request counts as ``chain`` and every store put or
get as ``ipfs``, also inside the aggregator, the key holder and the auditor, whose phases hold the rest of their
time; so the phases add up to the round's wall time.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.middleware import Web3Middleware
from web3.types import MakeRequestFn, RPCEndpoint, RPCResponse

from clients.codec import CodecKey, decrypt
from clients.fl import (
    FLClient,
    LabelledData,
    SimulationConfig,
    TrainConfig,
    build_model,
    evaluate,
    load_digits_data,
    partition_iid,
    read_sheet,
    render_sheet,
    run_federated,
    set_flat_params,
    split_train_test,
)
from clients.he import (
    EncodingParams,
    SlotLayout,
    UpdateContext,
    encrypt_update,
    private_key_from_bytes,
)
from registry.chain import (
    ArtifactInput,
    CodecKeyPolicy,
    DpParameters,
    Exclusion,
    KeyKind,
    ModelRegistry,
    Role,
    Tx,
    connect,
)
from registry.keystore import Keystore
from registry.roles.aggregator import Aggregator
from registry.roles.auditor import Auditor
from registry.roles.context import FederationContext, as_input, fund_accounts
from registry.roles.data_owner import publish_dataset
from registry.roles.key_epochs import model_key_secret, paillier_secret, start_epoch_with_new_key
from registry.roles.grants import grant_sealed, open_grant, publish_encryption_key
from registry.roles.key_holder import KeyHolder
from registry.roles.models import new_model_key, seal_model
from registry.roles.plan import TrainingPlan, current_plan, initial_params, publish_plan
from registry.store import ArtifactStore, StoredArtifact

FUNDING_WEI = 10**18
"""1 devnet ETH per party: a round costs well under 0.1 ETH of gas, and repeated benches barely drain the faucet."""

ROUND_SECONDS = 600
"""The round's deadline, from its opening (the bench never waits for it)."""

PARTY_WORKERS = 1
"""Processes a party encrypts or decrypts with: one, as each agent does (a pool costs more than it saves here)."""

SPLIT_TEST_FRACTION = 0.2
"""Held-out share of scikit-learn's digits, as in the training plan's ``digits-test`` evaluation."""


@dataclass(frozen=True)
class RoundBenchConfig:
    """What `flep bench round` runs.

    Attributes:
        analysts: Number of analysts (one dataset, one keystore and one update each).
        paillier_bits: Paillier modulus size.
        model: Model of the training plan (``cnn``, ``mlp``, ``logistic``, ...).
        local_epochs: Local epochs of the round.
        seed: Seed of the plan, the train/test split, the partitions and the clients.
    """

    analysts: int = 10
    paillier_bits: int = 2048
    model: str = "cnn"
    local_epochs: int = 1
    seed: int = 0


@dataclass(frozen=True)
class PhaseSeconds:
    """A round's wall time by phase; the phases are exclusive and add up to the round's wall time.

    Attributes:
        train: Local training: every analyst's :meth:`~clients.fl.FLClient.fit`.
        encrypt: Quantizing, packing and Paillier-encrypting every update, and serializing it.
        ipfs: Every store put and verified get (plan, public key, grants, datasets, updates, aggregate, model,
            metrics), including the aggregator's, the key holder's and the auditor's.
        chain: The round's transactions, each whole call (encode, sign, send, wait for the receipt), and every
            other JSON-RPC request (views, event logs).
        aggregate: The aggregator's assessment of each update and the homomorphic sum.
        decrypt: The key holder's review (every update re-assessed, the aggregate recomputed) and decryption.
        verify: The auditor's re-verification of the round (hashes, inclusions, recomputed aggregate, weights).
        other: The rest: web3's encoding and decoding of views and event logs, opening grants, codec decryption
            of the datasets, building each analyst's client and the plan's initial model, scoring and sealing the
            new model, parsing keys and updates.
    """

    train: float
    encrypt: float
    ipfs: float
    chain: float
    aggregate: float
    decrypt: float
    verify: float
    other: float


@dataclass(frozen=True)
class RoundBenchResult:
    """One benchmarked round and its plaintext twin.

    Attributes:
        registry_address: The registry the round ran on.
        federation_id: The bench's fresh federation.
        round: The round number.
        status: The round's status on chain afterwards (``finalized``).
        model_version: The model version it finalized.
        config: What ran.
        num_values: Parameters of the model (values per update).
        update_bytes: Size of one encrypted update.
        setup_seconds: Wall time of the setup (key pair, torch warm-up, keystores, accounts, federation, plan,
            datasets, grants), not part of the round.
        round_seconds: Wall time of the round, from opening it to its verification (the sum of its phases).
        phases: ``round_seconds`` by phase.
        gas: Gas by action (``submit_update``: all analysts' submissions together).
        transactions: Transactions the round sent.
        verification_failures: The auditor's failed checks (empty when the round verifies).
        accuracy: Test accuracy of the finalized model.
        plaintext_accuracy: Test accuracy of the plaintext round's model.
        plaintext_seconds: Wall time of the plaintext round (training, aggregation, evaluation).
        max_parameter_difference: Largest absolute difference between the two rounds' model parameters.
        quantization_bound: The encoding's quantization error bound per value (for inputs within its clip
            bound).
    """

    registry_address: str
    federation_id: int
    round: int
    status: str
    model_version: int
    config: RoundBenchConfig
    num_values: int
    update_bytes: int
    setup_seconds: float
    round_seconds: float
    phases: PhaseSeconds
    gas: dict[str, int]
    transactions: int
    verification_failures: tuple[str, ...]
    accuracy: float
    plaintext_accuracy: float
    plaintext_seconds: float
    max_parameter_difference: float
    quantization_bound: float

    @property
    def gas_total(self) -> int:
        """Gas of every transaction of the round."""
        return sum(self.gas.values())

    @property
    def overhead(self) -> float:
        """Registry round wall time over plaintext round wall time."""
        return self.round_seconds / self.plaintext_seconds

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, with the total gas and the overhead ratio."""
        return {**asdict(self), "gas_total": self.gas_total, "overhead": self.overhead}


def run_round_bench(rpc_url: str, chain_id: int | None, registry_address: str, ipfs_api: str, faucet: LocalAccount,
                    directory: Path, config: RoundBenchConfig,
                    progress: Callable[[str], None] = lambda line: None) -> RoundBenchResult:
    """Set up a fresh federation on the registry, run and time one round, then the plaintext round.

    Args:
        rpc_url: The chain's JSON-RPC URL.
        chain_id: The chain id it must serve (``None``: any).
        registry_address: The deployed registry; its operator must be ``faucet``.
        ipfs_api: The IPFS node's API address.
        faucet: A funded account that operates the registry (the devnet's first development account).
        directory: Where the parties' keystores are created (empty or missing).
        config: What to run.
        progress: Called with a line as each stage starts.

    Raises:
        ModelConfigError: If the model is unknown (before anything is created).
        InvalidParametersError: If the Paillier key size is not accepted.
        RoleError, ChainError, StoreError: If a party fails or is refused (e.g. the key holder disputes the
            aggregate); the message names the step.
    """
    clock = _Clock()
    w3 = connect(rpc_url, chain_id)
    # Outermost, so a request's whole round trip through web3 counts as chain time.
    w3.middleware_onion.inject(lambda w3_: _RpcTimer(w3_, clock), "flep-bench-rpc-timer", layer=0)
    store = _TimedStore(ipfs_api, clock)
    operator = _TimedRegistry(ModelRegistry.at(w3, registry_address, faucet), clock)
    train, test = split_train_test(load_digits_data(), SPLIT_TEST_FRACTION, seed=config.seed)

    started = time.perf_counter()
    progress(f"setting up a federation of {config.analysts} analysts ({config.paillier_bits}-bit Paillier key pair, "
             "keystores, datasets, sealed grants)")
    federation = _set_up(operator, faucet, store, directory, config, train)
    setup_seconds = time.perf_counter() - started

    progress(f"running round 1: {config.analysts} analysts train {config.model} and submit encrypted updates")
    clock.reset()
    with clock.phase("other"):  # whatever no other phase claims
        outcome = _run_round(federation, clock, test)
    phases = PhaseSeconds(**{f.name: clock.seconds.get(f.name, 0.0) for f in fields(PhaseSeconds)})

    progress("running the same round as a plaintext FedAvg simulation")
    plan = federation.plan
    plaintext = run_federated(train, test, SimulationConfig(
        model=plan.model, num_clients=config.analysts, rounds=1, partition="iid",
        train=_train_config(plan), seed=plan.seed, device="cpu"))

    stored = operator.round(federation.admin.federation_id, outcome.round)
    return RoundBenchResult(
        registry_address=operator.address,
        federation_id=federation.admin.federation_id,
        round=outcome.round,
        status=stored.status.name.lower(),
        model_version=stored.model_version,
        config=config,
        num_values=plan.num_values,
        update_bytes=outcome.update_bytes,
        setup_seconds=setup_seconds,
        round_seconds=sum(asdict(phases).values()),
        phases=phases,
        gas=outcome.gas,
        transactions=outcome.transactions,
        verification_failures=outcome.verification_failures,
        accuracy=outcome.accuracy,
        plaintext_accuracy=plaintext.final.accuracy,
        plaintext_seconds=plaintext.history[0].seconds,
        max_parameter_difference=float(np.max(np.abs(outcome.parameters - plaintext.parameters))),
        quantization_bound=SlotLayout.for_key_bits(plan.encoding, config.paillier_bits).quantization_bound,
    )


class _Clock:
    """Exclusive wall time per phase: time spent in a phase entered inside another counts for the inner one only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._inner.append(0.0)
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - self._inner.pop()
            if self._inner:
                self._inner[-1] += elapsed

    def reset(self) -> None:
        self.seconds = {}


class _RpcTimer(Web3Middleware):
    """Counts every JSON-RPC request as ``chain`` time."""

    def __init__(self, w3: Web3, clock: _Clock) -> None:
        super().__init__(w3)
        self._clock = clock

    def wrap_make_request(self, make_request: MakeRequestFn) -> MakeRequestFn:
        def timed(method: RPCEndpoint, params: Any) -> RPCResponse:
            with self._clock.phase("chain"):
                return make_request(method, params)

        return timed


class _TimedRegistry(ModelRegistry):
    """The registry with each round transaction's whole call counted as ``chain`` time: encoding, signing,
    sending and waiting for the receipt, including web3's sleeps between receipt polls, which no request spans."""

    def __init__(self, registry: ModelRegistry, clock: _Clock) -> None:
        super().__init__(registry.w3, registry.address, registry.sender, registry.compiled, registry.tx_timeout)
        self._clock = clock

    def as_account(self, sender: LocalAccount | str) -> _TimedRegistry:
        return _TimedRegistry(super().as_account(sender), self._clock)

    def open_round(self, federation_id: int, deadline: int) -> Tx[int]:
        with self._clock.phase("chain"):
            return super().open_round(federation_id, deadline)

    def submit_update(self, federation_id: int, round_: int, update: ArtifactInput, weight: int,
                      parents: Sequence[int] = ()) -> Tx[int]:
        with self._clock.phase("chain"):
            return super().submit_update(federation_id, round_, update, weight, parents)

    def close_round(self, federation_id: int, round_: int) -> Tx[int]:
        with self._clock.phase("chain"):
            return super().close_round(federation_id, round_)

    def post_aggregate(self, federation_id: int, round_: int, aggregate: ArtifactInput, included: Sequence[bytes],
                       excluded: Sequence[Exclusion] = ()) -> Tx[int]:
        with self._clock.phase("chain"):
            return super().post_aggregate(federation_id, round_, aggregate, included, excluded)

    def finalize_round(self, federation_id: int, round_: int, global_model: ArtifactInput, metrics: ArtifactInput,
                       dp: DpParameters, parent_version: int = 0) -> Tx[int]:
        with self._clock.phase("chain"):
            return super().finalize_round(federation_id, round_, global_model, metrics, dp, parent_version)


class _TimedStore(ArtifactStore):
    """The verified store, its puts and gets counted as ``ipfs`` time."""

    def __init__(self, api: str, clock: _Clock) -> None:
        super().__init__(api)
        self._clock = clock

    def put_bytes(self, data: bytes, *, pin: bool = True) -> StoredArtifact:
        with self._clock.phase("ipfs"):
            return super().put_bytes(data, pin=pin)

    def get_bytes(self, cid: str, *, expected_sha256: str | None = None, expected_size: int | None = None,
                  max_size: int | None = None) -> bytes:
        with self._clock.phase("ipfs"):
            return super().get_bytes(cid, expected_sha256=expected_sha256, expected_size=expected_size,
                                     max_size=max_size)


@dataclass(frozen=True)
class _Analyst:
    """An analyst of the bench's federation; ``share`` indexes its partition (and its client seed)."""

    context: FederationContext
    keystore: Keystore
    share: int
    dataset_id: int
    data_owner: str


@dataclass(frozen=True)
class _Federation:
    admin: FederationContext
    aggregator: FederationContext
    key_holder: FederationContext
    key_holder_keystore: Keystore
    auditor: FederationContext
    analysts: tuple[_Analyst, ...]
    plan: TrainingPlan


@dataclass(frozen=True)
class _Outcome:
    round: int
    gas: dict[str, int]
    transactions: int
    update_bytes: int
    verification_failures: tuple[str, ...]
    accuracy: float
    parameters: np.ndarray


def _train_config(plan: TrainingPlan) -> TrainConfig:
    """Local training as the plan says (and as :class:`~registry.roles.agents.AnalystAgent` trains)."""
    return TrainConfig(local_epochs=plan.local_epochs, batch_size=plan.batch_size, lr=plan.lr)




def _set_up(operator: ModelRegistry, faucet: LocalAccount, store: ArtifactStore, directory: Path,
            config: RoundBenchConfig, train: LabelledData) -> _Federation:
    """Accounts, keystores, federation, roles, key epoch, plan, datasets and sealed codec and model keys."""
    shares = partition_iid(len(train), config.analysts, seed=config.seed)
    # A share can outgrow the usual 1024 only with one or two analysts; the weight bound must hold every share.
    encoding = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=max(10, config.analysts),
                              max_weight=max(1024, max(len(s) for s in shares)))
    plan = TrainingPlan.sized(config.model, config.seed, encoding, local_epochs=config.local_epochs)
    # Torch's optimizers import lazily (~0.7 s on first use): pay it here, as an analyst process does once when it
    # starts, so that neither round's figures include it.
    FLClient("warm-up", train.subset(shares[0]), plan.model, _train_config(plan), torch.device("cpu")).fit(
        initial_params(plan).astype(np.float32))

    passphrase = secrets.token_urlsafe(24)
    analyst_stores = [Keystore.create(directory / f"analyst-{i + 1}", passphrase) for i in range(config.analysts)]
    holder_store = Keystore.create(directory / "key-holder", passphrase)
    admin, owner, aggregator = Account.create(), Account.create(), Account.create()
    fund_accounts(operator.w3, faucet, [a.address for a in (admin, owner, aggregator)]
                  + [k.address for k in (*analyst_stores, holder_store)], FUNDING_WEI)

    fid = operator.create_federation(admin.address, config.analysts // 2 + 1, CodecKeyPolicy.PER_DATA_OWNER).value
    admin_context = FederationContext(operator.as_account(admin), store, fid)
    owner_context = admin_context.as_account(operator.as_account(owner))
    holder_context = admin_context.as_account(operator.as_account(holder_store.account))
    analyst_contexts = [admin_context.as_account(operator.as_account(k.account)) for k in analyst_stores]
    registry = admin_context.registry
    registry.grant_role(fid, Role.DATA_OWNER, owner.address)
    registry.grant_role(fid, Role.AGGREGATOR, aggregator.address)
    for keystore, context in zip(analyst_stores, analyst_contexts):
        registry.grant_role(fid, Role.ANALYST, keystore.address)
        publish_encryption_key(context.registry, keystore)
    publish_encryption_key(holder_context.registry, holder_store)

    start_epoch_with_new_key(admin_context, holder_store, encoding, config.paillier_bits)
    publish_plan(admin_context, plan)

    analysts = []
    for share, (indices, keystore, context) in enumerate(zip(shares, analyst_stores, analyst_contexts)):
        # Each analyst is granted the key of its own share only.
        dataset = publish_dataset(owner_context, render_sheet(train.subset(indices)), len(indices),
                                  [keystore.address]).dataset_id
        analysts.append(_Analyst(context, keystore, share, dataset, owner.address))
    holder_store.put_secret(model_key_secret(1), new_model_key())
    for keystore in analyst_stores:
        grant_sealed(holder_context, KeyKind.MODEL_KEY, keystore.address,
                     holder_store.get_secret(model_key_secret(1)), epoch=1)

    auditor = admin_context.as_account(operator.as_account(Account.create().address))
    return _Federation(admin_context, admin_context.as_account(operator.as_account(aggregator)), holder_context,
                       holder_store, auditor, tuple(analysts), plan)


def _run_round(federation: _Federation, clock: _Clock, test: LabelledData) -> _Outcome:
    """Open, train and submit, aggregate, decrypt, score, seal, finalize and verify one round."""
    admin, fid, plan = federation.admin.registry, federation.admin.federation_id, federation.plan
    opened = admin.open_round(fid, admin.w3.eth.get_block("latest")["timestamp"] + ROUND_SECONDS)
    round_ = opened.value
    epoch = admin.round(fid, round_).key_epoch
    submissions = [_submit(analyst, round_, epoch, clock) for analyst in federation.analysts]

    with clock.phase("aggregate"):
        aggregated = Aggregator(federation.aggregator, plan.num_values).aggregate_round(round_)

    holder = federation.key_holder
    private_key = private_key_from_bytes(federation.key_holder_keystore.get_secret(paillier_secret(epoch)))
    key_holder = KeyHolder(holder, {epoch: private_key}, plan.num_values)
    with clock.phase("decrypt"):
        review, mean = key_holder.decrypt_round(round_, PARTY_WORKERS)
    # A fresh federation: the round's parent is version 0, the plan's initial model.
    parameters = (initial_params(plan) + mean).astype(np.float32)
    model = build_model(plan.model, test.sample_shape, test.num_classes, seed=plan.seed)
    set_flat_params(model, parameters)
    metrics = evaluate(model, test)
    report = {"round": round_, "model": plan.model, "num_parameters": int(parameters.size),
              "included": list(review.included), "excluded": list(review.excluded),
              "weights_total": review.aggregate.weights_total, "dp": None, "accuracy": metrics.accuracy,
              "f1": metrics.f1, "num_test_samples": metrics.num_samples}
    buffer = io.BytesIO()
    np.save(buffer, parameters, allow_pickle=False)
    model_key = federation.key_holder_keystore.get_secret(model_key_secret(epoch))
    sealed = holder.store.put_bytes(seal_model(model_key, buffer.getvalue(), fid, round_, epoch))
    metrics_blob = holder.store.put_bytes(json.dumps(report, sort_keys=True).encode())
    finalized = key_holder.finalize(round_, as_input(sealed), as_input(metrics_blob), DpParameters.none(),
                                   parent_version=0)

    with clock.phase("verify"):
        verification = Auditor(federation.auditor).verify_round(round_)

    submitted = [tx for tx, _ in submissions]
    gas = {"open_round": opened.gas_used, "submit_update": sum(tx.gas_used for tx in submitted),
           "close_round + post_aggregate": aggregated.gas_used, "finalize_round": finalized.gas_used}
    return _Outcome(
        round=round_,
        gas=gas,
        transactions=len(submitted) + 4,  # open, the submissions, close, post, finalize
        update_bytes=submissions[0][1],
        verification_failures=tuple(f"{c.subject}: {c.name}: {c.detail}" for c in verification.failures),
        accuracy=metrics.accuracy,
        parameters=parameters,
    )


def _submit(analyst: _Analyst, round_: int, epoch: int, clock: _Clock) -> tuple[Tx[int], int]:
    """One analyst's part of the round (as :class:`~registry.roles.agents.AnalystAgent` does it, timed step by
    step, with the client seed of its share): the submission and the encrypted update's size."""
    context, me = analyst.context, analyst.keystore.address
    registry, fid = context.registry, context.federation_id
    plan = current_plan(context)
    codec_key = CodecKey.from_json(
        open_grant(context, analyst.keystore, KeyKind.CODEC_KEY, key_owner=analyst.data_owner).decode())
    record = registry.artifact(analyst.dataset_id, from_block=context.from_block)
    data = read_sheet(decrypt(context.fetch_verified(record), codec_key))
    start = initial_params(plan)
    client = FLClient(me, data, plan.model, _train_config(plan), torch.device("cpu"),
                      seed=plan.seed * 1000 + analyst.share)
    with clock.phase("train"):
        fit = client.fit(start.astype(np.float32))
    delta = np.asarray(fit.update.parameters, dtype=np.float64) - start
    keys = context.epoch_keys(epoch)
    with clock.phase("encrypt"):
        blob = encrypt_update(keys.public_key, delta, fit.update.num_examples, plan.encoding,
                              UpdateContext(fid, round_, epoch, me), workers=PARTY_WORKERS).to_bytes(keys.public_key)
    stored = context.store.put_bytes(blob)
    submitted = registry.submit_update(fid, round_, as_input(stored), fit.update.num_examples, [analyst.dataset_id])
    return submitted, len(blob)
