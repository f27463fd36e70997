"""`flep bench flower`: the same rounds natively (`flep round run`) and through Flower, in one run.

Both runs get the same :class:`~registry.roles.runner.RunConfig` (seeds, partitions, plan) on the same devnet,
each its own fresh federation, one after the other (never concurrently: they would share the cores). A round's
wall time is the registry round, from its opening on chain to its finalization; the ratio compares the mean
round through Flower with the mean native round. Accuracy is the last model version's, each read from its run.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from registry.chain import ModelRegistry
from registry.flower.launch import FlowerLaunchError, run_flower
from registry.roles.runner import RunConfig, RunResult, run_rounds
from registry.store import ArtifactStore


@dataclass(frozen=True)
class FlowerBench:
    """Per-round wall seconds and phases of both runs, their ratio and the final accuracies."""

    native_seconds: tuple[float, ...]
    flower_seconds: tuple[float, ...]
    native_phases: tuple[dict[str, float], ...]
    flower_phases: tuple[dict[str, float], ...]
    native_accuracy: float
    flower_accuracy: float
    native_federation: int
    flower_federation: int

    @property
    def ratio(self) -> float:
        """Mean round through Flower over mean native round."""
        return statistics.fmean(self.flower_seconds) / statistics.fmean(self.native_seconds)

    @property
    def accuracy_points(self) -> float:
        """Flower's final accuracy minus the native one, in percentage points."""
        return 100 * (self.flower_accuracy - self.native_accuracy)

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "accuracy_points": self.accuracy_points}


def _finished(result: RunResult, how: str) -> tuple[tuple[float, ...], tuple[dict[str, float], ...], float]:
    unfinished = [r.round for r in result.rounds if r.status != "finalized" or r.accuracy is None]
    if unfinished:
        raise FlowerLaunchError(f"the {how} run did not finalize round(s) {unfinished}: see {result.directory}")
    rounds = result.rounds
    return tuple(r.seconds for r in rounds), tuple(dict(r.phase_seconds) for r in rounds), float(rounds[-1].accuracy)


def measure_flower(registry_address: str, rpc: ModelRegistry, store: ArtifactStore, home: Path, faucet,
                   config: RunConfig, progress=lambda line: None) -> FlowerBench:
    """Run ``config`` natively, then through Flower, and compare their rounds.

    Raises:
        FlowerLaunchError: If the Flower run fails, or either run leaves a round unfinalized (a benchmark of
            an incomplete run means nothing).
        RunError: If the native run fails.
    """
    progress({"party": "bench", "action": f"native: {config.analysts} analysts x {config.rounds} rounds"})
    native = run_rounds(registry_address, rpc, store, home, faucet, config, progress)
    progress({"party": "bench", "action": f"flower: {config.analysts} SuperNodes x {config.rounds} rounds"})
    flower = run_flower(registry_address, rpc, store, home, faucet, config, progress=progress).result
    native_seconds, native_phases, native_accuracy = _finished(native, "native")
    flower_seconds, flower_phases, flower_accuracy = _finished(flower, "Flower")
    return FlowerBench(native_seconds, flower_seconds, native_phases, flower_phases, native_accuracy,
                       flower_accuracy, native.federation_id, flower.federation_id)
