"""`bee run` end to end: real programs in the real kernel, events read back, metrics scraped."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.helpers import DATA, assert_one_line_error
from tests.run.conftest import bpf_link_ids, bpf_prog_ids

SRC = DATA / "src"

EXPECTED_EVENT = {
    "small": 200,
    "big": 0x1122334455667788,
    "negative": -42,
    "flag": True,
    "color": "BLUE",
    "where_port": 8080,
    "where_proto": 6,
    "codes": [1, 2, 65535],
    "comm": "beetrigger",
    "addr": "127.0.0.1",
    "took": "1.5ms",
    "low": 5,
    "high": 17,
    "sbits": -3,
}


def test_events_are_decoded_exactly_and_maps_become_metrics(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"))
    trigger("beetrigger")
    (event,) = run.wait_for(lambda: run.events("print_events"), what="an event")
    assert event["event"] == EXPECTED_EVENT
    assert event["time"].endswith("Z") and event["time"][10] == "T"
    assert run.wait_for(lambda: run.metric_lines("ebpf_solo_io_gauge_hash{"), what="the gauge") == [
        'ebpf_solo_io_gauge_hash{comm="beetrigger",slot="2"} 77']
    metrics = run.scrape()
    assert "# TYPE ebpf_solo_io_counter_ring counter" in metrics
    assert 'ebpf_solo_io_counter_ring{color="GREEN",comm="beetrigger"} 1' in metrics.splitlines()
    assert 'ebpf_solo_io_counter_hash{comm="beetrigger",slot="1"} 3' in metrics.splitlines()
    hist = run.metric_lines("ebpf_solo_io_hist_latency")
    assert hist == [
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="0"} 0',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="10"} 1',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="20"} 1',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="50"} 2',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="100"} 2',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="200"} 2',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="500"} 3',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="1000"} 3',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="2000"} 3',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="5000"} 3',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="+Inf"} 3',
        'ebpf_solo_io_hist_latency_sum{comm="beetrigger"} 555',
        'ebpf_solo_io_hist_latency_count{comm="beetrigger"} 3',
    ]
    assert "untracked" not in metrics
    assert "_total" not in "".join(line for line in metrics.splitlines() if line.startswith("ebpf_solo_io"))
    # a second trigger: the ring counter adds one, the hash counter follows the map (3 → 6)
    trigger("beetrigger")
    run.wait_for(lambda: 'ebpf_solo_io_counter_hash{comm="beetrigger",slot="1"} 6' in run.scrape().splitlines(),
                 what="the hash counter to follow the map")
    assert 'ebpf_solo_io_counter_ring{color="GREEN",comm="beetrigger"} 2' in run.scrape().splitlines()
    assert 'bee_events_read_total{map="print_events"} 2' in run.scrape().splitlines()
    # a deleted key's series disappears
    trigger("beedelete")
    run.wait_for(lambda: not run.metric_lines("ebpf_solo_io_gauge_hash{"), what="the deleted key's series to go")
    run.stop()


TRICKY_EVENT = {
    "tiny": -128, "umax": 2**64 - 1, "smin": -2**63, "full": "abcd", "e1": "NEG", "e2": 7,
    "d_mid_tag": 9, "d_mid_as_int": 0x01020304, "d_mid_as_bytes": [4, 3, 2, 1],
    "d_pts": [{"x": -1, "y": 2}, {"x": 32767, "y": -32768}], "b": True, "rest": 2**31 - 1, "raw": [0, 255, 7],
    "d0": "0s", "dbig": "1h2m3.0045s", "a4": "127.0.0.1", "comm": "beetricky",
}


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_unions_arrays_of_structs_and_signed_enums(bee_run, object_file, trigger, fmt: str) -> None:
    """run_tricky.c: what the C code wrote, field by field, in both log formats and as a metric."""
    run = bee_run(object_file("run_tricky"), fmt=fmt)
    trigger("beetricky")
    if fmt == "json":
        (event,) = run.wait_for(lambda: run.events("print_tricky"), what="an event")
        assert event["event"] == TRICKY_EVENT
    else:
        (line,) = run.wait_for(lambda: [line for line in list(run.stdout_lines) if " print_tricky " in line],
                               what="an event")
        assert line.split(" ", 2)[2] == (
            "tiny=-128 umax=18446744073709551615 smin=-9223372036854775808 full=abcd e1=NEG e2=7 d_mid_tag=9 "
            "d_mid_as_int=16909060 d_mid_as_bytes=[4,3,2,1] "
            'd_pts="[{\\"x\\":-1,\\"y\\":2},{\\"x\\":32767,\\"y\\":-32768}]" '
            "b=true rest=2147483647 raw=[0,255,7] d0=0s dbig=1h2m3.0045s a4=127.0.0.1 comm=beetricky")
    assert run.wait_for(lambda: run.metric_lines("ebpf_solo_io_gauge_tricky{"), what="the gauge") == [
        'ebpf_solo_io_gauge_tricky{comm="beetricky",kind="NEG"} -42']
    run.stop()


def test_a_ring_buffer_found_full_is_counted(bee_run, object_file, trigger) -> None:
    """run_burst.c: 3,000 opens, 2 KiB events, a 4 KiB ring that holds one. The kernel refuses what does
    not fit, which no counter sees; bee counts the reads that found the ring full. It drops nothing itself."""
    run = bee_run(object_file("run_burst"))
    assert 'bee_ringbuf_full_total{map="print_burst"} 0' in run.scrape().splitlines()
    trigger("beeburst", "/bin/cat", *["/dev/null"] * 3000)
    run.wait_for(lambda: run.events("print_burst"), what="events")
    full = run.wait_for(lambda: [line for line in run.metric_lines('bee_ringbuf_full_total{map="print_burst"}')
                                 if not line.endswith(" 0")], what="a read that found the ring full")
    assert int(full[0].rsplit(" ", 1)[1]) >= 1
    delivered = len([e for e in run.events("print_burst") if e["event"]["comm"] == "beeburst"])
    assert 0 < delivered < 3000  # the loader's opens come on top of cat's 3,000: events were lost
    assert 'bee_events_lost_total{map="print_burst"} 0' in run.scrape().splitlines()
    run.stop()


def test_text_log_filters_and_buckets(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), "-f", "print_events,comm,^beetrig", "-b", "hist_latency,[1,100]",
                  fmt="text")
    trigger("beetrigger")
    line = run.wait_for(lambda: [x for x in run.stdout_lines if " print_events " in x], what="a log line")[0]
    assert line.split(" ", 2)[2] == (
        "small=200 big=1234605616436508552 negative=-42 flag=true color=BLUE where_port=8080 where_proto=6 "
        "codes=[1,2,65535] comm=beetrigger addr=127.0.0.1 took=1.5ms low=5 high=17 sbits=-3")
    run.wait_for(lambda: run.metric_lines("ebpf_solo_io_hist_latency_count"), what="the histogram")
    assert run.metric_lines("ebpf_solo_io_hist_latency_bucket") == [
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="1"} 0',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="100"} 2',
        'ebpf_solo_io_hist_latency_bucket{comm="beetrigger",le="+Inf"} 3',
    ]
    run.stop(signal.SIGTERM)


def test_a_filter_that_matches_nothing_prints_nothing(bee_run, object_file, trigger) -> None:
    run = bee_run(object_file("run_types"), "-f", "print_events,comm,^nobody$")
    trigger("beetrigger")
    run.wait_for(lambda: 'bee_events_read_total{map="print_events"} 1' in run.scrape().splitlines(), what="the read")
    run.stop()
    assert run.events("print_events") == []


def test_signals_detach_everything_quickly(bee_run, object_file) -> None:
    before = bpf_prog_ids("on_exec")
    for sig in (signal.SIGINT, signal.SIGTERM):
        run = bee_run(object_file("run_types"))
        ours = bpf_prog_ids("on_exec") - before
        assert len(ours) == 1 and len(bpf_link_ids(ours)) == 1
        assert run.scrape("/healthz").strip() == "ok"
        assert run.stop(sig) < 1.0
        assert bpf_prog_ids("on_exec") == before and bpf_link_ids(ours) == set()


@pytest.mark.clang  # bee build --local
def test_a_program_without_tracked_maps_stays_until_signalled(bee, bee_run, tmp_path: Path) -> None:
    source = tmp_path / "quiet.c"
    source.write_text('#include "vmlinux.h"\n#include "bpf/bpf_helpers.h"\n'
                      'SEC("tracepoint/sched/sched_process_exec") int quiet(void *ctx) { return 0; }\n'
                      'char LICENSE[] SEC("license") = "GPL";\n')
    assert bee("build", str(source), "--local", "--binary-only").returncode == 0
    quiet = bee_run(str(tmp_path / "quiet.o"))
    assert quiet.stderr_lines[-1].startswith("bee: attached 1 program from ")
    assert quiet.scrape("/healthz").strip() == "ok"
    assert quiet.proc.poll() is None
    assert quiet.stop() < 1.0


@pytest.mark.clang  # bee build --local
def test_a_kstack_t_without_a_stack_map_is_refused_before_the_load(bee, tmp_path: Path) -> None:
    """Its ids could name no stack: one sentence naming the field, nothing loaded."""
    source = tmp_path / "nostacks.c"
    source.write_text('#include "vmlinux.h"\n#include "bpf/bpf_helpers.h"\n#include "solo_types.h"\n'
                      "struct by_stack { kstack_t stack; };\n"
                      "struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, struct by_stack);"
                      " __type(value, u64); } counter_switches SEC(\".maps\");\n"
                      'SEC("tracepoint/sched/sched_switch") int on_switch(void *ctx) {\n'
                      "  struct by_stack k = {.stack = -1}; u64 one = 1;\n"
                      "  bpf_map_update_elem(&counter_switches, &k, &one, BPF_NOEXIST); return 0; }\n"
                      'char LICENSE[] SEC("license") = "GPL";\n')
    assert bee("build", str(source), "--local", "--binary-only").returncode == 0
    before = bpf_prog_ids("on_switch")
    run = bee("run", str(tmp_path / "nostacks.o"), "--no-tty", "--prom-port", "0")
    assert_one_line_error(run, "member stack of struct by_stack is a kstack_t, but the program has no "
                               "BPF_MAP_TYPE_STACK_TRACE map for its ids to name")
    assert bpf_prog_ids("on_switch") == before


def test_verifier_rejection_names_the_program(bee_run, object_file) -> None:
    run = bee_run(object_file("lb_reject"), wait=False)
    assert run.proc.wait(30) == 1
    err = "\n".join(run.stderr_lines)
    assert "Traceback" not in err
    last = run.stderr_lines[-1]
    assert last.startswith("Error: program ") and "rejected by the verifier" in last, err
    assert len(run.stderr_lines) > 2  # the verifier's last lines come before the summary


def test_port_in_use_is_one_error_and_leaves_nothing_loaded(bee, object_file, root) -> None:
    progs = bpf_prog_ids("on_exec")
    with socket.socket(socket.AF_INET6) as taken:
        taken.bind(("::", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", str(port))
    assert_one_line_error(proc, f"{port}", "address already in use", "--prom-port")
    assert bpf_prog_ids("on_exec") == progs


def test_inputs_that_cannot_run(bee, tmp_path: Path, object_file, root) -> None:
    def run(*args: str):  # type: ignore[no-untyped-def]
        return bee("run", *args, "--no-tty", "--prom-port", "0")

    text = tmp_path / "notes.o"
    text.write_text("not an object\n")
    types = object_file("run_types")
    assert_one_line_error(run(str(text)), "is not an ELF file")
    source = tmp_path / "probe.c"
    source.write_text("int x;\n")
    assert_one_line_error(run(str(source)), f"{source} is C source, not a compiled program: build it first, then run "
                          f"what it gives (bee build {source} probe:latest --local && bee run probe:latest, or bee "
                          f"build {source} --local --binary-only && bee run {tmp_path / 'probe.o'})")
    assert_one_line_error(run("/bin/true"), "not a BPF object")
    assert_one_line_error(run(str(tmp_path / "gone.o")), "gone.o does not exist")
    assert_one_line_error(run("nothere:v1", "--pull", "never"), "nothere:v1 is not in the local store")
    assert_one_line_error(run(types, "-f", "print_events,comm,(("), "print_events,comm,((")
    assert_one_line_error(run(types, "-f", "print_events,nofield,x"), "nofield")
    assert_one_line_error(run(types, "-k", "hist_latency,nofield"), "hist_latency", "nofield")
    assert_one_line_error(run(types, "-b", "hist_latency,[a]"), "invalid histogram buckets")


@pytest.mark.clang  # bee build --local
def test_unsupported_tracked_map_type_is_a_notice(bee, bee_run, tmp_path: Path) -> None:
    """A map named for an output its type cannot give is not exported, and the run says so in one line."""
    source = tmp_path / "gauge_ring.c"
    source.write_text('#include "vmlinux.h"\n#include "bpf/bpf_helpers.h"\n'
                      'struct e { u32 x; };\n'
                      'struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096);'
                      ' __type(value, struct e); } gauge_events SEC(".maps");\n'
                      'SEC("tracepoint/sched/sched_process_exec") int g(void *ctx) { return 0; }\n'
                      'char LICENSE[] SEC("license") = "GPL";\n')
    assert bee("build", str(source), "--local", "--binary-only").returncode == 0
    run = bee_run(str(tmp_path / "gauge_ring.o"))
    assert run.stderr_lines[0] == ("bee: notice: map gauge_events: type ringbuf is not supported for output gauge "
                                   "(a ring buffer gives print, counter or hist); it is not exported")
    assert run.stderr_lines[1].startswith(f"bee: notice: {tmp_path / 'gauge_ring.o'} exports no map: ")
    assert run.stderr_lines[2].startswith("bee: attached 1 program from ")
    assert "gauge_events" not in run.scrape()
    run.stop()


TYPO = """#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, u32); __type(value, u64); }
    countr_execs SEC(".maps"), start SEC(".maps"), %s SEC(".maps");
