#!/usr/bin/env python3
"""What runqlat costs per event: examples/runqlat (every wait one event through a ring buffer, a hist_ map bee
turns into a histogram) against examples/runqlat_kernel (the histogram counted in the kernel, a log2hist_ map
bee reads every second), under the same scheduler load, with libbpf-tools runqlat and a bpftrace one-liner
for context.

Run as root from the repository (see bench/README.md):

    .venv/bin/python bench/runqlat_cost.py --json bench/results/runqlat_cost-DATE.json   # ~30 min
    .venv/bin/python bench/runqlat_cost.py --quick                                       # ~2 min

The load is bench/pingpong.c: pairs of threads (bench-ping, bench-pong) passing a byte through pipes, each
read a sleep and a wakeup, paced at several rates and unpaced. Each tool runs alone under it (one process,
started afresh per measurement): `bee run OBJECT --no-tty --bpf-stats` with metrics on 127.0.0.1, its
stdout to /dev/null; `runqlat` of libbpf-tools; bpftrace. Per window: the kernel time of the tool's BPF
programs (bee's bee_bpf_* series; for the others, `bpftool prog show` of the programs the process holds),
the tool's CPU (utime + stime from /proc), and the events it counted. An oracle runs throughout:
tests/data/src/runq_count.c, which counts the same waits by the same rule per command name, under
`bee run --bpf-stats` (which also keeps the kernel's run-time statistics on for the other tools); its map
and runqlat_kernel's are read with bpftool, never through bee. Every process started is stopped (SIGINT,
then SIGKILL), so no program stays attached; everything lives in one temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# bench.runner_cost's helpers, whether run as a file or with -m: as a file, bench/ itself is on the path
# first, where bench/bench.py would shadow the bench directory
sys.path[:] = [str(REPO), *(p for p in sys.path if p and Path(p).resolve() != BENCH)]
from bench.runner_cost import Children, bee_env, cpu_seconds, machine, machine_busy, span, text_of  # noqa: E402

TOOLS = ("ring", "kernel", "libbpf-tools", "bpftrace")
BEE_TOOLS = {"ring": "runqlat", "kernel": "runqlat_kernel"}  # tool → example
RING_MAP = "hist_runqlat_us"
KERNEL_MAP = "log2hist_runqlat_us"
ORACLE_MAP = "counter_runq_waits"
LOAD_COMMS = ("bench-ping", "bench-pong")  # bench/pingpong.c's threads
# bpftrace's runqlat by runqlat's rule: a woken task's wait ends when it gets the CPU, unless it left it first.
BPFTRACE_SCRIPT = (
    "tracepoint:sched:sched_wakeup,tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; } "
    "tracepoint:sched:sched_switch { delete(@qtime[args->prev_pid]); $ns = @qtime[args->next_pid]; "
    "if ($ns) { @usecs[args->next_comm] = hist((nsecs - $ns) / 1000); delete(@qtime[args->next_pid]); } } "
    "END { clear(@qtime); }"
)
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
URL = re.compile(r"metrics on (http://\S+)/metrics")
NS = 1_000_000_000


def log(message: str) -> None:
    print(f"[runqlat_cost] {message}", file=sys.stderr, flush=True)


# -- what the kernel says ------------------------------------------------------------------------


def bpftool(*args: str) -> Any:
    """`bpftool -j ARGS`, parsed."""
    return json.loads(subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=True,
                                     timeout=30).stdout)


def held_ids(pid: int, kind: str) -> set[int]:
    """Ids of the BPF objects of `kind` (`prog` or `map`) process `pid` holds a descriptor of."""
    ids = set()
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            if found := re.search(rf"^{kind}_id:\s+(\d+)", info.read_text(), re.M):
                ids.add(int(found[1]))
    return ids


def map_id(pid: int, name: str) -> int:
    """The id of map `name` that process `pid` holds (the kernel keeps 15 characters of a name)."""
    for ident in held_ids(pid, "map"):
        if bpftool("map", "show", "id", str(ident))["name"] == name[:15]:
            return ident
    raise RuntimeError(f"process {pid} holds no map {name}")


def comm_counts(ident: int) -> dict[str, int]:
    """Per command name, what map `ident` counted: a counter's value, or a log2 histogram's slots summed."""
    counts: dict[str, int] = {}
    for entry in bpftool("map", "dump", "id", str(ident)):
        value = entry["formatted"]["value"]
        counts[entry["formatted"]["key"]["comm"]] = sum(value["slots"]) if isinstance(value, dict) else int(value)
    return counts


def prog_stats(pid: int) -> dict[str, tuple[int, int]]:
    """Per BPF program that process `pid` holds (by name): (runs, run-time ns) as the kernel counted them
    while its run-time statistics were on (0, 0 when they never were)."""
    stats = {}
    for ident in sorted(held_ids(pid, "prog")):
        with contextlib.suppress(subprocess.CalledProcessError):
            shown = bpftool("prog", "show", "id", str(ident))
            stats[f"{shown['name']}#{ident}"] = (int(shown.get("run_cnt", 0)), int(shown.get("run_time_ns", 0)))
    return stats


def on_cpu_ns(pid: int) -> int:
    """Nanoseconds the threads of `pid` alive now have run (schedstat: finer than utime + stime's ticks)."""
    spent = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            spent += int((task / "schedstat").read_text().split()[0])
    return spent


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """{(name, labels): value} of an exposition."""
    return {(name, frozenset(LABEL.findall(labels or ""))): float(value)
            for name, labels, value in SAMPLE.findall(text)}


def total(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of the series of `name` that carry `labels`."""
    want = set(labels.items())
    return sum(value for (n, have), value in found.items() if n == name and want <= have)


# -- the processes measured ----------------------------------------------------------------------


def spawn(children: Children, argv: list[str], separate: bool, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own (`separate`: its own autogroup, as a service would run), or in
    this script's session, a process group of its own (one autogroup with the others started so)."""
    if separate:
        return children.spawn(argv, **kwargs)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=os.setpgrp, **kwargs)
    children.procs.append(proc)
    return proc


class Tool:
    """One measured process: bee running an example, libbpf-tools runqlat or bpftrace (stdout to `out`)."""

    def __init__(self, children: Children, name: str, argv: list[str], tmp: Path, separate: bool,
                 env: dict[str, str] | None = None, out: Path | None = None, is_bee: bool | None = None) -> None:
        self.name, self.children, self.url = name, children, ""
        self.err = tmp / f"{name}.err"
        with self.err.open("wb") as err, (out.open("wb") if out else open(os.devnull, "wb")) as stdout:
            self.proc = spawn(children, argv, separate, env=env, stdout=stdout, stderr=err)
        self.pid = self.proc.pid
        self.is_bee = is_bee if is_bee is not None else name in BEE_TOOLS or name == "oracle"

    def wait_ready(self, programs: int = 3, timeout: float = 60) -> None:
        """bee: until /healthz answers 200 (every program attached); another tool: until it holds `programs`
        BPF programs (then the caller's settle time covers the attach). RuntimeError with its stderr if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.is_bee:
                if not self.url and (found := URL.search(self.err.read_text(errors="replace"))):
                    self.url = found[1]
                if self.url:
                    with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                        if r.status == 200:
                            return
            elif len(held_ids(self.pid, "prog")) >= programs:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not get ready: {self.err.read_text(errors='replace')[-800:]}")

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        with urllib.request.urlopen(self.url + "/metrics", timeout=60) as response:
            return samples(response.read().decode())

    def stop(self) -> None:
        self.children.stop(self.proc, signal.SIGINT, 60)


def start_tool(children: Children, name: str, tmp: Path, bee: list[str], separate: bool) -> Tool:
    """Start `name` (a TOOLS entry, or `oracle`) placed as `spawn` says, and wait until it is attached."""
    if name in BEE_TOOLS or name == "oracle":
        obj = tmp / f"{BEE_TOOLS.get(name, 'runq_count')}.o"
        tool = Tool(children, name, [*bee, "run", str(obj), "--no-tty", "--bpf-stats", "--prom-addr", "127.0.0.1",
                                     "--prom-port", "0"], tmp, separate, env=bee_env(tmp))
    elif name == "libbpf-tools":
        tool = Tool(children, name, [shutil.which("runqlat") or "/usr/sbin/runqlat"], tmp, separate,
                    out=tmp / f"{name}.out")
    else:
        tool = Tool(children, name, [shutil.which("bpftrace") or "bpftrace", "-e", BPFTRACE_SCRIPT], tmp, separate,
                    out=tmp / f"{name}.out")
    tool.wait_ready()
    return tool


# -- measurements --------------------------------------------------------------------------------


class Edge:
    """What is read at one end of a window: times, CPU, the kernel time of the tool's programs, events. The
    tool's CPU, its event count and its programs' kernel time are read first, one after the other; the
    oracle (a cross-check) last. `took` is how long the reading took."""

    def __init__(self, tool: Tool, oracle: Tool, oracle_map: int, kernel_map: int | None,
                 others: dict[str, int]) -> None:
        self.t = time.monotonic()
        self.cpu, self.cpu_ns = cpu_seconds(tool.pid), on_cpu_ns(tool.pid)
        self.kernel_map = sum(comm_counts(kernel_map).values()) if kernel_map is not None else None
        self.progs: dict[str, tuple[int, int]] = {}
        self.read = self.lost = self.full = self.exported = 0.0
        if tool.is_bee:
            found = tool.metrics()
            for (name, labels), value in found.items():
                function = dict(labels).get("bpf_program")
                if name == "bee_bpf_runs_total" and function:
                    self.progs[function] = (int(value), self.progs.get(function, (0, 0))[1])
                elif name == "bee_bpf_run_seconds_total" and function:
                    self.progs[function] = (self.progs.get(function, (0, 0))[0], round(value * NS))
            self.read = total(found, "bee_events_read_total", map=RING_MAP)
            self.lost = total(found, "bee_events_lost_total", map=RING_MAP)
            self.full = total(found, "bee_ringbuf_full_total")
            self.exported = total(found, f"ebpf_solo_io_{KERNEL_MAP}_count")
        else:
            self.progs = prog_stats(tool.pid)
        self.oracle = sum(comm_counts(oracle_map).values())  # the waits by the rule, machine-wide
        self.others = {name: cpu_seconds(pid) for name, pid in others.items()}
        self.machine = machine_busy()
        self.took = time.monotonic() - self.t


def window(tool: Tool, start: Edge, end: Edge) -> dict[str, Any]:
    """What happened between two edges, and its cost per event. Events: ring, those bee read; kernel, the
    histogram's counts in the map itself (bee's export lags by up to one poll); the others, the oracle's."""
    seconds = end.t - start.t
    if tool.name == "ring":
        events = end.read - start.read
    elif tool.name == "kernel":
        assert end.kernel_map is not None and start.kernel_map is not None
        events = end.kernel_map - start.kernel_map
    else:
        events = end.oracle - start.oracle
    progs = {name: {"runs": end.progs[name][0] - start.progs.get(name, (0, 0))[0],
                    "ns": end.progs[name][1] - start.progs.get(name, (0, 0))[1]} for name in end.progs}
    switch = [p for name, p in progs.items() if "switch" in name]
    kernel_ns = sum(p["ns"] for p in progs.values())
    cpu = end.cpu - start.cpu
    machine_wall = (end.machine[1] - start.machine[1]) / (os.cpu_count() or 1)
    result: dict[str, Any] = {
        "seconds": round(seconds, 3), "edge_s": [round(start.took, 3), round(end.took, 3)],
        "events": int(events), "events_per_s": round(events / seconds),
        "oracle_events": end.oracle - start.oracle, "programs": progs, "kernel_ns": kernel_ns,
        "switch_runs": sum(p["runs"] for p in switch), "cpu_s": round(cpu, 3),
        "cpu_schedstat_s": round((end.cpu_ns - start.cpu_ns) / NS, 4),
        "cpu_pct": round(100 * cpu / seconds, 2),
        "others_cpu_s": {name: round(end.others[name] - start.others[name], 3) for name in end.others},
        "machine_busy_cpus": round((end.machine[0] - start.machine[0]) / machine_wall, 2) if machine_wall else None,
    }
    if tool.is_bee:
        result.update(events_lost=int(end.lost - start.lost), ringbuf_full=int(end.full - start.full),
                      exported_events=int(end.exported - start.exported))
    if events > 0:
        result.update(kernel_ns_per_event=round(kernel_ns / events, 1), cpu_ns_per_event=round(cpu * NS / events, 1),
                      total_ns_per_event=round((kernel_ns + cpu * NS) / events, 1),
                      switch_runs_per_event=round(result["switch_runs"] / events, 3))
    return result


