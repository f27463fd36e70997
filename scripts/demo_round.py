"""One real federated round through the registry, every party acting as its own dev account.

Composes the public APIs of the layers, nothing simulated: the data owner encrypts its digits with the codec
and registers the cipher sheets; three analysts fetch, verify and decrypt their sheet, train locally and submit
packed-Paillier updates; the aggregator sums them without any key; the key holder recomputes the aggregate from
the update CIDs, decrypts, evaluates and finalizes model version 1; an auditor re-verifies every hash.
Every artifact goes to the real IPFS node and every record to the real chain.

Every party has its own keystore (chain key as Web3 Secret Storage JSON, HPKE key pair, secrets sealed under
the passphrase) and registers its HPKE public key on chain. Secrets travel only sealed: the data owner seals
its codec key for each analyst's registered key (the blob on IPFS, the grant on chain), the key holder keeps
the Paillier private key and the epoch's model key in its keystore and grants the model key sealed to each
analyst, and the global model goes to IPFS encrypted under the model key (AES-256-GCM).

Stand-ins until later issues land (each is said in the output too):
- the parties run in one process (one keystore and account each); agents as processes come later;
- the Paillier private key never leaves the key holder, which generated it; its on-chain grant points at a
  custody record (key holder, key fingerprint; no secret inside), as there is nobody to hand it to yet;
- the initial model (version 0) is agreed by seed, ``build_model(model, seed)``: the registry has no
  artifact kind for a model that no round produced.

Run it with ``scripts/demo.py`` (``make demo``), or call :func:`run_demo_round` with devnet settings.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from phe import paillier
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from clients.aggregation import ClientUpdate, validate_updates
from clients.codec import CodecKey, decrypt, encrypt
from clients.fl import (
    FLClient,
    LabelledData,
    TrainConfig,
    build_model,
    evaluate,
    get_flat_params,
    load_digits_data,
    partition_iid,
    read_sheet,
    render_sheet,
    set_flat_params,
    split_train_test,
)
from clients.he import (
    EncodingParams,
    UpdateContext,
    aggregate_update_bytes,
    encoding_digest,
    encrypt_update,
    generate_keypair,
    key_fingerprint,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_to_bytes,
)
from registry.chain import (
    Tx,
    CodecKeyPolicy,
    DpParameters,
    KeyKind,
    ModelRegistry,
    Role,
    connect,
    events,
)
from registry.config import Settings
from registry.devnet import dev_account
from registry.keystore import DEFAULT_SCRYPT_N, PASSPHRASE_ENV, Keystore
from registry.roles import (
    Aggregator,
    FederationContext,
    KeyHolder,
    as_input,
    grant_sealed,
    new_model_key,
    open_grant,
    open_model,
    publish_encryption_key,
    seal_model,
)
from registry.store import ArtifactStore

# One dev account per party (Anvil's public development mnemonic).
ACCOUNT_INDEX = {"admin": 0, "owner": 1, "aggregator": 5, "key holder": 6, "auditor": 7}
FIRST_ANALYST_ACCOUNT = 2
ROUND_SECONDS = 3600
MAX_GRANT_BLOB_BYTES = 1 << 20


class DemoRoundError(RuntimeError):
    """A party found something that does not match the chain (a hash, a digest, an aggregate)."""


@dataclass(frozen=True)
class RoundOptions:
    """How big the round is.

    Attributes:
        paillier_bits: Paillier modulus size (2048 for the demo, 1024 only to keep tests fast).
        analysts: Number of analysts (one dataset each).
        local_epochs: Local training epochs per analyst.
        model: Model name for :func:`clients.fl.build_model`.
        seed: Seed of the data split, partitions, initial model and training.
        workers: Processes for Paillier encryption/decryption (``None``: one per core).
        passphrase: Passphrase of the parties' keystores (default: ``FLEP_PASSPHRASE``, else a random one
            for this run only).
        scrypt_n: scrypt cost of the keystores (keep the default; tests lower it).
    """

    paillier_bits: int = 2048
    analysts: int = 3
    local_epochs: int = 2
    model: str = "cnn"
    seed: int = 0
    workers: int | None = None
    passphrase: str | None = field(default=None, repr=False)
    scrypt_n: int = DEFAULT_SCRYPT_N


@dataclass
class RoundSummary:
    """What the round produced, as read back from the chain and IPFS.

    Attributes:
        registry_address: The registry deployed for the demo.
        deploy_block: Block of the deployment (event queries start there).
        federation_id: The demo federation.
        round: The round number.
        model_version: Model version finalized by the round.
        paillier_bits: Paillier modulus size used.
        accuracy: Test accuracy of the new global model (held-out digits).
        aggregate_sha256: sha256 of the encrypted aggregate as recorded on chain (hex).
        recomputed_sha256: sha256 of the aggregate the key holder recomputed from the update CIDs (hex).
        audit_recomputed_sha256: The same, recomputed independently by the auditor (hex).
        artifacts_total: Artifacts the federation registered.
        artifacts_verified: Artifacts whose chain digest and IPFS content both verified.
        key_grants_verified: Key grants whose blob on IPFS matches the sha256 in the grant event.
        keystores: Directory holding every party's keystore (one subdirectory per party).
        model_opened_by: Analysts that opened their model-key grant and decrypted the global model.
        gas: ``(party, action, gas used)`` of every transaction, in order.
        lineage: ``{"model": id, "aggregate": id, "updates": [ids], "datasets": [ids]}`` artifact ids.
        seconds: Wall time of the round.
    """

    registry_address: str
    deploy_block: int
    federation_id: int
    round: int = 0
    model_version: int = 0
    paillier_bits: int = 0
    accuracy: float = 0.0
    aggregate_sha256: str = ""
    recomputed_sha256: str = ""
    audit_recomputed_sha256: str = ""
    artifacts_total: int = 0
    artifacts_verified: int = 0
    key_grants_verified: int = 0
    gas: list[tuple[str, str, int]] = field(default_factory=list)
    lineage: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    keystores: str = ""
    model_opened_by: list[str] = field(default_factory=list)


class Narrator:
    """Prints each step (party, action, CID, gas) and records the gas of every transaction."""

    COLORS = {"admin": "magenta", "owner": "green", "aggregator": "yellow", "key holder": "cyan",
              "auditor": "blue"}

    def __init__(self, console: Console, summary: RoundSummary) -> None:
        self.console = console
        self.summary = summary

    def step(self, party: str, action: str, cid: str | None = None, tx: Tx | None = None,
             gas: int | None = None) -> None:
        """Print one step; the gas of its transaction ``tx`` (or ``gas``) is printed and recorded."""
        color = self.COLORS.get(party, "white")
        # Actions and CIDs carry values read from the chain and IPFS: printed literally, never as markup.
        line = f"[bold {color}]{party:<11}[/] {escape(action)}"
        if cid:
            line += f"  [dim]cid[/] {escape(cid)}"
        gas = tx.gas_used if tx is not None else gas
        if gas is not None:
            self.summary.gas.append((party, action, gas))
            line += f"  [dim]gas[/] {gas:,}"
        self.console.print(line, highlight=False)

    def note(self, text: str) -> None:
        self.console.print(f"            [italic dim]{escape(text)}[/]", highlight=False)


def _fetch_verified(registry: ModelRegistry, store: ArtifactStore, record: events.ArtifactRegistered) -> bytes:
    """The bytes of an artifact, checked against the chain (see :meth:`FederationContext.fetch_verified`)."""
    return FederationContext(registry, store, record.federation_id).fetch_verified(record)


# ---------------------------------------------------------------------------------------------- digit sheets




# ---------------------------------------------------------------------------------------------- parties


def create_keystores(settings: Settings, options: RoundOptions, narrator: Narrator) -> dict[str, Keystore]:
    """One keystore per party, under a new directory in the devnet home, each keeping its dev account's key.

    The development accounts are the funded ones on the devnet; their keys are public knowledge, but every
    other secret of the party (HPKE key, grants, Paillier key, model key) is new and sealed.
    """
    passphrase = options.passphrase or os.environ.get(PASSPHRASE_ENV) or secrets.token_urlsafe(24)
    root = Path(tempfile.mkdtemp(prefix="keystores-", dir=settings.home))
    indices = {**ACCOUNT_INDEX, **{f"analyst-{i + 1}": FIRST_ANALYST_ACCOUNT + i for i in range(options.analysts)}}
    stores = {name: Keystore.create(root / name.replace(" ", "-"), passphrase,
                                    private_key=dev_account(index).key, scrypt_n=options.scrypt_n)
              for name, index in indices.items()}
    narrator.summary.keystores = str(root)
    source = "FLEP_PASSPHRASE" if (options.passphrase or os.environ.get(PASSPHRASE_ENV)) else "a random passphrase"
    narrator.note(f"{len(stores)} keystores (chain key, HPKE X25519 key pair, sealed secrets) in {root}, "
                  f"sealed with {source}")
    return stores


@dataclass
class Federation:
    """What every party knows after set-up: the registry (as admin), the store, the ids, the encoding, and
    (because the parties share this process) each party's keystore."""

    admin: ModelRegistry
    store: ArtifactStore
    federation_id: int
    deploy_block: int
    encoding: EncodingParams
    keystores: dict[str, Keystore]

    def party(self, name: str) -> ModelRegistry:
        return self.admin.as_account(self.keystores[name].account)

    def analyst(self, index: int) -> ModelRegistry:
        return self.party(f"analyst-{index + 1}")

    def context(self, registry: ModelRegistry) -> FederationContext:
        """The federation as seen through ``registry``'s account."""
        return FederationContext(registry, self.store, self.federation_id, self.deploy_block)

    def public_key_from_chain(self, registry: ModelRegistry) -> paillier.PaillierPublicKey:
        """The current key epoch's Paillier public key, fetched from IPFS and verified against the chain."""
        return self.context(registry).epoch_keys(registry.federation(self.federation_id).key_epoch).public_key