SEC("tracepoint/sched/sched_process_exec")
int count(void *ctx)
{
    u32 key = 0;
    u64 one = 1, *value = bpf_map_lookup_elem(&countr_execs, &key);
    if (value)
        __sync_fetch_and_add(value, 1);
    else
        bpf_map_update_elem(&countr_execs, &key, &one, BPF_ANY);
    return 0;
}
char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.clang  # bee build --local
@pytest.mark.parametrize("third", ["Gauge_execs", "gauge_execs"])
def test_a_typo_in_a_map_prefix_is_named_with_the_name_meant(bee, bee_run, tmp_path: Path, third: str) -> None:
    """`countr_execs` attaches and exports nothing, as Bumblebee would; bee says so at start, with the name
    meant, says which maps it exports, and when none, that the run will show nothing."""
    source = tmp_path / "typo.c"
    source.write_text(TYPO % third)
    assert bee("build", str(source), "--local", "--binary-only").returncode == 0
    run = bee_run(str(tmp_path / "typo.o"))
    notices = [line for line in run.stderr_lines if line.startswith("bee: notice:")]
    prefixes = "print_, counter_, gauge_, hist_, log2hist_ or linhist_"
    expected = ["bee: notice: map countr_execs is not exported: its name has no output prefix (did you mean "
                f"counter_execs?); bee exports maps named {prefixes} (or chosen with --output)"]
    if third == "Gauge_execs":
        expected += ["bee: notice: map Gauge_execs is not exported: its name has no output prefix (did you mean "
                     f"gauge_execs?); bee exports maps named {prefixes} (or chosen with --output)",
                     f"bee: notice: {tmp_path / 'typo.o'} exports no map: none is named {prefixes} (or chosen with "
                     "--output MAP=KIND), so this run shows no events and no ebpf_solo_io_ metrics; bee describe "
                     "lists its maps"]
        assert not any(line.startswith("bee: exporting") for line in run.stderr_lines)
    else:
        assert f"bee: exporting gauge_execs (gauge) from {tmp_path / 'typo.o'}" in run.stderr_lines
    assert notices == expected  # `start` is no typo: nothing said of it
    assert run.stderr_lines[-1].startswith("bee: attached 1 program from ")
    run.stop()


