"""The federation's training plan: what every party needs to know beyond keys, registered on chain by the
admin (artifact kind ``FederationConfig``) so that agents derive it from the chain, never from a flag.

The plan's encoding parameters must digest to the current key epoch's registered encoding digest, so a plan
cannot silently change the slot layout the key holder decrypts with. Its optional DP section says which rounds
analysts train with Opacus DP-SGD and with which σ, C, δ and accountant; :meth:`TrainingPlan.dp_epsilon` is the
privacy accounting every party derives from it.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from clients.fl import DPConfig, DPConfigError, build_model, get_flat_params
from clients.he import EncodingParams, InvalidParametersError, encoding_digest
from registry.chain import ArtifactKind, Tx
from registry.roles.context import FederationContext, as_input
from registry.roles.errors import RoleError

PLAN_FORMAT = "flep-training-plan-v1"
MAX_PLAN_BYTES = 64 << 10
MIN_DP_VALUE = 1e-6  # σ and C are recorded on chain in millionths


class PlanError(RoleError):
    """The federation has no usable training plan on chain."""


@dataclass(frozen=True)
class DpPlan:
    """The federation's differential privacy: DP-SGD settings of every analyst in the rounds they apply to.

    Attributes:
        noise_multiplier: σ, the Gaussian noise std relative to ``clip_norm`` (>= 1e-6).
        clip_norm: C, the per-sample gradient clipping bound (>= 1e-6).
        delta: δ of every (ε, δ) statement, in (0, 1).
        accountant: Opacus accountant, ``rdp`` or ``prv``.
        rounds: The rounds analysts train with DP-SGD, ascending; empty means every round.
    """

    noise_multiplier: float
    clip_norm: float = 1.0
    delta: float = 1e-5
    accountant: str = "rdp"
    rounds: tuple[int, ...] = ()

    def applies_to(self, round_: int) -> bool:
        """Whether analysts train round ``round_`` with DP-SGD."""
        return not self.rounds or round_ in self.rounds

    def config(self) -> DPConfig:
        """The settings as :class:`clients.fl.DPConfig` (what :class:`clients.fl.FLClient` trains with)."""
        return DPConfig(self.noise_multiplier, self.clip_norm, self.delta, self.accountant)

    def validate(self) -> None:
        """Check the section before anyone trains with it.

        Raises:
            PlanError: For σ or C below the chain's precision (1e-6), a δ or accountant
                :class:`clients.fl.DPConfig` refuses, or rounds that are not ascending round numbers >= 1.
        """
        try:
            self.config().validate()
        except DPConfigError as exc:
            raise PlanError(f"the training plan's DP section is not valid: {exc}") from exc
        if not (self.noise_multiplier >= MIN_DP_VALUE and self.clip_norm >= MIN_DP_VALUE):
            raise PlanError(f"the training plan's DP noise multiplier {self.noise_multiplier} and clip norm "
                            f"{self.clip_norm} must be at least {MIN_DP_VALUE:g}, the chain's precision "
                            "(σ = 0 protects nothing; drop the DP section for rounds without DP)")
        if any(r < 1 for r in self.rounds) or list(self.rounds) != sorted(set(self.rounds)):
            raise PlanError(f"the training plan's DP rounds {list(self.rounds)} must be ascending round numbers >= 1")


@dataclass(frozen=True)
class TrainingPlan:
    """How the federation trains.

    Attributes:
        model: Model name for :func:`clients.fl.build_model` (``cnn``, ``mlp``, ...).
        seed: Seed of the initial model (version 0 is ``build_model(model, seed)``) and of local training.
        num_values: Length of the model's flat parameter vector (every update must have it).
        sample_shape: Shape of one input sample (``[1, 8, 8]`` for digit sheets).
        num_classes: Number of classes.
        encoding: The packed-Paillier encoding parameters (their digest is registered with the key epoch).
        local_epochs: Local epochs per round.
        lr: Local learning rate.
        batch_size: Local batch size.
        evaluation: Public evaluation data the key holder scores each model on (``digits-test``: the held-out
            20 % of scikit-learn's digits split with ``seed``), or empty for none.
        dp: Differential privacy of the rounds it names, or ``None`` for no DP in any round.
    """

    model: str
    seed: int
    num_values: int
    sample_shape: tuple[int, ...] = (1, 8, 8)
    num_classes: int = 10
    encoding: EncodingParams = field(default_factory=EncodingParams)
    local_epochs: int = 1
    lr: float = 0.05
    batch_size: int = 32
    evaluation: str = "digits-test"
    dp: DpPlan | None = None

    @classmethod
    def sized(cls, model: str, seed: int, encoding: EncodingParams, **fields: Any) -> TrainingPlan:
        """A plan whose ``num_values`` is the parameter count of ``model`` (built for the plan's sample shape)."""
        probe = cls(model=model, seed=seed, num_values=1, encoding=encoding, **fields)
        return cls(model=model, seed=seed, num_values=int(initial_params(probe).size), encoding=encoding, **fields)

    def dp_applies(self, round_: int) -> bool:
        """Whether analysts train round ``round_`` with DP-SGD."""
        return self.dp is not None and self.dp.applies_to(round_)

    def dp_epsilon(self, round_samples: Sequence[int]) -> float:
        """The accountant's ε, at the plan's δ, of one analyst that trained one DP round per entry of
        ``round_samples`` on that many samples, composed over all of them.

        One round is exactly what :class:`clients.fl.FLClient` records: ``local_epochs`` passes of
        ``ceil(n / min(batch_size, n))`` DP-SGD steps, each at Poisson sampling rate one over that number, with
        noise σ. The steps are replayed into a fresh Opacus accountant of the plan's kind, so a single round
        gives the ε the analyst's own Opacus engine reports after training it.

        Raises:
            PlanError: If the plan has no DP section or a sample count is below 1.
        """
        if self.dp is None:
            raise PlanError("the training plan has no DP section; there is no privacy spend to account for")
        if any(n < 1 for n in round_samples):
            raise PlanError(f"sample counts {list(round_samples)} must be >= 1 for DP accounting")
        if not round_samples:
            return 0.0
        history = []
        for samples in round_samples:
            batches = math.ceil(samples / min(self.batch_size, samples))
            history.append((self.dp.noise_multiplier, 1.0 / batches, batches * self.local_epochs))
        from opacus.accountants import create_accountant  # Opacus is slow to import: only DP plans load it

        accountant = create_accountant(self.dp.accountant)
        accountant.load_state_dict({"history": history, "mechanism": accountant.mechanism()})
        with warnings.catch_warnings():
            # As clients.fl.FLClient.epsilon: an optimal RDP order at the edge over-reports ε, which is safe.
            warnings.filterwarnings("ignore", message="Optimal order is the (largest|smallest) alpha")
            return float(accountant.get_epsilon(self.dp.delta))

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys), the bytes registered on chain."""
        body: dict[str, Any] = {"format": PLAN_FORMAT, **asdict(self)}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainingPlan:
        """Parse a registered plan.

        Raises:
            PlanError: If the bytes are not a valid plan of this format.
        """
        try:
            body = json.loads(data)
            if not isinstance(body, dict) or body.pop("format", None) != PLAN_FORMAT:
                raise ValueError(f"not a {PLAN_FORMAT} document")
            encoding = EncodingParams(**body.pop("encoding"))
            shape = tuple(int(d) for d in body.pop("sample_shape"))
            dp = _dp_from_json(body.pop("dp", None))
            plan = cls(encoding=encoding, sample_shape=shape, dp=dp, **body)
            if plan.dp is not None:
                plan.dp.validate()
        except (ValueError, TypeError, KeyError, InvalidParametersError) as exc:
            raise PlanError(f"the registered training plan is not valid: {exc}") from exc
        if plan.num_values < 1 or plan.local_epochs < 1 or plan.batch_size < 1 or not plan.lr > 0:
            raise PlanError("the registered training plan has non-positive sizes or learning rate")
        return plan


def _dp_from_json(value: Any) -> DpPlan | None:
    """The DP section of a plan document (``null`` or absent: no DP).

    Raises:
        ValueError, TypeError: If it is not an object of :class:`DpPlan` fields with integer rounds.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"the DP section must be an object, got {type(value).__name__}")
    rounds = value.pop("rounds", [])
    if not isinstance(rounds, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in rounds):
        raise ValueError(f"the DP rounds must be a list of integers, got {rounds!r}")
    return DpPlan(rounds=tuple(rounds), **value)


