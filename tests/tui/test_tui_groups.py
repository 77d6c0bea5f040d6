"""The view of several programs without a kernel: the model's groups, the lines captured while it is up,
the app driven headless."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from bee.tui.model import HashTable, ProgramTables, RingTable, TuiModel
from bee.tui.notices import Notices

URL = "http://[::1]:9091/metrics"


def _groups() -> list[ProgramTables]:
    events = RingTable("print_events", "print")
    add = events.show_event(("comm", "le"))
    for le in (5, 50):
        add({"comm": "beetrigger", "le": le})
    counter = HashTable("counter_hash", "counter")
    counter.show_entries(("comm", "value"))([{"comm": "a", "value": 1}])
    flood = RingTable("print_events", "print")  # a map of the same name in another program
    flood.show_event(("n",))({"n": 7})
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
    """Run the app headless and press `keys` (calling `after()` once they are pressed); the app, still
    inspectable."""
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
    app = _drive(model, "tab", "tab", after=lambda: model.program_failed("flood", "rejected by the verifier"))
    assert app.current == 0  # type: ignore[attr-defined]
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


def test_the_column_wraps_a_long_reason_in_three_rows() -> None:
    column = _drive(_many(), size=(80, 40)).seen["column"].split("\n")  # type: ignore[attr-defined]
    five = "  " + " ".join(["word"] * 5)  # the reason widens the column to 30 cells: 5 words a row
    assert column[-4:] == ["bad failed", five, five, five + "…"]
