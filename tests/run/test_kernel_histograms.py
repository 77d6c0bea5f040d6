"""Histograms counted in the kernel (`log2hist_`, `linhist_` maps) through the real CLI and the real kernel:
each exec of a process named `beehist` counts eight known values into four histograms (hash, per-CPU hash,
array of one entry, per-CPU array), so every bucket, `_count` and `_sum` of the scrape is known exactly;
`_count` is also checked against a counter the program keeps of the same values."""

from __future__ import annotations

from tests.helpers import assert_one_line_error
from tests.run.test_several import scrape_until

VALUES = (0, 1, 2, 3, 5, 100, 1000, 70000)  # what hist_kernel.c counts per exec
EXECS = 2


def log2_buckets(slots: int) -> list[tuple[str, int]]:
    """(le, cumulative count) of a log2 histogram of `slots` slots after EXECS execs, computed from the rule
    docs/running.md states: slot i counts floor(log2(v)) = i (0 in slot 0), its bound 2^(i+1) - 1, the last
    slot (what the program clamps into it) +Inf only."""
    counts = [0] * slots
    for v in VALUES:
        counts[min(max(v.bit_length() - 1, 0), slots - 1)] += EXECS
    bounds = [str(2 ** (i + 1) - 1) for i in range(slots - 1)] + ["+Inf"]
    return [(le, sum(counts[:i + 1])) for i, le in enumerate(bounds)]


def histogram(name: str, labels: str, buckets: list[tuple[str, int]], total: int | None) -> list[str]:
    """The sample lines of one histogram series, as bee writes them (`labels` without braces, may be empty)."""
    sep = "," if labels else ""
    lines = [f'{name}_bucket{{{labels}{sep}le="{le}"}} {count}' for le, count in buckets]
    braced = f"{{{labels}}}" if labels else ""
    if total is not None:
        lines.append(f"{name}_sum{braced} {total}")
    return lines + [f"{name}_count{braced} {buckets[-1][1]}"]


def test_histograms_counted_in_the_kernel(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("hist_kernel"))
    for _ in range(EXECS):
        trigger("beehist")
    count = len(VALUES) * EXECS
    every_count = [f'ebpf_solo_io_counter_hist_values{{comm="beehist"}} {count}',
                   f'ebpf_solo_io_linhist_keyed_count{{index="2"}} {count}',
                   f"ebpf_solo_io_linhist_values_count {count}",
                   f'ebpf_solo_io_log2hist_pcpu_count{{comm="beehist"}} {count}',
                   f'ebpf_solo_io_log2hist_values_count{{comm="beehist"}} {count}']  # one poll may be half done
    lines = scrape_until(run, lambda text: all(line in text for line in every_count), "every count")
    samples = [line for line in lines if line.startswith("ebpf_solo_io_")]
    total = sum(VALUES) * EXECS
    expected = [
        f'ebpf_solo_io_counter_hist_values{{comm="beehist"}} {count}',
        # per-CPU array, index 2, width 500 from 0 (no start declared), with a sum
        *histogram("ebpf_solo_io_linhist_keyed", 'index="2"',
                   [("499", 12), ("999", 12), ("1499", 14), ("+Inf", 16)], total),
        # array of one entry (no label), u32 counts, width 2 from 1: 0, 1 and 2 in the first slot
        *histogram("ebpf_solo_io_linhist_values", "",
                   [("2", 6), ("4", 8), ("6", 10), ("8", 10), ("10", 10), ("+Inf", 16)], None),
        # per-CPU hash, 8 slots without a sum: 1000 and 70000 clamped into the last, +Inf only
        *histogram("ebpf_solo_io_log2hist_pcpu", 'comm="beehist"',
                   [("1", 4), ("3", 8), ("7", 10), ("15", 10), ("31", 10), ("63", 10), ("127", 12), ("+Inf", 16)],
                   None),
        # hash, 20 slots and a sum
        *histogram("ebpf_solo_io_log2hist_values", 'comm="beehist"', log2_buckets(20), total),
    ]
    assert samples == expected
    assert log2_buckets(8) == [("1", 4), ("3", 8), ("7", 10), ("15", 10), ("31", 10), ("63", 10), ("127", 12),
                               ("+Inf", 16)]  # the rule, computed, agrees with the literal expectation above
    assert ("# HELP ebpf_solo_io_log2hist_pcpu histogram from BPF map log2hist_pcpu (percpu_hash), log2 slots "
            "counted in the kernel; bounds in the unit the program counts in; no _sum: the map keeps none") in lines
    assert "# TYPE ebpf_solo_io_linhist_keyed histogram" in lines

    trigger("beehist")  # the buckets follow the map: they add what it gained
    more = scrape_until(run, lambda text: f'ebpf_solo_io_log2hist_values_count{{comm="beehist"}} {count + 8}' in text,
                        "the third exec counted")
    assert 'ebpf_solo_io_log2hist_values_bucket{comm="beehist",le="1"} 6' in more
    assert f'ebpf_solo_io_log2hist_values_sum{{comm="beehist"}} {sum(VALUES) * 3}' in more
    run.stop()