def initial_params(plan: TrainingPlan) -> np.ndarray:
    """Version 0: the plan's model built from its seed."""
    model = build_model(plan.model, plan.sample_shape, plan.num_classes, seed=plan.seed)
    return get_flat_params(model).astype(np.float64)


def publish_plan(context: FederationContext, plan: TrainingPlan) -> Tx[int]:
    """Upload the plan and register it (caller: the federation admin); the value is its artifact id."""
    stored = context.store.put_bytes(plan.to_bytes())
    artifact = as_input(stored)
    return context.registry.register_artifact(context.federation_id, ArtifactKind.FEDERATION_CONFIG, artifact)


def current_plan(context: FederationContext) -> TrainingPlan:
    """The latest plan the federation's admin registered, verified against the chain and the key epoch.

    Raises:
        PlanError: If none is registered, or its encoding is not the current key epoch's.
    """
    registry, fid = context.registry, context.federation_id
    plans = [a for a in registry.artifacts(federation_id=fid, round_=0, from_block=context.from_block)
             if a.kind == ArtifactKind.FEDERATION_CONFIG]
    if not plans:
        raise PlanError(f"federation {fid} has no training plan on chain; the admin must publish one")
    record = plans[-1]
    if record.size > MAX_PLAN_BYTES:
        raise PlanError(f"the training plan #{record.artifact_id} is {record.size} B, more than {MAX_PLAN_BYTES}")
    plan = TrainingPlan.from_bytes(context.fetch_verified(record))
    epoch = registry.federation(fid).key_epoch
    if epoch and registry.key_epoch(fid, epoch).encoding_digest != encoding_digest(plan.encoding):
        raise PlanError(
            f"the training plan #{record.artifact_id} uses other encoding parameters than key epoch {epoch} "
            "registered; the admin must publish a plan matching the epoch"
        )
    return plan