def load_counts(tool: Tool, ident: int | None) -> dict[str, int]:
    """Per command name of the load, what `tool` counted so far: from map `ident` itself when given, else
    the counts of bee's ring-buffer histogram (its _count series)."""
    if ident is not None:
        counts = comm_counts(ident)
        return {comm: counts.get(comm, 0) for comm in LOAD_COMMS}
    found = tool.metrics()
    return {comm: int(total(found, f"ebpf_solo_io_{RING_MAP}_count", comm=comm)) for comm in LOAD_COMMS}


def drained(tool: Tool, quiet: float = 1.0, timeout: float = 30) -> None:
    """Wait until bee has read every event the ring buffer holds: its count unchanged for `quiet` seconds."""
    last, since, deadline = -1.0, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        now = total(tool.metrics(), "bee_events_read_total", map=RING_MAP)
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(0.1)


def measure(children: Children, tmp: Path, bee: list[str], name: str, rate: int, oracle: Tool, oracle_map: int,
            args: argparse.Namespace) -> dict[str, Any]:
    """One tool under pingpong paced at `rate` round trips/s (0: unpaced): a window of its cost, and for bee
    the load's waits it counted against the oracle's."""
    result: dict[str, Any] = {"tool": name, "asked_rate": rate}
    separate = args.placement == "separate"
    tool = start_tool(children, name, tmp, bee, separate)
    try:
        time.sleep(args.settle)
        kernel_map = map_id(tool.pid, KERNEL_MAP) if name == "kernel" else None
        counted_map = kernel_map if name == "kernel" else None
        oracle_before = load_counts(oracle, oracle_map)
        counted_before = load_counts(tool, counted_map) if tool.is_bee else {}
        producer = spawn(children, [str(tmp / "pingpong"), str(args.pairs), "0", str(rate)], separate,
                         stdout=subprocess.PIPE)
        time.sleep(args.warmup)
        others = {"producer": producer.pid, "oracle": oracle.pid}
        start = Edge(tool, oracle, oracle_map, kernel_map, others)
        time.sleep(args.window)
        end = Edge(tool, oracle, oracle_map, kernel_map, others)
        children.stop(producer, signal.SIGINT, 10)
        assert producer.stdout is not None
        result["producer"] = json.loads(producer.stdout.read())
        result["window"] = window(tool, start, end)
        if tool.is_bee:
            if name == "ring":
                drained(tool)
            oracle_after, counted_after = load_counts(oracle, oracle_map), load_counts(tool, counted_map)
            waits = sum(oracle_after.values()) - sum(oracle_before.values())
            counted = sum(counted_after.values()) - sum(counted_before.values())
            result["load"] = {"oracle_waits": waits, "counted": counted, "missing": waits - counted}
        w = result["window"]
        log(f"{name} at {rate or 'unpaced'} round trips/s ({result['producer']['rate']:,.0f}): "
            f"{w['events_per_s']:,} events/s, kernel {w.get('kernel_ns_per_event', '-')} ns + CPU "
            f"{w.get('cpu_ns_per_event', '-')} ns per event ({w['cpu_pct']} % of a core)"
            + (f", missing {result['load']['missing']:,} of {result['load']['oracle_waits']:,}, "
               f"lost {w['events_lost']:,}, ring full {w['ringbuf_full']:,}" if "load" in result else ""))
    finally:
        tool.stop()
        result["exit_code"] = tool.proc.returncode
    return result