@pytest.mark.clang  # bee build --local
def test_runs_from_the_local_store(bee, bee_run, trigger, tmp_path: Path) -> None:
    built = bee("build", str(SRC / "run_types.c"), "types:v1", "--local", "-o", str(tmp_path / "t.o"))
    assert built.returncode == 0, built.stderr
    run = bee_run("types:v1")
    assert "from types:v1" in run.stderr_lines[-1]
    trigger("beetrigger")
    (event,) = run.wait_for(lambda: run.events("print_events"), what="an event")
    assert event["event"] == EXPECTED_EVENT
    run.stop()


# --- bad values are refused before anything is loaded ---


@pytest.mark.parametrize("value", ["nan", "NaN", "-nan"])
def test_poll_interval_nan_is_refused(bee, object_file, root, value: str) -> None:
    progs = bpf_prog_ids("on_exec")
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", "--poll-interval", value)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    # click's usage errors print the usage line first, then the one-sentence error
    assert proc.stderr.strip().splitlines()[-1] == (
        f"Error: Invalid value for '--poll-interval': '{value}' is not a finite number; "
        "give a number from 0.05 to 3600")
    assert bpf_prog_ids("on_exec") == progs


@pytest.mark.parametrize(("args", "fragments"), [
    (["-b", "hist_nosuch,[1,2]"], ["-b/--hist-buckets names map 'hist_nosuch', which this program does not "
                                   "output as a histogram (hist_ maps: hist_latency)"]),
    (["-k", "hist_nosuch,le"], ["-k/--hist-value-key names map 'hist_nosuch'", "(hist_ maps: hist_latency)"]),
    (["-b", "print_events,[1,2]"], ["-b/--hist-buckets names map 'print_events'"]),
    (["-b", "hist_latency,[1,NaN]"], ["invalid histogram buckets", "bucket bounds must be finite numbers"]),
    (["-b", "hist_latency,[1,Infinity]"], ["bucket bounds must be finite numbers"]),
    (["-b", "hist_latency,[10,1]"], ["invalid histogram buckets 'hist_latency,[10,1]': bucket bounds must increase"]),
])
def test_histogram_options_are_checked_against_the_object(bee, object_file, root, args: list[str],
                                                          fragments: list[str]) -> None:
    progs = bpf_prog_ids("on_exec")
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", *args)
    assert proc.returncode == 2
    assert_one_line_error(proc, *fragments)
    assert bpf_prog_ids("on_exec") == progs


