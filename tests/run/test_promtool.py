"""bee's /metrics exposition, read by Prometheus's own linter (`promtool check metrics`, from Debian's
`prometheus` package): it must parse, and the only lint findings allowed are those that Bumblebee's
metric names cause (`ebpf_solo_io_counter_<map>` has no `_total` suffix and names its type), listed
here exactly. A parse error, or any other finding, fails the test.

Real runs: programs loaded into the kernel, events caused by exec, the endpoint scraped over HTTP.
"""

from __future__ import annotations

import shutil
import subprocess

from tests.helpers import require
from tests.run.conftest import BeeRun
from tests.run.test_several import attached_lines, scrape_until

# promtool's exit codes: 0 clean, 3 lint findings only; anything else (1) is a parse error.
LINT_FINDINGS = 3


def bumblebee_naming_findings(counters: list[str], gauges: list[str]) -> set[str]:
    """The findings that the `ebpf_solo_io_<prefix>_<map>` names cause, by the maps' kinds."""
    found = set()
    for name in counters:
        found.add(f'ebpf_solo_io_{name} counter metrics should have "_total" suffix')
        found.add(f"ebpf_solo_io_{name} metric name should not include type 'counter'")
    for name in gauges:
        found.add(f"ebpf_solo_io_{name} metric name should not include type 'gauge'")
    return found


def promtool_findings(exposition: str) -> set[str]:
    """The lint findings of `promtool check metrics` over `exposition`; fails on a parse error."""
    promtool = shutil.which("promtool")
    require(promtool is not None, "needs promtool from Debian's prometheus package (scripts/setup.sh)")
    assert promtool is not None
    done = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True,
                          timeout=30, check=False)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode in (0, LINT_FINDINGS), f"promtool exited {done.returncode}: {output}"
    assert "error" not in output, output
    return set(output.splitlines()) if output else set()


def full_scrape(run: BeeRun, needles: list[str]) -> str:
    """The first scrape that holds every one of `needles`."""
    lines = scrape_until(run, lambda text: all(n in text for n in needles), f"series {needles}")
    return "\n".join(lines) + "\n"


def test_one_program_lints_with_only_bumblebees_naming(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"))
    trigger("beetrigger")
    text = full_scrape(run, ["ebpf_solo_io_counter_hash{", "ebpf_solo_io_gauge_hash{",
                             "ebpf_solo_io_hist_latency_bucket{", "ebpf_solo_io_counter_ring{"])
    # one program: Bumblebee's series, without a program label
    assert not [line for line in text.splitlines() if line.startswith("ebpf_solo_io_") and "program=" in line]
    assert promtool_findings(text) == bumblebee_naming_findings(["counter_hash", "counter_ring"], ["gauge_hash"])
    run.stop()


def test_several_programs_lint_with_only_bumblebees_naming(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), object_file("run_tricky"), object_file("lb_reject"))
    run.wait_for(lambda: len(attached_lines(run)) == 2, what="two attached lines")
    trigger("beetrigger")
    trigger("beetricky")
    text = full_scrape(run, ["ebpf_solo_io_counter_hash{", "ebpf_solo_io_gauge_tricky{",
                             "ebpf_solo_io_hist_latency_bucket{", 'bee_program_up{program="lb_reject"} 0'])
    assert 'bee_program_info{digest="sha256:' in text
    assert promtool_findings(text) == bumblebee_naming_findings(
        ["counter_hash", "counter_ring"], ["gauge_hash", "gauge_tricky"])
    run.stop()


def test_histograms_counted_in_the_kernel_and_every_map_kind_lint_with_only_bumblebees_naming(
        bee_run, object_file, trigger) -> None:
    """Histograms with and without `_sum`, and counters and gauges of array, LRU and per-CPU maps: no finding
    but the naming ones of the counter_/gauge_ maps."""
    run = bee_run(object_file("hist_kernel"), object_file("maps_arrays"), object_file("maps_hashes"))
    run.wait_for(lambda: len(attached_lines(run)) == 3, what="three attached lines")
    for name in ("beehist", "beearray", "beehash", "beeup"):
        trigger(name)
    text = full_scrape(run, ["ebpf_solo_io_log2hist_values_sum{", "ebpf_solo_io_linhist_values_count{",
                             "ebpf_solo_io_counter_pcpu_arr{", 'ebpf_solo_io_counter_lru{', "ebpf_solo_io_gauge_lru{",
                             "ebpf_solo_io_gauge_lru_pcpu{", "ebpf_solo_io_counter_pcpu{"])
    assert "ebpf_solo_io_linhist_values_sum" not in text  # the map keeps no sum
    assert promtool_findings(text) == bumblebee_naming_findings(
        ["counter_hist_values", "counter_arr", "counter_pcpu_arr", "counter_lru", "counter_pcpu"],
        ["gauge_arr_one", "gauge_pcpu_level", "gauge_lru", "gauge_lru_pcpu"])
    run.stop()


def test_promtool_finds_a_parse_error() -> None:
    """The check above can fail: promtool reports a broken exposition as an error, not as a finding."""
    promtool = shutil.which("promtool")
    require(promtool is not None, "needs promtool from Debian's prometheus package (scripts/setup.sh)")
    assert promtool is not None
    done = subprocess.run([promtool, "check", "metrics"], input='ebpf_solo_io_x{a="1} 2\n', capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode not in (0, LINT_FINDINGS)
    assert "parsing error" in done.stdout + done.stderr
