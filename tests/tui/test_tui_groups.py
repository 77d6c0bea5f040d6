"""The view of several programs without a kernel: the model's groups, the lines captured while it is up,
the app driven headless, and the run's side of it (real objects prepared, outputs fed, nothing loaded)."""

from __future__ import annotations

import asyncio
import io
import struct
import threading
from pathlib import Path

import pytest

from bee.errors import BeeError
from bee.run.lineup import Lineup
from bee.run.outputs import Sinks
from bee.run.prepare import prepare
from bee.run.program import ProgramRun
from bee.run.settings import ProgramOptions
from bee.run.viewing import show_attached, view_model
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry
from bee.tui.model import HashTable, ProgramTables, RingTable, TuiModel
from bee.tui.notices import Notices
from tests.goldens import object_path

URL = "http://[::1]:9091/metrics"


def _groups() -> list[ProgramTables]:
    events = RingTable("print_events", "print")
    events.show_events(("comm", "le"))([{"comm": "beetrigger", "le": le} for le in (5, 50)])
    counter = HashTable("counter_hash", "counter")
    counter.show_entries(("comm", "value"))([{"comm": "a", "value": 1}])
    flood = RingTable("print_events", "print")  # a map of the same name in another program
    flood.show_events(("n",))([{"n": 7}])
    return [ProgramTables("types", "types.o", [events, counter]), ProgramTables("flood", "flood.o", [flood]),
            ProgramTables("gone", "gone:v1", failure="cannot reach the registry")]


def _several() -> TuiModel:
    return TuiModel("types, flood, gone", URL, groups=_groups())


def test_groups_give_one_list_of_tables_in_program_order() -> None:
    model = _several()
    assert model.several
    assert [(model.group_of(i).name, t.name) for i, t in enumerate(model.tables)] == [
        ("types", "print_events"), ("types", "counter_hash"), ("flood", "print_events")]
    assert model.table("print_events", "flood") is model.tables[2]
    assert model.table("print_events", "types") is model.tables[0]
    with pytest.raises(KeyError):
        model.table("print_events")  # several programs: the program must be named
    assert [model.title(i) for i in range(3)] == ["types › print_events", "types › counter_hash",
                                                  "flood › print_events"]
    assert model.visible() == [0, 1, 2]
    model.program_failed("flood", "program x was rejected by the verifier")
    assert model.visible() == [0, 1]
    assert model.groups[1].failure == "program x was rejected by the verifier"


def test_one_program_keeps_map_names_as_titles() -> None:
    table = RingTable("print_events", "print")
    model = TuiModel("probe.o", URL, [table])
    assert not model.several and [g.name for g in model.groups] == [""]
    assert model.title(0) == "print_events"
    assert model.table("print_events") is table and model.table("print_events", "probe") is table
    with pytest.raises(ValueError, match="not both"):
        TuiModel("x", URL, [table], groups=[ProgramTables("x", "x.o", [table])])


def test_notices_keep_lines_show_them_once_the_view_exists_and_replay_them() -> None:
    notices = Notices()
    notices.write("bee: warning: program a did not start: x\nbee: war")
    model = TuiModel("a, b", URL, groups=[ProgramTables("a", "a.o"), ProgramTables("b", "b.o")])
    notices.show_in(model)
    assert list(model.notices) == ["bee: warning: program a did not start: x"]
    notices.write("ning: program b did not start: y\n")
    notices.flush()
    assert list(model.notices)[-1] == "bee: warning: program b did not start: y"
    notices.write("unfinished")
    out = io.StringIO()
    notices.replay(out)
    assert out.getvalue() == ("bee: warning: program a did not start: x\n"
                              "bee: warning: program b did not start: y\nunfinished\n")


def _drive(model: TuiModel, *keys: str, size: tuple[int, int] = (80, 24), after: object = None) -> object:
    """Run the app headless, press `keys` (then call `after()`), note what it shows in `app.seen`, and quit
    with Ctrl-C; the app."""
    from bee.tui.app import BeeApp

    app = BeeApp(model, threading.Event())
    seen: dict[str, object] = {}

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.05)
            if callable(after):
                after()
                await pilot.pause(0.5)
            seen["column"] = _plain(app.query_one("#tabs").render())
            seen["status"] = _plain(app.query_one("#status").render())
            seen["header"] = _plain(app.query_one("#header").render())
            seen["filter"] = _plain(app.query_one("#filter-label").render())
            seen["editing"] = app.query_one("#filter").display
            await pilot.press("ctrl+c")  # leave as a user does (the timer stops with the app)
            await pilot.pause(0.1)

    asyncio.run(main())
    app.seen = seen  # type: ignore[attr-defined]
    return app


def _plain(rendered: object) -> str:
    """The text of what a widget renders (rich Text or textual Content)."""
    plain = getattr(rendered, "plain", None)
    assert isinstance(plain, str), rendered
    return plain


def test_app_lists_every_program_and_tabs_across_them() -> None:
    model = _several()
    model.attached([("on_exec", "tracepoint/sched/sched_process_exec", "sched/sched_process_exec")])
    app = _drive(model, "tab", "tab")
    assert app.current == 2  # type: ignore[attr-defined]
    seen = app.seen  # type: ignore[attr-defined]
    assert seen["column"].split("\n") == ["types", "  print_events", "  counter_hash", "", "flood",
                                          "  print_events", "", "gone failed", "  cannot reach the registry"]
    assert seen["status"].startswith("flood › print_events  1 shown  1 event")
    assert seen["header"].split("\n")[0] == "bee run 3 programs: types, flood, gone"
    app = _drive(_several(), "tab", "tab", "tab")  # back to the first: the failed program has no tables
    assert app.current == 0  # type: ignore[attr-defined]
    app = _drive(_several(), "ctrl+p", "slash")
    assert app.current == 2 and app.seen["filter"] == "filter flood › print_events /"  # type: ignore[attr-defined]


