"""The ClientApp-to-analyst socket: real Unix sockets, a worker whose training is scripted (pure protocol logic;
the chain checks are tested on the devnet in test_flower_run.py)."""

from __future__ import annotations

import json
import re
import socket
import stat
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.flower import analyst_worker
from registry.flower.analyst_worker import AnalystWorker, WorkerError, serve
from registry.flower.messages import Ready, RollCall, TrainInstruction, TrainReply
from registry.flower.worker_link import MAX_FRAME, NodeConfig, NodeRefusal, ask_ready, ask_worker

INSTRUCTION = TrainInstruction("0x" + "ab" * 20, 1, 2, 1)
REPLY = TrainReply("0x" + "cd" * 20, 11, 7, 90_000, 1.25)


WAIT = "wait"


class _Scripted(AnalystWorker):
    """Answers from a script instead of the chain: the reply, a refusal, a failure, or (WAIT) a round that
    never opens, waited for until the worker gives up."""

    def __init__(self) -> None:
        self.seen: list[TrainInstruction | RollCall] = []
        self.outcome: TrainReply | Exception | str = REPLY
        self.abandoned = threading.Event()

    def ready(self, roll_call: RollCall) -> Ready:
        self.seen.append(roll_call)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return Ready(REPLY.analyst)

    def train(self, instruction: TrainInstruction, abandon=analyst_worker._sleep) -> TrainReply:
        self.seen.append(instruction)
        if self.outcome == WAIT:
            while not abandon(0.05):
                pass
            self.abandoned.set()
            raise NodeRefusal("abandoned")
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class _Served:
    def __init__(self, path: Path, worker: _Scripted) -> None:
        self.path, self.worker = path, worker
        self.answers: list[dict] = []
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=serve, args=(worker, path, self.stop.is_set,
                                                           lambda _, answer: self.answers.append(answer),
                                                           self.ready.set), daemon=True)

    def raw(self, data: bytes) -> dict:
        """Send ``data`` as is and read the worker's answer frame."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(10)
            connection.connect(str(self.path))
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        (length,) = struct.unpack(">I", answer[:4])
        return json.loads(answer[4:4 + length])


def _frame(payload: object) -> bytes:
    data = json.dumps(payload).encode()
    return struct.pack(">I", len(data)) + data


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[_Served]:
    running = _Served(tmp_path / "analyst.sock", _Scripted())
    running.thread.start()
    assert running.ready.wait(10)
    yield running
    running.stop.set()
    running.thread.join(10)


def test_an_instruction_goes_to_the_worker_and_its_reply_comes_back(served: _Served) -> None:
    assert ask_worker(NodeConfig(served.path), INSTRUCTION) == REPLY
    assert served.worker.seen == [INSTRUCTION]
    # Only this user can connect: the socket is 0600.
    assert stat.S_IMODE(served.path.stat().st_mode) == 0o600


def test_a_roll_call_goes_to_the_worker_and_its_analyst_comes_back(served: _Served) -> None:
    call = RollCall("0x" + "ab" * 20, 4)
    assert ask_ready(NodeConfig(served.path), call) == Ready(REPLY.analyst)
    served.worker.outcome = NodeRefusal("account 0xcd… is not an analyst of federation 4")
    with pytest.raises(NodeRefusal, match="^account 0xcd… is not an analyst of federation 4$"):
        ask_ready(NodeConfig(served.path), call)
    assert served.worker.seen == [call, call]


def test_a_refusal_or_a_failure_reaches_the_clientapp_as_its_reason(served: _Served) -> None:
    served.worker.outcome = NodeRefusal("round 3 of federation 1 is not open for updates")
    with pytest.raises(NodeRefusal, match="^round 3 of federation 1 is not open for updates$"):
        ask_worker(NodeConfig(served.path), INSTRUCTION)
    served.worker.outcome = ValueError("IPFS node at 127.0.0.1:5001 is down")
    with pytest.raises(NodeRefusal, match="the analyst failed: ValueError: IPFS node at 127.0.0.1:5001 is down"):
        ask_worker(NodeConfig(served.path), INSTRUCTION)
    # A failure with a huge message (a node's error page, say) still fits the answer frame, cut short.
    served.worker.outcome = RuntimeError("x" * (2 * MAX_FRAME))
    with pytest.raises(NodeRefusal, match="the analyst failed: RuntimeError: x+…$") as failed:
        ask_worker(NodeConfig(served.path), INSTRUCTION)
    assert len(str(failed.value)) < 2100
    # The worker went on serving.
    served.worker.outcome = REPLY
    assert ask_worker(NodeConfig(served.path), INSTRUCTION) == REPLY


@pytest.mark.parametrize("data, reason", [
    (b"\x00\x00\x00\x05hello", "frame is not JSON"),
    (_frame([1, 2]), "holds a JSON list, not an object"),
    (struct.pack(">I", MAX_FRAME + 1), f"at most {MAX_FRAME} accepted"),
    (b"\x00\x00\x01\x00{", "connection closed after 1 of 256 bytes"),
    (b"\x00\x00", "connection closed after 2 of 4 bytes"),
    (_frame({"instruction": "train round 2"}), "the request's 'instruction' is str, not an object"),
    (_frame({"train": {}}), r"holds \['train'\], not exactly one of \['instruction', 'roll_call'\]"),
    (_frame({"instruction": INSTRUCTION.__dict__, "roll_call": {"registry": "0x1", "federation_id": 1}}),
     "not exactly one of"),
    (_frame({"roll_call": {"registry": "0x1"}}), "field 'federation_id' of 'flep.roll-call' must be int"),
    (_frame({"instruction": {**INSTRUCTION.__dict__, "round": "2"}}), "field 'round' of 'flep.train' must be int"),
    (_frame({"instruction": {**INSTRUCTION.__dict__, "weights": [0.1]}}), r"unknown field\(s\) \['weights'\]"),
])
def test_a_malformed_request_is_refused_and_the_worker_goes_on(served: _Served, data: bytes, reason: str) -> None:
    answer = served.raw(data)
    assert set(answer) == {"refusal"} and answer["refusal"].startswith("malformed request: ")
    assert re.search(reason, answer["refusal"]), answer
    assert served.worker.seen == []  # nothing reached the analyst
    assert ask_worker(NodeConfig(served.path), INSTRUCTION) == REPLY


def test_a_client_that_sends_nothing_holds_up_the_worker_only_briefly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(analyst_worker, "REQUEST_SECONDS", 0.5)
    running = _Served(tmp_path / "a.sock", _Scripted())
    running.thread.start()
    assert running.ready.wait(10)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
            silent.connect(str(running.path))
            assert ask_worker(NodeConfig(running.path), INSTRUCTION, timeout=10) == REPLY
        assert running.answers[0]["refusal"].startswith("malformed request: ")
    finally:
        running.stop.set()
        running.thread.join(10)


def test_an_instruction_waiting_for_its_round_is_given_up_when_the_clientapp_hangs_up(served: _Served) -> None:
    served.worker.outcome = WAIT
    with pytest.raises(NodeRefusal, match="cannot reach the analyst worker"):
        ask_worker(NodeConfig(served.path), INSTRUCTION, timeout=0.5)  # the ClientApp gives up, closing its end
    assert served.worker.abandoned.wait(10)  # the worker noticed and is free again
    served.worker.outcome = REPLY
    assert ask_worker(NodeConfig(served.path), INSTRUCTION, timeout=10) == REPLY


def test_a_stopping_worker_gives_up_a_wait_and_exits(tmp_path: Path) -> None:
    running = _Served(tmp_path / "a.sock", _Scripted())
    running.worker.outcome = WAIT
    running.thread.start()
    assert running.ready.wait(10)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as waiting:
        waiting.connect(str(running.path))
        waiting.sendall(_frame({"instruction": INSTRUCTION.__dict__}))
        waiting.settimeout(10)
        running.stop.set()
        answer = waiting.recv(65536)
    running.thread.join(10)
    assert not running.thread.is_alive() and running.worker.abandoned.is_set()
    assert json.loads(answer[4:]) == {"refusal": "abandoned"}


def test_an_answer_out_of_protocol_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "liar.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as liar:
        liar.bind(str(path))
        liar.listen(1)

        def answer_badly() -> None:
            connection, _ = liar.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(_frame({"reply": {"analyst": "0x1", "update_id": "11"}}))

        thread = threading.Thread(target=answer_badly, daemon=True)
        thread.start()
        with pytest.raises(NodeRefusal, match="answered out of protocol: field 'update_id' of 'flep.update' must be"):
            ask_worker(NodeConfig(path), INSTRUCTION, timeout=10)
        thread.join(10)


def test_no_worker_on_the_socket_is_a_clear_refusal(tmp_path: Path) -> None:
    with pytest.raises(NodeRefusal, match=r"cannot reach the analyst worker at .*missing\.sock .*is `flep flower "
                                          "analyst --socket` running there"):
        ask_worker(NodeConfig(tmp_path / "missing.sock"), INSTRUCTION)


def test_a_socket_path_is_served_by_one_worker_and_removed_at_its_stop(served: _Served, tmp_path: Path) -> None:
    with pytest.raises(WorkerError, match="already answers on"):
        serve(_Scripted(), served.path, lambda: True)
    assert ask_worker(NodeConfig(served.path), INSTRUCTION) == REPLY  # the first one is untouched
    served.stop.set()
    served.thread.join(10)
    assert not served.path.exists()


def test_a_dead_workers_socket_is_replaced_and_anything_else_is_left_alone(tmp_path: Path) -> None:
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))  # bound, never listening, never removed: a worker that was killed
    running = _Served(stale, _Scripted())
    running.thread.start()
    assert running.ready.wait(10)
    assert ask_worker(NodeConfig(stale), INSTRUCTION) == REPLY
    running.stop.set()
    running.thread.join(10)

    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    with pytest.raises(WorkerError, match="exists and is not a socket"):
        serve(_Scripted(), keep, lambda: True)
    assert keep.read_text() == "mine"
    link = tmp_path / "link.sock"
    link.symlink_to(keep)  # planted by someone else where the socket should go
    with pytest.raises(WorkerError, match="exists and is not a socket"):
        serve(_Scripted(), link, lambda: True)
    with pytest.raises(WorkerError, match="the directory of socket .* does not exist: create it"):
        serve(_Scripted(), tmp_path / "missing" / "analyst.sock", lambda: True)


def test_a_socket_path_too_long_for_linux_is_refused_up_front(tmp_path: Path) -> None:
    long = tmp_path / ("d" * 120) / "analyst.sock"
    with pytest.raises(NodeRefusal, match="longer than 107 bytes"):
        serve(_Scripted(), long, lambda: True)
    with pytest.raises(NodeRefusal, match="longer than 107 bytes"):
        ask_worker(NodeConfig(long), INSTRUCTION)
