"""One real federated round, narrated: the script orders the role modules' steps and prints what each party does.

The :class:`~registry.roles.admin.Admin` sets the federation up (key epoch 1 under a key pair the key holder makes,
:mod:`registry.roles.key_epochs`; a training plan whose model built from its seed is version 0); the
:class:`~registry.roles.agents.KeyHolderAgent` grants the model key; the data owner publishes one encrypted digit
sheet per analyst; each :class:`~registry.roles.analyst.Analyst` submits a packed-Paillier update; the
:class:`~registry.roles.Aggregator` sums them without any key; the key holder's agent re-checks, decrypts,
scores, seals and finalizes model version 1, which the analysts read and the aggregator cannot; the
:class:`~registry.roles.Auditor` re-verifies everything. All on the real chain and IPFS node, each party with its
own keystore and account, every secret sealed for a registered key; the Paillier private key stays with the key
holder that made it (its grant is a custody record; :mod:`registry.roles.custody` hands it over).

The parties share this one process so that the round reads as one story; ``flep round run``, which ``make demo``
runs next, starts each as its own OS process. Run this with ``scripts/demo.py``, or call :func:`run_demo_round`.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from clients.fl import load_digits_data, partition_iid, render_sheet, split_train_test
from clients.he import EncodingParams
from registry.chain import CodecKeyPolicy, KeyKind, ModelRegistry, Role, connect, events, role_name
from registry.config import Settings
from registry.devnet import dev_account
from registry.keystore import DEFAULT_SCRYPT_N, PASSPHRASE_ENV, Keystore
from registry.roles import (Aggregator, Auditor, Check, FederationContext, GrantError, ModelSealError, TrainingPlan,
                            open_grant, publish_dataset, publish_encryption_key, publish_plan)
from registry.roles.admin import Admin
from registry.roles.agents import KeyHolderAgent
from registry.roles.analyst import Analyst
from registry.roles.context import fund_accounts
from registry.roles.grants import MAX_SEALED_GRANT_BYTES
from registry.roles.key_epochs import start_epoch_with_new_key
from registry.roles.models import model_params
from registry.store import ArtifactStore

PARTIES = ["admin", "owner", "aggregator", "key holder", "auditor"]
ROUND_SECONDS = 3600
FUNDING_WEI = 10**20  # 100 devnet ETH for each party that sends transactions


class DemoRoundError(RuntimeError):
    """A party found something that does not match the chain, or a party did not do its step."""


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
        passphrase: The keystores' passphrase (default: ``FLEP_PASSPHRASE``, else a random one for this run).
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
        accuracy: Test accuracy of the new global model on held-out digits, from the key holder's metrics.
        aggregate_sha256: sha256 of the encrypted aggregate the aggregator posted (hex).
        audit_checks: The checks of the auditor's verification of the model's lineage (each passed).
        artifacts_total: Artifacts the federation registered.
        artifacts_verified: Artifacts whose chain digest and IPFS content both verified.
        key_grants_verified: Key grants whose blob on IPFS matches the sha256 in the grant event.
        gas: ``(party, action, gas used)`` of every transaction, in order.
        lineage: ``{"model": id, "aggregate": id, "updates": [ids], "datasets": [ids]}`` artifact ids.
        seconds: Wall time of the round.
        keystores: Directory holding every party's keystore (one subdirectory per party).
        model_opened_by: Analysts that opened their model-key grant and decrypted the global model.
    """

    registry_address: str = ""
    deploy_block: int = 0
    federation_id: int = 0
    round: int = 0
    model_version: int = 0
    paillier_bits: int = 0
    accuracy: float = 0.0
    aggregate_sha256: str = ""
    audit_checks: tuple[Check, ...] = ()
    artifacts_total: int = 0
    artifacts_verified: int = 0
    key_grants_verified: int = 0
    gas: list[tuple[str, str, int]] = field(default_factory=list)
    lineage: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    keystores: str = ""
    model_opened_by: list[str] = field(default_factory=list)


