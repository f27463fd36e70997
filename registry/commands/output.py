"""Shared output helpers for the ``flep`` commands: JSON or rich text, never both."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (machine-readable, no markup)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
