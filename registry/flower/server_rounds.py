"""The ServerApp's round loop: the admin drives the rounds on chain, Flower carries the train instructions,
the untrusted aggregator sums what the chain recorded, the key holder (its own process) finalizes.

Per round: open it on chain; send every connected SuperNode a train instruction (round, model version and
its artifact id) through the :class:`~flwr.serverapp.Grid`; collect the replies until every node answered or
the round's deadline (a node that fails, refuses or does not answer is a dropout); check each reply against
the chain (the update it names was registered by the analyst it names, in this round); close the round and
post the homomorphic sum of the chain's input set (:class:`~registry.roles.Aggregator`: a reply can neither
add nor remove an update); wait until the key holder finalized it (or the admin aborts it at its deadline);
start the next round from the new model version. Too few updates: the round is aborted and the run stops.

What happened is written as JSON lines to ``events`` (when set), for the process that launched the run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from flwr.app import Message, MessageType
from flwr.serverapp import Grid

from registry.chain import ModelRegistry, RoundStatus
from registry.commands.party import configured_registry
from registry.flower.messages import MessageFormatError, TrainInstruction, TrainReply
from registry.keystore import PASSPHRASE_ENV, Keystore
from registry.roles import Admin, Aggregator, FederationContext, RoleError
from registry.roles.admin import chain_now, current_analysts
from registry.roles.plan import current_plan

REPLY_GRACE_SECONDS = 10
"""How long replies are still awaited once every current analyst's update is on chain."""

FINALIZE_GRACE_SECONDS = 30
"""How long after a round's deadline the admin waits for the key holder before aborting the round."""


class FlowerRunError(RoleError):
    """A Flower run cannot go on: no nodes, too few updates, or a round aborted."""


@dataclass(frozen=True)
class ServerSettings:
    """The run config of the ServerApp (``[tool.flwr.app.config]``, overridden by ``flwr run --run-config``).

    Attributes:
        federation_id: The federation (0: the registry's last one).
        rounds: Rounds to run.
        round_seconds: Each round's deadline on chain, from its opening; also how long replies are awaited.
        nodes: SuperNodes to wait for before the first round.
        node_wait_seconds: How long to wait for them; after that the rounds start with the nodes connected.
        admin_keystore: The admin's keystore (opens and aborts rounds).
        aggregator_keystore: The aggregator's keystore (closes rounds, posts aggregates).
        events: Where to append the JSON lines of what happened ("" for nowhere).
    """

    federation_id: int
    rounds: int
    round_seconds: int
    nodes: int
    node_wait_seconds: int
    admin_keystore: Path
    aggregator_keystore: Path
    events: str = ""

    @classmethod
    def from_run_config(cls, run_config: dict[str, object]) -> ServerSettings:
        """Raises: FlowerRunError: If a setting is missing or of the wrong type."""
        def value(key: str, kind: type):
            found = run_config.get(key)
            if type(found) is not kind:
                raise FlowerRunError(f"run config {key!r} must be {kind.__name__}, got {found!r}: set it in "
                                     f"[tool.flwr.app.config] or with flwr run --run-config '{key}=...'")
            return found

        for key in ("admin-keystore", "aggregator-keystore"):
            if not value(key, str):
                raise FlowerRunError(f"run config {key!r} is empty: name the keystore directory")
        return cls(value("federation", int), value("rounds", int), value("round-seconds", int),
                   value("nodes", int), value("node-wait-seconds", int), Path(value("admin-keystore", str)),
                   Path(value("aggregator-keystore", str)), value("events", str))


