"""Shared output helpers for the ``flep`` commands: JSON or rich text, never both.

Text from outside the program (CIDs, file names, node answers, chain data, error
messages quoting them) goes through :func:`literal` before it is embedded in a
rich string, so ``[red]`` or ``[link=...]`` in it is printed as typed, never
interpreted. Emoji codes (``:warning:``) are never interpreted either.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console(emoji=False)
err_console = Console(stderr=True, soft_wrap=True, emoji=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (machine-readable, no markup)."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def literal(value: object) -> str:
    """``value`` as text that rich markup prints literally (its ``[`` tags escaped)."""
    return escape(str(value))


def print_error(message: str) -> None:
    """Print one ``error:`` line on stderr; ``message`` is printed literally."""
    err_console.print(f"[red]error:[/red] {literal(message)}", highlight=False)
