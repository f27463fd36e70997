"""The federation's training plan: what every party needs to know beyond keys, registered on chain by the
admin (artifact kind ``FederationConfig``) so that agents derive it from the chain, never from a flag.

The plan's encoding parameters must digest to the current key epoch's registered encoding digest, so a plan
cannot silently change the slot layout the key holder decrypts with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from clients.he import EncodingParams, InvalidParametersError, encoding_digest
from registry.chain import ArtifactInput, ArtifactKind, Tx
from registry.roles.context import FederationContext
from registry.roles.errors import RoleError

PLAN_FORMAT = "flep-training-plan-v1"
MAX_PLAN_BYTES = 64 << 10


class PlanError(RoleError):
    """The federation has no usable training plan on chain."""


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
            plan = cls(encoding=encoding, sample_shape=shape, **body)
        except (ValueError, TypeError, KeyError, InvalidParametersError) as exc:
            raise PlanError(f"the registered training plan is not valid: {exc}") from exc
        if plan.num_values < 1 or plan.local_epochs < 1 or plan.batch_size < 1 or not plan.lr > 0:
            raise PlanError("the registered training plan has non-positive sizes or learning rate")
        return plan


def publish_plan(context: FederationContext, plan: TrainingPlan) -> Tx[int]:
    """Upload the plan and register it (caller: the federation admin); the value is its artifact id."""
    stored = context.store.put_bytes(plan.to_bytes())
    artifact = ArtifactInput(stored.cid, bytes.fromhex(stored.sha256), stored.size)
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