def admin_sets_up(settings: Settings, options: RoundOptions, keystores: dict[str, Keystore],
                  narrator: Narrator) -> Federation:
    """Admin deploys the registry, creates the federation, records the Paillier public key and grants roles.

    The key holder generates the Paillier key pair and keeps the private key in its keystore.
    """
    w3 = connect(settings.rpc_url, settings.chain_id)
    store = ArtifactStore(settings.ipfs_api)
    admin, deployment = ModelRegistry.deploy(w3, keystores["admin"].account)
    narrator.summary.registry_address, narrator.summary.deploy_block = deployment.address, deployment.block
    narrator.step("admin", f"deploy ModelRegistry at {deployment.address}", gas=deployment.gas_used)
    created = admin.create_federation(admin.account, options.analysts, CodecKeyPolicy.PER_DATA_OWNER)
    federation_id = created.value
    narrator.summary.federation_id = federation_id
    narrator.step("admin", f"create federation {federation_id} (min {options.analysts} updates per round)",
                  tx=created)

    # The key holder generates the pair itself, so the private key never leaves it.
    started = time.perf_counter()
    keys = generate_keypair(options.paillier_bits)
    keystores["key holder"].put_secret("paillier-epoch-1", private_key_to_bytes(keys.private_key))
    narrator.step("key holder", f"generate a {options.paillier_bits}-bit packed-Paillier key pair "
                                f"({time.perf_counter() - started:.1f} s), seal the private key in its keystore, "
                                "hand the public key to the admin")
    federation = Federation(admin, store, federation_id, deployment.block,
                            EncodingParams(clip_bound=1.0, value_bits=16, max_clients=10, max_weight=1024),
                            keystores)
    public = store.put_bytes(public_key_to_bytes(keys.public_key))
    started_epoch = admin.start_key_epoch(federation_id, as_input(public), encoding_digest(federation.encoding))
    epoch = started_epoch.value
    narrator.step("admin", f"start key epoch {epoch}: the Paillier public key and the encoding parameters' digest",
                  public.cid, started_epoch)

    holder = federation.party("key holder")
    custody = json.dumps({
        "kind": "paillier-private-key-custody", "federation_id": federation_id, "key_holder": holder.account,
        "public_key_sha256": public.sha256, "key_fingerprint": key_fingerprint(keys.public_key).hex(),
        "wrapped_key": None, "note": "generated by the key holder and sealed in its keystore; nothing to hand over",
    }, sort_keys=True).encode()
    custody_stored = store.put_bytes(custody)
    custody_grant = admin.grant_key(federation_id, KeyKind.PAILLIER_PRIVATE_KEY, holder.account, custody_stored.cid,
                                    bytes.fromhex(custody_stored.sha256))
    narrator.step("admin", "grant the Paillier private key to the key holder", custody_stored.cid, custody_grant)
    narrator.note("the grant points at a custody record (no secret inside): the key holder generated the key")

    narrator.step("admin", "grant DATA_OWNER to the owner",
                  tx=admin.grant_role(federation_id, Role.DATA_OWNER, federation.party("owner").account))
    for i in range(options.analysts):
        narrator.step("admin", f"grant ANALYST to analyst-{i + 1}",
                      tx=admin.grant_role(federation_id, Role.ANALYST, federation.analyst(i).account))
    narrator.step("admin", "grant AGGREGATOR to the aggregator",
                  tx=admin.grant_role(federation_id, Role.AGGREGATOR, federation.party("aggregator").account))
    for name in [f"analyst-{i + 1}" for i in range(options.analysts)] + ["key holder"]:
        registered = publish_encryption_key(federation.party(name), keystores[name])
        narrator.step(name, "register its HPKE public key (grants to it are sealed for this key)", tx=registered)
    return federation


