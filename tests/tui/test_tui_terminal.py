"""`bee run` on a terminal: the interactive view in tmux, on real programs in the real kernel."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

from tests.run.conftest import bpf_prog_ids
from tests.tui.conftest import Pane, flood

RUN_TYPES = "run_types"  # committed objects of tests/data/src
FLOOD = "tui_flood"
REJECTED = "lb_reject"
BIG = "1234605616436508552"  # run_types' `big` field, in the first screen of print_events


def _attached(pane: Pane, name: str = "on_exec") -> tuple[str, set[int]]:
    """Wait for the view to say the program is attached; the screen and the ids of its programs."""
    screen = pane.wait("attached 1:", what="the programs to be attached")
    ids = pane.prog_ids()
    assert len(ids) == 1 and ids <= bpf_prog_ids(name), ids
    return screen, ids


def _detached(ids: set[int]) -> bool:
    return not ids & bpf_prog_ids()


def _status(screen: str) -> str:
    """The line under the table."""
    return screen.rstrip("\n").split("\n")[-2]


def _table(pane: Pane, name: str, kind: str = "") -> str:
    """Wait for table `name` to be on screen (its status line says `kind`, e.g. ring·print); the screen."""
    screen = pane.wait(lambda s: _status(s).strip().startswith(name + " "), timeout=5, what=f"table {name}")
    assert _status(screen).rstrip().endswith(kind), _status(screen)
    return screen


def _edit_filter(pane: Pane, text: str) -> None:
    """`/`, clear the field, type `text`, Enter. (textual runs the field's Ctrl-U binding after the
    keys that follow it in the same burst, so the test waits for the empty field before typing.)"""
    pane.send("/")
    pane.wait(lambda s: "filter " in s and " /  " in s, what="the filter field")
    pane.send("C-u")
    pane.wait("a regex matched against any field", what="an empty filter field")
    pane.type(text)
    pane.send("Enter")


def _rows(screen: str, word: str) -> list[str]:
    return [line for line in screen.split("\n") if word in line]


def test_tables_keys_filter_resize_and_quit(tui, tui_object, trigger) -> None:
    pane = tui(tui_object(RUN_TYPES))
    screen, ids = _attached(pane)
    assert "run_types.o" in screen.split("\n")[0] and "metrics http://127.0.0.1:" in screen
    assert "on_exec → sched/sched_process_exec" in screen
    assert "q quit" in screen and "/ filter" in screen
    _table(pane, "print_events", "ring·print")

    trigger("beetrigger")
    trigger("beetrigger")
    screen = pane.wait(lambda s: len(_rows(s, BIG)) == 2, what="two print_events rows")
    assert "2 events" in pane.status_line() and "BLUE" in screen
    header = screen.split("\n")[4]
    assert header.split()[:7] == ["time", "small", "big", "negative", "flag", "color", "where_port"]
    assert "addr" not in header  # beyond 80 columns: → pans

    pane.send("Tab")
    screen = _table(pane, "counter_ring", "ring·counter")
    assert len([r for r in _rows(screen, "beetrigger") if "GREEN" in r]) == 2
    pane.send("C-n")
    screen = _table(pane, "hist_latency", "ring·hist")
    assert [r.split()[-1] for r in _rows(screen, "beetrigger")] == ["500", "50", "5", "500", "50", "5"]

    _edit_filter(pane, "le=^5$")
    screen = pane.wait(lambda s: "filter le=^5$" in _status(s), what="the filter applied")
    assert [r.split()[-1] for r in _rows(screen, "beetrigger")] == ["5", "5"]
    assert "2 shown" in pane.status_line()

    _edit_filter(pane, "le=(")  # an invalid regex: said in the view, the filter stays as it was
    pane.wait("bad regex", what="the regex error")
    pane.send("C-u")
    pane.wait("a regex matched against any field", what="an empty filter field")
    pane.type("nope=1")
    pane.send("Enter")
    pane.wait("no field 'nope'", what="the unknown field error")
    pane.send("Escape")
    screen = pane.wait(lambda s: "q quit" in s, what="the help line back")
    assert "filter le=^5$" in pane.status_line()
    _edit_filter(pane, "beetrigq|^500$")  # a bare regex, matched against every field; `q` is typed, not a quit
    screen = pane.wait(lambda s: "filter beetrigq|^500$" in s, what="the bare regex")
    assert [r.split()[-1] for r in _rows(screen, "beetrigger")] == ["500", "500"]

    pane.send("C-n")
    screen = _table(pane, "counter_hash", "hash·counter")
    assert [r.split() for r in _rows(screen, "beetrigger")] == [["beetrigger", "1", "6"]]
    trigger("beetrigger")  # the same row follows the map: 6 → 9
    screen = pane.wait(lambda s: [r.split() for r in _rows(s, "beetrigger")] == [["beetrigger", "1", "9"]],
                       what="the hash row updated in place")
    pane.send("Tab")
    screen = _table(pane, "gauge_hash", "hash·gauge")
    assert [r.split() for r in _rows(screen, "beetrigger")] == [["beetrigger", "2", "77"]]
    pane.send("Tab")
    screen = _table(pane, "print_events")
    assert len(_rows(screen, BIG)) == 3
    pane.send("C-p")
    _table(pane, "gauge_hash")
    pane.send("BTab")
    _table(pane, "counter_hash")

    pane.resize(140, 40)
    pane.wait(lambda s: len(s.rstrip("\n").split("\n")) == 40 and "Tab/^N next" in s, what="the larger screen")
    pane.send("C-n", "C-n")
    screen = _table(pane, "print_events")
    assert "addr" in screen.split("\n")[4]  # the column header of a 140-column table reaches `addr`
    assert len(screen.rstrip("\n").split("\n")) == 40
    pane.resize(60, 16)
    screen = pane.wait(lambda s: len(s.rstrip("\n").split("\n")) == 16 and "Tab/^N next" in s,
                       what="the smaller screen")
    assert "Tab/^N next" in screen.rstrip("\n").split("\n")[-1]
    assert _rows(screen, BIG)
    pane.resize(80, 24)
    pane.wait(lambda s: len(s.rstrip("\n").split("\n")) == 24 and "Tab/^N next" in s, what="80x24 again")

    pane.send("q")
    assert pane.exit_status() == 0
    assert _detached(ids)


def test_sigterm_and_sigint_detach_and_exit_zero(tui, tui_object) -> None:
    source = tui_object(RUN_TYPES)
    for sig in (signal.SIGTERM, signal.SIGINT):
        pane = tui(source)
        _, ids = _attached(pane)
        started = time.monotonic()
        os.kill(pane.pid, sig)
        assert pane.exit_status() == 0, pane.screen()
        assert time.monotonic() - started < 3
        assert _detached(ids)


def test_ctrl_c_quits(tui, tui_object) -> None:
    pane = tui(tui_object(RUN_TYPES))
    _, ids = _attached(pane)
    pane.send("C-c")
    assert pane.exit_status() == 0
    assert _detached(ids)


def test_a_flood_keeps_memory_bounded_and_every_event_is_read(tui, tui_object) -> None:
    pane = tui(tui_object(FLOOD))
    _, ids = _attached(pane, "on_getppid")
    read = 'bee_events_read_total{map="print_flood"}'
    flood(20_000)  # fills the history and the view's caches
    pane.wait(lambda s: "1000 shown" in _status(s), what="a full history")
    _wait_metric(pane, read, 20_000)
    before = pane.rss_kb()

    flood(200_000)
    _wait_metric(pane, read, 220_000, timeout=40)  # the ring holds the whole flood: nothing is lost
    screen = pane.wait(lambda s: "220000 events" in _status(s), what="the event count")
    assert "1000 shown" in pane.status_line()
    assert "220000" in _rows(screen, "beeflood")[0]  # newest first
    growth = pane.rss_kb() - before
    assert growth < 30_000, f"resident memory grew by {growth} kB over 200k events"

    for name, calls in (("beefl-a", 3), ("beefl-b", 7)):
        flood(calls, name)
    pane.send("Tab")
    screen = _table(pane, "counter_sent", "hash·counter")
    screen = pane.wait(lambda s: len(_rows(s, "beefl")) == 3, what="three hash rows")
    assert [r.split() for r in _rows(screen, "beefl")] == [["beeflood", "220000"], ["beefl-b", "7"],
                                                           ["beefl-a", "3"]]
    pane.send("q")
    assert pane.exit_status() == 0
    assert _detached(ids)


COST = re.compile(r"^ bpf stats: on_getppid ([\d,]+) ns/run \(([\d,]+) runs?\)\s*$")


def _cost(screen: str) -> tuple[int, int] | None:
    """(ns per run, runs) as the header's third line shows them for on_getppid; None while it shows none."""
    match = COST.match(screen.split("\n")[2])
    return (int(match[1].replace(",", "")), int(match[2].replace(",", ""))) if match else None


