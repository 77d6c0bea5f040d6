"""The view of several programs without a kernel: the model's groups, the lines captured while it is up."""

from __future__ import annotations

import io

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
