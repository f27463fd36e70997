"""The round roles: each composes the chain bindings, the verified store and the client libraries, returns
results and never prints.

Public surface:
    shared:      :class:`FederationContext` (one verified fetch for every role), :class:`EpochKeys`
    reviewers:   :func:`assess_update`, :func:`assess_round`, :class:`UpdateAssessment`
    aggregator:  :class:`Aggregator` (no private key)
    key holder:  :class:`KeyHolder`
    auditor:     :class:`Auditor` (:class:`Verification` of :class:`Check` s; the audit queries'
                 :class:`Lineage`, :class:`TimelineEntry` and :class:`AccessEntry`)
    key custody: :func:`publish_encryption_key`, :func:`grant_sealed`, :func:`open_grant` (sealed grants),
                 :func:`new_model_key`, :func:`seal_model`, :func:`open_model` (models under the model key)
    errors:      :class:`RoleError` and its subclasses
"""

from registry.roles.aggregator import AggregateResult, Aggregator, ExcludedUpdate
from registry.roles.auditor import (
    AccessEntry,
    AuditedArtifact,
    Auditor,
    Check,
    Lineage,
    LineageDataset,
    LineageRound,
    LineageUpdate,
    Recorded,
    TimelineEntry,
    Verification,
)
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, EpochKeys, FederationContext, as_input
from registry.roles.data_owner import PublishedDataset, publish_dataset
from registry.roles.errors import (
    ChainMismatchError,
    RoleError,
    RoundDisputedError,
    RoundNotReadyError,
    TooFewUsableUpdatesError,
)
from registry.roles.grants import (
    GrantError,
    GrantResult,
    grant_sealed,
    open_grant,
    publish_encryption_key,
    registered_encryption_key,
)
from registry.roles.key_holder import KeyHolder, RoundReview
from registry.roles.models import ModelSealError, new_model_key, open_model, seal_model
from registry.roles.plan import PlanError, TrainingPlan, current_plan, publish_plan
from registry.roles.review import UpdateAssessment, assess_round, assess_update

__all__ = [
    "AccessEntry",
    "AggregateResult",
    "Aggregator",
    "AuditedArtifact",
    "Auditor",
    "Check",
    "ChainMismatchError",
    "DEFAULT_MAX_UPDATE_BYTES",
    "EpochKeys",
    "ExcludedUpdate",
    "FederationContext",
    "GrantError",
    "GrantResult",
    "KeyHolder",
    "Lineage",
    "LineageDataset",
    "LineageRound",
    "LineageUpdate",
    "ModelSealError",
    "PublishedDataset",
    "PlanError",
    "Recorded",
    "RoleError",
    "RoundDisputedError",
    "RoundNotReadyError",
    "RoundReview",
    "TimelineEntry",
    "TooFewUsableUpdatesError",
    "TrainingPlan",
    "UpdateAssessment",
    "Verification",
    "as_input",
    "assess_round",
    "assess_update",
    "current_plan",
    "grant_sealed",
    "new_model_key",
    "open_grant",
    "open_model",
    "publish_dataset",
    "publish_encryption_key",
    "publish_plan",
    "registered_encryption_key",
    "seal_model",
]
