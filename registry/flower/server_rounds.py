"""The ServerApp's round loop: the admin drives the rounds on chain, Flower carries the train instructions,
the untrusted aggregator sums what the chain recorded, the key holder (its own process) finalizes.

First a roll call: every connected SuperNode is asked which analyst of the federation stands behind it (a node's
first message of a run also fetches the app, so this takes Flower's start-up out of round 1); the rounds start
once the answers are in, or fail before any round opens if fewer analysts than a round needs are ready. Per
round: send every connected SuperNode the next round's train instruction (round, model version) through the
:class:`~flwr.serverapp.Grid`, one round ahead, so Flower delivers it (a SuperNode's 3 s idle poll, a ClientApp
process start) while this round runs and the analyst worker waits for the chain to open it; open the round on
chain; collect the replies to its instructions until every node answered, every current analyst's update is on
chain (the replies still on their way are picked up while the key holder finalizes), or the round's deadline (a
node that fails, refuses or does not answer is a dropout); check each reply against the chain (the update it
names was registered by the analyst it names, in this round, from the round's model); close the round and post
the homomorphic sum of the chain's input set (:class:`~registry.roles.Aggregator`: a reply can neither add nor
remove an update); wait until the key holder finalized it (or the admin aborts it at its deadline); go on with
the next round, which starts from the new model version. Too few updates: the round is aborted and the run stops
(the instructions sent ahead are refused by the workers: its round never opens).

What happened is written as JSON lines to ``events`` (when set), for the process that launched the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flwr.app import Message, MessageType
from flwr.serverapp import Grid

from registry.chain import ModelRegistry, Role, Round, RoundStatus
from registry.commands.party import configured_registry
from registry.flower.messages import (
    MessageFormatError,
    Ready,
    RollCall,
    TrainInstruction,
    TrainReply,
    model_artifact,
)
from registry.keystore import PASSPHRASE_ENV, Keystore
from registry.roles import Admin, Aggregator, FederationContext, RoleError
from registry.roles.admin import chain_now, current_analysts
from registry.roles.plan import current_plan

REPLY_GRACE_SECONDS = 10
"""How long replies are still awaited once a round ended (when every analyst's update came before its
deadline)."""

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
        node_wait_seconds: How long to wait for them, then for their roll call answers; after that the rounds
            start with the nodes connected.
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
        calls = _push(grid, RollCall(registry.address, fid), MessageType.QUERY, 0, log)
        federation = registry.federation(fid)
        first, version = federation.round_count + 1, federation.model_version_count
        ahead = _send(grid, registry.address, fid, first, version, log)  # queued behind the roll call
        _roll_call(grid, registry, fid, calls, settings, log)
        for k in range(settings.rounds):
            sent = ahead
            if k + 1 < settings.rounds:  # round r finalizes into version v + 1, which round r + 1 starts from
                ahead = _send(grid, registry.address, fid, first + k + 1, version + k + 1, log)
            _run_round(grid, admin, aggregator, settings, first + k, sent, log)
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


def _push(grid: Grid, record: RollCall | TrainInstruction, kind: str, round_: int, log: _Log) -> dict[str, int]:
    """Push ``record`` to every connected SuperNode; the message ids pushed -> their node."""
    nodes = sorted(grid.get_node_ids())
    messages = [Message(record.to_content(), dst_node_id=node, message_type=kind) for node in nodes]
    sent = {}
    for node, message_id in zip(nodes, grid.push_messages(messages), strict=True):
        if message_id is None:
            log.write({"round": round_, "node": node, "error": f"the SuperLink did not take node {node}'s "
                       f"{kind} message: a dropout"})
        else:
            sent[message_id] = node
    return sent


def _send(grid: Grid, registry: str, fid: int, round_: int, version: int, log: _Log) -> dict[str, int]:
    """Push round ``round_``'s instruction to every connected SuperNode; the message ids pushed -> their node."""
    sent = _push(grid, TrainInstruction(registry, fid, round_, version), MessageType.TRAIN, round_, log)
    log.write({"round": round_, "action": f"sent round {round_}'s instruction (from model v{version}) to "
               f"{len(sent)} SuperNodes"})
    return sent