def key_holder_grants_model_key(federation: Federation, options: RoundOptions, narrator: Narrator) -> None:
    """Key holder: a fresh model key for key epoch 1, kept in its keystore, granted sealed to each analyst."""
    holder = federation.party("key holder")
    model_key = new_model_key()
    federation.keystores["key holder"].put_secret("model-key-epoch-1", model_key)
    for i in range(options.analysts):
        analyst = federation.analyst(i).account
        grant = grant_sealed(federation.context(holder), KeyKind.MODEL_KEY, analyst, model_key, epoch=1)
        narrator.step("key holder", f"grant the epoch-1 model key to analyst-{i + 1}, sealed for its registered "
                                    "key", grant.cid, grant.transaction)


@dataclass(frozen=True)
class Dataset:
    """A registered cipher sheet of one analyst's partition."""

    artifact_id: int
    cid: str
    samples: int


def owner_publishes(federation: Federation, train: LabelledData, options: RoundOptions,
                    narrator: Narrator) -> list[Dataset]:
    """Data owner: one digit sheet per analyst, encrypted with the codec (exact mode), on IPFS and on chain."""
    owner = federation.party("owner")
    key = CodecKey.generate()
    narrator.step("owner", "generate a codec key (exact mode)")
    datasets = []
    for i, indices in enumerate(partition_iid(len(train), options.analysts, seed=options.seed)):
        sheet = render_sheet(train.subset(indices))
        stored = federation.store.put_bytes(encrypt(sheet, key, mode="exact"))
        registered = owner.register_dataset(federation.federation_id, as_input(stored), len(indices))
        artifact_id = registered.value
        datasets.append(Dataset(artifact_id, stored.cid, len(indices)))
        narrator.step("owner", f"register dataset #{artifact_id}: {len(indices)} digits as a "
                               f"{sheet.shape[0]}x{sheet.shape[1]} cipher sheet ({stored.size:,} B)",
                      stored.cid, registered)
        grant = grant_sealed(federation.context(owner), KeyKind.CODEC_KEY, federation.analyst(i).account,
                             key.to_bytes())
        narrator.step("owner", f"grant the codec key to analyst-{i + 1}, sealed for its registered key (needed "
                               f"to decrypt and train on dataset #{artifact_id})", grant.cid, grant.transaction)
    return datasets