def run_server(grid: Grid, settings: ServerSettings, passphrase: str | None) -> None:
    """Run ``settings.rounds`` registry rounds through ``grid``.

    Raises:
        FlowerRunError: If no passphrase is given, no SuperNode connects, a round gets too few updates, or
            a round is aborted.
    """
    log = _Log(settings.events)
    try:
        if not passphrase:
            raise FlowerRunError(f"set {PASSPHRASE_ENV} in the SuperLink's environment to open the admin's and "
                                 "the aggregator's keystores")
        admin_keystore = Keystore.open(settings.admin_keystore, passphrase)
        aggregator_keystore = Keystore.open(settings.aggregator_keystore, passphrase)
        registry, store = configured_registry(admin_keystore.account)
        fid = settings.federation_id or registry.federation_count()
        admin = Admin(FederationContext(registry, store, fid))
        aggregator = FederationContext(registry.as_account(aggregator_keystore.account), store, fid)
        _wait_for_nodes(grid, settings, log)
        for _ in range(settings.rounds):
            _run_round(grid, admin, aggregator, settings, log)
        log.write({"action": "done"})
    except Exception as exc:
        log.write({"error": f"{type(exc).__name__}: {exc}"})
        raise


class _Log:
    def __init__(self, path: str) -> None:
        self.path = Path(path) if path else None

    def write(self, line: dict) -> None:
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"party": "server", "time": round(time.time(), 3), **line}) + "\n")


def _wait_for_nodes(grid: Grid, settings: ServerSettings, log: _Log) -> None:
    deadline = time.monotonic() + settings.node_wait_seconds
    while len(list(grid.get_node_ids())) < settings.nodes and time.monotonic() < deadline:
        time.sleep(0.2)
    connected = len(list(grid.get_node_ids()))
    if not connected:
        raise FlowerRunError(f"no SuperNode connected in {settings.node_wait_seconds} s")
    log.write({"action": f"{connected} of {settings.nodes} SuperNodes connected"})


def _run_round(grid: Grid, admin: Admin, aggregator: FederationContext, settings: ServerSettings,
               log: _Log) -> None:
    registry, fid = admin.context.registry, admin.federation_id
    started = time.perf_counter()
    opened = admin.open_round(settings.round_seconds)
    round_ = opened.value
    log.write({"round": round_, "action": f"opened round {round_}", "gas_used": opened.gas_used})
    instruction = TrainInstruction.from_chain(registry, fid, round_)
    nodes = sorted(grid.get_node_ids())
    messages = [Message(instruction.to_content(), dst_node_id=node, message_type=MessageType.TRAIN)
                for node in nodes]
    sent = time.perf_counter()
    replies = _collect(grid, messages, admin, round_, settings.round_seconds)
    log.write({"round": round_, "party": "flower", "phase": "send+train+reply", "seconds": time.perf_counter() - sent,
               "action": f"{len(replies)} of {len(nodes)} SuperNodes replied"})
    answered = {reply.metadata.src_node_id for reply in replies}
    claimed: dict[int, int] = {}
    for reply in replies:
        _check_reply(registry, fid, round_, reply, claimed, log)
    for node in nodes:
        if node not in answered:
            log.write({"round": round_, "node": node, "error": f"node {node} did not reply in "
                       f"{settings.round_seconds} s: a dropout"})
    stored = registry.round(fid, round_)
    minimum = registry.federation(fid).min_participants
    if stored.update_count < minimum:
        reason = f"{stored.update_count} update(s) through Flower, the federation needs {minimum}"
        registry.abort_round(fid, round_, reason)
        raise FlowerRunError(f"round {round_} aborted: {reason}")
    aggregating = time.perf_counter()
    result = Aggregator(aggregator, current_plan(aggregator).num_values).aggregate_round(round_)
    log.write({"round": round_, "party": "aggregator", "action": f"posted aggregate of {len(result.included)} "
               f"updates ({len(result.excluded)} excluded)", "gas_used": result.gas_used,
               "seconds": time.perf_counter() - aggregating})
    final = _wait_finalized(admin, round_)
    if final.status != RoundStatus.FINALIZED:
        raise FlowerRunError(f"round {round_} was aborted: the key holder did not finalize it by its deadline")
    log.write({"round": round_, "status": "finalized", "action": f"round {round_} finalized as model "
               f"v{final.model_version}",
               "seconds": time.perf_counter() - started})


