"""One federated client: its local data, its model copy, and (with DP) its own privacy accountant."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from clients.aggregation import ClientUpdate
from clients.fl.datasets import LabelledData
from clients.fl.errors import DPConfigError, PartitionError
from clients.fl.models import build_model
from clients.fl.params import get_flat_params, set_flat_params
from clients.fl.privacy import DPConfig, check_dp_compatible
from clients.fl.training import TrainConfig, make_optimizer, run_epochs

if TYPE_CHECKING:  # Opacus takes a second to import: only DP clients load it
    from opacus import PrivacyEngine


@dataclass(frozen=True)
class FitResult:
    """What a client reports after local training.

    Attributes:
        update: The new local parameters and sample count, for the aggregator.
        loss: Mean training loss of the last local epoch.
        epsilon: ε spent so far by this client (``None`` without DP).
    """

    update: ClientUpdate
    loss: float
    epsilon: float | None


class FLClient:
    """Trains a local copy of the global model on private data.

    The model, optimizer and data loader are built once; with DP they are
    wrapped once by an Opacus :class:`~opacus.PrivacyEngine` whose accountant
    therefore accumulates over all rounds, so :attr:`epsilon` is the total
    budget spent by this client, not one round's.
    """

    def __init__(
        self,
        client_id: str,
        data: LabelledData,
        model_name: str,
        train_config: TrainConfig,
        device: torch.device,
        dp: DPConfig | None = None,
        seed: int = 0,
    ) -> None:
        """Set up the client.

        Args:
            client_id: Identifier reported with every update.
            data: The client's local training data (non-empty).
            model_name: Architecture, see :func:`clients.fl.models.build_model`.
            train_config: Local training settings.
            device: Training device.
            dp: DP-SGD settings, or ``None`` for non-private training.
            seed: Seed of the client's shuffling and DP noise.

        Raises:
            PartitionError: If ``data`` is empty.
            DPConfigError: If the DP settings are invalid or Opacus rejects them.
            TrainingConfigError: If the training settings are invalid.
        """
        if len(data) == 0:
            raise PartitionError(f"client {client_id} has no training samples; every client needs at least one")
        train_config.validate()
        self.client_id = client_id
        self.num_examples = len(data)
        self.dp = dp
        self._config = train_config
        self._device = device
        # The initial weights do not matter: every fit() first loads the global parameters.
        self._model = build_model(model_name, data.sample_shape, data.num_classes, seed=0).to(device)
        optimizer = make_optimizer(self._model, train_config)
        dataset = TensorDataset(torch.from_numpy(data.x), torch.from_numpy(data.y))
        loader = DataLoader(
            dataset,
            batch_size=min(train_config.batch_size, len(data)),
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )
        self._engine: PrivacyEngine | None = None
        if dp is None:
            self._trainable, self._optimizer, self._loader = self._model, optimizer, loader
            return
        dp.validate()
        check_dp_compatible(self._model)
        from opacus import PrivacyEngine

        try:
            with warnings.catch_warnings():
                # Opacus warns that secure RNG is off: fine for simulation, the seed makes runs reproducible.
                warnings.simplefilter("ignore", UserWarning)
                self._engine = PrivacyEngine(accountant=dp.accountant)
                self._trainable, self._optimizer, self._loader = self._engine.make_private(
                    module=self._model,
                    optimizer=optimizer,
                    data_loader=loader,
                    noise_multiplier=dp.noise_multiplier,
                    max_grad_norm=dp.max_grad_norm,
                    noise_generator=torch.Generator(device=device).manual_seed(seed + 1),
                )
        except (ValueError, NotImplementedError) as exc:
            raise DPConfigError(f"Opacus rejected the DP settings of client {client_id}: {exc}") from exc

    @property
    def sample_rate(self) -> float:
        """Per-step sampling rate of the client's data (batch size / local samples)."""
        return 1.0 / len(self._loader)

    @property
    def steps_per_round(self) -> int:
        """Optimizer steps one round of local training takes."""
        return len(self._loader) * self._config.local_epochs

    @property
    def epsilon(self) -> float | None:
        """ε spent so far at the configured δ (``None`` without DP, 0 before training)."""
        if self._engine is None or self.dp is None:
            return None
        if len(self._engine.accountant) == 0:
            return 0.0
        with warnings.catch_warnings():
            # RDP warns when the best order is at the edge of the orders tried: the bound
            # is then conservative (ε over-reported), which is safe for a ledger.
            warnings.filterwarnings("ignore", message="Optimal order is the (largest|smallest) alpha")
            return float(self._engine.get_epsilon(self.dp.delta))

    def fit(self, global_params: np.ndarray, epochs: int | None = None) -> FitResult:
        """Start from the global model, train locally, return the new parameters.

        Args:
            global_params: The current global flat parameter vector.
            epochs: Local epochs this time (defaults to the configured ``local_epochs``).

        Returns:
            The :class:`FitResult` of this round.

        Raises:
            ParameterShapeError: If ``global_params`` does not fit the model.
        """
        set_flat_params(self._model, global_params)
        # A fresh round starts from the global model: stale momentum from the last round would pull it back.
        self._optimizer.state.clear()
        with warnings.catch_warnings():
            # Opacus hooks warn when inputs do not require grad (always the case for data); harmless.
            warnings.simplefilter("ignore", UserWarning)
            loss = run_epochs(
                self._trainable,
                self._model,
                self._loader,
                self._optimizer,
                epochs or self._config.local_epochs,
                self._device,
            )
        update = ClientUpdate(self.client_id, get_flat_params(self._model), self.num_examples)
        return FitResult(update=update, loss=loss, epsilon=self.epsilon)

    @property
    def model(self) -> torch.nn.Module:
        """The client's (unwrapped) local model."""
        return self._model
