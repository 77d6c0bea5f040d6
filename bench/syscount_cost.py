#!/usr/bin/env python3
"""What counting every system call costs: examples/syscount (a counter_ hash keyed by command and syscall_t,
counted in the kernel, read and named by bee) against libbpf-tools syscount and a bpftrace one-liner keyed the
same way, under the same load, and whether bee's counts are exact.

Run as root from the repository (see bench/README.md):

    .venv/bin/python bench/syscount_cost.py --json bench/results/syscount_cost-DATE.json   # ~8 min
    .venv/bin/python bench/syscount_cost.py --quick                                        # ~1 min

The load is bench/flood.c (comm `flood`): open(2) and close(2) of one file, paced at several rates and
unpaced; the machine's other system calls go on as they do. Each tool runs alone (one process, started
afresh per measurement): `bee run syscount.o --no-tty` with metrics on 127.0.0.1; libbpf-tools `syscount`
(counts by call, prints at its end); `bpftrace` counting by command and call. The kernel's run-time
statistics are on for the whole run (`kernel.bpf_stats_enabled`, restored at the end), and each window
reads the run count and run time of the tool's BPF programs (`bpftool prog show` of the programs the
process holds) and the tool's CPU (the run time of its threads, schedstat). libbpf-tools syscount counts
in its `sys_exit` program (its `sys_enter` is attached only to measure latency); a system call is one run
of the program that counts it.
After each bee window, the flood's own count of open(2) calls is compared with bee's
`ebpf_solo_io_counter_syscalls{comm="flood",syscall="openat"}`: they must be equal. Every process started
is stopped (SIGINT, then SIGKILL); everything lives in one temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:] = [str(REPO), *(p for p in sys.path if p and Path(p).resolve() != BENCH)]  # see runqlat_cost.py
from bench.runner_cost import Children, bee_env, machine, span  # noqa: E402
from bench.runqlat_cost import Tool, on_cpu_ns, prog_stats, total  # noqa: E402

TOOLS = ("bee", "libbpf-tools", "bpftrace")
RATES = (20_000, 200_000, 0)  # opens/s of the flood (two system calls each); 0: as fast as it goes
BPFTRACE_SCRIPT = "tracepoint:raw_syscalls:sys_enter /args->id >= 0/ { @[comm, args->id] = count(); }"
STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
NS = 1_000_000_000


def log(message: str) -> None:
    print(f"[syscount_cost] {message}", file=sys.stderr, flush=True)


def start_tool(children: Children, name: str, tmp: Path, bee: list[str]) -> Tool:
    """Start `name` (a TOOLS entry), stdout to a file of its own, and wait until it is attached."""
    if name == "bee":
        argv = [*bee, "run", str(tmp / "syscount.o"), "--no-tty", "--prom-addr", "127.0.0.1", "--prom-port", "0"]
        tool = Tool(children, name, argv, tmp, True, env=bee_env(tmp), out=tmp / f"{name}.out", is_bee=True)
    elif name == "libbpf-tools":
        tool = Tool(children, name, [shutil.which("syscount") or "/usr/sbin/syscount"], tmp, True,
                    out=tmp / f"{name}.out")
    else:
        tool = Tool(children, name, [shutil.which("bpftrace") or "bpftrace", "-e", BPFTRACE_SCRIPT], tmp, True,
                    out=tmp / f"{name}.out")
    tool.wait_ready(programs=1)
    if not tool.is_bee:
        time.sleep(0.5)  # the attach follows the load
    return tool


def openat_of_flood(tool: Tool) -> float:
    """bee's count of openat calls by commands named `flood`."""
    return total(tool.metrics(), "ebpf_solo_io_counter_syscalls", comm="flood", syscall="openat")


def edge(tool: Tool) -> dict[str, Any]:
    """What one end of a window reads: time, the tool's CPU (ns its threads ran, from schedstat: finer than
    utime + stime's 10 ms ticks), its programs' (runs, run-time ns)."""
    return {"t": time.monotonic(), "cpu_ns": on_cpu_ns(tool.pid), "progs": prog_stats(tool.pid)}


