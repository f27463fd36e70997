"""`flep round run`: set up a federation on the current devnet and run rounds with every party an OS process.

The runner plays the admin and the data owner (they act through commands, not agents); the analysts, the
aggregator and the key holder are ``flep agent`` processes, each with its own fresh chain account (funded
from the devnet's first development account) and its own keystore, coordinating only through the chain and
IPFS. The runner opens each round, waits until the chain records it finalized (or aborts it at its
deadline), and stops every process it started, also on failure.

With :class:`DpRequest` the plan gets a DP section: analysts train the rounds it names with DP-SGD, the key
holder records each such round's (ε, δ, σ, C) on chain, and each round's report carries that record and the
run's cumulative ε.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from eth_utils import to_checksum_address

from clients.fl import LabelledData, load_digits_data, noise_for_epsilon, partition_iid, render_sheet, split_train_test
from clients.he import EncodingParams
from registry.chain import (
    ChainError,
    CodecKeyPolicy,
    DpParameters,
    KeyKind,
    ModelRegistry,
    Role,
    RoundStatus,
    events,
)
from registry.keystore import PASSPHRASE_ENV, Keystore
from registry.roles.admin import Admin, chain_now, current_analysts
from registry.roles.context import FederationContext, fund_accounts
from registry.roles.custodian import run_ceremony
from registry.roles.data_owner import publish_dataset
from registry.roles.key_epochs import start_epoch_with_new_key
from registry.roles.errors import RoleError
from registry.roles.grants import GrantError, open_grant, publish_encryption_key
from registry.roles.models import ModelSealError, model_params
from registry.roles.plan import MIN_DP_VALUE, DpPlan, TrainingPlan, publish_plan
from registry.store import ArtifactStore

FUNDING_WEI = 10**18  # 1 devnet ETH per party: a round costs far less than 0.01 ETH of gas; 100 ETH drained the faucet in ~12 runs
AGENT_START_SECONDS = 180  # how long agents may take to load before the first round opens regardless
CHAIN_OUTAGES = (ChainError, ConnectionError, OSError)
"""What the runner waits out while it watches a round: an RPC node that is restarting or briefly unreachable."""


class RunError(RoleError):
    """A run could not be set up, or a round neither finalized nor aborted in time."""


@dataclass(frozen=True)
class DpRequest:
    """What ``--dp`` asks for: exactly one of σ itself or a per-round ε target σ is sized for.

    Attributes:
        target_epsilon: ε that one DP round of local training on the smallest dataset may spend; σ is the
            smallest noise multiplier reaching it (:func:`clients.fl.noise_for_epsilon`), rounded up to the
            chain's precision so that the σ on chain is the plan's.
        noise_multiplier: σ, given directly.
        clip_norm: C, the per-sample clipping bound.
        delta: δ.
        accountant: ``rdp`` or ``prv``.
        rounds: The rounds trained with DP (empty: every round).
    """

    target_epsilon: float | None = None
    noise_multiplier: float | None = None
    clip_norm: float = 1.0
    delta: float = 1e-5
    accountant: str = "rdp"
    rounds: tuple[int, ...] = ()

    def check(self, run_rounds: int) -> None:
        """Refuse an inconsistent request before anything is set up.

        Raises:
            RunError: If not exactly one of σ and target ε is given, or a DP round is not one of the run's
                ``run_rounds`` rounds.
        """
        if (self.target_epsilon is None) == (self.noise_multiplier is None):
            raise RunError("for DP give exactly one of a noise multiplier (--noise-multiplier) or a per-round "
                           "target epsilon (--target-epsilon)")
        outside = sorted(r for r in set(self.rounds) if not 1 <= r <= run_rounds)
        if outside:
            raise RunError(f"DP round(s) {outside} are not among the run's rounds 1..{run_rounds}; check --dp-rounds")


@dataclass(frozen=True)
class RunConfig:
    """What `flep round run` runs.

    Attributes:
        analysts: Number of analysts (one agent process and one dataset each).
        rounds: Rounds to run.
        min_participants: Fewest updates a round needs (default: a majority of the analysts).
        model: Model of the training plan.
        paillier_bits: Paillier modulus size.
        samples_per_analyst: Digits per analyst's dataset (0: an equal share of the training split).
        local_epochs: Local epochs per round.
        round_seconds: Each round's deadline, from its opening.
        seed: Seed of the plan, the split and the partitions.
        passphrase: Keystore passphrase (default: ``FLEP_PASSPHRASE``, else a random one for this run).
        revoke_after_round: After this round, revoke the last analyst (role and model key) and rotate the key
            epoch (a new Paillier key pair from the key holder, or a new ceremony), so later rounds run without
            it (0: never).
        dp: Differential privacy of the plan, or ``None`` for rounds without DP.
        custodians: Under threshold custody, how many custodians share the key (0: a single key holder).
        threshold: How many custodians decrypt a round (with ``custodians``).
    """

    analysts: int = 3
    rounds: int = 1
    min_participants: int = 0
    model: str = "cnn"
    paillier_bits: int = 2048
    samples_per_analyst: int = 0
    local_epochs: int = 1
    round_seconds: int = 600
    seed: int = 0
    passphrase: str | None = field(default=None, repr=False)
    revoke_after_round: int = 0
    dp: DpRequest | None = None
    custodians: int = 0
    threshold: int = 0

    def check(self) -> None:
        """Refuse an inconsistent configuration before anything is set up.

        Raises:
            RunError: If the DP request is inconsistent, or the threshold is not within 1..custodians.
        """
        if self.dp is not None:
            self.dp.check(self.rounds)
        if (self.custodians or self.threshold) and not 1 <= self.threshold <= self.custodians:
            raise RunError(f"threshold {self.threshold} of {self.custodians} custodians: give --custodians N and "
                           "--threshold T with 1 <= T <= N")

    @property
    def decryptors(self) -> list[str]:
        """The parties that decrypt: the custodians, or the single key holder."""
        return [f"custodian-{i + 1}" for i in range(self.custodians)] if self.custodians else ["key holder"]


@dataclass(frozen=True)
class RoundReport:
    """One finished round, as read back from the chain and IPFS.

    ``dp`` is the round's DP record on chain (``epsilon``, ``delta``, ``noise_multiplier``, ``clip_norm``,
    ``accountant``; ``None`` without DP); ``cumulative_epsilon`` and ``cumulative_delta`` sum the records of the
    federation's finalized rounds up to this one (basic composition: an upper bound on what any one analyst
    spent, looser than the accountant's own composition); ``analyst_epsilon`` is what each analyst reported
    spending over its DP rounds so far (the accountant's composition, see
    :meth:`~registry.roles.agents.AnalystAgent.cumulative_epsilon`).
    """

    round: int
    status: str
    model_version: int
    model_cid: str
    accuracy: float | None
    included: int
    excluded: int
    gas: int
    seconds: float
    phase_seconds: dict[str, float]
    dp: dict[str, float | str] | None = None
    cumulative_epsilon: float = 0.0
    cumulative_delta: float = 0.0
    analyst_epsilon: dict[str, float] = field(default_factory=dict)
    submitted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    custodians: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """A whole run: where it ran, each round's report, the DP section of its plan (``None``: no DP), and the
    agent processes that exited before the run ended (name -> exit code)."""

    registry_address: str
    federation_id: int
    directory: str
    rounds: tuple[RoundReport, ...]
    revoked: str = ""
    revoked_reads_latest_model: str = ""
    dp: DpPlan | None = None
    exited: dict[str, int] = field(default_factory=dict)


def run_rounds(registry_address: str, rpc: ModelRegistry, store: ArtifactStore, home: Path, faucet,
               config: RunConfig, progress=lambda line: None) -> RunResult:
    """Set up keystores and a federation, start the agents, run ``config.rounds`` rounds, stop the agents.

    Args:
        registry_address: The deployed registry.
        rpc: The registry acting as its operator (it creates the federation; each party then signs with its
            own keystore).
        store: The verified IPFS store.
        home: The devnet home (the run's directory is created under ``home/runs``).
        faucet: A funded ``LocalAccount`` (the devnet's first development account).
        config: What to run.
        progress: Called with each agent's JSON line and the runner's own events.

    Raises:
        RunError: If the DP request is inconsistent, a round neither finalizes nor aborts in time, or the
            aggregator's or key holder's process dies (its round is aborted at the deadline first). A dead
            analyst process is a dropout, not an error: see ``RoundReport.missing`` and ``RunResult.exited``.
        DPConfigError: If no noise multiplier reaches the target ε.
    """
    prepared = prepare_run(rpc, store, home, faucet, config, progress)
    setup, keystores = prepared.setup, prepared.keystores
    agents = start_agents(registry_address, home, prepared.directory, keystores, setup.federation_id,
                          prepared.passphrase, progress)
    agents.threshold = config.threshold
    reports, revoked = [], ""
    try:
        agents.wait_ready(AGENT_START_SECONDS)
        progress({"party": "runner", "action": "every agent is ready"})
        for number in range(1, config.rounds + 1):
            reports.append(_run_one(setup, rpc, store, config, agents, progress))
            if number == config.revoke_after_round:
                revoked = _revoke_and_rotate(setup, rpc, store, keystores, config, progress)
    finally:
        agents.stop()
    outcome = _revoked_reads(setup, rpc, store, keystores, revoked) if revoked else ""
    return RunResult(registry_address, setup.federation_id, str(prepared.directory), tuple(reports), revoked,
                     outcome, setup.plan.dp, dict(agents.exited))


@dataclass(frozen=True)
class PreparedRun:
    """A federation set up for a run: its directory (keystores and logs), every party's keystore by name, the
    keystores' passphrase, and the admin's view of the federation."""

    directory: Path
    keystores: dict[str, Keystore]
    passphrase: str = field(repr=False)
    setup: RunSetup


def prepare_run(rpc: ModelRegistry, store: ArtifactStore, home: Path, faucet, config: RunConfig,
                progress=lambda line: None) -> PreparedRun:
    """Check ``config``, make a keystore and a funded account per party under ``home/runs``, and set up the
    federation as its admin and data owner (roles, key epoch, plan, datasets, sealed codec keys).

    Raises:
        RunError: If ``config`` is inconsistent.
        DPConfigError: If no noise multiplier reaches the target ε.
    """
    config.check()
    passphrase = config.passphrase or os.environ.get(PASSPHRASE_ENV) or secrets.token_urlsafe(24)
    directory = home / "runs" / time.strftime("run-%Y%m%d-%H%M%S")
    directory.mkdir(parents=True, exist_ok=False)
    parties = ["admin", "owner", "aggregator", *config.decryptors] + [f"analyst-{i + 1}" for i in range(config.analysts)]
    keystores = {p: Keystore.create(directory / "keystores" / p.replace(" ", "-"), passphrase) for p in parties}
    fund_accounts(rpc.w3, faucet, [k.address for k in keystores.values()], FUNDING_WEI)
    return PreparedRun(directory, keystores, passphrase, _set_up(rpc, store, keystores, config, progress))


def _revoke_and_rotate(setup: RunSetup, rpc: ModelRegistry, store: ArtifactStore, keystores: dict[str, Keystore],
                       config: RunConfig, progress) -> str:
    """Admin removes the last analyst; the key holder makes a new key pair; the admin starts the next epoch."""
    name = f"analyst-{config.analysts}"
    revoked = keystores[name].address
    setup.admin.remove_analyst(revoked)
    epoch = _start_epoch(setup.admin.context, keystores, config, setup.plan.encoding)
    progress({"party": "runner", "action": f"revoked {name} ({revoked}); key epoch {epoch} started, its model "
                                            "key goes to the remaining analysts only"})
    return name


def _revoked_reads(setup: RunSetup, rpc: ModelRegistry, store: ArtifactStore, keystores: dict[str, Keystore],
                   name: str) -> str:
    """What the revoked analyst gets when it tries to read the latest model with its own keystore."""
    fid = setup.federation_id
    context = FederationContext(rpc.as_account(keystores[name].account), store, fid)
    latest = rpc.federation(fid).model_version_count
    epoch = rpc.round(fid, rpc.model_version(fid, latest).round).key_epoch
    try:
        model_params(context, latest, lambda e: open_grant(context, keystores[name], KeyKind.MODEL_KEY, epoch=e))
    except (GrantError, ModelSealError) as exc:
        return f"refused: {exc}"
    return f"READ model v{latest} (epoch {epoch}): the revocation did not take effect"


@dataclass
class RunSetup:
    """The admin's view of the run's federation, its plan, and each party's name by account."""

    admin: Admin
    federation_id: int
    plan: TrainingPlan
    names: dict[str, str]  # account -> party name


def _set_up(rpc: ModelRegistry, store: ArtifactStore, keystores: dict[str, Keystore], config: RunConfig,
            progress) -> RunSetup:
    """Admin and data owner: federation, roles, key epoch, plan, datasets and sealed codec keys."""
    party = {name: rpc.as_account(k.account) for name, k in keystores.items()}
    minimum = config.min_participants or config.analysts // 2 + 1
    admin, _ = Admin.create_federation(rpc, store, party["admin"], minimum, CodecKeyPolicy.PER_DATA_OWNER)
    fid, context = admin.federation_id, admin.context
    analysts = [n for n in keystores if n.startswith("analyst-")]
    admin.admit(Role.DATA_OWNER, party["owner"].account)
    admin.admit(Role.AGGREGATOR, party["aggregator"].account)
    for name in analysts:
        admin.admit(Role.ANALYST, party[name].account)
    for name in analysts + config.decryptors:
        publish_encryption_key(party[name], keystores[name])
    encoding = EncodingParams(clip_bound=1.0, value_bits=16, max_clients=max(10, config.analysts), max_weight=1024)
    _start_epoch(context, keystores, config, encoding)
    plan = TrainingPlan.sized(config.model, config.seed, encoding, local_epochs=config.local_epochs)
    train, shares = _shares(config)
    if config.dp is not None:
        dp_plan = _dp_plan(config.dp, plan, min(len(s) for s in shares))
        dp_plan.validate()
        plan = replace(plan, dp=dp_plan)
    publish_plan(context, plan)
    _publish_datasets(FederationContext(party["owner"], store, fid), party, analysts, train, shares)
    dp = "" if plan.dp is None else (f", DP sigma {plan.dp.noise_multiplier:g} C {plan.dp.clip_norm:g} in rounds "
                                     f"{', '.join(map(str, plan.dp.rounds)) or 'all'}")
    progress({"party": "runner", "action": f"federation {fid} set up: {len(analysts)} analysts, "
                                            f"min {minimum}, {config.paillier_bits}-bit Paillier, {config.model}{dp}"})
    return RunSetup(admin, fid, plan, {k.address: name for name, k in keystores.items()})


def _start_epoch(admin: FederationContext, keystores: dict[str, Keystore], config: RunConfig,
                 encoding: EncodingParams) -> int:
    """The next key epoch: a key pair the key holder makes, or a ceremony dealing it to the custodians."""
    if not config.custodians:
        return start_epoch_with_new_key(admin, keystores["key holder"], encoding, config.paillier_bits)
    custodians = [keystores[name].address for name in config.decryptors]
    return run_ceremony(admin, custodians, config.threshold, encoding, config.paillier_bits).epoch


def _dp_plan(request: DpRequest, plan: TrainingPlan, smallest: int) -> DpPlan:
    """The plan's DP section for a checked ``request``; σ for a target ε is sized for one round of local
    training on ``smallest`` samples (the analyst that spends the most per round).

    Raises:
        DPConfigError: If no σ reaches the target.
    """
    sigma = request.noise_multiplier
    if request.target_epsilon is not None:
        batches = math.ceil(smallest / min(plan.batch_size, smallest))
        sigma = noise_for_epsilon(request.target_epsilon, request.delta, 1.0 / batches,
                                  batches * plan.local_epochs, request.accountant)
        sigma = round(math.ceil(sigma / MIN_DP_VALUE) * MIN_DP_VALUE, 6)  # up: ε only shrinks
    return DpPlan(sigma, request.clip_norm, request.delta, request.accountant, tuple(sorted(set(request.rounds))))


def _shares(config: RunConfig) -> tuple[LabelledData, list[np.ndarray]]:
    """The digits training split and each analyst's indices into it."""
    train, _ = split_train_test(load_digits_data(), 0.2, seed=config.seed)
    shares = partition_iid(len(train), config.analysts, seed=config.seed)
    if config.samples_per_analyst:
        shares = [indices[:config.samples_per_analyst] for indices in shares]
    return train, shares


def _publish_datasets(owner: FederationContext, party: dict[str, ModelRegistry], analysts: list[str],
                      train: LabelledData, shares: list[np.ndarray]) -> None:
    """One digit sheet per analyst, each under its own codec key granted sealed to that analyst only."""
    for name, indices in zip(analysts, shares):
        publish_dataset(owner, render_sheet(train.subset(indices)), len(indices), [party[name].account])


class Agents:
    """The agent processes, the threads reading their JSON lines, and which processes exited."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen] = {}
        self.actions: list[dict] = []
        self.exited: dict[str, int] = {}
        self.threshold = 0  # under threshold custody: custodians a round needs
        self._lock = threading.Lock()

    def record(self, line: dict) -> None:
        with self._lock:
            self.actions.append(line)

    def since(self, index: int) -> list[dict]:
        with self._lock:
            return list(self.actions[index:])

    def newly_exited(self) -> dict[str, int]:
        """Processes found exited since the last look (name -> exit code)."""
        found = {n: p.returncode for n, p in self.processes.items() if n not in self.exited and p.poll() is not None}
        self.exited.update(found)
        return found

    def wait_ready(self, timeout: float) -> None:
        """Wait until every agent reported ``ready`` or exited, so that no round's deadline runs while its
        parties are still loading; after ``timeout`` the rounds start anyway (a slow agent is then a dropout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = {a["party"] for a in self.since(0) if a.get("action") == "ready"}
            if all(name in ready or process.poll() is not None for name, process in self.processes.items()):
                return
            time.sleep(0.1)

    def essential_exited(self) -> list[str]:
        """Exited parties without whom no round finishes: the aggregator, the key holder, or so many custodians
        that fewer than the threshold are left."""
        gone = [n for n in self.exited if not n.startswith(("analyst-", "custodian-"))]
        custodians = [n for n in self.processes if n.startswith("custodian-")]
        dead = [n for n in custodians if n in self.exited]
        if custodians and len(custodians) - len(dead) < self.threshold:
            gone += dead
        return gone

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_agents(registry_address: str, home: Path, directory: Path, keystores: dict[str, Keystore], fid: int,
                 passphrase: str, progress) -> Agents:
    """Start a ``flep agent`` process for every party in ``keystores`` that has an agent role (aggregator, key
    holder, custodians, analysts), each reading its keystore with ``passphrase`` from its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEP_")}
    env.update({"FLEP_HOME": str(home), "FLEP_REGISTRY_ADDRESS": registry_address, PASSPHRASE_ENV: passphrase,
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    agents = Agents()
    roles = {"aggregator": "aggregator", "key holder": "keyholder"}
    roles.update({n: "custodian" for n in keystores if n.startswith("custodian-")})
    roles.update({n: "analyst" for n in keystores if n.startswith("analyst-")})
    for name, role in roles.items():
        if name not in keystores:
            continue
        log = open(directory / f"{name.replace(' ', '-')}.log", "wb")  # noqa: SIM115 - lives as long as the process
        process = subprocess.Popen(
            [sys.executable, "-m", "registry", "agent", role, "--keystore", str(keystores[name].directory),
             "--federation", str(fid), "--json", "--poll", "0.5"],
            stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True,
        )
        agents.processes[name] = process
        threading.Thread(target=_read_lines, args=(name, process, agents, progress), daemon=True).start()
    return agents


def _read_lines(name: str, process: subprocess.Popen, agents: Agents, progress) -> None:
    for raw in process.stdout:
        try:
            line = {**json.loads(raw), "party": name}  # the process name (analyst-1, ...) over its role
        except json.JSONDecodeError:
            continue
        agents.record(line)
        progress(line)


def _run_one(setup: RunSetup, rpc: ModelRegistry, store: ArtifactStore, config: RunConfig, agents: Agents,
             progress) -> RoundReport:
    fid = setup.federation_id
    seen = len(agents.since(0))
    started = time.perf_counter()
    opened = setup.admin.open_round(config.round_seconds)
    round_ = opened.value
    progress({"party": "runner", "action": f"opened round {round_}", "round": round_})
    limit = time.monotonic() + config.round_seconds + 60
    while True:
        for name, code in agents.newly_exited().items():
            essential = name in agents.essential_exited()
            progress({"party": "runner", "round": round_, "error": f"{name} exited with code {code}; " + (
                "the round cannot finish and is aborted at its deadline" if essential else
                "a dropout: the round goes on with the others")})
        try:
            stored = _settle(setup, round_, abort_now=bool(agents.essential_exited()))
        except CHAIN_OUTAGES as exc:  # a restarting node: the chain keeps the round, look again
            progress({"party": "runner", "round": round_, "error": f"chain unreachable ({exc}); retrying"})
            stored = None
        if stored is not None and stored.status in (RoundStatus.FINALIZED, RoundStatus.ABORTED):
            break
        if time.monotonic() > limit:
            raise RunError(f"round {round_} of federation {fid} did not finish in {config.round_seconds + 60} s")
        time.sleep(0.5)
    if agents.essential_exited() and stored.status != RoundStatus.FINALIZED:  # gone after finalizing: next round
        raise RunError(f"{', '.join(sorted(agents.essential_exited()))} exited: round {round_} was aborted at its "
                       "deadline with nothing published; see the logs in the run directory")
    if stored.status == RoundStatus.FINALIZED:
        # The chain can show the round finalized before the key holder's report line is read: wait for it, so
        # the round's phases and gas are complete.
        reported = time.monotonic() + 15
        while time.monotonic() < reported and not any(
                a.get("round") == round_ and str(a.get("action", "")).startswith("finalized")
                for a in agents.since(seen)):
            time.sleep(0.05)
    actions = [a for a in agents.since(seen) if a.get("round") == round_]
    return round_report(setup, rpc, store, round_, actions, opened.gas_used, time.perf_counter() - started)


def round_report(setup: RunSetup, rpc: ModelRegistry, store: ArtifactStore, round_: int, actions: list[dict],
                 gas: int, seconds: float) -> RoundReport:
    """Round ``round_``'s report, read back from the chain and IPFS once it finalized or aborted.

    Args:
        setup: The run's federation.
        rpc: The registry (any account).
        store: The verified IPFS store.
        round_: The round.
        actions: The parties' actions in this round (``party``, ``action``, ``seconds``, ``gas_used``,
            ``epsilon``), for its phases, gas and the analysts' reported ε.
        gas: Gas spent in the round outside ``actions`` (opening it).
        seconds: The round's wall time.
    """
    fid = setup.federation_id
    stored = rpc.round(fid, round_)
    phases: dict[str, float] = {}
    for action in actions:
        key = _phase(action)
        phases[key] = max(phases.get(key, 0.0), float(action.get("seconds", 0.0)))
    gas += sum(int(a.get("gas_used", 0)) for a in actions)
    dp, epsilon, delta = _recorded_dp(rpc, fid, round_)
    if stored.status != RoundStatus.FINALIZED:
        return RoundReport(round_, "aborted", 0, "", None, 0, 0, gas, seconds, phases,
                           None, epsilon, delta, {}, *_who_submitted(setup, rpc, round_))
    version = rpc.model_version(fid, stored.model_version)
    model = rpc.artifact(version.global_model_artifact)
    report = json.loads(FederationContext(rpc, store, fid).fetch_verified(rpc.artifact(version.metrics_artifact)))
    excluded = rpc.events(events.UpdateExcluded, federation_id=fid, round=round_)
    submitted, missing = _who_submitted(setup, rpc, round_)
    spent = {a["party"]: float(a["epsilon"]) for a in actions if a.get("epsilon") is not None}
    used = tuple(setup.names.get(to_checksum_address(a), a) for a in report.get("custodians", []))
    return RoundReport(round_, "finalized", stored.model_version, model.cid, report.get("accuracy"),
                       stored.included_count, len(excluded), gas, seconds, phases,
                       dp, epsilon, delta, spent, submitted, missing, used)


def _phase(action: dict) -> str:
    """Which phase of a round an agent's action belongs to (an action may name its own ``phase``)."""
    if "phase" in action:
        return str(action["phase"])
    party = str(action["party"])
    if party.startswith("analyst"):
        return "train+encrypt+submit"
    if party.startswith("custodian"):
        return "combine+finalize" if str(action.get("action", "")).startswith("finalized") else "partial decrypt"
    return {"aggregator": "aggregate", "key holder": "decrypt+finalize"}.get(party, party)


def _recorded_dp(rpc: ModelRegistry, fid: int, round_: int) -> tuple[dict[str, float | str] | None, float, float]:
    """Round ``round_``'s DP record from its ``RoundFinalized`` event (``None`` without DP or when it was not
    finalized), and the plain sums of ε and δ over the federation's finalized rounds up to it (basic
    composition)."""
    finalized = [f for f in rpc.events(events.RoundFinalized, federation_id=fid) if f.round <= round_]
    epsilon = math.fsum(f.dp.epsilon for f in finalized if f.dp.enabled)
    delta = math.fsum(f.dp.delta for f in finalized if f.dp.enabled)
    this = next((f.dp for f in finalized if f.round == round_), DpParameters.none())
    if not this.enabled:
        return None, epsilon, delta
    record = {"epsilon": this.epsilon, "delta": this.delta, "noise_multiplier": this.noise_multiplier,
              "clip_norm": this.clip_norm, "accountant": this.accountant}
    return record, epsilon, delta


def _settle(setup: RunSetup, round_: int, abort_now: bool):
    """The round's record, after the admin aborted it if its deadline passed (30 s grace) without the aggregator
    closing it, or, with ``abort_now`` (a party no round can finish without is gone), at its deadline whatever
    its state."""
    admin = setup.admin
    admin.abort_if_expired(round_, grace_seconds=30)
    stored = admin.context.registry.round(setup.federation_id, round_)
    live = stored.status in (RoundStatus.OPEN, RoundStatus.AGGREGATING)
    if abort_now and live and chain_now(admin.context.registry) > stored.deadline:
        admin.context.registry.abort_round(setup.federation_id, round_,
                                           "the aggregator, the key holder or too many custodians are gone")
        stored = admin.context.registry.round(setup.federation_id, round_)
    return stored


def _who_submitted(setup: RunSetup, rpc: ModelRegistry, round_: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Party names of the round's submitters, and of the current analysts that submitted nothing."""
    fid = setup.federation_id
    submitters = {u.analyst for u in rpc.round_updates(fid, round_)}
    current = current_analysts(setup.admin.context)
    return (tuple(sorted(setup.names.get(a, a) for a in submitters)),
            tuple(sorted(setup.names.get(a, a) for a in current if a not in submitters)))