class DemoRound:
    """One narrated round: every party's keystore and account, the federation once set up, and the summary.

    Args:
        settings: Resolved settings with ``rpc_url`` and ``ipfs_api`` of a running devnet.
        options: The round's size.
        console: Where the steps are printed.
    """

    COLORS = {"admin": "magenta", "owner": "green", "aggregator": "yellow", "key holder": "cyan", "auditor": "blue"}
    admin: Admin  # from set_up on
    plan: TrainingPlan  # from set_up on

    def __init__(self, settings: Settings, options: RoundOptions, console: Console) -> None:
        self.options, self.console = options, console
        self.summary = RoundSummary(paillier_bits=options.paillier_bits)
        self.w3, self.store = connect(settings.rpc_url, settings.chain_id), ArtifactStore(settings.ipfs_api)
        chosen = options.passphrase or os.environ.get(PASSPHRASE_ENV)
        passphrase, root = chosen or secrets.token_urlsafe(24), tempfile.mkdtemp(prefix="keystores-", dir=settings.home)
        self.analysts = [f"analyst-{i + 1}" for i in range(options.analysts)]
        self.keystores = {name: Keystore.create(Path(root) / name.replace(" ", "-"), passphrase,
                                                scrypt_n=options.scrypt_n) for name in PARTIES + self.analysts}
        funded = [k.address for name, k in self.keystores.items() if name != "auditor"]  # it sends no transaction
        fund_accounts(self.w3, dev_account(0), funded, FUNDING_WEI)
        self.summary.keystores, self.names = root, {k.address: name for name, k in self.keystores.items()}
        console.print(f"{len(self.keystores)} keystores (new chain key, HPKE X25519 key pair, sealed secrets) sealed "
                      f"with {'the chosen' if chosen else 'a random'} passphrase in {escape(root)}", style="dim")

    def step(self, party: str, action: str, cid: str | None = None, gas: int | None = None) -> None:
        """Print one step, with the CID it produced and the gas of its transactions if it sent any."""
        for address, name in self.names.items():
            action = action.replace(address, name)
        # Actions and CIDs carry values read from the chain and IPFS: printed literally, never as markup.
        line = f"[bold {self.COLORS.get(party, 'white')}]{party:<11}[/] {escape(action)}"
        line += f"  [dim]cid[/] {escape(cid)}" if cid else ""
        if gas is not None:
            self.summary.gas.append((party, action, gas))
            line += f"  [dim]gas[/] {gas:,}"
        self.console.print(line, highlight=False)

    def context(self, party: str) -> FederationContext:
        """The federation seen through ``party``'s own account (after :meth:`set_up`)."""
        return self.admin.context.as_account(self.admin.context.registry.as_account(self.keystores[party].account))

    def set_up(self) -> None:
        """Admin: deploy the registry, create the federation, admit the parties, start key epoch 1 under the key
        holder's new key pair, publish the plan; the analysts and the key holder register their HPKE keys."""
        options, keystores, summary = self.options, self.keystores, self.summary
        registry, deployment = ModelRegistry.deploy(self.w3, keystores["admin"].account)
        summary.registry_address, summary.deploy_block = deployment.address, deployment.block
        self.step("admin", f"deploy ModelRegistry at {deployment.address}", gas=deployment.gas_used)
        self.admin, created = Admin.create_federation(registry, self.store, registry, options.analysts,
                                                      CodecKeyPolicy.PER_DATA_OWNER, deployment.block)
        fid = summary.federation_id = self.admin.federation_id
        self.step("admin", f"create federation {fid} (min {options.analysts} updates per round)", gas=created.gas_used)
        roles = {"owner": Role.DATA_OWNER, "aggregator": Role.AGGREGATOR} | dict.fromkeys(self.analysts, Role.ANALYST)
        for name, role in roles.items():
            granted = self.admin.admit(role, keystores[name].address)
            self.step("admin", f"grant {role_name(role)} to {name}", gas=granted.gas_used)
        for name in [*self.analysts, "key holder"]:
            registered = publish_encryption_key(self.context(name).registry, keystores[name])
            self.step(name, "register its HPKE public key (grants to it are sealed for it)", gas=registered.gas_used)
        encoding = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=max(10, options.analysts), max_weight=1024)
        holder = keystores["key holder"]
        epoch = start_epoch_with_new_key(self.admin.context, holder, encoding, options.paillier_bits)
        self.step("key holder", f"generate a {options.paillier_bits}-bit packed-Paillier key pair, keep the private "
                                "key in its keystore, give the public key to the admin")
        began = registry.events(events.KeyEpochStarted, deployment.block, federation_id=fid, epoch=epoch)[0]
        self.step("admin", f"start key epoch {epoch}: the Paillier public key and the encoding parameters' digest",
                  registry.artifact(began.public_key_artifact, deployment.block).cid, gas_of(registry, began))
        custody = registry.events(events.KeyGranted, deployment.block, federation_id=fid, account=holder.address)[0]
        self.step("admin", f"grant the epoch-{epoch} Paillier private key to the key holder: a custody record, no "
                           "secret inside", custody.wrapped_key_cid, gas_of(registry, custody))
        self.plan = TrainingPlan.sized(options.model, options.seed, encoding, local_epochs=options.local_epochs)
        published = publish_plan(self.admin.context, self.plan)
        self.step("admin", f"publish the training plan: {options.model}, v0 from seed {options.seed}",
                  registry.artifact(published.value, deployment.block).cid, published.gas_used)

    def publish_datasets(self) -> None:
        """Data owner: one digit sheet per analyst, encrypted under its own codec key granted to that analyst only."""
        owner, seed = self.context("owner"), self.options.seed
        train, _ = split_train_test(load_digits_data(), 0.2, seed=seed)
        for name, indices in zip(self.analysts, partition_iid(len(train), len(self.analysts), seed=seed)):
            dataset = publish_dataset(owner, render_sheet(train.subset(indices)), len(indices),
                                      [self.keystores[name].address])
            found = owner.registry.events(events.DatasetRegistered, owner.from_block, artifact_id=dataset.dataset_id)
            self.step("owner", f"register dataset #{dataset.dataset_id}: {len(indices)} digits as a cipher sheet "
                               "under a new codec key", dataset.cid, gas_of(owner.registry, found[0]))
            grant = dataset.grants[0]
            self.step("owner", f"grant its codec key to {name}, sealed for its registered key", grant.cid,
                      grant.transaction.gas_used)

    def play_round(self, holder: KeyHolderAgent) -> int:
        """Admin opens a round; each analyst submits an update; the aggregator sums them without any key; the key
        holder's agent re-checks, decrypts, scores, seals and finalizes. Returns the new model version.

        Raises:
            DemoRoundError: If the key holder's agent did not finalize the round.
        """
        opened = self.admin.open_round(ROUND_SECONDS)
        round_ = self.summary.round = opened.value
        self.step("admin", f"open round {round_} (deadline in {ROUND_SECONDS} s)", gas=opened.gas_used)
        for name in self.analysts:
            context = self.context(name)
            submitted = Analyst(context, self.keystores[name], self.options.workers).submit(
                context.registry.round(context.federation_id, round_))
            update = context.registry.artifact(submitted.update_id, context.from_block)
            self.step(name, f"submit update #{submitted.update_id}: its dataset opened, trained from v0, encrypted "
                            f"(weight {submitted.weight}, {submitted.seconds:.1f} s)", update.cid, submitted.gas_used)
        summed = Aggregator(self.context("aggregator"), self.plan.num_values).aggregate_round(round_)
        self.summary.aggregate_sha256 = summed.sha256
        self.step("aggregator", f"close round {round_}, sum its {len(summed.included)} verified updates without any "
                                f"key ({len(summed.excluded)} excluded)", summed.cid, summed.gas_used)
        finalized = holder.step()
        if finalized is None or finalized.round != round_:
            raise DemoRoundError(f"the key holder's agent did not finalize round {round_} (it did: {finalized})")
        context = self.context("key holder")
        registry, version = context.registry, context.registry.model_version(context.federation_id, finalized.result)
        metrics = json.loads(context.fetch_verified(registry.artifact(version.metrics_artifact, context.from_block)))
        self.summary.model_version, self.summary.accuracy = finalized.result, metrics["accuracy"]
        model = registry.artifact(version.global_model_artifact, context.from_block)
        self.step("key holder", f"finalize round {round_} as model v{finalized.result}: updates re-checked, aggregate "
                                f"recomputed and decrypted, accuracy {metrics['accuracy']:.3f} on held-out digits, "
                                "sealed under the model key", model.cid, finalized.gas_used)
        return finalized.result

    def read_model(self, version: int) -> None:
        """Each analyst decrypts model ``version`` with its model-key grant; the aggregator, holding none, cannot.

        Raises:
            DemoRoundError: If the aggregator reads it.
        """
        def read(party: str) -> np.ndarray:
            context, keystore = self.context(party), self.keystores[party]
            return model_params(context, version, lambda e: open_grant(context, keystore, KeyKind.MODEL_KEY, epoch=e))

        for name in self.analysts:
            params = read(name)
            self.summary.model_opened_by.append(self.keystores[name].address)
            self.step(name, f"open its model-key grant, decrypt model v{version} ({params.size:,} parameters)")
        try:
            read("aggregator")
        except (GrantError, ModelSealError) as exc:
            self.step("aggregator", f"try to read model v{version}: refused ({exc})")
        else:
            raise DemoRoundError(f"the aggregator, which holds no model-key grant, read model v{version}")

    def audit(self, version: int) -> None:
        """Auditor (chain + IPFS only, no transaction): re-verify every artifact and grant blob, and model
        ``version`` through its lineage.

        Raises:
            DemoRoundError: If a check fails.
        """
        context, summary = self.context("auditor"), self.summary
        auditor = Auditor(context)
        records = context.registry.artifacts(federation_id=context.federation_id, from_block=context.from_block)
        artifact_checks = [c for r in records for c in auditor.verify_artifact(r.artifact_id).checks]
        summary.artifacts_total, summary.artifacts_verified = len(records), sum(c.ok for c in artifact_checks)
        grants = context.registry.events(events.KeyGranted, context.from_block, federation_id=context.federation_id)
        for grant in grants:  # the Auditor role checks no grant blob
            context.store.get_bytes(grant.wrapped_key_cid, expected_sha256=grant.wrapped_key_sha256.hex(),
                                    max_size=MAX_SEALED_GRANT_BYTES)
        summary.key_grants_verified = len(grants)
        latest = auditor.lineage(version).rounds[0]
        summary.audit_checks = (*(c for a in latest.artifacts for c in a.checks), *latest.round_checks)
        failed = [c for c in (*artifact_checks, *summary.audit_checks) if not c.ok]
        if failed:
            raise DemoRoundError("the auditor found: " + "; ".join(f"{c.subject} {c.name}: {c.detail}" for c in failed))
        updates = [u.artifact.artifact_id for u in latest.included]
        summary.lineage = {"model": latest.global_model.artifact_id, "aggregate": latest.aggregate.artifact_id,
                           "updates": updates, "datasets": [d.artifact.artifact_id for d in latest.datasets]}
        self.step("auditor", f"re-verify {summary.artifacts_verified}/{len(records)} artifacts, {len(grants)} key "
                             f"grant blobs and model v{version} in {len(summary.audit_checks)} checks: aggregate "
                             f"#{latest.aggregate.artifact_id} recomputed from updates {updates}")


