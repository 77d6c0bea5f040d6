"""`bee run` of several programs on a terminal: the interactive view in tmux, on real programs in the real
kernel. Each program's maps under its heading, Tab across programs, `program › map` titles, a program that
did not start shown as such while the others run, and the run's warnings kept off the screen's layout."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.run.conftest import bpf_prog_ids, free_port
from tests.tui.conftest import Pane, flood

UNREACHABLE = "127.0.0.1:1/probes/unreachable:v1"  # a reference whose pull fails at once
TYPES_MAPS = ["print_events", "counter_ring", "hist_latency", "counter_hash", "gauge_hash"]
FLOOD_MAPS = ["print_flood", "counter_sent"]
BIG = "1234605616436508552"  # run_types' `big` field

# The kernel is shared: other runs may exec `beetrigger` meanwhile, so counts of run_types' events are
# lower bounds; the floods are told apart by a name of their own.


def _lines(screen: str) -> list[str]:
    return screen.rstrip("\n").split("\n")


def _status(screen: str) -> str:
    """The status line: the first line under the header that names a table `program › map`."""
    return next(line for line in _lines(screen)[3:] if " › " in line)


def _column(screen: str) -> list[str]:
    """The column left of the table, one entry per row, from under the header to the status line. Its width
    is read from the first row: the first heading, its padding, then the table's first column name."""
    lines = _lines(screen)
    body = lines[3:lines.index(_status(screen))]
    match = re.match(r" \S+ +", body[0])
    assert match, body[0]
    width = match.end() - 1  # the table draws a space before its first column
    return [row[:width].rstrip() for row in body]


def _title(pane: Pane, title: str) -> str:
    """Wait for table `title` (`program › map`) to be the current one; the screen."""
    return pane.wait(lambda s: _status(s).strip().startswith(title + "  "), timeout=5, what=f"table {title}")


def _joined(pane: Pane) -> str:
    """The pane's text, its history too, with the rows a long line wrapped onto joined back (what was
    printed, not drawn)."""
    return pane.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", pane.name)


def _rows(screen: str, word: str) -> list[str]:
    return [line for line in _lines(screen) if word in line]


def _attached(pane: Pane, count: int) -> set[int]:
    """Wait for the header to say `count` hooks are attached; the ids of the process's BPF programs."""
    pane.wait(f"attached {count}:", what=f"{count} hooks attached")
    return pane.prog_ids()


def test_each_program_under_its_heading_tab_across_programs(tui, tui_object, trigger) -> None:
    types, flood_obj = tui_object("run_types"), tui_object("tui_flood")
    pane = tui(types, flood_obj, UNREACHABLE)
    ids = _attached(pane, 2)
    assert len(ids) == 2 and ids <= bpf_prog_ids("on_exec") | bpf_prog_ids("on_getppid")
    screen = _title(pane, "run_types › print_events")
    assert _lines(screen)[0].strip() == "bee run 3 programs: run_types, tui_flood, unreachable"
    assert "sched/sched_process_exec" in screen and "syscalls/sys_enter_getppid" in screen
    column = _column(screen)
    assert column[:len(TYPES_MAPS) + len(FLOOD_MAPS) + 5] == [
        " run_types", *(f"   {m}" for m in TYPES_MAPS), "", " tui_flood", *(f"   {m}" for m in FLOOD_MAPS), "",
        " unreachable failed"]
    assert column[12].strip().startswith("cannot reach the")  # the reason, under the heading

    trigger("beetrigger")
    pane.wait(lambda s: _rows(s, BIG), what="run_types' event")
    for title in [f"run_types › {m}" for m in TYPES_MAPS[1:]] + [f"tui_flood › {m}" for m in FLOOD_MAPS]:
        pane.send("Tab")
        _title(pane, title)
    name = f"beefl-{uuid.uuid4().hex[:8]}"
    flood(3, name)
    screen = pane.wait(lambda s: [r.split()[-2:] for r in _rows(s, name)] == [[name, "3"]],
                       what="tui_flood's counter")
    assert "hash·counter" in _status(screen)
    pane.send("C-p")
    screen = _title(pane, "tui_flood › print_flood")
    assert len(_rows(screen, name)) == 3
    assert not _rows(screen, BIG)  # each program's events in its own table
    pane.send("Tab", "Tab")  # past the last map of the last program that runs: back to the first
    _title(pane, "run_types › print_events")
    pane.send("BTab")
    _title(pane, "tui_flood › counter_sent")
    assert pane.metric('bee_program_up{program="unreachable"}') == 0
    assert (pane.metric('bee_events_read_total{map="print_flood",program="tui_flood"}') or 0) >= 3

    pane.send("q")
    assert pane.exit_status() == 0
    assert not ids & bpf_prog_ids()
    assert (f"bee: warning: program unreachable ({UNREACHABLE}) did not start: cannot reach the registry"
            in _joined(pane))  # the warning shown in the view is on the terminal once it closed


