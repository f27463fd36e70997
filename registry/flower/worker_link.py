"""How a SuperNode's ClientApp reaches its analyst: one request over a local Unix socket to the analyst worker.

A SuperNode runs whatever app code its SuperLink ships (the FAB), so it is no place for the analyst's
passphrase. The analyst runs beside it as its own long-lived process (``flep flower analyst``,
:mod:`registry.flower.analyst_worker`), which holds the opened keystore, the decrypted data and the local
trainer across rounds, and checks every instruction against the chain. The ClientApp only forwards the
train instruction's ids to it and returns the reply's ids; whatever code asks, the worker trains only for
what the chain backs.

The SuperNode is configured with the worker's socket (``--node-config 'worker="/path/to/analyst.sock"'``).
On the wire each side sends one frame: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
The request is ``{"instruction": {...}}`` (answered by ``{"reply": {...}}``) or ``{"roll_call": {...}}``
(answered by ``{"ready": {...}}``); instead of either the answer may be ``{"refusal": "..."}`` (the chain
does not back the request; nothing was recorded) or ``{"error": "..."}`` (training or submitting failed).
The client keeps its end open until the answer: closing it, even for writing only, gives up an instruction
still waiting for its round. This module imports no chain or ML code: in Flower's default isolation a
ClientApp process starts for every message.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

from registry.flower.messages import MessageFormatError, Ready, RollCall, TrainInstruction, TrainReply

WORKER_KEY = "worker"
MAX_FRAME = 64 * 1024
"""The largest frame either side accepts: an instruction or a reply is a few hundred bytes."""
MAX_SOCKET_PATH = 107
"""Linux's limit on a Unix socket's path (``sun_path`` holds 108 bytes with the terminating NUL)."""
ANSWER_SECONDS = 3600.0
"""How long a ClientApp waits for the worker's answer (a wait for the round, its training and submission)."""
ROLL_CALL_SECONDS = 60.0
"""How long a ClientApp waits for the worker's answer to a roll call (a few chain reads)."""

_LENGTH = struct.Struct(">I")


class NodeRefusal(RuntimeError):
    """The analyst will not train for this instruction, or cannot be reached (what is wrong, what to do)."""


class FrameError(ValueError):
    """A frame on the worker's socket is cut short, too large, or not a JSON object."""


@dataclass(frozen=True)
class NodeConfig:
    """A SuperNode's FLEP configuration: the socket of the analyst worker it forwards to."""

    worker: Path

    @classmethod
    def from_node_config(cls, node_config: dict[str, object]) -> NodeConfig:
        """Raises: NodeRefusal: If no worker socket is configured."""
        worker = node_config.get(WORKER_KEY)
        if not isinstance(worker, str) or not worker:
            raise NodeRefusal("this SuperNode has no analyst worker: start `flep flower analyst --keystore DIR "
                              "--socket PATH` beside it and the SuperNode with --node-config 'worker=\"PATH\"'")
        return cls(Path(worker).expanduser())


def check_socket_path(path: Path) -> None:
    """Raises: NodeRefusal: If ``path`` is too long for a Unix socket."""
    if len(str(path).encode()) > MAX_SOCKET_PATH:
        raise NodeRefusal(f"socket path {path} is longer than {MAX_SOCKET_PATH} bytes, the most a Unix socket "
                          "allows: choose a shorter one")


def send_frame(connection: socket.socket, payload: dict) -> None:
    data = json.dumps(payload).encode()
    if len(data) > MAX_FRAME:
        raise FrameError(f"frame of {len(data)} bytes exceeds {MAX_FRAME}")
    connection.sendall(_LENGTH.pack(len(data)) + data)


def recv_frame(connection: socket.socket) -> dict:
    """One frame's JSON object.

    Raises:
        FrameError: If the peer closes early, announces more than :data:`MAX_FRAME` bytes, or sends no
            JSON object.
    """
    (length,) = _LENGTH.unpack(_recv_exactly(connection, _LENGTH.size))
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes announced, at most {MAX_FRAME} accepted")
    try:
        payload = json.loads(_recv_exactly(connection, length))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FrameError(f"frame is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise FrameError(f"frame holds a JSON {type(payload).__name__}, not an object")
    return payload


def _recv_exactly(connection: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise FrameError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data)


def ask_worker(config: NodeConfig, instruction: TrainInstruction, timeout: float = ANSWER_SECONDS) -> TrainReply:
    """Forward ``instruction`` to the analyst worker and return its reply.

    Raises:
        NodeRefusal: If the worker cannot be reached, refuses the instruction, fails, or answers out of
            protocol (the reason says which).
    """
    return _ask(config, "instruction", asdict(instruction), "reply", TrainReply, timeout)


def ask_ready(config: NodeConfig, roll_call: RollCall, timeout: float = ROLL_CALL_SECONDS) -> Ready:
    """Forward ``roll_call`` to the analyst worker and return which analyst is ready.

    Raises:
        NodeRefusal: As :func:`ask_worker`.
    """
    return _ask(config, "roll_call", asdict(roll_call), "ready", Ready, timeout)


def _ask(config: NodeConfig, asking: str, request: dict, answering: str, kind: type[TrainReply] | type[Ready],
         timeout: float) -> TrainReply | Ready:
    """Send ``{asking: request}``, return the answer's ``answering`` object as ``kind`` (see :func:`ask_worker`)."""
    check_socket_path(config.worker)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(config.worker))
            send_frame(connection, {asking: request})
            answer = recv_frame(connection)
    except (OSError, FrameError) as exc:
        raise NodeRefusal(f"cannot reach the analyst worker at {config.worker} ({exc}): is `flep flower analyst "
                          "--socket` running there?") from exc
    if isinstance(answer.get("refusal"), str):
        raise NodeRefusal(answer["refusal"])
    if isinstance(answer.get("error"), str):
        raise NodeRefusal(f"the analyst failed: {answer['error']}")
    found = answer.get(answering)
    try:
        if not isinstance(found, dict):
            raise MessageFormatError(f"the answer holds no {answering}, refusal or error")
        return kind.from_mapping(found)
    except MessageFormatError as exc:
        raise NodeRefusal(f"the analyst worker at {config.worker} answered out of protocol: {exc}") from exc
