"""The round roles: each composes the chain bindings, the verified store and the client libraries, returns
results and never prints.

Public surface:
    shared:      :class:`FederationContext` (one verified fetch for every role), :class:`EpochKeys`,
                 :func:`fund_accounts`
    admin:       :class:`Admin` (members, rounds, removals), :func:`start_epoch_with_new_key`,
                 :class:`TrainingPlan`, :func:`publish_plan`
    data owner:  :func:`publish_dataset`
    analyst:     :class:`Analyst`
    reviewers:   :func:`assess_update`, :func:`assess_round`, :class:`UpdateAssessment`
    aggregator:  :class:`Aggregator` (no private key)
    key holder:  :class:`KeyHolder`; custody hand-over: :func:`hand_over`, :func:`record_hand_over`,
                 :func:`take_custody`
    agents:      :class:`AnalystAgent`, :class:`AggregatorAgent`, :class:`KeyHolderAgent`
    auditor:     :class:`Auditor` (:class:`Verification` of :class:`Check` s; the audit queries'
                 :class:`Lineage`, :class:`TimelineEntry` and :class:`AccessEntry`)
    key custody: :func:`publish_encryption_key`, :func:`grant_sealed`, :func:`open_grant` (sealed grants),
                 :func:`new_model_key`, :func:`seal_model`, :func:`open_model`, :func:`model_params` (models
                 under the model key)
    errors:      :class:`RoleError` and its subclasses
"""

from registry.roles.admin import Admin, Removal
from registry.roles.agents import AgentAction, AggregatorAgent, AnalystAgent, KeyHolderAgent
from registry.roles.aggregator import AggregateResult, Aggregator, ExcludedUpdate
from registry.roles.analyst import Analyst, NoGrantedDataError, SubmittedUpdate
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
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, EpochKeys, FederationContext, as_input, fund_accounts
from registry.roles.custody import CustodyError, HandOver, hand_over, record_hand_over, take_custody
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
from registry.roles.key_epochs import start_epoch_with_new_key
from registry.roles.key_holder import KeyHolder, RoundReview
from registry.roles.models import ModelSealError, model_params, new_model_key, open_model, seal_model
from registry.roles.plan import PlanError, TrainingPlan, current_plan, publish_plan
from registry.roles.review import UpdateAssessment, assess_round, assess_update

__all__ = [
    "AccessEntry",
    "Admin",
    "AgentAction",
    "AggregateResult",
    "Aggregator",
    "AggregatorAgent",
    "Analyst",
    "AnalystAgent",
    "AuditedArtifact",
    "Auditor",
    "ChainMismatchError",
    "Check",
    "CustodyError",
    "DEFAULT_MAX_UPDATE_BYTES",
    "EpochKeys",
    "ExcludedUpdate",
    "FederationContext",
    "GrantError",
    "GrantResult",
    "HandOver",
    "KeyHolder",
    "KeyHolderAgent",
    "Lineage",
    "LineageDataset",
    "LineageRound",
    "LineageUpdate",
    "ModelSealError",
    "NoGrantedDataError",
    "PlanError",
    "PublishedDataset",
    "Recorded",
    "Removal",
    "RoleError",
    "RoundDisputedError",
    "RoundNotReadyError",
    "RoundReview",
    "SubmittedUpdate",
    "TimelineEntry",
    "TooFewUsableUpdatesError",
    "TrainingPlan",
    "UpdateAssessment",
    "Verification",
    "as_input",
    "assess_round",
    "assess_update",
    "current_plan",
    "fund_accounts",
    "grant_sealed",
    "hand_over",
    "model_params",
    "new_model_key",
    "open_grant",
    "open_model",
    "publish_dataset",
    "publish_encryption_key",
    "publish_plan",
    "record_hand_over",
    "registered_encryption_key",
    "seal_model",
    "start_epoch_with_new_key",
    "take_custody",
]
