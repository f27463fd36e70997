"""The Flower ServerApp: the admin's round driver and the untrusted aggregator (:mod:`registry.flower.server_rounds`).

Our own loop in ``@app.main()``, not a Strategy: a Strategy would feed the aggregate back to the nodes as the
next model, and the aggregate is a ciphertext only the key holder (a separate process) can open.
"""

from __future__ import annotations

import os

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from registry.flower.server_rounds import ServerSettings, run_server
from registry.keystore import PASSPHRASE_ENV

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the configured rounds (the run config's ``rounds``, ``federation``, keystores, ...).

    Raises:
        FlowerRunError: If the run cannot go on (see :func:`~registry.flower.server_rounds.run_server`).
    """
    run_server(grid, ServerSettings.from_run_config(context.run_config), os.environ.get(PASSPHRASE_ENV))
