"""The analyst behind a SuperNode (``flep flower analyst``): a long-lived process that trains what the chain
backs, asked over a local Unix socket by the SuperNode's ClientApp (:mod:`registry.flower.worker_link`).

It opens the analyst's keystore once (its passphrase never enters the SuperNode, which runs the app code the
SuperLink ships), keeps each federation's :class:`~registry.roles.analyst.Analyst` (decrypted data, local
trainer, shuffling) across rounds, and is configured like every other party (``FLEP_RPC_URL``,
``FLEP_REGISTRY_ADDRESS``, ``FLEP_IPFS_API`` or a ``FLEP_HOME`` with a devnet).

An instruction only names a round: before any work the worker checks it against the chain (this registry,
an analyst of this federation, the round open and before its deadline, the model version it names is the
federation's latest), then trains from the verified latest model and submits as the analyst role does, and
answers with the id of the update it registered on chain. A server that names another round, an old model or
a federation this account is not an analyst of gets a refusal saying so, and nothing is recorded; an
instruction for a round it already submitted to gets the same answer again. Requests are served one at a
time, so two for one round cannot both submit.

The ServerApp sends each round's instruction one round ahead, so Flower's delivery (a SuperNode's idle poll,
a ClientApp process start) happens while the previous round is aggregated and finalized. An instruction for
the federation's next round therefore waits here until the round opens, polling the chain: for as long as
the current round runs and up to :data:`NEXT_ROUND_SECONDS` past its deadline, or that long from its
arrival if no round runs. It is refused at once if the current round was aborted (the run stopped) and if it
names a round further ahead; the wait ends when the ClientApp hangs up or the worker is stopped.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from registry.chain import ModelRegistry, Role, Round, RoundStatus
from registry.flower.messages import (
    MessageFormatError,
    Ready,
    RollCall,
    TrainInstruction,
    TrainReply,
    model_artifact,
)
from registry.flower.worker_link import FrameError, NodeRefusal, check_socket_path, recv_frame, send_frame
from registry.keystore import Keystore
from registry.roles import Analyst, FederationContext, RoleError
from registry.roles.admin import chain_now
from registry.store import ArtifactStore

REQUEST_SECONDS = 10.0
"""How long a connected client has to send its request (requests are served one at a time)."""
REASON_CHARS = 2000
"""The longest refusal or error text an answer carries."""
NEXT_ROUND_SECONDS = 120.0
"""How long an instruction sent ahead waits for its round to open past the current round's deadline (from its
arrival if no round runs)."""
WAIT_POLL_SECONDS = 0.2
"""How often an instruction sent ahead looks at the chain (an analyst agent polls every 0.5 s)."""


class WorkerError(RoleError):
    """The analyst worker cannot serve on its socket (another one serves there, or the path is taken)."""


def _sleep(seconds: float) -> bool:
    """Wait ``seconds`` and never give up (an :meth:`AnalystWorker.train` outside a connection)."""
    time.sleep(seconds)
    return False


class AnalystWorker:
    """An analyst answering roll calls and train instructions.

    Args:
        keystore: The analyst's opened keystore.
        registry: The registry, acting as the analyst's account.
        store: The verified IPFS store.
        federation_id: The only federation served (0: any this account is an analyst of).
        workers: Processes for Paillier encryption.
    """

    def __init__(self, keystore: Keystore, registry: ModelRegistry, store: ArtifactStore, federation_id: int = 0,
                 workers: int | None = 1) -> None:
        self.keystore, self.registry, self.store = keystore, registry, store
        self.federation_id, self.workers = federation_id, workers
        self._analysts: dict[int, Analyst] = {}

    def train(self, instruction: TrainInstruction, abandon: Callable[[float], bool] = _sleep) -> TrainReply:
        """Check ``instruction`` against the chain (once its round opened, if it was sent ahead), train and
        submit this analyst's update, and reply.

        Args:
            instruction: What the server asks for.
            abandon: Called with the poll interval while the instruction waits for its round; waits at most
                that long and returns True to give up (the asker hung up, the worker stops).

        Raises:
            NodeRefusal: If the instruction is not for this registry, federation, analyst, open round or latest
                model, or its round did not open in time.
            RoleError, ChainError, StoreError: If training or submitting fails.
        """
        _check_parties(instruction, self.federation_id, self.registry, self.keystore)
        _await_round(instruction, self.registry, abandon)
        stored, artifact = _check_round(instruction, self.registry)
        fid, me = instruction.federation_id, self.keystore.address
        mine = [u for u in self.registry.round_updates(fid, instruction.round) if u.analyst == me]
        if mine:  # a repeated instruction (a restarted server): the same reply, nothing recorded twice
            return TrainReply(me, mine[0].artifact_id, artifact, 0, 0.0)
        analyst = self._analysts.get(fid)
        if analyst is None:
            analyst = Analyst(FederationContext(self.registry, self.store, fid), self.keystore, self.workers)
            self._analysts[fid] = analyst
        submitted = analyst.submit(stored)
        epsilon = -1.0 if submitted.epsilon is None else submitted.epsilon
        return TrainReply(me, submitted.update_id, artifact, submitted.gas_used, submitted.seconds, epsilon)

    def ready(self, roll_call: RollCall) -> Ready:
        """Answer a roll call: this account, if it is an analyst of the federation on this registry.

        Raises:
            NodeRefusal: If the roll call is for another registry or a federation this worker does not serve.
        """
        _check_parties(roll_call, self.federation_id, self.registry, self.keystore)
        return Ready(self.keystore.address)

    def answer(self, request: dict, abandon: Callable[[float], bool] = _sleep) -> dict:
        """The answer to one request (see :mod:`registry.flower.worker_link`; ``abandon`` as for
        :meth:`train`); never raises, so one bad request cannot stop the worker."""
        try:
            parsed = _parse(request)
        except MessageFormatError as exc:
            return {"refusal": _short(f"malformed request: {exc}")}
        try:
            if isinstance(parsed, RollCall):
                return {"ready": asdict(self.ready(parsed))}
            return {"reply": asdict(self.train(parsed, abandon))}
        except NodeRefusal as exc:
            return {"refusal": _short(str(exc))}
        except Exception as exc:  # noqa: BLE001 - any failure is this request's answer, the worker goes on
            return {"error": _short(f"{type(exc).__name__}: {exc}")}


_REQUESTS = {"instruction": TrainInstruction, "roll_call": RollCall}


def _parse(request: dict) -> TrainInstruction | RollCall:
    """Raises: MessageFormatError: If ``request`` is not exactly one well-formed instruction or roll call."""
    if len(request) != 1 or next(iter(request)) not in _REQUESTS:
        raise MessageFormatError(f"the request holds {sorted(request)}, not exactly one of {sorted(_REQUESTS)}")
    (key, body), = request.items()
    if not isinstance(body, dict):
        raise MessageFormatError(f"the request's {key!r} is {type(body).__name__}, not an object")
    return _REQUESTS[key].from_mapping(body)


def _short(text: str) -> str:
    """``text`` cut to :data:`REASON_CHARS` (an answer must fit one frame; a node's reply error is one line)."""
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


def _check_parties(request: TrainInstruction | RollCall, pinned: int, registry: ModelRegistry,
                   keystore: Keystore) -> None:
    """Refuse a request for another registry or a federation this worker does not serve as an analyst."""
    fid, me = request.federation_id, keystore.address
    if request.registry.lower() != registry.address.lower():
        raise NodeRefusal(f"the request is for registry {request.registry}, this analyst's is "
                          f"{registry.address}: check FLEP_REGISTRY_ADDRESS on both sides")
    if pinned and fid != pinned:
        raise NodeRefusal(f"this analyst worker serves federation {pinned} only, not {fid}")
    if not 1 <= fid <= registry.federation_count():
        raise NodeRefusal(f"federation {fid} does not exist on registry {registry.address}")
    if not registry.has_role(fid, Role.ANALYST, me):
        raise NodeRefusal(f"account {me} (keystore {keystore.directory}) is not an analyst of federation {fid}: "
                          "ask the federation's admin to admit it (`flep access grant --role analyst`), then retry")


def _await_round(instruction: TrainInstruction, registry: ModelRegistry, abandon: Callable[[float], bool]) -> None:
    """Return once the instruction's round was opened (at once if it was); refuse one sent too far ahead, one
    whose round cannot open (the current round was aborted) or did not open in time, and one abandoned."""
    fid, wanted = instruction.federation_id, instruction.round
    give_up = None  # monotonic: NEXT_ROUND_SECONDS past the current round's deadline (if it runs) or from now
    while (current := registry.federation(fid).round_count) < wanted:
        if wanted > current + 1:
            raise NodeRefusal(f"round {wanted} of federation {fid} is {wanted - current} rounds ahead of the "
                              f"chain's latest ({current}): a server sends an instruction one round ahead at most")
        running = registry.round(fid, current) if current else None
        if running is not None and running.status == RoundStatus.ABORTED:
            raise NodeRefusal(f"round {current} of federation {fid} was aborted, so round {wanted} will not "
                              "open after it: nothing was trained")
        if give_up is None:
            runs = running is not None and running.status != RoundStatus.FINALIZED
            left = max(0, running.deadline - chain_now(registry)) if runs else 0
            give_up = time.monotonic() + left + NEXT_ROUND_SECONDS
        elif time.monotonic() > give_up:
            since = f"round {current}'s end or deadline" if current else "the instruction's arrival"
            raise NodeRefusal(f"round {wanted} of federation {fid} did not open within {NEXT_ROUND_SECONDS:.0f} s "
                              f"of {since}: nothing was trained")
        if abandon(WAIT_POLL_SECONDS):
            raise NodeRefusal(f"the wait for round {wanted} of federation {fid} was abandoned (the ClientApp hung "
                              "up or the worker stops): nothing was trained")


def _check_round(instruction: TrainInstruction, registry: ModelRegistry) -> tuple[Round, int]:
    """Refuse an instruction for a round not open or a model not the latest; else the open round's record and
    the global model artifact it starts from (0: the plan's initial model)."""
    fid = instruction.federation_id
    federation = registry.federation(fid)
    if not 1 <= instruction.round <= federation.round_count:
        raise NodeRefusal(f"round {instruction.round} of federation {fid} was never opened on chain")
    stored = registry.round(fid, instruction.round)
    if stored.status != RoundStatus.OPEN or chain_now(registry) > stored.deadline:
        raise NodeRefusal(f"round {instruction.round} of federation {fid} is not open for updates (status "
                          f"{stored.status.name.lower()}, deadline {stored.deadline})")
    latest = federation.model_version_count
    if instruction.model_version != latest:
        raise NodeRefusal(f"the instruction starts from model v{instruction.model_version}, but the chain's latest "
                          f"is v{latest}: the server is stale or lying; nothing was trained")
    return stored, model_artifact(registry, fid, latest)


def serve(worker: AnalystWorker, path: Path, stopping: Callable[[], bool],
          report: Callable[[dict, dict], None] = lambda request, answer: None,
          ready: Callable[[], None] = lambda: None) -> None:
    """Answer requests on the Unix socket ``path`` until ``stopping()``; the socket is removed at the end.
    ``report`` sees each request with its answer; ``ready`` is called once the socket accepts connections.

    The socket is created listening under a temporary name and renamed into place, so once ``path`` exists
    it accepts connections; only this user can connect (mode 0600).

    Raises:
        NodeRefusal: If ``path`` is too long for a Unix socket.
        WorkerError: If ``path``'s directory is missing, a worker already answers on ``path``, or something
            that is not a socket is there.
    """
    check_socket_path(path)
    if not path.parent.is_dir():
        raise WorkerError(f"the directory of socket {path} does not exist: create it (mode 0700) or choose "
                          "another --socket path")
    _clear(path)
    staging = path.with_name(f".w{os.getpid()}")
    check_socket_path(staging)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        previous = os.umask(0o177)
        try:
            staging.unlink(missing_ok=True)
            listener.bind(str(staging))
        finally:
            os.umask(previous)
        listener.listen(16)
        listener.settimeout(0.5)
        os.rename(staging, path)
        ours = path.stat().st_ino
        ready()
        try:
            while not stopping():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    _serve_one(worker, connection, report, stopping)
        finally:
            try:
                if path.stat().st_ino == ours:
                    path.unlink()
            except FileNotFoundError:
                pass


def _serve_one(worker: AnalystWorker, connection: socket.socket, report: Callable[[dict, dict], None],
               stopping: Callable[[], bool]) -> None:
    connection.settimeout(REQUEST_SECONDS)
    try:
        request = recv_frame(connection)
    except (FrameError, OSError) as exc:
        request, answer = {}, {"refusal": _short(f"malformed request: {exc}")}
    else:
        connection.settimeout(None)

        def abandon(seconds: float) -> bool:
            # After its request a client only reads: anything readable is its hang-up (or out of protocol).
            return stopping() or bool(select.select([connection], [], [], seconds)[0])

        answer = worker.answer(request, abandon)
    report(request, answer)
    try:
        send_frame(connection, answer)
    except (OSError, FrameError):
        pass  # the client left; what was recorded is on chain, and a repeated request gets the same answer


def _clear(path: Path) -> None:
    """Remove a dead worker's socket at ``path``; refuse a live one or anything else."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise WorkerError(f"{path} exists and is not a socket: choose another --socket path")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        if probe.connect_ex(str(path)) == 0:
            raise WorkerError(f"an analyst worker already answers on {path}: stop it or choose another --socket")
    path.unlink()