def test_app_leaves_the_table_of_a_program_that_failed_meanwhile() -> None:
    model = _several()
    app = _drive(model, "tab", "tab", "slash",
                 after=lambda: model.program_failed("flood", "rejected by the verifier"))
    assert app.current == 0 and not app.seen["editing"]  # type: ignore[attr-defined]
    column = app.seen["column"].split("\n")  # type: ignore[attr-defined]
    assert "flood failed" in column and "  rejected by the verifier" in column
    assert "  print_events" in column and column.count("  print_events") == 1


def _many() -> TuiModel:
    groups = [ProgramTables(f"p{n}", f"p{n}.o", [RingTable(f"print_{m}", "print") for m in range(4)])
              for n in range(4)]
    groups.append(ProgramTables("bad", "bad.o", failure="word " * 40))
    return TuiModel("many", URL, groups=groups)


def test_the_column_scrolls_to_the_current_map() -> None:
    app = _drive(_many(), *["tab"] * 14, size=(80, 16))
    assert app.current == 14  # type: ignore[attr-defined]
    column = app.seen["column"].split("\n")  # type: ignore[attr-defined]
    maps = [f"  print_{m}" for m in range(4)]
    assert column == ["p2", *maps, "", "p3", *maps]  # 11 rows: 16 less the header, status and help lines


def test_the_column_wraps_a_long_reason_in_four_rows() -> None:
    column = _drive(_many(), size=(80, 40)).seen["column"].split("\n")  # type: ignore[attr-defined]
    five = "  " + " ".join(["word"] * 5)  # the reason widens the column to 30 cells: 5 words a row
    assert column[-5:] == ["bad failed", five, five, five, five + "…"]


def _lineup(*names: str) -> tuple[Lineup, io.StringIO]:
    err = io.StringIO()
    paths = {"run_types": str(object_path("run_types")), "tui_flood": str(object_path("tui_flood")),
             "missing": "/nonexistent/missing.o"}
    lineup = Lineup([ProgramOptions(program=paths[n], name=n) for n in names], MetricsRegistry(program_label=True),
                    err)
    return lineup, err


def test_the_run_makes_one_group_per_program_and_feeds_each_its_own_tables(tmp_path: Path) -> None:
    lineup, err = _lineup("run_types", "missing", "tui_flood")
    lineup.fail("missing", BeeError("/nonexistent/missing.o does not exist"))
    programs = [ProgramRun(prepare(lineup.arguments[n], tmp_path), name=n) for n in ("run_types", "tui_flood")]
    filters = {name: FilterSet.parse(["print_flood,comm,^bee"]) for name in lineup.names}
    view = view_model(lineup, programs, filters, URL)
    assert view.several and view.location == "run_types, missing, tui_flood"
    assert [(g.name, [t.name for t in g.tables], g.failure) for g in view.groups] == [
        ("run_types", ["print_events", "counter_ring", "hist_latency", "counter_hash", "gauge_hash"], None),
        ("missing", [], "/nonexistent/missing.o does not exist"),
        ("tui_flood", ["print_flood", "counter_sent"], None)]
    assert view.groups[0].location == str(object_path("run_types"))
    flood = view.table("print_flood", "tui_flood")
    assert flood.filter is not None and flood.filter.text == "comm=^bee"
    assert err.getvalue().startswith("bee: warning: program missing (/nonexistent/missing.o) did not start: ")

    sinks = Sinks(MetricsRegistry(program_label=True), None, filters["run_types"], view)
    for program in programs:
        program.make_outputs(sinks.replace(program=program.name, filters=filters[program.name]))
    assert view.table("print_events", "run_types").columns[:3] == ("small", "big", "negative")
    assert view.table("print_flood", "tui_flood").columns == ("pid", "seq", "comm")
    programs[1].outputs.ring["print_flood"].handle_batch([struct.pack("<II16s", 7, 1, b"beeflood")])  # as the ring loop
    programs[1].outputs.hash[0][1].update([(b"beefl-a".ljust(16, b"\0"), struct.pack("<Q", 3))])  # the poller
    assert [row[2] for row in view.table("print_flood", "tui_flood").snapshot().rows] == [
        {"pid": 7, "seq": 1, "comm": "beeflood"}]
    assert [row[2] for row in view.table("counter_sent", "tui_flood").snapshot().rows] == [
        {"comm": "beefl-a", "value": 3}]
    assert all(table.count() == 0 for table in view.groups[0].tables)

    lineup.fail("tui_flood", BeeError("program on_getppid could not be attached: no such hook"))
    show_attached(view, lineup, programs[:1])
    assert view.state == "running" and view.programs == []  # nothing was attached by these (no kernel)
    assert view.groups[2].failure == "program on_getppid could not be attached: no such hook"
    assert view.visible() == [0, 1, 2, 3, 4]


def test_one_program_from_the_run_looks_as_before(tmp_path: Path) -> None:
    lineup, _ = _lineup("run_types")
    program = ProgramRun(prepare(lineup.arguments["run_types"], tmp_path), name="run_types")
    view = view_model(lineup, [program], {"run_types": FilterSet.parse([])}, URL)
    assert not view.several and view.location == str(object_path("run_types"))
    assert view.title(0) == "print_events"
