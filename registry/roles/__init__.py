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
    threshold:   :func:`run_ceremony` (the admin deals), :class:`Custodian`, :func:`epoch_custodians`,
                 :func:`threshold_decryption` (combining the registered partials, for custodians and auditors)
    agents:      :class:`AnalystAgent`, :class:`AggregatorAgent`, :class:`KeyHolderAgent`, :class:`CustodianAgent`
    auditor:     :class:`Auditor` (:class:`Verification` of :class:`Check` s; the audit queries'
                 :class:`Lineage`, :class:`TimelineEntry` and :class:`AccessEntry`); for long-lived readers
                 :class:`VerifiedContents` (verified bytes by content) and :class:`ChainFacts`
    key custody: :func:`publish_encryption_key`, :func:`grant_sealed`, :func:`open_grant` (sealed grants),
                 :func:`new_model_key`, :func:`seal_model`, :func:`open_model`, :func:`model_params` (models
                 under the model key)
    errors:      :class:`RoleError` and its subclasses
"""

from registry.roles.admin import Admin, Removal
from registry.roles.agents import AgentAction, AggregatorAgent, AnalystAgent, CustodianAgent, KeyHolderAgent
from registry.roles.aggregator import AggregateResult, Aggregator, ExcludedUpdate
from registry.roles.analyst import Analyst, NoGrantedDataError, SubmittedUpdate
from registry.roles.auditor import (
    AccessEntry,
    AuditedArtifact,
    Auditor,
    ChainFacts,
    Check,
    Lineage,
    LineageDataset,
    LineagePartial,
    LineageRound,
    LineageUpdate,
    Recorded,
    TimelineEntry,
    Verification,
)
from registry.roles.context import DEFAULT_MAX_UPDATE_BYTES, EpochKeys, FederationContext, as_input, fund_accounts
from registry.roles.custodian import Ceremony, Custodian, CustodianError, member_model_key, run_ceremony
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
from registry.roles.key_holder import KeyHolder, RoundReview, RoundReviewer
from registry.roles.partials import (
    EpochCustodians,
    PartialSealError,
    RejectedCustodian,
    ThresholdCustodyError,
    ThresholdDecryption,
    epoch_custodians,
    threshold_decryption,
)
from registry.roles.models import ModelSealError, model_params, new_model_key, open_model, seal_model
from registry.roles.plan import PlanError, TrainingPlan, current_plan, publish_plan
from registry.roles.review import UpdateAssessment, assess_round, assess_update
from registry.roles.verified_cache import VerifiedContents

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
    "ChainFacts",
    "Ceremony",
    "ChainMismatchError",
    "Check",
    "Custodian",
    "CustodianAgent",
    "CustodianError",
    "CustodyError",
    "DEFAULT_MAX_UPDATE_BYTES",
    "EpochCustodians",
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
    "LineagePartial",
    "LineageRound",
    "LineageUpdate",
    "ModelSealError",
    "NoGrantedDataError",
    "PartialSealError",
    "PlanError",
    "PublishedDataset",
    "Recorded",
    "RejectedCustodian",
    "Removal",
    "RoleError",
    "RoundDisputedError",
    "RoundNotReadyError",
    "RoundReview",
    "RoundReviewer",
    "SubmittedUpdate",
    "ThresholdCustodyError",
    "ThresholdDecryption",
    "TimelineEntry",
    "TooFewUsableUpdatesError",
    "TrainingPlan",
    "UpdateAssessment",
    "Verification",
    "VerifiedContents",
    "as_input",
    "assess_round",
    "assess_update",
    "current_plan",
    "epoch_custodians",
    "fund_accounts",
    "grant_sealed",
    "hand_over",
    "member_model_key",
    "model_params",
    "new_model_key",
    "open_grant",
    "open_model",
    "publish_dataset",
    "publish_encryption_key",
    "publish_plan",
    "record_hand_over",
    "registered_encryption_key",
    "run_ceremony",
    "seal_model",
    "start_epoch_with_new_key",
    "take_custody",
    "threshold_decryption",
]
