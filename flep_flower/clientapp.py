"""The Flower ClientApp: a SuperNode is an analyst (:mod:`registry.flower.analyst_node`).

Flower starts one ClientApp process per message, so what the analyst's local trainer keeps between rounds
(its data shuffling) lives in the node's Flower context state for the run.
"""

from __future__ import annotations

from flwr.app import ConfigRecord, Context, Message
from flwr.clientapp import ClientApp

from registry.flower.analyst_node import NodeConfig, train_round
from registry.flower.messages import TrainInstruction

STATE_RECORD = "flep.trainer"

app = ClientApp()


@app.train()
def train(message: Message, context: Context) -> Message:
    """Train the round the message names and reply with the registered update's id.

    Raises:
        NodeRefusal: If the chain does not back the instruction (Flower sends the reason back as the reply's
            error; nothing was recorded).
    """
    instruction = TrainInstruction.from_content(message.content)
    state = context.state.config_records.get(STATE_RECORD)
    shuffle = state.get("shuffle") if state is not None else None
    reply, shuffle = train_round(instruction, NodeConfig.from_node_config(context.node_config),
                                 shuffle if isinstance(shuffle, bytes) else None)
    if shuffle is not None:
        context.state[STATE_RECORD] = ConfigRecord({"shuffle": shuffle})
    return Message(reply.to_content(), reply_to=message)
