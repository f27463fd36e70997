"""The Flower ClientApp: a SuperNode forwards the server's roll call and each train instruction to its analyst
worker (:mod:`registry.flower.worker_link`) and replies with the worker's answer (the analyst, the update's id).

It runs in the FLEP executor beside the SuperNode (:mod:`registry.flower.executor`), or, on a SuperNode in
Flower's default isolation, in a fresh ``flwr-clientapp`` process per message started from the app's FAB
(``flep_flower/clientapp.py`` imports it from here). Either way it holds no key and imports no chain or ML
code: the analyst worker (``flep flower analyst``) keeps the keystore, the data and the local trainer across
rounds, and checks every instruction against the chain.
"""

from __future__ import annotations

from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from registry.flower.messages import RollCall, TrainInstruction
from registry.flower.worker_link import NodeConfig, ask_ready, ask_worker

app = ClientApp()


@app.train()
def train(message: Message, context: Context) -> Message:
    """Forward the instruction to the analyst worker and reply with the update it registered.

    Raises:
        NodeRefusal: If the worker refuses the instruction (the chain does not back it; nothing was recorded),
            fails, or cannot be reached (Flower sends the reason back as the reply's error).
        MessageFormatError: If the message carries no train instruction.
    """
    instruction = TrainInstruction.from_content(message.content)
    reply = ask_worker(NodeConfig.from_node_config(context.node_config), instruction)
    return Message(reply.to_content(), reply_to=message)


@app.query()
def roll_call(message: Message, context: Context) -> Message:
    """Forward the server's roll call to the analyst worker and reply with the analyst ready behind this node.

    Raises:
        NodeRefusal: If the worker refuses (not an analyst of the federation, another registry) or cannot be
            reached.
        MessageFormatError: If the message carries no roll call.
    """
    ready = ask_ready(NodeConfig.from_node_config(context.node_config), RollCall.from_content(message.content))
    return Message(ready.to_content(), reply_to=message)
