"""The live progress display of `flep round run`: one table row per party, refreshed while the run lasts.

Every line comes from another process (an agent's JSON line) or from the runner, so its text is shown only
as :class:`rich.text.Text` or through :func:`~registry.commands.output.literal`: markup in it is printed as
typed. When stderr is not a terminal (CI, pipes, tests) there is no live table, only one line per event.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from registry.commands.output import err_console, literal

RUNNER = "runner"


@dataclass
class PartyState:
    """What the display knows of one party.

    Attributes:
        name: The process name (``analyst-1``, ``aggregator``, ``key holder``, ``runner``).
        role: The party's role, derived from its name.
        round: The round it last acted in (0: not in a round, e.g. granting a model key).
        last: Its last action, or its last error's text.
        error: Whether ``last`` is an error.
        actions: How many actions it reported (errors not counted).
        gas: Gas its actions used in total.
        seconds: How long its last step took.
        seen: When its last line arrived (on the display's clock).
    """

    name: str
    role: str
    round: int = 0
    last: str = ""
    error: bool = False
    actions: int = 0
    gas: int = 0
    seconds: float = 0.0
    seen: float = 0.0


class RunDisplay:
    """Per-party progress of a run, fed by :meth:`update` from the threads reading the agents' lines.

    Use it as a context manager around the run: on a terminal it shows a :class:`~rich.live.Live` table until
    the block ends (also by an exception); elsewhere each event is printed as one line.
    """

    def __init__(self, rounds: int = 0, console: Console | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty display.

        Args:
            rounds: Rounds the run opens (0: unknown), for the title.
            console: Where to show it (default: the stderr console).
            clock: Seconds on a monotonic clock, for the time since each party's last line.
        """
        self.console = console if console is not None else err_console
        self.rounds = rounds
        self.current_round = 0
        self.runner_message = ""
        self._clock = clock
        self._lock = threading.Lock()
        self._parties: dict[str, PartyState] = {RUNNER: PartyState(RUNNER, _role(RUNNER), seen=clock())}
        self._live: Live | None = None

    @property
    def active(self) -> bool:
        """Whether the live table is showing."""
        return self._live is not None

    def __enter__(self) -> RunDisplay:
        if self.console.is_terminal:
            # Auto-refresh re-renders __rich__, so the ages keep counting between lines.
            self._live = Live(self, console=self.console, refresh_per_second=4)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def update(self, line: dict[str, Any]) -> None:
        """Record one line: an agent's action (``party``, ``round``, ``action``, ``gas_used``, ``seconds``), its
        error (``party``, ``error``) or a runner event (``party`` ``runner``, ``action``, maybe ``round``).

        Never raises on a malformed line: it runs in the reader threads, which must keep reading.
        """
        name = str(line.get("party", "?"))
        text = line.get("action") or f"error: {line.get('error')}"
        with self._lock:
            party = self._parties.get(name)
            if party is None:
                party = self._parties[name] = PartyState(name, _role(name))
            party.seen = self._clock()
            party.last, party.error = str(text), not line.get("action")
            round_ = _integer(line.get("round", 0))
            if round_:  # round 0 is an action outside any round: keep the round it last acted in
                party.round = round_
                self.current_round = max(self.current_round, round_)
            if not party.error:
                party.actions += 1
                party.gas += _integer(line.get("gas_used", 0))
                party.seconds = _real(line.get("seconds", 0.0))
            if name == RUNNER:
                self.runner_message = party.last
        if not self.console.is_terminal:
            self.console.print(f"[bold]{literal(name):<12}[/] {literal(text)}", highlight=False)

    def parties(self) -> list[PartyState]:
        """A copy of every party's state, the runner first, then by role and number."""
        with self._lock:
            return [PartyState(**vars(p)) for p in sorted(self._parties.values(), key=_order)]

    def __rich__(self) -> Table:
        now = self._clock()
        with self._lock:
            round_ = self.current_round
        progress = "setting up" if not round_ else f"round {round_}" + (f" of {self.rounds}" if self.rounds else "")
        table = Table(title=f"flep round run: {progress}", title_justify="left")
        for column in ("party", "role", "round", "last action", "actions", "gas", "last step", "last line"):
            table.add_column(column, overflow="fold",
                             justify="right" if column in ("round", "actions", "gas", "last step") else "left")
        for p in self.parties():
            table.add_row(Text(p.name, style="bold"), Text(p.role), str(p.round or "-"),
                          Text(p.last, style="red" if p.error else ""), str(p.actions), f"{p.gas:,}",
                          f"{p.seconds:.1f} s", f"{max(0.0, now - p.seen):.0f} s ago")
        return table


def _role(name: str) -> str:
    """The role of a party named ``name`` (``analyst-3``: ``analyst``); the runner acts as admin and owner."""
    return "admin, data owner" if name == RUNNER else re.sub(r"-\d+$", "", name)


def _order(party: PartyState) -> tuple[bool, str, int, str]:
    number = re.search(r"-(\d+)$", party.name)
    return party.name != RUNNER, party.role, int(number.group(1)) if number else 0, party.name


def _integer(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _real(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
