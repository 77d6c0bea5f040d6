"""The view's parts without a kernel: filters, bounded tables, outputs feeding them, the app driven headless."""

from __future__ import annotations

import asyncio
import struct
import subprocess
import sys
import threading
import time

import pytest

from bee.elf.maps import MapSpec
from bee.errors import BeeError
from bee.libbpf.stats import RunStats
from bee.run.outputs import HashCounter, RecordDecoder, RingCounter
from bee.run.outputs.values import IntValue
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry
from bee.tui.filter import FilterError, TableFilter
from bee.tui.model import HashTable, RingTable, TuiModel, run_costs, tables_for_spec

FIELDS = ("comm", "pid", "flag", "codes")
RECORD = {"comm": "bash", "pid": 42, "flag": True, "codes": [1, 2]}


@pytest.mark.parametrize(("text", "matches"), [
    ("comm=^ba", True), ("comm=^sh", False), ("pid=^42$", True), ("flag=^true$", True),
    ("codes=^\\[1,2\\]$", True), ("^42$", True), ("zsh|bash", True), ("nothing", False),
    ("comm=bash && pid=4", True), ("comm=bash&&pid=5", False), ("pid\\=42", False),
])
def test_filter_terms_use_the_label_values_like_dash_f(text: str, matches: bool) -> None:
    flt = TableFilter.parse(text, FIELDS)
    assert flt is not None and flt.matches(RECORD) is matches


def test_filter_errors_and_empty_filters() -> None:
    assert TableFilter.parse("  ", FIELDS) is None
    with pytest.raises(FilterError, match=r"bad regex '\('"):
        TableFilter.parse("comm=(", FIELDS)
    with pytest.raises(FilterError, match=r"no field 'nope' here \(fields: comm, pid, flag, codes\)"):
        TableFilter.parse("nope=1", FIELDS)
    assert TableFilter.parse("comm=a && b", FIELDS).text == "comm=a && b"  # type: ignore[union-attr]


def test_dash_f_flags_become_the_first_filter() -> None:
    flags = FilterSet.parse(["m,comm,^ba", "m,pid,2$"]).for_map("m")
    flt = TableFilter.from_flags(flags)
    assert flt is not None and flt.text == "comm=^ba && pid=2$" and flt.matches(RECORD)
    assert TableFilter.from_flags(()) is None


def test_ring_table_keeps_the_newest_rows_and_filters_old_and_new() -> None:
    table = RingTable("print_x", "print", history=5)
    add = table.show_events(("n", "comm"))
    for n in range(12):
        add([{"n": n, "comm": "odd" if n % 2 else "even"}])
    snapshot = table.snapshot()
    assert [row[2]["n"] for row in snapshot.rows] == [11, 10, 9, 8, 7] and snapshot.total == 12
    table.set_filter(TableFilter.parse("comm=odd", table.columns))
    assert [row[2]["n"] for row in table.snapshot().rows] == [11, 9, 7]  # from what is kept
    add([{"n": n, "comm": "odd" if n % 2 else "even"} for n in range(12, 20)])  # one batch
    assert [row[2]["n"] for row in table.snapshot().rows] == [19, 17, 15, 13, 11]  # 5 matching, not 5 of all
    table.set_filter(None)
    assert [row[2]["n"] for row in table.snapshot().rows] == [19, 18, 17, 16, 15]
    assert table.count() == 20


def test_a_batch_larger_than_the_history_keeps_its_newest_rows_with_their_numbers() -> None:
    table = RingTable("print_x", "print", TableFilter.parse("n=^1", ("n",)), history=3)
    table.show_events(("n",))([{"n": n} for n in range(25)])
    assert [(row[0], row[2]["n"]) for row in table.snapshot().rows] == [(20, 19), (19, 18), (18, 17)]
    table.set_filter(None)
    assert [(row[0], row[2]["n"]) for row in table.snapshot().rows] == [(25, 24), (24, 23), (23, 22)]
    assert table.count() == 25


def test_ring_rate_counts_events_per_second() -> None:
    table = RingTable("print_x", "print")
    add = table.show_events(("n",))
    assert table.rate(now=100.0) == 0.0
    add([{"n": n} for n in range(30)])
    assert table.rate(now=101.0) == 30.0
    assert table.rate(now=104.0) == 0.0  # nothing new for longer than the window