def admin_opens_round(federation: Federation, narrator: Narrator) -> int:
    admin = federation.admin
    deadline = admin.w3.eth.get_block("latest")["timestamp"] + ROUND_SECONDS
    opened = admin.open_round(federation.federation_id, deadline)
    round_ = opened.value
    narrator.summary.round = round_
    narrator.step("admin", f"open round {round_} (deadline in {ROUND_SECONDS} s)", tx=opened)
    return round_


def analyst_trains(federation: Federation, index: int, round_: int, dataset: Dataset,
                   initial: np.ndarray, options: RoundOptions, narrator: Narrator) -> int:
    """Analyst: open its codec-key grant, fetch + verify + decrypt its dataset, train, encrypt, upload, submit."""
    name = f"analyst-{index + 1}"
    analyst = federation.analyst(index)
    owner = federation.party("owner").account
    codec_key = CodecKey.from_json(open_grant(federation.context(analyst), federation.keystores[name],
                                              KeyKind.CODEC_KEY, key_owner=owner).decode())
    record = analyst.artifact(dataset.artifact_id, from_block=federation.deploy_block)
    sheet = decrypt(_fetch_verified(analyst, federation.store, record), codec_key)
    data = read_sheet(sheet)
    narrator.step(name, f"fetch + verify (sha256 from chain) + decrypt dataset #{record.artifact_id}: "
                        f"{len(data)} digits", record.cid)

    client = FLClient(name, data, options.model, TrainConfig(local_epochs=options.local_epochs),
                      torch.device("cpu"), seed=options.seed + index)
    fit = client.fit(initial)
    # The update is the change from the agreed initial model: small values, well inside the clip bound.
    delta = np.asarray(fit.update.parameters, dtype=np.float64) - initial
    _, refused = validate_updates([ClientUpdate(name, delta, fit.update.num_examples)])
    if refused:
        raise DemoRoundError(f"{name} refuses to submit its own update: {refused[0].reason}; check local training")
    epoch = analyst.federation(federation.federation_id).key_epoch
    keys = federation.context(analyst).epoch_keys(epoch)
    if keys.encoding_digest != encoding_digest(federation.encoding):
        raise DemoRoundError(f"{name}: the encoding registered for key epoch {epoch} is not the one agreed")
    started = time.perf_counter()
    context = UpdateContext(federation.federation_id, round_, epoch, analyst.account)
    encrypted = encrypt_update(keys.public_key, delta, fit.update.num_examples, federation.encoding, context,
                               workers=options.workers)
    blob = encrypted.to_bytes(keys.public_key)
    narrator.step(name, f"train {options.local_epochs} epoch(s) (loss {fit.loss:.3f}), encrypt {delta.size:,} "
                        f"values into {len(encrypted.ciphertexts)} ciphertexts ({time.perf_counter() - started:.1f} s)")
    stored = federation.store.put_bytes(blob)
    submitted = analyst.submit_update(federation.federation_id, round_, as_input(stored), fit.update.num_examples,
                                      [dataset.artifact_id])
    update_id = submitted.value
    narrator.step(name, f"submit update #{update_id} ({stored.size:,} B, weight {fit.update.num_examples})",
                  stored.cid, submitted)
    return update_id


def aggregator_sums(federation: Federation, round_: int, num_values: int, narrator: Narrator) -> int:
    """Aggregator (no private key): close the round, assess every update from the chain, sum, post with exclusions."""
    aggregator = federation.party("aggregator")
    result = Aggregator(federation.context(aggregator), num_values).aggregate_round(round_)
    narrator.summary.gas.append(("aggregator", "close + sum + post the aggregate", result.gas_used))
    narrator.step("aggregator", f"close round {round_}, fetch + verify + check the header of every update the chain "
                                f"recorded, sum {len(result.included)} without any key "
                                f"({len(result.excluded)} excluded), post aggregate #{result.aggregate_id} "
                                f"(sha256 {result.sha256[:16]}…, gas {result.gas_used:,})", result.cid)
    for excluded in result.excluded:
        narrator.note(f"excluded update #{excluded.artifact_id}: {excluded.reason.name.lower()}")
    return result.aggregate_id


def recompute_aggregate(registry: ModelRegistry, federation: Federation, round_: int,
                        from_block: int) -> tuple[events.ArtifactRegistered, bytes]:
    """Anyone: recompute a round's encrypted aggregate from its update CIDs and match the on-chain hash.

    Returns:
        The aggregate's record and the recomputed aggregate bytes.

    Raises:
        DemoRoundError: If the recomputed aggregate's sha256 differs from the chain's.
    """
    stored_round = registry.round(federation.federation_id, round_)
    record = registry.artifact(stored_round.aggregate_artifact, from_block=from_block)
    updates = [registry.artifact(p, from_block=from_block) for p in record.parents]
    blobs = [_fetch_verified(registry, federation.store, u) for u in updates]
    recomputed = aggregate_update_bytes(blobs, federation.public_key_from_chain(registry))
    if hashlib.sha256(recomputed).digest() != stored_round.aggregate_sha256:
        raise DemoRoundError(
            f"round {round_}: the aggregate recomputed from updates {list(record.parents)} has sha256 "
            f"{hashlib.sha256(recomputed).hexdigest()}, the chain records {stored_round.aggregate_sha256.hex()}: "
            "the aggregator posted a wrong aggregate; do not decrypt it, abort the round"
        )
    return record, recomputed


def key_holder_finalizes(federation: Federation, round_: int, initial: np.ndarray,
                         test: LabelledData, options: RoundOptions, narrator: Narrator) -> int:
    """Key holder: re-check the round from the chain, recompute the aggregate, decrypt, evaluate, publish the
    model sealed under the epoch's model key, finalize."""
    holder = federation.party("key holder")
    keystore = federation.keystores["key holder"]
    epoch = holder.round(federation.federation_id, round_).key_epoch
    private_key = private_key_from_bytes(keystore.get_secret(f"paillier-epoch-{epoch}"))
    role = KeyHolder(federation.context(holder), {epoch: private_key}, initial.size)
    review, mean_delta = role.decrypt_round(round_, options.workers)
    aggregate = review.aggregate
    record = holder.artifact(review.aggregate_id, from_block=federation.deploy_block)
    narrator.summary.aggregate_sha256 = record.sha256.hex()
    narrator.summary.recomputed_sha256 = hashlib.sha256(aggregate.to_bytes(private_key.public_key)).hexdigest()
    narrator.step("key holder", f"re-check every update of round {round_} from the chain, recompute the aggregate "
                                f"of {list(review.included)}: byte-identical, sha256 matches the chain", record.cid)

    model = build_model(options.model, test.sample_shape, test.num_classes, seed=options.seed)
    set_flat_params(model, (initial + mean_delta).astype(np.float32))
    metrics = evaluate(model, test)
    narrator.summary.accuracy = metrics.accuracy
    narrator.step("key holder", f"decrypt ({len(review.analysts)} analysts, weights total {aggregate.weights_total}), "
                                f"new global model: test accuracy {metrics.accuracy:.3f} on {metrics.num_samples} "
                                "held-out digits")

    buffer = io.BytesIO()
    np.save(buffer, get_flat_params(model), allow_pickle=False)
    sealed = seal_model(keystore.get_secret(f"model-key-epoch-{epoch}"), buffer.getvalue(),
                        federation.federation_id, round_, epoch)
    model_stored = federation.store.put_bytes(sealed)
    report = {"round": round_, "model": options.model, "num_parameters": int(mean_delta.size),
              "accuracy": metrics.accuracy, "f1": metrics.f1, "num_test_samples": metrics.num_samples,
              "paillier_bits": options.paillier_bits, "quantization_bound": aggregate.layout.quantization_bound,
              "weights_total": aggregate.weights_total, "dp": None}
    metrics_stored = federation.store.put_bytes(json.dumps(report, sort_keys=True).encode())
    narrator.step("key holder", "upload the global model (float32 .npy) encrypted under the epoch's model key "
                                "(AES-256-GCM)", model_stored.cid)
    narrator.step("key holder", "upload the metrics JSON", metrics_stored.cid)
    finalized = role.finalize(round_, as_input(model_stored), as_input(metrics_stored), DpParameters.none(), 0)
    version = narrator.summary.model_version = finalized.value
    narrator.step("key holder", f"finalize round {round_}: model version {version} (no DP)", tx=finalized)
    return version