def gas_of(registry: ModelRegistry, record: events.EventRecord) -> int:
    """Gas of the transaction that emitted ``record`` (for role calls that return no transaction)."""
    return int(registry.w3.eth.get_transaction_receipt(record.transaction_hash)["gasUsed"])


def gas_table(summary: RoundSummary) -> Table:
    """Gas used per transaction of the round."""
    table = Table("party", "action", Column("gas", justify="right"), title="gas per transaction")
    for party, action, gas in summary.gas:
        table.add_row(party, escape(action), f"{gas:,}")
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
        DemoRoundError: If a party finds something that does not match the chain, or does not do its step.
        RoleError, ChainError, StoreError: If a role refuses, or the chain or IPFS refuse or cannot be reached.
    """
    options, console = options or RoundOptions(), console or Console(soft_wrap=True)
    if not settings.rpc_url or not settings.ipfs_api:
        raise DemoRoundError("no chain RPC or IPFS API configured: start the devnet with `flep devnet up`")
    started = time.perf_counter()
    console.print(f"[bold]One federated round[/]: {options.analysts} analysts, {options.model} on sklearn digits, "
                  f"{options.paillier_bits}-bit packed Paillier, {options.local_epochs} local epoch(s), no DP")
    demo = DemoRound(settings, options, console)
    demo.set_up()
    holder = KeyHolderAgent(demo.context("key holder"), demo.keystores["key holder"], options.workers)
    while (granted := holder.step()) is not None:  # a new model key for the epoch, granted to each analyst
        demo.step("key holder", f"{granted.action}, sealed for its registered key", gas=granted.gas_used)
    demo.publish_datasets()
    version = demo.play_round(holder)
    demo.read_model(version)
    demo.audit(version)
    summary = demo.summary
    summary.seconds = time.perf_counter() - started
    console.print(gas_table(summary))
    console.print(f"[bold green]round {summary.round} finalized as model version {version}[/]: accuracy "
                  f"{summary.accuracy:.3f}, every artifact and check verified, {summary.seconds:.1f} s")
    return summary