def test_hash_table_sorts_by_value_and_changes_version_only_on_change() -> None:
    table = HashTable("counter_x", "counter")
    replace = table.show_entries(("comm", "value"))
    replace([{"comm": "a", "value": 3}, {"comm": "b", "value": 10}, {"comm": "c", "value": 7}])
    first = table.snapshot()
    assert [row[2]["comm"] for row in first.rows] == ["b", "c", "a"]
    replace([{"comm": "a", "value": 3}, {"comm": "b", "value": 10}, {"comm": "c", "value": 7}])
    assert table.snapshot().version == first.version
    replace([{"comm": "a", "value": 30}, {"comm": "b", "value": 10}])
    assert [(row[2]["comm"], row[2]["value"]) for row in table.snapshot().rows] == [("a", 30), ("b", 10)]
    table.set_filter(TableFilter.parse("value=^1", table.columns))
    assert [row[2]["comm"] for row in table.snapshot().rows] == ["b"]


def _spec(name: str, type_name: str, output: str) -> MapSpec:
    return MapSpec(name=name, section=".maps", map_type=0, type_name=type_name, output=output, tracked=True)


def test_outputs_show_what_they_read() -> None:
    registry = MetricsRegistry()
    shown: list[object] = []
    decoder = RecordDecoder(("comm",), 4, lambda data: {"comm": data[:4].decode()})
    ring = RingCounter(_spec("counter_r", "ringbuf", "counter"), decoder, registry, shown.append)
    ring.handle_batch([b"bash", b"ba", b"dash"])  # one batch: one show; a short sample is counted, not shown
    assert shown == [[{"comm": "bash"}, {"comm": "dash"}]] and ring.errors == 1 and ring.events == 3
    entries: list[list[dict[str, object]]] = []
    key = RecordDecoder(("comm",), 4, lambda data: {"comm": data[:4].decode()})
    counter = HashCounter(_spec("counter_h", "hash", "counter"), key, IntValue(struct.Struct("<Q")), registry,
                          entries.append)
    counter.update([(b"bash", struct.pack("<Q", 5)), (b"dash", struct.pack("<Q", 2))])
    assert entries == [[{"comm": "bash", "value": 5}, {"comm": "dash", "value": 2}]]


def _model(state: str = "running") -> TuiModel:
    ring = RingTable("print_events", "print")
    ring.show_events(("comm", "le"))([{"comm": "beetrigger", "le": le} for le in (5, 50, 500)])
    counter = HashTable("counter_hash", "counter")
    counter.show_entries(("comm", "value"))([{"comm": "a", "value": 1}, {"comm": "b", "value": 9}])
    model = TuiModel("probe.o", "http://[::1]:9091/metrics", [ring, counter])
    if state == "running":
        model.attached([("on_exec", "tracepoint/sched/sched_process_exec", "sched/sched_process_exec")])
    elif state == "failed":
        model.fail(BeeError("program p (section s) was rejected by the verifier: bad", detail="0: r0 = 1\nbad"))
    return model


def _drive(model: TuiModel, *keys: str, size: tuple[int, int] = (80, 24)) -> tuple[int | None, object]:
    """Run the app headless, press `keys`; (its return code, the app)."""
    from bee.tui.app import BeeApp

    app = BeeApp(model, threading.Event())

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.05)
            await pilot.pause(0.3)

    asyncio.run(main())
    return app.return_code, app


def test_app_switches_tables_and_filters() -> None:
    model = _model()
    code, app = _drive(model, "tab", "ctrl+p", "ctrl+n", "shift+tab", "slash", *"le=^5$", "enter", "q")
    assert code == 0
    assert app.current == 0  # type: ignore[attr-defined]
    ring = model.tables[0]
    assert ring.filter is not None and ring.filter.text == "le=^5$"
    assert [row[2]["le"] for row in ring.snapshot().rows] == [5]


def test_app_keeps_a_bad_filter_out_and_says_why() -> None:
    model = _model()
    code, app = _drive(model, "slash", *"le=(", "enter", "escape", "ctrl+c")
    assert code == 0 and model.tables[0].filter is None
    assert "bad regex" in app._message  # type: ignore[attr-defined]


def test_app_shows_a_failure_and_leaves_non_zero_on_any_key() -> None:
    code, app = _drive(_model("failed"), "x")
    assert code == 1


def test_app_leaves_when_stopped_from_outside() -> None:
    from bee.tui.app import BeeApp

    stop = threading.Event()
    app = BeeApp(_model(), stop)

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            stop.set()
            await pilot.pause(0.6)

    asyncio.run(main())
    assert app.return_code == 0


def test_commands_that_show_no_view_do_not_import_textual() -> None:
    code = ("import sys\nfrom bee.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "import bee.run.runner, bee.run.outputs\n"
            "print(sorted(m for m in sys.modules if m.startswith(('textual', 'bee.tui'))))")
    for args in (["--help"], ["run", "--help"]):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout
        assert out.strip().splitlines()[-1] == "[]"