def _roll_call(grid: Grid, registry: ModelRegistry, fid: int, calls: dict[str, int], settings: ServerSettings,
               log: _Log) -> None:
    """Wait for the SuperNodes' answers to the roll call (``calls``: message id -> node) and log each.

    Round 1's instruction is already queued behind the roll call, so a node goes on to it at once.

    Raises:
        FlowerRunError: If fewer nodes answered with an analyst of the federation than a round needs (no round
            was opened).
    """
    ready: dict[int, str] = {}
    replies, _ = _collect(grid, set(calls), settings.node_wait_seconds)
    for node in sorted(set(calls.values()) - {reply.metadata.src_node_id for reply in replies}):
        log.write({"node": node, "error": f"node {node} did not answer the roll call in "
                   f"{settings.node_wait_seconds} s"})
    for reply in replies:
        node = reply.metadata.src_node_id
        if reply.has_error():
            log.write({"node": node, "error": f"node {node} refused the roll call: {reply.error.reason}"})
            continue
        try:
            analyst = Ready.from_content(reply.content).analyst
        except MessageFormatError as exc:
            log.write({"node": node, "error": f"node {node} answered the roll call out of protocol: {exc}"})
            continue
        if not registry.has_role(fid, Role.ANALYST, analyst):  # a claim only; its updates are checked on chain
            log.write({"node": node, "error": f"node {node} names {analyst}, which is not an analyst of "
                       f"federation {fid} on chain: ignored"})
            continue
        ready[node] = analyst
        log.write({"node": node, "action": f"node {node}: analyst {analyst} ready"})
    minimum = registry.federation(fid).min_participants
    if len(set(ready.values())) < minimum:
        raise FlowerRunError(f"{len(set(ready.values()))} analyst(s) of federation {fid} answered the roll call "
                             f"in {settings.node_wait_seconds} s, a round needs {minimum}: no round was opened "
                             "(see the nodes' errors)")


def _run_round(grid: Grid, admin: Admin, aggregator: FederationContext, settings: ServerSettings, round_: int,
               sent: dict[str, int], log: _Log) -> None:
    registry, fid = admin.context.registry, admin.federation_id
    started = time.perf_counter()
    opened = admin.open_round(settings.round_seconds)
    if opened.value != round_:
        raise FlowerRunError(f"the chain opened round {opened.value} of federation {fid}, the instructions sent "
                             f"ahead name round {round_}: another admin is running rounds of this federation")
    log.write({"round": round_, "action": f"opened round {round_}", "gas_used": opened.gas_used})
    model = model_artifact(registry, fid, registry.federation(fid).model_version_count)
    analysts = len(current_analysts(admin.context))
    replies, pending = _collect(grid, set(sent), settings.round_seconds,
                                lambda: registry.round(fid, round_).update_count >= analysts)
    collected = time.perf_counter() - started
    grace = REPLY_GRACE_SECONDS if collected < settings.round_seconds else 0  # settled before the deadline
    stored = registry.round(fid, round_)
    log.write({"round": round_, "party": "flower", "phase": "updates", "seconds": collected,
               "action": f"{stored.update_count} update(s) on chain; {len(replies)} of {len(sent)} SuperNodes "
               "replied so far"})
    minimum = registry.federation(fid).min_participants
    if stored.update_count < minimum:
        _log_replies(registry, fid, round_, model, sent, replies, log)
        reason = f"{stored.update_count} update(s) through Flower, the federation needs {minimum}"
        registry.abort_round(fid, round_, reason)
        raise FlowerRunError(f"round {round_} aborted: {reason}")
    aggregating = time.perf_counter()
    result = Aggregator(aggregator, current_plan(aggregator).num_values).aggregate_round(round_)
    log.write({"round": round_, "party": "aggregator", "action": f"posted aggregate of {len(result.included)} "
               f"updates ({len(result.excluded)} excluded)", "gas_used": result.gas_used,
               "seconds": time.perf_counter() - aggregating})
    final, seconds, late = _wait_finalized(admin, round_, grid, pending, started, grace)
    _log_replies(registry, fid, round_, model, sent, replies + late, log)
    if final.status != RoundStatus.FINALIZED:
        raise FlowerRunError(f"round {round_} was aborted: the key holder did not finalize it by its deadline")
    log.write({"round": round_, "status": "finalized", "action": f"round {round_} finalized as model "
               f"v{final.model_version}", "seconds": seconds})


def _log_replies(registry: ModelRegistry, fid: int, round_: int, model: int, sent: dict[str, int],
                 replies: list[Message], log: _Log) -> None:
    """Log each reply checked against the chain (``model``: the global model artifact the round started from),
    and each node that did not reply as a dropout."""
    recorded = {u.artifact_id: u.analyst for u in registry.round_updates(fid, round_)}
    claimed: dict[int, int] = {}
    for reply in replies:
        _check_reply(recorded, round_, model, reply, claimed, log)
    for node in sorted(set(sent.values()) - {reply.metadata.src_node_id for reply in replies}):
        log.write({"round": round_, "node": node, "error": f"node {node} did not reply: a dropout"})


