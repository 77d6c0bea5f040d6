"""Histograms counted in the kernel (`SlotHistogramFamily`): counts followed as they grow, `_sum` only when the
map keeps one, resets, removal, sharing between programs; byte for byte, and parsed back by prometheus_client."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bee.errors import UsageError
from bee.sinks.errors import SinkError
from bee.sinks.families import SlotHistogramFamily, slot_histogram_help
from bee.sinks.metrics import MetricsRegistry, ProgramMetrics

HELP = slot_histogram_help("log2hist_lat_us", "hash", "log2", True)


def test_help_says_the_unit_and_whether_there_is_a_sum() -> None:
    assert HELP == ("histogram from BPF map log2hist_lat_us (hash), log2 slots counted in the kernel; "
                    "bounds in the unit the program counts in")
    assert slot_histogram_help("linhist_x", "percpu_array", "linear", False).endswith(
        "; no _sum: the map keeps none")


def test_counts_become_cumulative_buckets_with_the_last_slot_in_inf_only() -> None:
    registry = MetricsRegistry()
    family = registry.slot_histogram("log2hist_lat_us", ["comm"], (1, 3, 7), help=HELP, has_sum=True)
    family.follow(("bash",), [2, 0, 1, 4], 100)  # slot 3 holds what does not fit: +Inf only
    text = registry.exposition().decode()
    assert [line for line in text.splitlines() if "log2hist" in line] == [
        f"# HELP ebpf_solo_io_log2hist_lat_us {HELP}",
        "# TYPE ebpf_solo_io_log2hist_lat_us histogram",
        'ebpf_solo_io_log2hist_lat_us_bucket{comm="bash",le="1"} 2',
        'ebpf_solo_io_log2hist_lat_us_bucket{comm="bash",le="3"} 2',
        'ebpf_solo_io_log2hist_lat_us_bucket{comm="bash",le="7"} 3',
        'ebpf_solo_io_log2hist_lat_us_bucket{comm="bash",le="+Inf"} 7',
        'ebpf_solo_io_log2hist_lat_us_sum{comm="bash"} 100',
        'ebpf_solo_io_log2hist_lat_us_count{comm="bash"} 7',
    ]


def test_without_a_sum_there_is_no_sum_line_and_prometheus_still_parses_it() -> None:
    family = SlotHistogramFamily("ebpf_solo_io_linhist_x", "h", (), (9, 19), has_sum=False)
    family.follow((), [1, 2, 3])
    out: list[str] = []
    family.render(out)
    text = "".join(out)
    assert text.splitlines()[2:] == [
        'ebpf_solo_io_linhist_x_bucket{le="9"} 1',
        'ebpf_solo_io_linhist_x_bucket{le="19"} 3',
        'ebpf_solo_io_linhist_x_bucket{le="+Inf"} 6',
        "ebpf_solo_io_linhist_x_count 6",
    ]
    (parsed,) = text_string_to_metric_families(text)
    assert parsed.type == "histogram"
    assert {s.name for s in parsed.samples} == {"ebpf_solo_io_linhist_x_bucket", "ebpf_solo_io_linhist_x_count"}


def test_follow_adds_what_each_slot_gained_and_a_lower_count_is_a_reset() -> None:
    family = SlotHistogramFamily("h", "h", ("k",), (1,), has_sum=True)
    family.follow(("a",), [1, 1], 10)
    family.follow(("a",), [3, 1], 14)  # +2 in slot 0, +4 in the sum
    assert _samples(family) == {'h_bucket{k="a",le="1"}': 3, 'h_bucket{k="a",le="+Inf"}': 4, 'h_sum{k="a"}': 14,
                                'h_count{k="a"}': 4}
    family.follow(("a",), [1, 0], 2)  # the entry was cleared, then counted 1 value: a reset, added whole
    assert _samples(family) == {'h_bucket{k="a",le="1"}': 4, 'h_bucket{k="a",le="+Inf"}': 5, 'h_sum{k="a"}': 16,
                                'h_count{k="a"}': 5}
    family.follow(("a",), [1, 0], -3)  # a negative value counted: the sum may decrease, the buckets do not
    assert _samples(family)['h_sum{k="a"}'] == 11 and _samples(family)['h_count{k="a"}'] == 5


def test_retain_and_forget_drop_series_and_their_last_counts() -> None:
    family = SlotHistogramFamily("h", "h", ("k", "program"), (1,), has_sum=False)
    family.follow(("a", "p"), [1, 1])
    family.follow(("b", "p"), [2, 0])
    family.follow(("c", "q"), [0, 5])
    family.retain({("a", "p")}, ("p",))
    assert sorted(_samples(family)) == sorted(['h_bucket{k="a",program="p",le="1"}', 'h_bucket{k="a",program="p",'
                                               'le="+Inf"}', 'h_count{k="a",program="p"}', 'h_bucket{k="c",program="q",'
                                               'le="1"}', 'h_bucket{k="c",program="q",le="+Inf"}',
                                               'h_count{k="c",program="q"}'])
    family.follow(("b", "p"), [1, 0])  # came back: counted from nothing, not as a gain over the forgotten counts
    assert _samples(family)['h_count{k="b",program="p"}'] == 1
    family.forget_where("program", "q")
    family.remove(("a", "p"))
    assert set(_samples(family)) == {'h_bucket{k="b",program="p",le="1"}', 'h_bucket{k="b",program="p",le="+Inf"}',
                                     'h_count{k="b",program="p"}'}


def test_wrong_counts_and_bounds_are_refused() -> None:
    family = SlotHistogramFamily("h", "h", (), (1, 3), has_sum=False)
    with pytest.raises(ValueError, match="h takes 3 counts, got 2"):
        family.follow((), [1, 2])
    with pytest.raises(UsageError, match="must be distinct and finite"):
        SlotHistogramFamily("h", "h", (), (1, 1, 3))


def test_programs_share_a_family_only_with_the_same_bounds_and_sum() -> None:
    registry = MetricsRegistry(program_label=True)
    one, two = ProgramMetrics(registry, "one"), ProgramMetrics(registry, "two")
    first = one.slot_histogram("log2hist_x", ["comm"], (1, 3), help=HELP, has_sum=True)
    second = two.slot_histogram("log2hist_x", ["comm"], (1, 3), help=HELP, has_sum=True)
    assert first.family is second.family  # type: ignore[union-attr]
    first.follow(("bash",), [1, 0, 0], 1)
    second.follow(("bash",), [0, 0, 2], 9)
    text = registry.exposition().decode()
    assert 'ebpf_solo_io_log2hist_x_count{comm="bash",program="one"} 1' in text
    assert 'ebpf_solo_io_log2hist_x_count{comm="bash",program="two"} 2' in text
    three = ProgramMetrics(registry, "three")
    with pytest.raises(SinkError, match="programs one and three both make metric ebpf_solo_io_log2hist_x"):
        three.slot_histogram("log2hist_x", ["comm"], (1, 3), help=HELP, has_sum=False)


def _samples(family: SlotHistogramFamily) -> dict[str, float]:
    out: list[str] = []
    family.render(out)
    samples = {}
    for line in "".join(out).splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples
