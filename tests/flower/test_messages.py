"""The Flower protocol's records and a SuperNode's node config: ids only, every field type-checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flwr.app import ConfigRecord, RecordDict

from registry.flower.messages import (
    REPLY_RECORD,
    TRAIN_RECORD,
    MessageFormatError,
    Ready,
    RollCall,
    TrainInstruction,
    TrainReply,
)
from registry.flower.server_rounds import FlowerRunError, ServerSettings
from registry.flower.worker_link import NodeConfig, NodeRefusal


def test_instruction_and_reply_round_trip_through_records() -> None:
    instruction = TrainInstruction("0x" + "ab" * 20, 3, 7, 6)
    assert TrainInstruction.from_content(instruction.to_content()) == instruction
    reply = TrainReply("0x" + "cd" * 20, 99, 41, 123456, 1.5, 0.8)
    assert TrainReply.from_content(reply.to_content()) == reply
    # The reply carries ids, gas and time only: no parameters, no ciphertext.
    assert set(reply.to_content().config_records[REPLY_RECORD]) == {"analyst", "update_id", "model_artifact",
                                                                      "gas_used", "seconds", "epsilon"}
    assert not reply.to_content().array_records
    call, ready = RollCall("0x" + "ab" * 20, 3), Ready("0x" + "cd" * 20)
    assert RollCall.from_content(call.to_content()) == call and Ready.from_content(ready.to_content()) == ready
    with pytest.raises(MessageFormatError, match="carries no 'flep.ready' config record"):
        Ready.from_content(call.to_content())


@pytest.mark.parametrize("content, message", [
    (RecordDict(), "carries no 'flep.train' config record"),
    (RecordDict({TRAIN_RECORD: ConfigRecord({"registry": "0x1", "federation_id": 1, "round": 1})}),
     "field 'model_version'"),
    (RecordDict({TRAIN_RECORD: ConfigRecord({"registry": "0x1", "federation_id": "1", "round": 1,
                                             "model_version": 0})}),
     "field 'federation_id' of 'flep.train' must be int, got str"),
    (RecordDict({TRAIN_RECORD: ConfigRecord({"registry": "0x1", "federation_id": True, "round": 1,
                                             "model_version": 0})}), "must be int, got bool"),
])
def test_a_malformed_instruction_is_refused_naming_the_field(content: RecordDict, message: str) -> None:
    with pytest.raises(MessageFormatError, match=message.replace("(", r"\(")):
        TrainInstruction.from_content(content)


def test_a_reply_of_another_shape_is_refused() -> None:
    wrong = RecordDict({REPLY_RECORD: ConfigRecord({"analyst": "0x1", "update_id": 1.5, "model_artifact": 0,
                                                    "gas_used": 1, "seconds": 1.0, "epsilon": -1.0})})
    with pytest.raises(MessageFormatError, match="'update_id' of 'flep.update' must be int, got float"):
        TrainReply.from_content(wrong)
    # An int where a float is expected is fine (Flower keeps 1.0 and 1 apart).
    whole = {"analyst": "0x1", "update_id": 1, "model_artifact": 0, "gas_used": 1, "seconds": 2, "epsilon": -1}
    assert TrainReply.from_content(RecordDict({REPLY_RECORD: ConfigRecord(whole)})).seconds == 2.0


def test_an_instruction_or_reply_with_a_field_nobody_defined_is_refused() -> None:
    fields = {"registry": "0x1", "federation_id": 1, "round": 1, "model_version": 0}
    assert TrainInstruction.from_mapping(fields) == TrainInstruction("0x1", 1, 1, 0)
    with pytest.raises(MessageFormatError, match=r"unknown field\(s\) \['parameters'\]"):
        TrainInstruction.from_mapping({**fields, "parameters": "..."})
    with pytest.raises(MessageFormatError, match="unknown field"):
        TrainReply.from_content(RecordDict({REPLY_RECORD: ConfigRecord(
            {"analyst": "0x1", "update_id": 1, "model_artifact": 0, "gas_used": 1, "seconds": 2.0, "epsilon": -1.0,
             "weights": b"x"})}))


def test_node_config_names_the_analyst_workers_socket() -> None:
    assert NodeConfig.from_node_config({"worker": "~/analyst.sock"}) == NodeConfig(Path("~/analyst.sock").expanduser())
    for bad in ({}, {"worker": ""}, {"worker": 3}, {"keystore": "/ks"}):
        with pytest.raises(NodeRefusal, match="no analyst worker: start `flep flower analyst"):
            NodeConfig.from_node_config(bad)


def test_server_settings_refuse_a_missing_or_mistyped_run_config() -> None:
    config = {"federation": 2, "rounds": 3, "round-seconds": 60, "nodes": 2, "node-wait-seconds": 10,
              "admin-keystore": "/a", "aggregator-keystore": "/g", "events": ""}
    settings = ServerSettings.from_run_config(config)
    assert (settings.federation_id, settings.rounds, settings.admin_keystore) == (2, 3, Path("/a"))
    with pytest.raises(FlowerRunError, match="'rounds' must be int, got '3'"):
        ServerSettings.from_run_config({**config, "rounds": "3"})
    with pytest.raises(FlowerRunError, match="'admin-keystore' is empty"):
        ServerSettings.from_run_config({**config, "admin-keystore": ""})


def test_a_reply_claiming_an_update_the_chain_does_not_back_or_another_node_claimed_is_ignored() -> None:
    from registry.flower.server_rounds import claim_problem

    alice, bob = "0x" + "a1" * 20, "0x" + "b2" * 20
    recorded, claimed = {11: alice, 12: bob}, {}

    def claim(node: int, analyst: str, update: int, model: int = 5) -> str:
        return claim_problem(recorded, claimed, node, TrainReply(analyst, update, model, 1, 1.0), 2, 5)

    assert claim(1, alice.upper().replace("0X", "0x"), 11) == ""
    assert claimed == {11: 1}
    assert "which the chain does not record in round 2" in claim(2, bob, 11)
    assert "does not record" in claim(2, bob, 99)
    # Node 2 names alice's real update: node 1 claimed it first.
    assert claim(2, alice, 11) == "node 2 claims update 11, which node 1 claimed before it in round 2: ignored"
    # Bob's real update, but trained (it says) from another model than the round's: not credited, not claimed.
    assert "trained from model artifact 4, round 2 starts from artifact 5" in claim(2, bob, 12, model=4)
    assert claimed == {11: 1}
    assert claim(2, bob, 12) == "" and claimed == {11: 1, 12: 2}
    # The same node repeating its own claim (a resent instruction) is fine.
    assert claim(1, alice, 11) == ""


class _Grid:
    """A Grid whose nodes answer from a script (node -> a function of the message: its reply, or None for
    silence): the ServerApp's roll call logic without a SuperLink."""

    def __init__(self, answers) -> None:
        self.answers, self.pushed = answers, []

    def get_node_ids(self):
        return list(self.answers)

    def push_messages(self, messages):
        for message in messages:
            message.metadata.__dict__["_message_id"] = message.object_id
            self.pushed.append(message)
        return [message.object_id for message in messages]

    def pull_messages(self, ids):
        return [reply for m in self.pushed if m.object_id in ids
                if (reply := self.answers[m.metadata.dst_node_id](m)) is not None]