def test_the_view_has_a_table_for_each_map_it_can_show() -> None:
    """Maps bee cannot export get no table (the run's notice line, shown in the view, says why)."""
    from bee.elf import load_spec
    from tests.goldens import object_bytes

    tables = tables_for_spec(load_spec(object_bytes("spec_hist")), FilterSet.parse(()))
    assert [t.name for t in tables] == ["log2hist_ok", "linhist_ok", "linhist_nowidth", "linhist_zero",
                                        "log2hist_other", "log2hist_scalar"]


def _costs(**functions: tuple[int, int]) -> dict[str, RunStats]:
    """{function: RunStats} from `function=(runs, run_time_ns)`."""
    return {name: RunStats(prog_id=i + 1, runs=runs, run_time_ns=ns) for i, (name, (runs, ns)) in
            enumerate(functions.items())}


def test_run_costs_say_nanoseconds_per_run_and_runs() -> None:
    one = {"probe": _costs(on_exec=(59, 111_628), on_exit=(1, 812))}
    assert run_costs(one, several=False) == "on_exec 1,892 ns/run (59 runs)  on_exit 812 ns/run (1 run)"
    assert run_costs({"probe": _costs(on_exec=(1_234_567, 98_765_432_100))}, several=False) == \
        "on_exec 80,000 ns/run (1,234,567 runs)"
    assert run_costs({"probe": _costs(on_exec=(0, 0))}, several=False) == "on_exec no runs yet"
    assert run_costs({}, several=False) == "no program counted yet"
    several = {"types": _costs(on_exec=(57, 45_300)), "tricky": _costs(on_exec=(57, 29_000))}
    full = "types › on_exec 795 ns/run (57 runs)  tricky › on_exec 509 ns/run (57 runs)"
    assert run_costs(several, several=True) == full
    assert run_costs(several, several=True, width=len(full)) == full
    # too long for the width: the means stay, the runs go (the header cuts what is still too long)
    assert run_costs(several, several=True, width=len(full) - 1) == \
        "types › on_exec 795 ns/run  tricky › on_exec 509 ns/run"


def _header(model: TuiModel) -> tuple[list[str], int]:
    """The header's lines as the headless app draws them at 80 columns, and its height."""
    from bee.tui.app import BeeApp
    from bee.tui.widgets import Header

    app = BeeApp(model, threading.Event())
    drawn: list[tuple[list[str], int]] = []

    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.3)
            header = app.query_one(Header)
            drawn.append((header.render().plain.split("\n"), header.size.height))
            await pilot.press("q")

    asyncio.run(main())
    return drawn[0]


def test_the_header_shows_run_costs_only_with_bpf_stats() -> None:
    lines, height = _header(_model())
    assert height == 3 and len(lines) == 3
    assert lines[1].startswith("attached 1: ") and lines[2].startswith("metrics ")

    counted = TuiModel("probe.o", "http://[::1]:9091/metrics", [RingTable("print_events", "print")], bpf_stats=True)
    counted.attached([("on_exec", "tracepoint/sched/sched_process_exec", "sched/sched_process_exec")])
    assert counted.run_stats == {}
    counted.run_stats = {"probe": _costs(on_exec=(3, 6_000))}
    assert _header(counted) == (["bee run probe.o", "attached 1: on_exec → sched/sched_process_exec",
                                 "bpf stats: on_exec 2,000 ns/run (3 runs)", "metrics http://[::1]:9091/metrics"], 4)


def test_the_feed_hands_the_view_fresh_counts_until_stopped() -> None:
    from bee.run.viewing import feed_run_stats

    view = TuiModel("probe.o", "", [RingTable("print_events", "print")], bpf_stats=True)
    reads: list[dict[str, dict[str, RunStats]]] = []

    def read() -> dict[str, dict[str, RunStats]]:
        reads.append({"probe": _costs(on_exec=(len(reads) + 1, 1000 * (len(reads) + 1)))})
        return reads[-1]

    stop = threading.Event()
    thread = feed_run_stats(view, read, stop, interval=0.05)
    deadline = time.monotonic() + 5
    while len(reads) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and len(reads) >= 3
    assert view.run_stats is reads[-1] and thread.name == "bee-bpf-stats"

    def broken() -> dict[str, dict[str, RunStats]]:
        raise OSError("gone")

    thread = feed_run_stats(view, broken, threading.Event(), interval=0.05)  # never stopped: it ends by itself
    thread.join(5)
    assert not thread.is_alive()
    assert view.run_stats is reads[-1]  # the last counts stay on screen
    assert list(view.notices) == ["bee: --bpf-stats: the view stops showing run-time statistics: gone"]


def test_q_quits_a_view_without_tables() -> None:
    """Nothing is focused by itself: the hidden filter field of an empty view would otherwise take the `q`."""
    code, _ = _drive(TuiModel("probe.o", "http://[::1]:9091/metrics", []), "q")
    assert code == 0  # None: still running