def test_maps_bee_cannot_export_are_notices_and_a_histogram_declared_wrong_stops_its_program(
        bee_run, object_file) -> None:
    """spec_hist.o names three maps for an output their type cannot give (a notice each, naming the program in
    a run of several) and declares a linear histogram without its width: that program does not start, the
    other runs."""
    broken, good = object_file("spec_hist"), object_file("hist_kernel")
    run = bee_run(broken, good)
    run.wait_for(lambda: any("did not start" in line for line in run.stderr_lines), what="the warning")
    notices = [line for line in run.stderr_lines if line.startswith("bee: notice:")]
    assert notices == [
        "bee: notice: program spec_hist: map hist_on_hash: type hash is not supported for output hist (a hist_ map "
        "is a ring buffer; a histogram kept in a hash or array map is named log2hist_ or linhist_); it is not exported",
        "bee: notice: program spec_hist: map log2hist_ring: type ringbuf is not supported for output log2hist (a ring "
        "buffer gives print, counter or hist); it is not exported",
        "bee: notice: program spec_hist: map counter_stacks: type stack_trace is not supported for output counter "
        "(print, counter, gauge, log2hist and linhist need a hash or array map, hist a ring buffer); it is not "
        "exported",
    ]
    assert (f"bee: warning: program spec_hist ({broken}) did not start: map linhist_nowidth: declare its slot width "
            "as a parameter the program reads, const volatile u64 linhist_nowidth_width = N;") in run.stderr_lines
    assert [line for line in run.stderr_lines if line.startswith("bee: attached")] == [
        f"bee: attached 1 program from {good} (sched/sched_process_exec); metrics on http://[::1]:{run.port}/metrics"]
    run.stop()


def test_buckets_and_value_keys_do_not_apply(bee, object_file, root) -> None:
    for option in (["-b", "log2hist_values,[1,2]"], ["-k", "log2hist_values,sum"]):
        assert_one_line_error(bee("run", object_file("hist_kernel"), "--no-tty", "--prom-port", "0", *option),
                              "map log2hist_values is a histogram its program counts in the kernel",
                              "-b/--hist-buckets and -k/--hist-value-key do not apply to it")


def test_a_linear_histograms_width_and_start_given_as_parameters(bee_run, object_file, trigger) -> None:
    """`--param` sets the width and start the program computes its slots with, and bee's bounds follow."""
    run = bee_run(object_file("hist_kernel"), "--param", "linhist_values_width=3", "--param", "linhist_values_start=0")
    trigger("beehist")
    lines = scrape_until(run, lambda text: "ebpf_solo_io_linhist_values_count 8" in text, "one exec counted")
    # width 3 from 0: 0 1 2 | 3 5 | ... | 100 1000 70000 in the last slot
    assert [line for line in lines if line.startswith("ebpf_solo_io_linhist_values")] == histogram(
        "ebpf_solo_io_linhist_values", "", [("2", 3), ("5", 5), ("8", 5), ("11", 5), ("14", 5), ("+Inf", 8)], None)
    run.stop()