def test_bpf_stats_show_what_each_run_costs_in_the_header(tui, tui_object) -> None:
    pane = tui(tui_object(FLOOD), "--bpf-stats")
    screen, ids = _attached(pane, "on_getppid")
    lines = screen.split("\n")
    assert lines[1].startswith(" attached 1: on_getppid → syscalls/sys_enter_getppid")
    assert lines[2].startswith(" bpf stats: ") and lines[3].startswith(" metrics http://127.0.0.1:")
    _table(pane, "print_flood", "ring·print")  # the table is where it was, a line lower

    flood(1_000)  # the program runs at every getppid() on the machine: at least these
    screen = pane.wait(lambda s: (c := _cost(s)) is not None and c[1] >= 1_000, what="the cost of 1,000 runs")
    ns, runs = _cost(screen)  # type: ignore[misc]
    assert ns > 0
    flood(5_000)  # refreshed about once a second
    screen = pane.wait(lambda s: (c := _cost(s)) is not None and c[1] >= runs + 5_000, timeout=10,
                       what="the runs counted again")
    ns, runs = _cost(screen)  # type: ignore[misc]
    assert ns > 0
    (prog_id,) = ids  # the kernel's own counts, a moment later, are at least those shown
    shown = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)], capture_output=True,
                                      text=True, check=True).stdout)
    assert shown["run_cnt"] >= runs and shown["run_time_ns"] > 0
    assert (pane.metric('bee_bpf_runs_total{bpf_program="on_getppid"}') or 0) >= runs

    pane.send("q")
    assert pane.exit_status() == 0
    assert _detached(ids)
    printed = pane.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", pane.name)  # the history too
    assert "bee: bpf stats: on_getppid (tui_flood): " in printed  # the exit line, once the view closed