def _collect(grid: Grid, pending: set[str], timeout: float, settled: Callable[[], bool] = lambda: False
             ) -> tuple[list[Message], set[str]]:
    """The replies to the messages ``pending`` that arrive within ``timeout`` or until ``settled()`` (asked at
    every poll; for a round: every current analyst's update is on chain, so what the round needs is there and
    the replies still on their way are picked up while the key holder finalizes), and the message ids still
    unanswered. Polled every 0.25 s (``Grid.send_and_receive`` sleeps 3 s between polls)."""
    pending = set(pending)
    replies: list[Message] = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline and not settled():
        replies += _pull(grid, pending)
        time.sleep(0.25)
    return replies, pending


def _pull(grid: Grid, pending: set[str]) -> list[Message]:
    """The replies that arrived to the messages ``pending``, which are taken out of it."""
    replies = list(grid.pull_messages(pending))
    pending.difference_update(reply.metadata.reply_to_message_id for reply in replies)
    return replies


def _check_reply(recorded: dict[int, str], round_: int, model: int, reply: Message, claimed: dict[int, int],
                 log: _Log) -> None:
    """Log a reply as a contribution the chain backs, or as the node's refusal or failure (a dropout).
    ``recorded`` maps the round's updates on chain to their analysts; ``model`` is the global model artifact
    the round starts from; ``claimed`` maps the update ids already claimed this round to the node that claimed
    them."""
    node = reply.metadata.src_node_id
    if reply.has_error():
        log.write({"round": round_, "node": node, "error": f"node {node} refused or failed: {reply.error.reason}"})
        return
    try:
        answer = TrainReply.from_content(reply.content)
    except MessageFormatError as exc:
        log.write({"round": round_, "node": node, "error": f"node {node} sent a malformed reply: {exc}"})
        return
    problem = claim_problem(recorded, claimed, node, answer, round_, model)
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
                  round_: int, model: int) -> str:
    """Why a node's reply is not the contribution it claims ("" if it is); a good claim is entered in
    ``claimed``.

    Args:
        recorded: The round's updates on chain, update id -> analyst account.
        claimed: The update ids claimed so far this round, -> the claiming node.
        node: The replying node.
        answer: Its reply.
        round_: The round.
        model: The global model artifact the round starts from (0: the plan's initial model).

    Only the chain's input set is ever aggregated, so a false claim changes nothing recorded; refusing it keeps
    the run's report from crediting a node with another analyst's update.
    """
    if answer.model_artifact != model:
        return (f"node {node} says it trained from model artifact {answer.model_artifact}, round {round_} starts "
                f"from artifact {model}: its update may be stale; the reply is ignored")
    if recorded.get(answer.update_id, "").lower() != answer.analyst.lower():
        return (f"node {node} claims update {answer.update_id} by {answer.analyst}, which the chain does not "
                f"record in round {round_}: ignored")
    earlier = claimed.setdefault(answer.update_id, node)
    if earlier != node:
        return (f"node {node} claims update {answer.update_id}, which node {earlier} claimed before it in round "
                f"{round_}: ignored")
    return ""


def _wait_finalized(admin: Admin, round_: int, grid: Grid, pending: set[str], started: float, grace: float
                    ) -> tuple[Round, float, list[Message]]:
    """The round's record once it finalized, or once the admin aborted it after its deadline and a grace; the
    seconds from ``started`` until then; and the replies to ``pending`` that arrived meanwhile or within
    ``grace`` seconds of the round's end (an analyst's reply trails its submission by its SuperNode's push; a
    node that never answers, a foreign one say, holds up nothing that matters)."""
    registry, fid = admin.context.registry, admin.federation_id
    late: list[Message] = []
    while True:
        stored = registry.round(fid, round_)
        if stored.status in (RoundStatus.FINALIZED, RoundStatus.ABORTED):
            break
        if chain_now(registry) > stored.deadline + FINALIZE_GRACE_SECONDS:
            admin.abort_if_expired(round_, grace_seconds=FINALIZE_GRACE_SECONDS)
        late += _pull(grid, pending) if pending else []
        time.sleep(0.5)
    seconds = time.perf_counter() - started
    late += _collect(grid, pending, grace)[0] if pending else []
    return stored, seconds, late
