"""The progress display of `flep round run` (pure, no devnet): one row per party with its latest action, gas
sums and errors, untrusted text printed literally, a line per event off a terminal, no line lost to threads."""

from __future__ import annotations

import io
import sys
import threading
from typing import Iterator

import pytest
from rich.console import Console

from registry.commands.round_display import RunDisplay

HOSTILE = "[red]x[/red] [link=http://e]y[/link]"


class Clock:
    """A settable clock, so that the time since each party's last line is known."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _terminal() -> Console:
    return Console(record=True, force_terminal=True, width=160)


def _render(display: RunDisplay, console: Console) -> str:
    console.print(display)
    return console.export_text()


def _rows(rendered: str) -> dict[str, list[str]]:
    """The rendered table's rows by party name: each row's cells (party, role, round, last action, actions,
    gas, last step, last line)."""
    rows = {}
    for text in rendered.splitlines():
        cells = [c.strip() for c in text.strip("│┃").split("│")]
        if len(cells) == 8 and cells[0] and cells[0] != "party":
            rows[cells[0]] = cells
    return rows


def _action(party: str, action: str, round_: int = 1, gas: int = 0, seconds: float = 0.0) -> dict[str, object]:
    return {"party": party, "round": round_, "action": action, "result": 0, "gas_used": gas, "seconds": seconds}


def test_one_row_per_party_runner_first_latest_action_and_gas_sums() -> None:
    console, clock = _terminal(), Clock()
    display = RunDisplay(rounds=3, console=console, clock=clock)
    display.update({"party": "runner", "action": "opened round 1", "round": 1})
    display.update(_action("analyst-2", "submitted update #4", gas=100_000, seconds=2.5))
    display.update(_action("analyst-10", "submitted update #5", gas=1))
    display.update(_action("analyst-1", "submitted update #6", gas=200_000))
    display.update(_action("analyst-1", "granted model key", round_=0, gas=50_000, seconds=1.5))
    display.update(_action("key holder", "finalized round 1", gas=7))
    clock.now += 5

    rendered = _render(display, console)
    rows = _rows(rendered)
    assert list(rows) == ["runner", "analyst-1", "analyst-2", "analyst-10", "key holder"]
    # The round-0 grant replaces the action but keeps the round the analyst last acted in.
    assert rows["analyst-1"] == ["analyst-1", "analyst", "1", "granted model key", "2", "250,000", "1.5 s",
                                 "5 s ago"]
    assert rows["analyst-2"][3:6] == ["submitted update #4", "1", "100,000"]
    assert rows["runner"][1:4] == ["admin, data owner", "1", "opened round 1"]
    assert display.runner_message == "opened round 1"
    assert "flep round run: round 1 of 3" in rendered


def test_error_is_shown_in_red_and_replaced_by_the_next_action() -> None:
    console = _terminal()
    display = RunDisplay(console=console)
    display.update(_action("aggregator", "aggregated round 1", gas=10))
    display.update({"party": "aggregator", "error": "node down", "type": "StoreError"})

    console.print(display)
    styled = console.export_text(styles=True)
    assert "\x1b[31merror: node down" in styled
    state = display.parties()[1]
    assert (state.error, state.actions, state.gas) == (True, 1, 10)

    display.update(_action("aggregator", "aggregated round 2", round_=2, gas=5))
    row = _rows(_render(display, console))["aggregator"]
    assert row[2:6] == ["2", "aggregated round 2", "2", "15"]
    assert display.current_round == 2


def test_markup_in_untrusted_text_is_printed_literally() -> None:
    console = _terminal()
    display = RunDisplay(console=console)
    display.update(_action("[bold]evil[/bold]", HOSTILE))
    display.update({"party": "analyst-1", "error": HOSTILE})

    rows = _rows(_render(display, console))
    assert rows["[bold]evil[/bold]"][3] == HOSTILE
    assert rows["analyst-1"][3] == f"error: {HOSTILE}"


def test_live_table_while_the_block_runs_and_stopped_on_an_exception() -> None:
    console = _terminal()
    display = RunDisplay(rounds=1, console=console)
    with pytest.raises(RuntimeError), display:
        assert display.active
        display.update(_action("analyst-1", "submitted update #1"))
        raise RuntimeError("run failed")
    assert not display.active
    assert "submitted update #1" in console.export_text()  # the final table stays on screen


def test_off_a_terminal_one_line_per_event_without_live() -> None:
    console = Console(file=io.StringIO(), record=True, width=160)
    display = RunDisplay(console=console)
    with display:
        assert not display.active
        display.update(_action("analyst-1", "submitted update #1"))
        display.update({"party": "aggregator", "error": HOSTILE})
        display.update({"party": "runner", "action": "opened round 2", "round": 2})
    assert console.export_text().splitlines() == [
        f"{'analyst-1':<12} submitted update #1",
        f"{'aggregator':<12} error: {HOSTILE}",
        f"{'runner':<12} opened round 2",
    ]


def test_a_malformed_line_does_not_raise() -> None:
    display = RunDisplay(console=_terminal())
    display.update({"party": "analyst-1", "round": "one", "action": "x", "gas_used": "lots", "seconds": None})
    state = display.parties()[1]
    assert (state.name, state.actions, state.gas, state.round, state.last) == ("analyst-1", 1, 0, 0, "x")


@pytest.fixture()
def busy_switching() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so that unlocked updates would interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@pytest.mark.parametrize("terminal", [True, False])
def test_concurrent_updates_lose_no_line(terminal: bool, busy_switching: None) -> None:
    console = _terminal() if terminal else Console(file=io.StringIO(), record=True, width=160)
    display = RunDisplay(console=console)
    threads, per_thread = 8, 300
    start = threading.Barrier(threads)

    def feed(index: int) -> None:
        start.wait()
        for step in range(per_thread):
            display.update(_action(f"analyst-{index % 4 + 1}", f"step {step}", gas=1))

    with display:
        workers = [threading.Thread(target=feed, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    analysts = [p for p in display.parties() if p.name != "runner"]
    assert [p.actions for p in analysts] == [2 * per_thread] * 4
    assert sum(p.gas for p in analysts) == threads * per_thread
    if not terminal:
        assert len(console.export_text().splitlines()) == threads * per_thread