def analysts_read_model(federation: Federation, version: int, options: RoundOptions, narrator: Narrator) -> None:
    """Each analyst opens its model-key grant and decrypts the new global model from IPFS.

    Raises:
        DemoRoundError: If a decrypted model is not a float32 vector of the model's size.
    """
    for i in range(options.analysts):
        name = f"analyst-{i + 1}"
        analyst = federation.analyst(i)
        context = federation.context(analyst)
        stored = analyst.model_version(federation.federation_id, version)
        epoch = analyst.round(federation.federation_id, stored.round).key_epoch
        model_key = open_grant(context, federation.keystores[name], KeyKind.MODEL_KEY)
        record = analyst.artifact(stored.global_model_artifact, from_block=federation.deploy_block)
        params = np.load(io.BytesIO(open_model(model_key, context.fetch_verified(record), federation.federation_id,
                                               stored.round, epoch)), allow_pickle=False)
        if params.dtype != np.float32 or params.ndim != 1:
            raise DemoRoundError(f"{name}: model v{version} decrypted to {params.dtype} {params.shape}")
        narrator.summary.model_opened_by.append(analyst.account)
        narrator.step(name, f"open its model-key grant, decrypt model v{version} ({params.size:,} parameters)",
                      record.cid)


def auditor_checks(federation: Federation, version: int, narrator: Narrator, console: Console) -> None:
    """Auditor (chain + IPFS only): re-verify every artifact, recompute the aggregate, print the lineage."""
    auditor = federation.admin.as_account(federation.keystores["auditor"].address)
    fid, from_block = federation.federation_id, federation.deploy_block
    model_version = auditor.model_version(fid, version)
    everything = auditor.artifacts(federation_id=fid, from_block=from_block)
    verified = 0
    for record in everything:
        _fetch_verified(auditor, federation.store, record)  # raises on any mismatch
        verified += 1
    narrator.summary.artifacts_total, narrator.summary.artifacts_verified = len(everything), verified
    narrator.step("auditor", f"re-verify {verified}/{len(everything)} artifacts: chain digest + IPFS content")
    grants = auditor.events(events.KeyGranted, from_block=from_block, federation_id=fid)
    for grant in grants:
        # A grant records no size, so the fetch is bounded by the largest wrapped key accepted.
        federation.store.get_bytes(grant.wrapped_key_cid, expected_sha256=grant.wrapped_key_sha256.hex(),
                                   max_size=MAX_GRANT_BLOB_BYTES)
    narrator.summary.key_grants_verified = len(grants)
    narrator.step("auditor", f"re-verify {len(grants)} key grant blob(s) against the sha256 in their grant events")
    _, recomputed = recompute_aggregate(auditor, federation, model_version.round, from_block)
    narrator.summary.audit_recomputed_sha256 = hashlib.sha256(recomputed).hexdigest()
    narrator.step("auditor", "recompute the round's aggregate from the update CIDs: hash matches the chain")

    by_id = {r.artifact_id: r for r in everything}
    model = by_id[model_version.global_model_artifact]
    aggregate = by_id[model.parents[0]]
    updates = [by_id[u] for u in aggregate.parents]
    datasets = sorted({p for u in updates for p in u.parents})
    finalized = auditor.events(events.RoundFinalized, from_block=from_block, federation_id=fid,
                               round=model_version.round)
    dp = finalized[0].dp
    dp_text = f"ε={dp.epsilon} δ={dp.delta} σ={dp.noise_multiplier} C={dp.clip_norm}" if dp.enabled else "none"
    # CIDs come from chain events: printed literally (a CID is any string a submitter registered).
    tree = Tree(f"[bold]model v{version}[/] #{model.artifact_id} {escape(model.cid)}  "
                f"(key holder {finalized[0].key_holder[:8]}…, DP: {dp_text})")
    tree.add(f"metrics #{model_version.metrics_artifact} {escape(by_id[model_version.metrics_artifact].cid)}")
    node = tree.add(f"round {model_version.round}: aggregate #{aggregate.artifact_id} {escape(aggregate.cid)}")
    for update in updates:
        leaf = node.add(f"update #{update.artifact_id} {escape(update.cid)} (analyst {update.submitter[:8]}…)")
        for parent in update.parents:
            leaf.add(f"dataset #{parent} {escape(by_id[parent].cid)} (owner {by_id[parent].submitter[:8]}…)")
    console.print(tree, soft_wrap=False)  # wrap long CIDs inside the tree's guides instead of cropping them
    narrator.summary.lineage = {"model": model.artifact_id, "aggregate": aggregate.artifact_id,
                                "updates": [u.artifact_id for u in updates], "datasets": datasets}


