"""Metric families and their text exposition, byte for byte."""

from __future__ import annotations

import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bee.errors import UsageError
from bee.sinks.errors import SinkError
from bee.sinks.families import (
    CONTENT_TYPE,
    DEFAULT_BUCKETS,
    CounterFamily,
    GaugeFamily,
    HistogramFamily,
    format_value,
    label_value,
    metric_name,
    sanitize_label_names,
)
from bee.sinks.metrics import MetricsRegistry


def lines(family: CounterFamily | GaugeFamily | HistogramFamily) -> list[str]:
    out: list[str] = []
    family.render(out)
    return "".join(out).splitlines()


def test_counter_has_no_total_suffix() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("counter_events_hash", ["saddr", "daddr"])
    counter.inc(("10.0.0.2", "10.0.0.1"))
    counter.inc(("10.0.0.2", "10.0.0.1"), 2)
    counter.inc(("10.0.0.1", "10.0.0.9"))
    text = registry.exposition().decode()
    assert (
        "# HELP ebpf_solo_io_counter_events_hash counter from BPF map counter_events_hash (hash)\n"
        "# TYPE ebpf_solo_io_counter_events_hash counter\n"
        'ebpf_solo_io_counter_events_hash{daddr="10.0.0.1",saddr="10.0.0.2"} 3\n'
        'ebpf_solo_io_counter_events_hash{daddr="10.0.0.9",saddr="10.0.0.1"} 1\n'
    ) in text
    assert "_total" not in "".join(line for line in text.splitlines() if "ebpf_solo_io" in line)


def test_ringbuf_counter_help_names_the_map_type() -> None:
    counter = MetricsRegistry().counter("counter_events_ring", ["pid"], map_type="ringbuf")
    counter.inc(("7",))
    assert lines(counter) == [
        "# HELP ebpf_solo_io_counter_events_ring counter from BPF map counter_events_ring (ringbuf)",
        "# TYPE ebpf_solo_io_counter_events_ring counter",
        'ebpf_solo_io_counter_events_ring{pid="7"} 1',
    ]


def test_gauge_exposition() -> None:
    gauge = MetricsRegistry().gauge("gauge_sockets_ext", ["comm", "pid"])
    gauge.set(("curl", "12"), 3)
    gauge.set(("wget", "9"), 2.5)
    gauge.set(("curl", "12"), 4)
    assert lines(gauge) == [
        "# HELP ebpf_solo_io_gauge_sockets_ext gauge from BPF map gauge_sockets_ext (hash)",
        "# TYPE ebpf_solo_io_gauge_sockets_ext gauge",
        'ebpf_solo_io_gauge_sockets_ext{comm="curl",pid="12"} 4',
        'ebpf_solo_io_gauge_sockets_ext{comm="wget",pid="9"} 2.5',
    ]


def test_histogram_exposition() -> None:
    hist = MetricsRegistry().histogram("hist_nfs_op_time_us", ["op"])
    for value in (5, 10, 11, 700, 6000):
        hist.observe(("read",), value)
    assert hist.buckets == DEFAULT_BUCKETS
    assert lines(hist) == [
        "# HELP ebpf_solo_io_hist_nfs_op_time_us histogram from BPF map hist_nfs_op_time_us (ringbuf)",
        "# TYPE ebpf_solo_io_hist_nfs_op_time_us histogram",
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="0"} 0',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="10"} 2',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="20"} 3',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="50"} 3',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="100"} 3',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="200"} 3',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="500"} 3',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="1000"} 4',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="2000"} 4',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="5000"} 4',
        'ebpf_solo_io_hist_nfs_op_time_us_bucket{op="read",le="+Inf"} 5',
        'ebpf_solo_io_hist_nfs_op_time_us_sum{op="read"} 6726',
        'ebpf_solo_io_hist_nfs_op_time_us_count{op="read"} 5',
    ]


def test_histogram_custom_buckets_are_sorted_and_inf_is_implicit() -> None:
    hist = HistogramFamily("h", "help", [], buckets=[2.5, 1, float("inf"), 1])
    hist.observe((), 2)
    assert hist.buckets == (1.0, 2.5)
    assert lines(hist)[2:] == [
        'h_bucket{le="1"} 0',
        'h_bucket{le="2.5"} 1',
        'h_bucket{le="+Inf"} 1',
        "h_sum 2",
        "h_count 1",
    ]