def _collect(grid: Grid, messages: list[Message], admin: Admin, round_: int, timeout: float) -> list[Message]:
    """The replies that arrive within ``timeout``. Once every current analyst's update is on chain, the replies
    still missing get :data:`REPLY_GRACE_SECONDS` more (an analyst's reply trails its submission by the
    SuperNode's push), so a node that never answers (a foreign one, say) holds up nothing that matters. Polled
    every 0.25 s (``Grid.send_and_receive`` sleeps 3 s between polls, a round's largest fixed cost on a small
    model)."""
    registry, fid = admin.context.registry, admin.federation_id
    pending = set(grid.push_messages(messages))
    replies: list[Message] = []
    deadline = time.monotonic() + timeout
    checked = 0.0
    while pending and time.monotonic() < deadline:
        for reply in grid.pull_messages(pending):
            pending.discard(reply.metadata.reply_to_message_id)
            replies.append(reply)
        if pending and time.monotonic() - checked > 1.0:
            checked = time.monotonic()
            if registry.round(fid, round_).update_count >= len(current_analysts(admin.context)):
                deadline = min(deadline, checked + REPLY_GRACE_SECONDS)
        time.sleep(0.25)
    return replies


def _check_reply(registry: ModelRegistry, fid: int, round_: int, reply: Message, claimed: dict[int, int],
                 log: _Log) -> None:
    """Log a reply as a contribution the chain backs, or as the node's refusal or failure (a dropout).
    ``claimed`` maps the update ids already claimed this round to the node that claimed them."""
    node = reply.metadata.src_node_id
    if reply.has_error():
        log.write({"round": round_, "node": node, "error": f"node {node} refused or failed: {reply.error.reason}"})
        return
    try:
        answer = TrainReply.from_content(reply.content)
    except MessageFormatError as exc:
        log.write({"round": round_, "node": node, "error": f"node {node} sent a malformed reply: {exc}"})
        return
    recorded = {u.artifact_id: u.analyst for u in registry.round_updates(fid, round_)}
    problem = claim_problem(recorded, claimed, node, answer, round_)
    if problem:
        log.write({"round": round_, "node": node, "error": problem})
        return
    line = {"round": round_, "node": node, "party": "analyst", "account": answer.analyst,
            "action": f"submitted update {answer.update_id}", "result": answer.update_id,
            "gas_used": answer.gas_used, "seconds": answer.seconds}
    if answer.epsilon >= 0:
        line["epsilon"] = answer.epsilon
    log.write(line)


def claim_problem(recorded: dict[int, str], claimed: dict[int, int], node: int, answer: TrainReply,
                  round_: int) -> str:
    """Why a node's reply is not the contribution it claims ("" if it is); a good claim is entered in
    ``claimed``.

    Args:
        recorded: The round's updates on chain, update id -> analyst account.
        claimed: The update ids claimed so far this round, -> the claiming node.
        node: The replying node.
        answer: Its reply.
        round_: The round.

    Only the chain's input set is ever aggregated, so a false claim changes nothing recorded; refusing it keeps
    the run's report from crediting a node with another analyst's update.
    """
    if recorded.get(answer.update_id, "").lower() != answer.analyst.lower():
        return (f"node {node} claims update {answer.update_id} by {answer.analyst}, which the chain does not "
                f"record in round {round_}: ignored")
    earlier = claimed.setdefault(answer.update_id, node)
    if earlier != node:
        return (f"node {node} claims update {answer.update_id}, which node {earlier} claimed before it in round "
                f"{round_}: ignored")
    return ""


def _wait_finalized(admin: Admin, round_: int):
    """The round's record once it finalized, or once the admin aborted it after its deadline and a grace."""
    registry, fid = admin.context.registry, admin.federation_id
    while True:
        stored = registry.round(fid, round_)
        if stored.status in (RoundStatus.FINALIZED, RoundStatus.ABORTED):
            return stored
        if chain_now(registry) > stored.deadline + FINALIZE_GRACE_SECONDS:
            admin.abort_if_expired(round_, grace_seconds=FINALIZE_GRACE_SECONDS)
        time.sleep(0.5)
