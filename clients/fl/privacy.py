"""Differential-privacy settings and their checks, on top of Opacus DP-SGD.

DP-SGD clips every per-sample gradient to ``max_grad_norm`` and adds Gaussian
noise of standard deviation ``noise_multiplier * max_grad_norm``; a privacy
accountant (Rényi DP by default, or PRV) turns the sampling rate and step count
into the (ε, δ) each client has spent.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from torch import nn

from clients.fl.errors import DPConfigError

#: Accountants accepted by :class:`DPConfig` (Opacus names).
ACCOUNTANTS = ("rdp", "prv")

#: Human-readable accountant names for reports.
ACCOUNTANT_LABELS = {"rdp": "Opacus RDP accountant (Rényi DP, Mironov 2017)", "prv": "Opacus PRV accountant"}


@dataclass(frozen=True)
class DPConfig:
    """DP-SGD settings of every client.

    Attributes:
        noise_multiplier: σ, noise std relative to ``max_grad_norm`` (≥ 0).
        max_grad_norm: C, the per-sample gradient clipping bound (> 0).
        delta: δ of the reported (ε, δ) guarantee, in (0, 1).
        accountant: ``rdp`` or ``prv``.
    """

    noise_multiplier: float
    max_grad_norm: float = 1.0
    delta: float = 1e-5
    accountant: str = "rdp"

    def validate(self) -> None:
        """Check the settings before any training starts.

        Raises:
            DPConfigError: For a negative or non-finite σ, a non-positive C,
                δ outside (0, 1), or an unknown accountant.
        """
        if not (math.isfinite(self.noise_multiplier) and self.noise_multiplier >= 0):
            raise DPConfigError(f"noise_multiplier must be a finite number >= 0, got {self.noise_multiplier}")
        if not (math.isfinite(self.max_grad_norm) and self.max_grad_norm > 0):
            raise DPConfigError(f"max_grad_norm (clipping bound C) must be > 0, got {self.max_grad_norm}")
        if not 0.0 < self.delta < 1.0:
            raise DPConfigError(f"delta must be in (0, 1), got {self.delta}; 1e-5 is usual")
        if self.accountant not in ACCOUNTANTS:
            raise DPConfigError(f"unknown accountant {self.accountant!r}; choose one of {', '.join(ACCOUNTANTS)}")


def noise_for_epsilon(
    target_epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str = "rdp"
) -> float:
    """Smallest noise multiplier that keeps a client within ``(target_epsilon, delta)``.

    Args:
        target_epsilon: Privacy budget ε to reach after ``steps`` steps.
        delta: δ of the guarantee.
        sample_rate: Poisson sampling rate of one step (batch size / samples).
        steps: Total DP-SGD steps the client will take over all rounds.
        accountant: ``rdp`` or ``prv``.

    Returns:
        The noise multiplier σ.

    Raises:
        DPConfigError: If the arguments are out of range or Opacus finds no σ
            reaching the budget.
    """
    if not (target_epsilon > 0 and math.isfinite(target_epsilon)):
        raise DPConfigError(f"target epsilon must be a finite number > 0, got {target_epsilon}")
    if not 0.0 < sample_rate <= 1.0:
        raise DPConfigError(f"sample_rate must be in (0, 1], got {sample_rate}")
    if steps < 1:
        raise DPConfigError(f"steps must be >= 1, got {steps}")
    DPConfig(noise_multiplier=0.0, delta=delta, accountant=accountant).validate()
    from opacus.accountants.utils import get_noise_multiplier  # Opacus is slow to import: only DP loads it

    try:
        with warnings.catch_warnings():
            # A conservative RDP bound (best order at the edge of the range) only makes σ larger: safe.
            warnings.filterwarnings("ignore", message="Optimal order is the (largest|smallest) alpha")
            return float(
                get_noise_multiplier(
                    target_epsilon=target_epsilon,
                    target_delta=delta,
                    sample_rate=sample_rate,
                    steps=steps,
                    accountant=accountant,
                )
            )
    except ValueError as exc:
        raise DPConfigError(
            f"Opacus found no noise multiplier for epsilon={target_epsilon}, delta={delta}, "
            f"sample_rate={sample_rate:.4g}, steps={steps}: {exc}; raise epsilon or take fewer steps"
        ) from exc


def check_dp_compatible(model: nn.Module) -> None:
    """Refuse models Opacus cannot train with per-sample gradients.

    Raises:
        DPConfigError: Listing the offending layers (e.g. BatchNorm; use GroupNorm).
    """
    from opacus.validators import ModuleValidator

    errors = ModuleValidator.validate(model, strict=False)
    if errors:
        details = "; ".join(str(e) for e in errors)
        raise DPConfigError(
            f"model {type(model).__name__} is not compatible with Opacus DP-SGD: {details}. "
            "Replace BatchNorm with GroupNorm (opacus.validators.ModuleValidator.fix does this)"
        )