def measure(children: Children, tmp: Path, bee: list[str], name: str, rate: int, seconds: float) -> dict[str, Any]:
    """One window of `seconds` with tool `name` under the flood at `rate` opens/s (0: unpaced)."""
    tool = start_tool(children, name, tmp, bee)
    try:
        flood = children.spawn([str(tmp / "flood"), str(tmp / "target"), "0", *([str(rate)] if rate else [])],
                               stdout=subprocess.PIPE)
        time.sleep(1)
        start = edge(tool)
        time.sleep(seconds)
        end = edge(tool)
        children.stop(flood, signal.SIGINT)
        assert flood.stdout is not None
        flooded = json.loads(flood.stdout.read().decode())
        runs = {key: end["progs"][key][0] - start["progs"].get(key, (0, 0))[0] for key in end["progs"]}
        run_ns = sum(end["progs"][key][1] - start["progs"].get(key, (0, 0))[1] for key in end["progs"])
        calls = max(runs.values())  # the counting program runs once per call (syscount's on exit, the others' on entry)
        cpu_ns = end["cpu_ns"] - start["cpu_ns"]
        result = {"tool": name, "rate": rate, "seconds": end["t"] - start["t"], "calls": calls,
                  "calls_per_second": calls / (end["t"] - start["t"]), "kernel_ns": run_ns / calls,
                  "cpu_percent": 100 * cpu_ns / NS / (end["t"] - start["t"]), "cpu_ns": cpu_ns / calls,
                  "programs": {key: runs[key] for key in sorted(runs)}, "flood": flooded}
        result["total_ns"] = result["kernel_ns"] + result["cpu_ns"]
        if name == "bee":
            deadline = time.monotonic() + 10
            counted = openat_of_flood(tool)
            while counted < flooded["opens"] and time.monotonic() < deadline:  # one poll behind at most
                time.sleep(0.2)
                counted = openat_of_flood(tool)
            result["flood_openat_counted"] = counted
            result["flood_opens"] = flooded["opens"]
        return result
    finally:
        tool.stop()


def report(data: dict[str, Any]) -> str:
    lines = ["| flood opens/s | tool | system calls/s | kernel ns per call | tool CPU, % of a core | "
             "tool CPU ns per call | **total ns per call** | flood's openat counted by bee |",
             "|---|---|---|---|---|---|---|---|"]
    for rate in data["rates"]:
        for name in data["tools"]:
            rows = [r for r in data["results"] if r["tool"] == name and r["rate"] == rate]
            if not rows:
                continue
            exact = "–"
            if name == "bee":
                exact = ", ".join(f"{r['flood_openat_counted']:,.0f} of {r['flood_opens']:,}" for r in rows)
            lines.append(f"| {f'{rate:,}' if rate else 'unpaced'} | {name} | "
                         f"{span([r['calls_per_second'] for r in rows], '{:,.0f}')} | "
                         f"{span([r['kernel_ns'] for r in rows], '{:,.0f}')} | "
                         f"{span([r['cpu_percent'] for r in rows], '{:.1f}')} | "
                         f"{span([r['cpu_ns'] for r in rows], '{:,.1f}')} | "
                         f"**{span([r['total_ns'] for r in rows], '{:,.0f}')}** | {exact} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each window")
    parser.add_argument("--quick", action="store_true", help="one round of 3 s windows")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--report", type=Path, help="print the tables of an earlier --json file and exit")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return 0
    if args.quick:
        args.rounds, args.seconds = 1, 3.0
    if os.geteuid() != 0:
        sys.exit("syscount_cost: run as root (BPF programs are loaded, kernel.bpf_stats_enabled is set)")
    tools = [t for t in TOOLS if t == "bee" or shutil.which("syscount" if t == "libbpf-tools" else t)]
    for missing in sorted(set(TOOLS) - set(tools)):
        log(f"{missing} is not installed: left out (apt-get install libbpf-tools bpftrace)")
    bee = [str(REPO / ".venv" / "bin" / "python"), "-m", "bee"]
    children = Children()
    stats_before = STATS.read_text().strip()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tempfile.TemporaryDirectory(prefix="bee-syscount-cost-") as name:
        tmp = Path(name)
        try:
            subprocess.run([*bee, "build", str(REPO / "examples/syscount/syscount.c"), "--local", "--binary-only",
                            "-o", str(tmp / "syscount.o")], env=bee_env(tmp), check=True, stdout=subprocess.DEVNULL)
            # static: no dynamic loader whose own openat calls the flood would not count
            subprocess.run(["clang", "-O2", "-Wall", "-static", "-o", str(tmp / "flood"), str(BENCH / "flood.c")],
                           check=True)
            (tmp / "target").write_text("x")
            STATS.write_text("1\n")
            data: dict[str, Any] = {"machine": machine(), "tools": tools, "rates": list(RATES),
                                    "seconds": args.seconds, "results": []}
            for round_ in range(args.rounds):
                order = tools[round_ % len(tools):] + tools[:round_ % len(tools)]  # rotated: drift hits all alike
                for rate in RATES:
                    for tool in order:
                        log(f"round {round_ + 1}/{args.rounds}: {tool} at {rate or 'unpaced'} opens/s")
                        data["results"].append(measure(children, tmp, bee, tool, rate, args.seconds))
        finally:
            children.stop_all()
            STATS.write_text(stats_before + "\n")
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    print(report(data))
    wrong = [r for r in data["results"] if r["tool"] == "bee" and r["flood_openat_counted"] != r["flood_opens"]]
    for r in wrong:
        log(f"bee counted {r['flood_openat_counted']:,.0f} openat calls of the flood, which made {r['flood_opens']:,}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