def test_histogram_renames_a_label_called_le() -> None:
    hist = HistogramFamily("h", "help", ["le", "comm"], buckets=[1])
    assert hist.label_names == ("_le", "comm")
    hist.observe(("x", "y"), 0.5)
    assert lines(hist)[2] == 'h_bucket{_le="x",comm="y",le="1"} 1'


def test_histogram_rejects_nan_bucket() -> None:
    with pytest.raises(UsageError, match="histogram bucket nan of h is not a usable upper bound"):
        HistogramFamily("h", "help", [], buckets=[float("nan")])


def test_label_values_are_escaped() -> None:
    gauge = GaugeFamily("g", "a help\nwith \\ backslash", ["comm"])
    gauge.set(('a"b\\c\nd',), 1)
    assert lines(gauge) == [
        "# HELP g a help\\nwith \\\\ backslash",
        "# TYPE g gauge",
        'g{comm="a\\"b\\\\c\\nd"} 1',
    ]


def test_exposition_parses_back_with_prometheus_client() -> None:
    registry = MetricsRegistry()
    registry.gauge("gauge_x", ["comm", "path"]).set(('we"ird\\', "/tmp/a b\nc"), 7)
    families = {f.name: f for f in text_string_to_metric_families(registry.exposition().decode())}
    (sample,) = families["ebpf_solo_io_gauge_x"].samples
    assert sample.labels == {"comm": 'we"ird\\', "path": "/tmp/a b\nc"}
    assert sample.value == 7


def test_follow_adds_deltas_and_survives_a_reset() -> None:
    counter = CounterFamily("c", "help", ["pid"])
    key = ("1",)
    counter.follow(key, 5)  # first sight: the whole value
    assert counter.get(key) == 5
    counter.follow(key, 8)
    assert counter.get(key) == 8
    counter.follow(key, 8)
    assert counter.get(key) == 8
    counter.follow(key, 3)  # the key was reset: 3 new events
    assert counter.get(key) == 11
    counter.follow(key, 0)
    assert counter.get(key) == 11
    counter.follow(key, 4)
    assert counter.get(key) == 15


def test_follow_with_zero_creates_the_series() -> None:
    counter = CounterFamily("c", "help", ["pid"])
    counter.follow(("1",), 0)
    assert lines(counter)[2:] == ['c{pid="1"} 0']


def test_retain_removes_deleted_keys() -> None:
    counter = CounterFamily("c", "help", ["pid"])
    counter.follow(("1",), 5)
    counter.follow(("2",), 7)
    counter.retain({("2",)})
    assert lines(counter)[2:] == ['c{pid="2"} 7']
    counter.follow(("1",), 2)  # the key came back: it starts over
    assert counter.get(("1",)) == 2
    counter.remove(("1",))
    counter.remove(("1",))
    assert counter.get(("1",)) is None


def test_gauge_and_histogram_retain() -> None:
    gauge = GaugeFamily("g", "help", ["k"])
    gauge.set(("a",), 1)
    gauge.set(("b",), 2)
    gauge.retain({("b",)})
    assert lines(gauge)[2:] == ['g{k="b"} 2']
    hist = HistogramFamily("h", "help", ["k"], buckets=[])
    hist.observe(("a",), 1)
    hist.observe(("b",), 1)
    hist.retain(set())
    assert lines(hist) == []


def test_labelled_family_without_series_is_not_shown_but_unlabelled_shows_zero() -> None:
    assert lines(CounterFamily("c", "help", ["pid"])) == []
    assert lines(CounterFamily("c", "help", [])) == ["# HELP c help", "# TYPE c counter", "c 0"]


def test_counter_refuses_bad_input() -> None:
    counter = CounterFamily("c", "help", ["a", "b"])
    with pytest.raises(ValueError, match="cannot decrease"):
        counter.inc(("x", "y"), -1)
    with pytest.raises(ValueError, match="takes 2 label values, got 1"):
        counter.inc(("x",))


