"""The audit explorer: a local, read-only web page over the auditor role (`flep explorer`).

Public surface: :func:`create_app` (the FastAPI app), :class:`ExplorerData` (the auditor's results cached per
block), :func:`bind` and :func:`serve` (127.0.0.1 only). It sits beside the commands: it reads the
configuration through :mod:`registry.commands.party` and the chain through :class:`registry.roles.Auditor`;
nothing below imports it.
"""

from registry.explorer.app import create_app
from registry.explorer.data import ExplorerData
from registry.explorer.server import DEFAULT_PORT, LOOPBACK, bind, serve

__all__ = ["DEFAULT_PORT", "LOOPBACK", "ExplorerData", "bind", "create_app", "serve"]
