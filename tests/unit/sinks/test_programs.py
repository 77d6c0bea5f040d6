"""The sinks as the programs of a run of several write to them: metric families shared by name with a
`program` label, event-log channels whose lines name the program; and the names programs get."""

from __future__ import annotations

import io
import json

import pytest

from bee.errors import UsageError
from bee.run.lineup import name_programs, short_name
from bee.sinks.errors import SinkError
from bee.sinks.eventlog import EventLog
from bee.sinks.metrics import MetricsRegistry, ProgramMetrics


def test_one_program_writes_to_the_registry_itself() -> None:
    registry = MetricsRegistry()
    metrics = ProgramMetrics(registry)
    counter = metrics.counter("counter_x", ("program",))
    assert counter is registry.get("ebpf_solo_io_counter_x")
    counter.inc(("a",))
    assert b'ebpf_solo_io_counter_x{program="a"} 1\n' in registry.exposition()  # a field named program stays so
    with pytest.raises(ValueError, match="program_label"):
        ProgramMetrics(registry, "p")


def test_programs_share_families_and_keep_their_own_series() -> None:
    registry = MetricsRegistry(program_label=True)
    a, b = ProgramMetrics(registry, "a"), ProgramMetrics(registry, "b")
    ca, cb = a.counter("counter_x", ("key", "program")), b.counter("counter_x", ("key", "program"))
    ca.follow(("1", "f"), 5)
    ca.follow(("2", "f"), 1)
    cb.follow(("1", "f"), 7)
    a.events_read.inc(("counter_x",), 3)
    ca.retain({("1", "f")})  # key 2 deleted from a's map: b's series stay
    text = registry.exposition().decode()
    assert text.count("# TYPE ebpf_solo_io_counter_x counter") == 1
    assert [line for line in text.splitlines() if line.startswith("ebpf_solo_io_counter_x")] == [
        'ebpf_solo_io_counter_x{_program="f",key="1",program="a"} 5',
        'ebpf_solo_io_counter_x{_program="f",key="1",program="b"} 7']
    assert 'bee_events_read_total{map="counter_x",program="a"} 3' in text.splitlines()


def test_programs_whose_maps_differ_are_named_both() -> None:
    registry = MetricsRegistry(program_label=True)
    ProgramMetrics(registry, "a").counter("counter_x", ("key",))
    with pytest.raises(SinkError, match="^programs a and b both make metric ebpf_solo_io_counter_x but"):
        ProgramMetrics(registry, "b").gauge("counter_x", ("key",))
    with pytest.raises(SinkError, match="programs a and c"):
        ProgramMetrics(registry, "c").counter("counter_x", ("other",))
    with pytest.raises(SinkError, match="registered twice"):
        ProgramMetrics(registry, "a").counter("counter_x", ("key",))


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_channels_name_the_program_after_the_map(fmt: str) -> None:
    out = io.StringIO()
    log = EventLog(out, fmt=fmt)  # type: ignore[arg-type]
    mine, plain = log.channel("print_x", "my prog"), log.channel("print_x")
    assert plain == "print_x" and log.source_of(mine) == ("print_x", "my prog")
    log.emit(mine, {"a": 1}, ts=0.0)
    log.emit(plain, {"a": 2}, ts=0.0)
    template = log.line_template(mine, [("a", "int")])
    log.emit_lines(mine, [template.template % ("1970-01-01T00:00:00.", 0, 3)])
    log.close()
    lines = out.getvalue().splitlines()
    if fmt == "text":
        assert lines == ['1970-01-01T00:00:00.000000Z print_x program="my prog" a=1',
                         "1970-01-01T00:00:00.000000Z print_x a=2",
                         '1970-01-01T00:00:00.000000Z print_x program="my prog" a=3']
    else:
        assert [json.loads(line) for line in lines] == [
            {"time": "1970-01-01T00:00:00.000000Z", "map": "print_x", "program": "my prog", "event": {"a": 1}},
            {"time": "1970-01-01T00:00:00.000000Z", "map": "print_x", "event": {"a": 2}},
            {"time": "1970-01-01T00:00:00.000000Z", "map": "print_x", "program": "my prog", "event": {"a": 3}}]
        assert list(json.loads(lines[0])) == ["time", "map", "program", "event"]


def test_program_names() -> None:
    assert short_name("ghcr.io/me/probes/opensnoop:v1") == "opensnoop"
    assert short_name("tcpconn@sha256:" + "a" * 64) == "tcpconn"
    assert short_name("./dir/probe.o") == "probe"
    assert name_programs(["a.o", "ghcr.io/x/b:1", "c:v2"]) == ["a", "b", "c"]
    with pytest.raises(UsageError, match="^programs a.o and ghcr.io/x/a:1 would both be named a;"):
        name_programs(["a.o", "ghcr.io/x/a:1"])


def test_forgetting_a_program_leaves_the_others_series_and_families() -> None:
    registry = MetricsRegistry(program_label=True)
    a, b = ProgramMetrics(registry, "a"), ProgramMetrics(registry, "b")
    a.counter("counter_x", ("key",)).follow(("1",), 5)
    b.counter("counter_x", ("key",)).follow(("1",), 7)
    a.histogram("hist_y", ("key",), buckets=(1,)).observe(("1",), 0.5)
    a.gauge("gauge_only_a", ("key",)).set(("1",), 2)
    a.events_read.inc(("counter_x",), 3)
    published: list[str] = []
    a.on_collect(lambda: published.append("a"))
    b.on_collect(lambda: published.append("b"))
    registry.forget_program("a")
    text = registry.exposition().decode()
    assert published == ["b"]  # a's collect hook went with it
    assert 'ebpf_solo_io_counter_x{key="1",program="b"} 7' in text
    assert 'program="a"' not in text
    # the families only a registered are gone; the shared one stays b's
    assert registry.get("ebpf_solo_io_gauge_only_a") is None and registry.get("ebpf_solo_io_hist_y") is None
    assert registry.get("ebpf_solo_io_counter_x") is not None
    # a program of that name can come back with other shapes of its maps
    again = ProgramMetrics(registry, "a")
    again.gauge("gauge_only_a", ("other",)).set(("x",), 1)
    assert 'ebpf_solo_io_gauge_only_a{other="x",program="a"} 1' in registry.exposition().decode()


def test_an_event_log_forgets_a_programs_drops() -> None:
    log = EventLog(io.StringIO(), queue_size=1)
    try:
        channels = {name: log.channel("print_events", name) for name in ("a", "b")}
        log.close()
        for channel in channels.values():
            log.emit(channel, {"x": 1})  # after close: counted as lost
        log.forget("a")
        assert log.lost_by_map() == {channels["b"]: 1}
    finally:
        log.close()