def test_without_bpf_stats_the_header_has_no_cost_line(tui, tui_object) -> None:
    pane = tui(tui_object(FLOOD))
    screen, ids = _attached(pane, "on_getppid")
    assert screen.split("\n")[2].startswith(" metrics http://127.0.0.1:") and "bpf stats" not in screen
    pane.send("q")
    assert pane.exit_status() == 0
    assert "bpf stats" not in pane.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", pane.name)


def test_a_load_error_is_shown_then_a_key_exits_non_zero(tui, tui_object) -> None:
    pane = tui(tui_object(REJECTED))
    screen = pane.wait("Press any key to exit.", what="the error")
    assert "rejected by the verifier" in screen and "invalid access to map value" in screen
    time.sleep(0.3)
    assert pane.field("pane_dead") == "0"  # it waits for the key
    pane.send("x")
    assert pane.exit_status() == 1
    assert "Error: program lb_out_of_bounds (section raw_tracepoint/sys_exit) was rejected" in pane.screen()
    assert "Traceback" not in pane.screen()


def _wait_metric(pane: Pane, series: str, value: float, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while (got := pane.metric(series)) != value:
        if time.monotonic() > deadline:
            raise AssertionError(f"{series} is {got}, not {value}")
        time.sleep(0.1)


def test_q_quits_a_view_with_no_tracked_maps(tui, tui_object) -> None:
    """A program that exports nothing shows an empty view (and says why); `q` leaves it, detaching everything."""
    pane = tui(tui_object("lb_ringbuf"))
    screen = pane.wait("attached 2:", what="the programs to be attached")
    assert "this program has no tracked maps" in screen
    ids = pane.prog_ids()
    assert len(ids) == 2
    pane.send("q")
    assert pane.exit_status() == 0, pane.screen()
    assert _detached(ids)
