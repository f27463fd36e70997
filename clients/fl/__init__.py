"""Federated learning with optional differential privacy (PyTorch + Opacus).

Public surface: datasets and partitioners, Opacus-compatible models with flat
parameter vectors (what the HE layer encrypts), DP-SGD settings with a
per-client accountant, and a FedAvg simulation that takes any
:class:`clients.aggregation.Aggregator`.
"""

from clients.fl.client import FitResult, FLClient
from clients.fl.datasets import LabelledData, load_digits_data, split_train_test, standardize
from clients.fl.digit_sheets import read_sheet, render_sheet
from clients.fl.errors import (
    AggregationError,
    DatasetError,
    DPConfigError,
    FLError,
    ModelConfigError,
    ParameterShapeError,
    PartitionError,
    TrainingConfigError,
)
from clients.fl.evaluation import Metrics, evaluate
from clients.fl.mnist import load_mnist, read_idx
from clients.fl.models import MODEL_NAMES, build_model
from clients.fl.params import get_flat_params, num_parameters, set_flat_params
from clients.fl.partition import PARTITION_SCHEMES, partition_dirichlet, partition_iid, partition_indices
from clients.fl.privacy import ACCOUNTANT_LABELS, ACCOUNTANTS, DPConfig, check_dp_compatible, noise_for_epsilon
from clients.fl.simulation import (
    LocalOnlyResult,
    RoundRecord,
    SimulationConfig,
    SimulationResult,
    make_clients,
    run_centralized,
    run_federated,
    run_local_only,
)
from clients.fl.synthetic import IIOT_CLASSES, make_iiot_data
from clients.fl.training import OPTIMIZERS, TrainConfig, resolve_device

__all__ = [
    "read_sheet",
    "render_sheet",
    "ACCOUNTANTS",
    "ACCOUNTANT_LABELS",
    "AggregationError",
    "DPConfig",
    "DPConfigError",
    "DatasetError",
    "FLClient",
    "FLError",
    "FitResult",
    "IIOT_CLASSES",
    "LabelledData",
    "LocalOnlyResult",
    "MODEL_NAMES",
    "Metrics",
    "ModelConfigError",
    "OPTIMIZERS",
    "PARTITION_SCHEMES",
    "ParameterShapeError",
    "PartitionError",
    "RoundRecord",
    "SimulationConfig",
    "SimulationResult",
    "TrainConfig",
    "TrainingConfigError",
    "build_model",
    "check_dp_compatible",
    "evaluate",
    "get_flat_params",
    "load_digits_data",
    "load_mnist",
    "make_clients",
    "make_iiot_data",
    "noise_for_epsilon",
    "num_parameters",
    "partition_dirichlet",
    "partition_iid",
    "partition_indices",
    "read_idx",
    "resolve_device",
    "run_centralized",
    "run_federated",
    "run_local_only",
    "set_flat_params",
    "split_train_test",
    "standardize",
]
