"""What a SuperNode does with a train instruction: it is an analyst of the federation, acting from the chain.

The SuperNode is configured with the analyst's keystore (``--node-config 'keystore="DIR"'``, optionally
``federation=N`` to serve only that federation); its environment carries the keystore's passphrase
(``FLEP_PASSPHRASE``) and where the chain, the registry and the IPFS node are (``FLEP_RPC_URL``,
``FLEP_REGISTRY_ADDRESS``, ``FLEP_IPFS_API`` or a ``FLEP_HOME`` with a devnet), as for every other party.

The instruction only names a round: the node checks it against the chain before doing any work (this
registry, an analyst of this federation, the round open and before its deadline, the model version the
instruction names is the federation's latest), then trains from the verified latest model as
:class:`~registry.roles.analyst.Analyst` does and replies with the id of the update it registered on chain.
A server that names another round, an old model or a federation this account is not an analyst of gets a
refusal saying so, and nothing is recorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from registry.chain import ModelRegistry, Role, RoundStatus
from registry.commands.party import configured_registry
from registry.flower.messages import TrainInstruction, TrainReply
from registry.keystore import PASSPHRASE_ENV, Keystore
from registry.roles import Analyst, FederationContext, RoleError
from registry.roles.admin import chain_now

KEYSTORE_KEY = "keystore"
FEDERATION_KEY = "federation"


class NodeRefusal(RoleError):
    """The SuperNode will not train for this instruction (what is wrong, and what to do)."""


@dataclass(frozen=True)
class NodeConfig:
    """A SuperNode's FLEP configuration: the analyst's keystore and, optionally, the only federation it serves
    (0: any federation its account is an analyst of)."""

    keystore: Path
    federation_id: int = 0

    @classmethod
    def from_node_config(cls, node_config: dict[str, object]) -> NodeConfig:
        """Raises: NodeRefusal: If no keystore is configured or the federation is not a number."""
        keystore = node_config.get(KEYSTORE_KEY)
        if not isinstance(keystore, str) or not keystore:
            raise NodeRefusal("this SuperNode has no analyst keystore: start it with "
                              "--node-config 'keystore=\"/path/to/keystore\"'")
        federation = node_config.get(FEDERATION_KEY, 0)
        if isinstance(federation, bool) or not isinstance(federation, int) or federation < 0:
            raise NodeRefusal(f"node config federation must be a federation id, got {federation!r}")
        return cls(Path(keystore).expanduser(), federation)


def train_round(instruction: TrainInstruction, config: NodeConfig,
                shuffle_state: bytes | None = None) -> tuple[TrainReply, bytes | None]:
    """Check ``instruction`` against the chain, train and submit this analyst's update, and reply.

    Args:
        instruction: What the ServerApp asked for.
        config: The SuperNode's keystore and federation.
        shuffle_state: The analyst's shuffle state after its last round of this run (``None``: first round).

    Returns:
        The reply, and the shuffle state to keep for the next round.

    Raises:
        NodeRefusal: If the instruction is not for this registry, federation, analyst, open round or latest
            model, or the keystore's passphrase is not in the environment.
        RoleError, ChainError, StoreError, KeystoreError: If training or submitting fails.
    """
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        raise NodeRefusal(f"set {PASSPHRASE_ENV} in this SuperNode's environment to open keystore {config.keystore}")
    keystore = Keystore.open(config.keystore, passphrase)
    registry, store = configured_registry(keystore.account)
    _check(instruction, config, registry, keystore.address)
    context = FederationContext(registry, store, instruction.federation_id)
    stored = registry.round(instruction.federation_id, instruction.round)
    mine = [u for u in registry.round_updates(instruction.federation_id, instruction.round)
            if u.analyst == keystore.address]
    if mine:  # a repeated instruction (a restarted server): the same reply, nothing recorded twice
        return TrainReply(keystore.address, mine[0].artifact_id, 0, 0.0), shuffle_state
    analyst = Analyst(context, keystore, workers=1, shuffle_state=shuffle_state)
    submitted = analyst.submit(stored)
    epsilon = -1.0 if submitted.epsilon is None else submitted.epsilon
    return (TrainReply(keystore.address, submitted.update_id, submitted.gas_used, submitted.seconds, epsilon),
            analyst.shuffle_state)


def _check(instruction: TrainInstruction, config: NodeConfig, registry: ModelRegistry, me: str) -> None:
    """Refuse an instruction the chain does not back, before any work."""
    fid = instruction.federation_id
    if instruction.registry.lower() != registry.address.lower():
        raise NodeRefusal(f"the instruction is for registry {instruction.registry}, this SuperNode's is "
                          f"{registry.address}: check FLEP_REGISTRY_ADDRESS on both sides")
    if config.federation_id and fid != config.federation_id:
        raise NodeRefusal(f"this SuperNode serves federation {config.federation_id} only, not {fid}")
    if not 1 <= fid <= registry.federation_count():
        raise NodeRefusal(f"federation {fid} does not exist on registry {registry.address}")
    if not registry.has_role(fid, Role.ANALYST, me):
        raise NodeRefusal(f"account {me} (keystore {config.keystore}) is not an analyst of federation {fid}: ask "
                          "the federation's admin to admit it (`flep access grant --role analyst`), then retry")
    federation = registry.federation(fid)
    if not 1 <= instruction.round <= federation.round_count:
        raise NodeRefusal(f"round {instruction.round} of federation {fid} was never opened on chain")
    stored = registry.round(fid, instruction.round)
    if stored.status != RoundStatus.OPEN or chain_now(registry) > stored.deadline:
        raise NodeRefusal(f"round {instruction.round} of federation {fid} is not open for updates (status "
                          f"{stored.status.name.lower()}, deadline {stored.deadline})")
    backed = TrainInstruction.from_chain(registry, fid, instruction.round)
    if (instruction.model_version, instruction.model_artifact) != (backed.model_version, backed.model_artifact):
        raise NodeRefusal(f"the instruction starts from model v{instruction.model_version} (artifact "
                          f"{instruction.model_artifact}), but the chain's latest is v{backed.model_version} "
                          f"(artifact {backed.model_artifact}): the server is stale or lying; nothing was trained")