def test_a_roll_call_with_fewer_analysts_ready_than_a_round_needs_opens_no_round(tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    from flwr.app import Error, Message, MessageType
    from flwr.supercore.task_identity import TaskIdentity

    from registry.chain import Role
    from registry.flower.server_rounds import _Log, _push, _roll_call

    monkeypatch.setattr(TaskIdentity, "_run_id", 1)
    monkeypatch.setattr(TaskIdentity, "_node_id", 0)
    monkeypatch.setattr(TaskIdentity, "_task_id", 1)
    alice, bob = "0x" + "a1" * 20, "0x" + "b2" * 20
    grid = _Grid({
        1: lambda m: Message(Ready(alice).to_content(), reply_to=m),
        2: lambda m: Message(Ready(alice).to_content(), reply_to=m),  # a second node behind the same analyst
        3: lambda m: Message(Error(code=0, reason="account 0xb2… is not an analyst of federation 4"), reply_to=m),
        4: lambda m: Message(TrainReply(alice, 1, 0, 1, 1.0).to_content(), reply_to=m),  # out of protocol
        5: lambda m: None,  # silent
        6: lambda m: Message(Ready(bob).to_content(), reply_to=m),  # a claim the chain does not back
    })
    registry = SimpleNamespace(federation=lambda fid: SimpleNamespace(min_participants=2),
                               has_role=lambda fid, role, account: (fid, role, account) == (4, Role.ANALYST, alice))
    settings = ServerSettings(4, 1, 60, 6, 1, Path("/a"), Path("/g"), str(tmp_path / "events.jsonl"))
    log = _Log(settings.events)
    calls = _push(grid, RollCall("0x" + "ab" * 20, 4), MessageType.QUERY, 0, log)
    assert sorted(calls.values()) == [1, 2, 3, 4, 5, 6]
    assert all(RollCall.from_content(m.content) == RollCall("0x" + "ab" * 20, 4) for m in grid.pushed)
    with pytest.raises(FlowerRunError, match="1 analyst\\(s\\) of federation 4 answered the roll call in 1 s, a "
                                             "round needs 2: no round was opened"):
        _roll_call(grid, registry, 4, calls, settings, log)
    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    said = {line["node"]: line.get("error") or line["action"] for line in lines}
    assert said[1] == f"node 1: analyst {alice} ready" and said[2] == f"node 2: analyst {alice} ready"
    assert said[3] == "node 3 refused the roll call: account 0xb2… is not an analyst of federation 4"
    assert said[4].startswith("node 4 answered the roll call out of protocol: the message carries no 'flep.ready'")
    assert said[5] == "node 5 did not answer the roll call in 1 s"
    assert said[6] == f"node 6 names {bob}, which is not an analyst of federation 4 on chain: ignored"