# -- preparation and report ----------------------------------------------------------------------


def prepare(tmp: Path, bee: list[str]) -> None:
    """Build both examples and the oracle into `tmp` (NAME.o), and bench/pingpong.c."""
    env = bee_env(tmp)
    sources = [REPO / "examples" / n / f"{n}.c" for n in BEE_TOOLS.values()] + [REPO / "tests/data/src/runq_count.c"]
    for source in sources:
        subprocess.run([*bee, "build", str(source), "--local", "--binary-only", "-o", str(tmp / f"{source.stem}.o")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["clang", "-O2", "-Wall", "-pthread", "-o", str(tmp / "pingpong"), str(BENCH / "pingpong.c")],
                   check=True)


def report(data: dict[str, Any]) -> str:
    """Markdown tables of the measurements in `data` (medians of the rounds, [min–max])."""
    lines = ["## Machine", ""] + [f"- {key}: {value}" for key, value in data["machine"].items()] + [""]
    args = data["args"]
    lines += [f"Load: bench/pingpong.c, {args['pairs']} pairs; placement {args['placement']}; windows of "
              f"{args['window']:g} s after {args['warmup']:g} s of load; {args['rounds']} round(s).", ""]
    runs = [r for r in data["runs"] if "window" in r]
    rates = list(dict.fromkeys(r["asked_rate"] for r in runs))
    tools = [t for t in TOOLS if any(r["tool"] == t for r in runs)]
    lines += ["## Cost per event (medians of the rounds, [min–max])", "",
              "| load, round trips/s | tool | produced round trips/s | events/s | kernel ns per event "
              "| switch runs per event | ns per switch run | tool CPU, % of a core | tool CPU ns per event "
              "| total ns per event | load waits missing | events lost / ring full |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rate in rates:
        for tool in tools:
            mine = [r for r in runs if r["asked_rate"] == rate and r["tool"] == tool]
            if not mine:
                continue
            ws = [r["window"] for r in mine]
            switch = [sum(p["ns"] for n, p in w["programs"].items() if "switch" in n) / w["switch_runs"]
                      for w in ws if w["switch_runs"]]
            loss = (f"{span([r['load']['missing'] for r in mine], '{:,.0f}')} of "
                    f"{span([r['load']['oracle_waits'] for r in mine], '{:,.0f}')}" if all("load" in r for r in mine)
                    else "–")
            lost = (f"{span([w['events_lost'] for w in ws], '{:,.0f}')} / "
                    f"{span([w['ringbuf_full'] for w in ws], '{:,.0f}')}" if tool == "ring" else "–")
            lines.append(
                f"| {rate or 'unpaced'} | {tool} | {span([r['producer']['rate'] for r in mine], '{:,.0f}')} "
                f"| {span([w['events_per_s'] for w in ws], '{:,.0f}')} "
                f"| {span([w.get('kernel_ns_per_event') for w in ws], '{:,.0f}')} "
                f"| {span([w.get('switch_runs_per_event') for w in ws], '{:.2f}')} | {span(switch, '{:,.0f}')} "
                f"| {span([w['cpu_pct'] for w in ws])} | {span([w.get('cpu_ns_per_event') for w in ws], '{:,.0f}')} "
                f"| {span([w.get('total_ns_per_event') for w in ws], '{:,.0f}')} | {loss} | {lost} |")
    lines.append("")
    if "ring" in tools and "kernel" in tools:
        lines += ["## Total CPU per event: ring buffer / in-kernel histogram", "", "| load | ratio of medians |",
                  "|---|---|"]
        for rate in rates:
            per = {t: [r["window"].get("total_ns_per_event") for r in runs if r["asked_rate"] == rate
                       and r["tool"] == t] for t in ("ring", "kernel")}
            if all(v and None not in v for v in per.values()):
                ratio = statistics.median(per["ring"]) / statistics.median(per["kernel"])
                lines.append(f"| {rate or 'unpaced'} | {ratio:.1f} |")
        lines.append("")
    return "\n".join(lines)


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="2000,20000,100000,200000,0",
                        help="round trips per second of the load, 0 = unpaced [%(default)s]")
    parser.add_argument("--pairs", type=int, default=2, help="ping-pong thread pairs of the load [%(default)s]")
    parser.add_argument("--tools", default=",".join(TOOLS), help="what to measure, of %(default)s")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per tool and rate [%(default)s]")
    parser.add_argument("--window", type=float, default=15, help="seconds of the measured window [%(default)s]")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before the window [%(default)s]")
    parser.add_argument("--settle", type=float, default=2, help="seconds after attach before the load [%(default)s]")
    parser.add_argument("--placement", choices=("same", "separate"), default="same",
                        help="same: the tool and the load in this script's session (one autogroup); separate: each "
                        "in a session of its own, as a service runs [%(default)s]")
    parser.add_argument("--bee", default=str(Path(sys.executable).with_name("bee")),
                        help="the bee command, run with this tree first on PYTHONPATH [%(default)s]")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one round, 4 s windows, rates 20000,0 unless --rates is given")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.window, args.warmup, args.settle = 1, 4, 1, 1
        if args.rates == parser.get_default("rates"):
            args.rates = "20000,0"
    if os.geteuid() != 0:
        sys.exit("runqlat_cost: run as root (BPF programs are loaded)")
    for needed in ("clang", "bpftool"):
        if not shutil.which(needed):
            sys.exit(f"runqlat_cost: {needed} is needed")
    if not Path("/sys/kernel/tracing/events/sched").is_dir():
        sys.exit("runqlat_cost: tracefs is not mounted at /sys/kernel/tracing "
                 "(mount -t tracefs none /sys/kernel/tracing)")
    tools = [t for t in args.tools.split(",") if t]
    if unknown := set(tools) - set(TOOLS):
        sys.exit(f"runqlat_cost: no tool {', '.join(sorted(unknown))} (of {', '.join(TOOLS)})")
    missing = {"libbpf-tools": "runqlat", "bpftrace": "bpftrace"}
    for tool, command in missing.items():
        if tool in tools and not (shutil.which(command) or Path(f"/usr/sbin/{command}").exists()):
            log(f"{tool}: no {command} here (apt-get install {tool}); left out")
            tools.remove(tool)
    rates = [int(r) for r in args.rates.split(",") if r]
    bee = shlex.split(args.bee)

    tmp = Path(tempfile.mkdtemp(prefix="bee-runqlat-cost-"))
    children = Children()
    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    data: dict[str, Any] = {
        "machine": machine(), "args": {k: v for k, v in vars(args).items() if k != "json"},
        "tools": {"bee": shlex.join([*bee, "run", "OBJECT", "--no-tty", "--bpf-stats", "--prom-addr", "127.0.0.1",
                                     "--prom-port", "0"]),
                  "libbpf-tools": text_of(["dpkg-query", "-W", "-f", "${Version}", "libbpf-tools"]),
                  "bpftrace": text_of(["bpftrace", "--version"]), "bpftrace_script": BPFTRACE_SCRIPT},
        "bee_tree": str(REPO), "runs": []}
    try:
        prepare(tmp, bee)
        log(f"built runqlat, runqlat_kernel, runq_count and pingpong in {tmp}")
        oracle = start_tool(children, "oracle", tmp, bee, separate=True)
        oracle_map = map_id(oracle.pid, ORACLE_MAP)
        for round_ in range(args.rounds):
            for rate in rates:
                order = tools[round_ % len(tools):] + tools[:round_ % len(tools)]
                for name in order:
                    log(f"round {round_ + 1}: {name} at {rate or 'unpaced'} round trips/s")
                    data["runs"].append(measure(children, tmp, bee, name, rate, oracle, oracle_map, args))
        data["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except KeyboardInterrupt:
        log("interrupted: stopping what runs and cleaning up")
        return 130
    finally:
        children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
        if args.json and data["runs"]:
            args.json.write_text(json.dumps(data, indent=1) + "\n")
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