def test_self_metrics() -> None:
    registry = MetricsRegistry()
    registry.events_read.inc(("print_events",), 10)
    registry.events_lost.inc(("print_events",), 0)
    registry.map_read_errors.inc(("counter_x",))
    registry.ringbuf_poll_errors.inc(())
    registry.ringbuf_full.inc(("print_events",), 2)
    assert registry.exposition().decode() == (
        "# HELP bee_events_lost_total Events dropped in user space because the output could not keep up, per map.\n"
        "# TYPE bee_events_lost_total counter\n"
        'bee_events_lost_total{map="print_events"} 0\n'
        "# HELP bee_events_read_total Events read from BPF ring buffers, per map.\n"
        "# TYPE bee_events_read_total counter\n"
        'bee_events_read_total{map="print_events"} 10\n'
        "# HELP bee_map_read_errors_total Failed reads of BPF hash maps, per map.\n"
        "# TYPE bee_map_read_errors_total counter\n"
        'bee_map_read_errors_total{map="counter_x"} 1\n'
        "# HELP bee_ringbuf_full_total Reads that found a ring buffer with no room for one more event, per map: "
        "while it is so, its program's reservations fail and events are lost in the kernel, where no counter "
        "sees them (a larger ring helps).\n"
        "# TYPE bee_ringbuf_full_total counter\n"
        'bee_ringbuf_full_total{map="print_events"} 2\n'
        "# HELP bee_ringbuf_poll_errors_total Ring buffer polls that failed.\n"
        "# TYPE bee_ringbuf_poll_errors_total counter\n"
        "bee_ringbuf_poll_errors_total 1\n"
    )


def test_no_process_or_python_collectors() -> None:
    text = MetricsRegistry().exposition().decode()
    assert "process_" not in text
    assert "python_" not in text


def test_duplicate_family_is_refused() -> None:
    registry = MetricsRegistry()
    registry.counter("counter_x", ["a"])
    with pytest.raises(SinkError, match="ebpf_solo_io_counter_x is registered twice"):
        registry.gauge("counter_x", ["a"])


def test_collect_hooks_run_before_rendering_and_failures_are_skipped() -> None:
    registry = MetricsRegistry()
    lost = {"print_events": 4}

    def broken() -> None:
        raise RuntimeError("boom")

    registry.on_collect(broken)
    registry.on_collect(lambda: [registry.events_lost.follow((m,), n) for m, n in lost.items()])
    assert 'bee_events_lost_total{map="print_events"} 4\n' in registry.exposition().decode()
    lost["print_events"] = 6
    assert 'bee_events_lost_total{map="print_events"} 6\n' in registry.exposition().decode()


def test_concurrent_updates_while_rendering() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("counter_x", ["t"])
    hist = registry.histogram("hist_x", ["t"])

    def work(name: str) -> None:
        for i in range(20_000):
            counter.inc((name,))
            hist.observe((name,), i % 100)

    threads = [threading.Thread(target=work, args=(str(n),)) for n in range(4)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        registry.exposition()
    for t in threads:
        t.join()
    text = registry.exposition().decode()
    for n in range(4):
        assert f'ebpf_solo_io_counter_x{{t="{n}"}} 20000\n' in text
        assert f'ebpf_solo_io_hist_x_count{{t="{n}"}} 20000\n' in text


def test_content_type() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (42, "42"),
        (-3, "-3"),
        (2**64 - 1, "18446744073709551615"),
        (True, "true"),
        (False, "false"),
        ("10.0.0.1", "10.0.0.1"),
        ("", ""),
        (1.5, "1.5"),
        ([1, 2, 3], "[1,2,3]"),
        (["a", "b"], '["a","b"]'),
        ([True, [1]], "[true,[1]]"),
        ([{"x": -1, "y": "a b"}, {"x": 2, "y": ""}], '[{"x":-1,"y":"a b"},{"x":2,"y":""}]'),  # arrays of structs
    ],
)
def test_label_value(value: object, text: str) -> None:
    assert label_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (-0.0, "0"),
        (1, "1"),
        (-1, "-1"),
        (3.0, "3"),
        (2.5, "2.5"),
        (123456, "123456"),
        (1234567, "1.234567e+06"),
        (1e6, "1e+06"),
        (2**64 - 1, "1.8446744073709552e+19"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_values_are_formatted_like_go(value: float, text: str) -> None:
    assert format_value(value) == text


def test_names_are_sanitized() -> None:
    assert metric_name("counter_events_hash") == "ebpf_solo_io_counter_events_hash"
    assert metric_name("my.map") == "ebpf_solo_io_my_map"
    assert sanitize_label_names(["a.b", "a_b", "1x", ""]) == ("a_b", "_a_b", "_1x", "_")


def test_label_names_never_start_with_two_underscores() -> None:
    # Prometheus reserves `__*` label names; a C field may well be called `__pad`
    assert sanitize_label_names(["__pad", "pad", "__", "_x", "", "."]) == ("_pad", "pad", "_", "_x", "_2", "_3")
    assert sanitize_label_names(["le", "_le", "__le"], reserved=("le",)) == ("_le", "_le_2", "_le_3")
    assert sanitize_label_names(["a", "a", "a"]) == ("a", "_a", "_a_2")
