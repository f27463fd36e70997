"""The FLEP executor beside a SuperNode (``flep flower executor``): one long-lived process that runs this
package's ClientApp (:mod:`registry.flower.client_app`) for every message the SuperNode receives.

In Flower's default isolation a SuperNode's SuperExec starts a fresh ``flwr-clientapp`` process for every
message, from the app code (FAB) the SuperLink ships: about 1 s of CPU for Flower's own imports each time,
five of them per round with five analysts. A SuperNode started with ``--isolation process`` leaves its
ClientApp tasks to an outside executor instead; this one takes them from the SuperNode's runtime API
(127.0.0.1 only), imports Flower once, and never runs server-shipped code: whatever FAB a run names, it runs
the installed ClientApp, and a run of another app gets an error reply. It holds no key and no FLEP setting;
the analyst worker it forwards to (``--node-config 'worker="PATH"'`` on the SuperNode) checks everything
against the chain.

It speaks flwr 1.42's runtime API with Flower's own functions (``flwr.supernode.runtime.run_clientapp``'s
task input, message and output calls, the task heartbeat), as ``flwr-clientapp`` does, so it is tied to the
pinned ``flwr`` version.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from flwr.app import Context, Message
from flwr.app.error import Error
from flwr.common.constant import ErrorCode, SubStatus
from flwr.proto.runtime_pb2 import AcquireTaskRequest  # pylint: disable=E0611
from flwr.supercore.constant import TaskType
from flwr.supercore.heartbeat import HeartbeatSender, make_task_heartbeat_fn_http
from flwr.supercore.interceptors import RuntimeTokenHttpInterceptor, RuntimeVersionHttpInterceptor
from flwr.supercore.retry import RetryInvoker, exponential
from flwr.supercore.run import Run
from flwr.supercore.runtime import RuntimeHttpClient
from flwr.supernode.runtime.run_clientapp import pull_task_input, push_message, push_task_output

from registry.flower.client_app import app

APP_ID = "flep/flep-registry"
"""The Flower app this executor runs (``[tool.flwr.app] publisher`` / project name)."""
POLL_SECONDS = 0.1
"""How often an idle executor asks its SuperNode for a task (Flower's SuperExec: every 1 s)."""
RETRY_SECONDS = 1.0
"""How long an executor waits before asking a SuperNode it could not reach again."""
TASK_RETRY_SECONDS = 30.0
"""How long a task's calls to its SuperNode are retried over transport errors before the task is given up."""


def _client(address: str, component: str, token: str | None = None) -> RuntimeHttpClient:
    """A runtime API client: the control one (no token) tries once, the loop asks again; a task's retries
    transport errors for :data:`TASK_RETRY_SECONDS`. Not Flower's own retry invoker: on a refused token it
    sends SIGINT to its process, which ends a one-message ``flwr-clientapp`` but would end this executor."""
    interceptors = [RuntimeVersionHttpInterceptor(component_name=component)]
    if token is not None:
        interceptors.append(RuntimeTokenHttpInterceptor(token))
    retry = RetryInvoker(lambda: exponential(base_delay=0.2, max_delay=2), httpx.TransportError,
                         max_tries=1 if token is None else None, max_time=TASK_RETRY_SECONDS)
    return RuntimeHttpClient.from_server_address(server_address=address, insecure=True, root_certificates=None,
                                                 interceptors=interceptors, retry_invoker=retry)


def serve_tasks(address: str, stopping: Callable[[], bool], report: Callable[[dict], None]) -> None:
    """Run the ClientApp for every task of the SuperNode whose runtime API is at ``address`` (host:port), one at
    a time, until ``stopping()``. ``report`` sees one line per task and one per outage of the node.

    A SuperNode that is not up yet or restarts is asked again every :data:`RETRY_SECONDS` (reported once per
    outage): its messages wait. A task that fails on the SuperNode's side is reported and the next one taken.
    """
    control = _client(address, "SuperExec")
    reachable = True
    try:
        while not stopping():
            try:
                acquired = control.AcquireTask(AcquireTaskRequest(supported_task_types=[TaskType.CLIENT_APP.value]))
            except httpx.HTTPError as exc:
                if reachable:  # said once per outage
                    report({"error": f"SuperNode runtime API at {address} not reachable ({exc}); retrying every "
                                     f"{RETRY_SECONDS:.0f} s"})
                reachable = False
                time.sleep(RETRY_SECONDS)
                continue
            reachable = True
            if not (acquired.HasField("task") and acquired.token):
                time.sleep(POLL_SECONDS)
                continue
            try:
                report(_run_task(address, acquired.token))
            except httpx.HTTPError as exc:  # the SuperNode went away or dropped the task: the next one
                report({"error": f"task {acquired.task.task_id} of SuperNode {address} failed: {exc}"})
    finally:
        control.close()


def _run_task(address: str, token: str) -> dict:
    """Pull the task's message, answer it with the ClientApp, push the reply and the task's outcome."""
    started = time.perf_counter()
    client = _client(address, "flwr-clientapp", token)
    heartbeat = HeartbeatSender(make_task_heartbeat_fn_http(client))
    heartbeat.start()
    context, status, details = None, SubStatus.FAILED, "the FLEP executor could not pull the task"
    try:
        message, context, run, _ = pull_task_input(client)  # the FAB is never installed nor run
        reply, status, details = answer(message, context, run)
        push_message(client, reply, context)
    finally:
        push_task_output(client=client, context=context, sub_status=status, details=details)
        heartbeat.stop()
        client.close()
    line = {"message_type": message.metadata.message_type, "status": status, "seconds": time.perf_counter() - started}
    return {**line, "error": details} if details else line


def answer(message: Message, context: Context, run: Run,
           client_app: Callable[..., Message] = app) -> tuple[Message, str, str]:
    """The reply to ``message``, the task's status and its details ("" when completed): the ClientApp's reply,
    or an error reply (as Flower's ``flwr-clientapp`` makes it) if the run is of another app or the ClientApp
    raised."""
    if run.fab_id != APP_ID:
        reason = f"this SuperNode's FLEP executor runs the {APP_ID} app only, not {run.fab_id!r}"
        return Message(Error(code=ErrorCode.LOAD_CLIENT_APP_EXCEPTION, reason=reason), reply_to=message), \
            SubStatus.FAILED, reason
    try:
        return client_app(message=message, context=context), SubStatus.COMPLETED, ""
    except Exception as exc:  # noqa: BLE001 - any failure is this message's error reply, the executor goes on
        reason = f"{type(exc)}:<'{exc}'>"
        return Message(Error(code=ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason=reason), reply_to=message), \
            SubStatus.FAILED, reason