def test_a_program_rejected_by_the_verifier_is_shown_while_the_other_runs(tui, tui_object, trigger) -> None:
    reject = tui_object("lb_reject")
    pane = tui(tui_object("run_types"), reject)
    ids = _attached(pane, 1)  # the load fails on the kernel thread, which runs beside the view
    assert len(ids) == 1 and ids <= bpf_prog_ids("on_exec")
    screen = pane.wait(lambda s: " lb_reject failed" in _column(s), what="lb_reject's heading")
    column = _column(screen)
    reason = " ".join(row.strip() for row in column[column.index(" lb_reject failed") + 1:] if row)
    assert reason.startswith("program lb_out_of_bounds (section")
    warning = "bee: warning: program lb_reject"
    lines = _lines(screen)
    assert len(lines) == 24 and lines[0].strip() == "bee run 2 programs: run_types, lb_reject"
    assert lines[1].strip() == "attached 1: on_exec → sched/sched_process_exec"
    assert lines[-1].strip().startswith("Tab/^N next") and _status(screen).startswith(" run_types › print_events")
    message = [i for i, line in enumerate(lines) if warning in line]
    assert message == [lines.index(_status(screen)) + 1]  # under the status line, nowhere else
    assert column[:len(TYPES_MAPS) + 1] == [" run_types", *(f"   {m}" for m in TYPES_MAPS)]

    trigger("beetrigger")
    pane.wait(lambda s: _rows(s, BIG), what="run_types' event")
    assert pane.metric('bee_program_up{program="lb_reject"}') == 0
    assert pane.metric('bee_program_up{program="run_types"}') == 1
    for _ in TYPES_MAPS:  # lb_reject has no table to reach
        pane.send("Tab")
    _title(pane, "run_types › print_events")
    pane.send("q")
    assert pane.exit_status() == 0
    assert not ids & bpf_prog_ids()
    assert (f"{warning} ({reject}) did not start: program lb_out_of_bounds (section raw_tracepoint/sys_exit) "
            "was rejected by the verifier: R7 max value is outside of the allowed memory range") in _joined(pane)


def test_a_runner_config_of_two_programs(tui, tui_object, trigger, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "runner.yaml"
    config.write_text(f"programs:\n"
                      f"  - program: {tui_object('run_types')}\n"
                      f"    name: types\n"
                      f"    filters: ['hist_latency,le,^5$']\n"
                      f"  - program: {tui_object('tui_flood')}\n"
                      f"    name: flood\n"
                      f"metrics: {{address: 127.0.0.1, port: {port}}}\n"
                      f"poll_interval: 0.2\n")
    pane = tui("--config", str(config), flags=False, port=port)
    ids = _attached(pane, 2)
    screen = _title(pane, "types › print_events")
    assert [row for row in _column(screen) if row and not row.startswith("   ")] == [" types", " flood"]
    trigger("beetrigger")
    pane.wait(lambda s: _rows(s, BIG), what="the event")
    pane.send("Tab", "Tab")
    screen = _title(pane, "types › hist_latency")  # the config's filter for this program's map
    assert "filter le=^5$" in _status(screen)
    les = [row.split()[-1] for row in _rows(screen, "beetrigger")]
    assert les and set(les) == {"5"}
    for _ in TYPES_MAPS[2:]:
        pane.send("Tab")
    _title(pane, "flood › print_flood")
    assert (pane.metric('bee_events_read_total{map="hist_latency",program="types"}') or 0) >= 3
    pane.send("q")
    assert pane.exit_status() == 0
    assert not ids & bpf_prog_ids()
