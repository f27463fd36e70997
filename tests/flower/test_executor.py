"""The FLEP executor's pure logic: which reply a task gets (the installed ClientApp's, or an error reply as
Flower's flwr-clientapp makes it) and how it waits for a SuperNode that is not there. The executor against a
real SuperNode runs in every `flep flower run` of test_flower_run.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flwr.app import Message, MessageType, RecordDict
from flwr.common.constant import ErrorCode, SubStatus
from flwr.supercore.task_identity import TaskIdentity

from registry.devnet import free_port
from registry.flower import executor
from registry.flower.messages import Ready
from registry.flower.worker_link import NodeRefusal


@pytest.fixture()
def message(monkeypatch) -> Message:
    for name, value in (("_run_id", 1), ("_node_id", 7), ("_task_id", 3)):
        monkeypatch.setattr(TaskIdentity, name, value)
    sent = Message(RecordDict(), dst_node_id=7, message_type=MessageType.QUERY)
    sent.metadata.__dict__["_message_id"] = sent.object_id
    return sent


def test_a_task_gets_the_installed_clientapps_reply(message: Message) -> None:
    seen = []

    def client_app(message: Message, context) -> Message:
        seen.append(message)
        return Message(Ready("0x" + "ab" * 20).to_content(), reply_to=message)

    reply, status, details = executor.answer(message, None, SimpleNamespace(fab_id=executor.APP_ID), client_app)
    assert (status, details) == (SubStatus.COMPLETED, "") and seen == [message]
    assert Ready.from_content(reply.content) == Ready("0x" + "ab" * 20)
    assert reply.metadata.reply_to_message_id == message.object_id


def test_a_refusing_clientapp_becomes_an_error_reply_and_another_apps_run_is_refused(message: Message) -> None:
    def refusing(message: Message, context) -> Message:
        raise NodeRefusal("account 0xcd… is not an analyst of federation 4")

    reply, status, details = executor.answer(message, None, SimpleNamespace(fab_id=executor.APP_ID), refusing)
    assert status == SubStatus.FAILED and reply.has_error()
    assert reply.error.code == ErrorCode.CLIENT_APP_RAISED_EXCEPTION
    assert "account 0xcd… is not an analyst of federation 4" in reply.error.reason == details

    called = []
    reply, status, _ = executor.answer(message, None, SimpleNamespace(fab_id="mallory/miner"),
                                       lambda **kwargs: called.append(kwargs))
    assert called == [] and status == SubStatus.FAILED  # the foreign app's code is not what runs, nor ours
    assert reply.error.code == ErrorCode.LOAD_CLIENT_APP_EXCEPTION
    assert reply.error.reason == "this SuperNode's FLEP executor runs the flep/flep-registry app only, not " \
                                 "'mallory/miner'"


def test_the_app_id_is_the_one_flower_gives_this_project(tmp_path) -> None:
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert executor.APP_ID == f"{project['tool']['flwr']['app']['publisher']}/{project['project']['name']}"


def test_a_supernode_that_is_not_there_is_reported_once_and_asked_again(monkeypatch) -> None:
    monkeypatch.setattr(executor, "RETRY_SECONDS", 0.05)
    lines, looks = [], []
    executor.serve_tasks(f"127.0.0.1:{free_port()}", lambda: looks.append(1) or len(looks) > 4, lines.append)
    assert len(looks) == 5  # asked four times
    assert len(lines) == 1 and "not reachable" in lines[0]["error"] and "retrying" in lines[0]["error"]