def gas_table(summary: RoundSummary) -> Table:
    """Gas used per transaction of the round."""
    table = Table(title="gas per transaction")
    for column in ("party", "action", "gas"):
        table.add_column(column, justify="right" if column == "gas" else "left")
    for party, action, gas in summary.gas:
        table.add_row(party, action, f"{gas:,}")
    table.add_row("", "[bold]total[/]", f"[bold]{sum(g for _, _, g in summary.gas):,}[/]")
    return table


def run_demo_round(settings: Settings, options: RoundOptions | None = None,
                   console: Console | None = None) -> RoundSummary:
    """Run one federated round on the devnet of ``settings`` and return what the chain and IPFS hold.

    Args:
        settings: Resolved settings with ``rpc_url`` and ``ipfs_api`` of a running devnet.
        options: Round size (default: 3 analysts, 2048-bit Paillier, 2 local epochs).
        console: Where the steps are printed (default: stdout).

    Raises:
        DemoRoundError: If a party finds a hash, digest or aggregate that does not match the chain.
        ChainError, StoreError: If the chain or the IPFS node refuses or cannot be reached.
    """
    options = options or RoundOptions()
    console = console or Console(soft_wrap=True)
    if not settings.rpc_url or not settings.ipfs_api:
        raise DemoRoundError("no chain RPC or IPFS API configured: start the devnet with `flep devnet up`")
    started = time.perf_counter()
    summary = RoundSummary(registry_address="", deploy_block=0, federation_id=0, paillier_bits=options.paillier_bits)
    narrator = Narrator(console, summary)
    console.print(f"[bold]One federated round[/]: {options.analysts} analysts, {options.model} on sklearn digits, "
                  f"{options.paillier_bits}-bit packed Paillier, {options.local_epochs} local epoch(s), no DP")

    train, test = split_train_test(load_digits_data(), 0.2, seed=options.seed)
    keystores = create_keystores(settings, options, narrator)
    federation = admin_sets_up(settings, options, keystores, narrator)
    key_holder_grants_model_key(federation, options, narrator)
    datasets = owner_publishes(federation, train, options, narrator)
    # Version 0 is agreed by seed: the registry has no artifact kind for a model no round produced.
    initial = get_flat_params(build_model(options.model, train.sample_shape, train.num_classes, seed=options.seed))
    initial = initial.astype(np.float64)
    narrator.note(f"initial model: build_model({options.model!r}, seed={options.seed}), "
                  f"{initial.size:,} parameters, agreed by seed")
    round_ = admin_opens_round(federation, narrator)
    for i, dataset in enumerate(datasets):
        analyst_trains(federation, i, round_, dataset, initial, options, narrator)
    aggregator_sums(federation, round_, initial.size, narrator)
    version = key_holder_finalizes(federation, round_, initial, test, options, narrator)
    analysts_read_model(federation, version, options, narrator)
    auditor_checks(federation, version, narrator, console)
    summary.seconds = time.perf_counter() - started
    console.print(gas_table(summary))
    console.print(f"[bold green]round {round_} finalized as model version {version}[/]: accuracy "
                  f"{summary.accuracy:.3f}, {summary.artifacts_verified}/{summary.artifacts_total} artifacts "
                  f"verified, aggregate hash recomputed by key holder and auditor, {summary.seconds:.1f} s")
    return summary