@pytest.mark.skipif(sys.byteorder != "little", reason="the committed foreign-order object is big-endian")
def test_a_foreign_byte_order_object_is_refused_before_loading(bee, root) -> None:
    progs = bpf_prog_ids("lb_openat")
    obj = DATA / "obj" / "lb_ringbuf_be.o"
    proc = bee("run", str(obj), "--no-tty", "--prom-port", "0")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{obj} is a big-endian BPF object (built with -target bpfeb) and this machine is "
                                "little-endian, so it cannot run here; rebuild it for this machine")
    assert "libbpf" not in proc.stderr
    assert bpf_prog_ids("lb_openat") == progs


@pytest.mark.parametrize("flag", ["--pin-maps", "--pin-progs"])
def test_pinning_outside_bpffs_is_refused_before_loading(bee, object_file, root, tmp_path: Path, flag: str) -> None:
    progs = bpf_prog_ids("on_exec")
    pins = tmp_path / "pins"  # pytest's tmp is on the root file system, not bpffs
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", flag, str(pins))
    assert proc.returncode == 1
    assert_one_line_error(proc, f"{flag} {pins} is not on a BPF file system (", "use a directory under /sys/fs/bpf")
    assert "Invalid argument" not in proc.stderr
    assert bpf_prog_ids("on_exec") == progs and not pins.exists()
    afile = tmp_path / "afile"
    afile.write_text("")
    proc = bee("run", object_file("run_types"), "--no-tty", "--prom-port", "0", flag, str(afile / "x"))
    assert_one_line_error(proc, f"{flag} {afile / 'x'}: {afile} is not a directory")
    assert bpf_prog_ids("on_exec") == progs
