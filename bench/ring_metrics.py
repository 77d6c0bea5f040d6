#!/usr/bin/env python3
"""ring_metrics: metric-only ring buffers (`counter_`, `hist_`) under a flood of events, bee against bpftrace.

Each openat(2) is one ring-buffer event of bench/ring_counter.c (bee counts it per command name) or of
bench/ring_hist.c (bee observes its value in a histogram per command name). A copy of bench/flood.c
named `beeflood` opens a path that does not exist, flat out (rate 0, as fast as this machine makes
events) or paced. Per run: how many of the flood's events the metric counted, the tool's CPU
(user + system, from /proc) per event and as a share of one core, and its peak RSS. bpftrace does
the same counting in the kernel (`count()`, `hist()` in a BPF map), the usual alternative.

    .venv/bin/python bench/ring_metrics.py --json bench/results/ring_metrics-$(date +%F).json
    .venv/bin/python bench/ring_metrics.py --quick

Results and their reading: docs/performance.md. Every process started is stopped (SIGINT, then
SIGKILL), so nothing stays attached.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# bench.runner_cost's helpers, whether run as a file or with -m: as a file, bench/ itself is on the path
# first, where bench/bench.py would shadow the bench directory
sys.path[:] = [str(REPO), *(p for p in sys.path if p and Path(p).resolve() != BENCH)]
from bench.runner_cost import MIB, SAMPLE, URL, Children, bee_env, cpu_seconds, machine, machine_busy, peak_rss, span  # noqa: E402

FLOOD_COMM = "beeflood"  # the producer's command name: the label the metrics count it under
#: per program: its source, the series counting the flood's events, bee's name of its map
PROGRAMS = {
    "counter": ("ring_counter.c", f'ebpf_solo_io_counter_opens{{comm="{FLOOD_COMM}"}}', "counter_opens"),
    "hist": ("ring_hist.c", f'ebpf_solo_io_hist_opens_count{{comm="{FLOOD_COMM}"}}', "hist_opens"),
}
BPFTRACE = {
    "counter": "tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }",
    "hist": "tracepoint:syscalls:sys_enter_openat { @[comm] = hist(nsecs & 1023); }",
}


def log(message: str) -> None:
    print(f"[ring_metrics] {message}", file=sys.stderr, flush=True)


@dataclass
class Tool:
    name: str
    program: str  # a key of PROGRAMS
    argv: list[str]
    is_bee: bool


def series(text: str) -> dict[str, float]:
    return {name + labels: float(value) for name, labels, value in SAMPLE.findall(text)}


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
        return series(response.read().decode())


def bpftrace_count(output: str, program: str) -> int:
    """The flood's events in bpftrace's map printed at exit: `@[beeflood]: N` for a count, the sum of the
    bucket counts under `@[beeflood]:` for a histogram."""
    if program == "counter":
        found = re.search(rf"^@\[{FLOOD_COMM}\]: (\d+)$", output, re.M)
        return int(found[1]) if found else 0
    total, inside = 0, False
    for line in output.splitlines():
        if line.startswith("@["):
            inside = line.startswith(f"@[{FLOOD_COMM}]:")
        elif inside and (bucket := re.match(r"^\[[^\]]*[\])]\s+(\d+)", line)):
            total += int(bucket[1])
    return total


class Bench:
    def __init__(self, tmp: Path, bee: list[str]) -> None:
        self.tmp, self.bee = tmp, bee
        self.children = Children()
        self.env = bee_env(tmp)
        self.flood = tmp / FLOOD_COMM
        self.objects: dict[str, Path] = {}

    def prepare(self) -> None:
        # static: no loader, so its only openat(2) calls are the flood's
        subprocess.run(["clang", "-O2", "-Wall", "-static", "-o", str(self.flood), str(BENCH / "flood.c")], check=True)
        for program, (source, _, _) in PROGRAMS.items():
            obj = self.tmp / f"{program}.o"
            subprocess.run([*self.bee, "build", str(BENCH / source), "--local", "--binary-only", "-o", str(obj)],
                           env=self.env, check=True, stdout=subprocess.DEVNULL)
            self.objects[program] = obj

    def tools(self, names: list[str], others: list[str]) -> list[Tool]:
        bpftrace = shutil.which("bpftrace") or "bpftrace"
        found = []
        for name in names:
            kind, _, program = name.partition("-")
            if program not in PROGRAMS:
                sys.exit(f"ring_metrics: unknown tool {name!r} (bee-counter, bee-hist, bpftrace-counter, "
                         "bpftrace-hist)")
            if kind == "bee":
                found.append(Tool(name, program, [*self.bee, *self.run_args(program)], True))
            elif kind == "bpftrace":
                found.append(Tool(name, program, [bpftrace, "-e", BPFTRACE[program]], False))
            else:
                sys.exit(f"ring_metrics: unknown tool {name!r}")
        for other in others:
            label, _, command = other.partition("=")
            for program in PROGRAMS:
                found.append(Tool(f"{label}-{program}", program, [*shlex.split(command), *self.run_args(program)],
                                  True))
        return found

    def run_args(self, program: str) -> list[str]:
        return ["run", str(self.tmp / f"{program}.o"), "--no-tty", "--prom-addr", "127.0.0.1", "--prom-port", "0"]

    def one(self, tool: Tool, events: int, rate: int) -> dict[str, Any]:
        """One flood of `events` opens at `rate`/s (0: flat out) while `tool` counts them."""
        result: dict[str, Any] = {"tool": tool.name, "rate_asked": rate, "events": events}
        out, err = self.tmp / "out.log", self.tmp / "err.log"
        with out.open("wb") as out_file, err.open("wb") as err_file:
            proc = self.children.spawn(tool.argv, stdout=out_file, stderr=err_file, env=self.env)
        try:
            url = self.wait_ready(tool, proc, out, err)
            _, metric, map_name = PROGRAMS[tool.program]
            before = scrape(url) if url else {}
            cpu_before, busy_before = cpu_seconds(proc.pid), machine_busy()
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            producer = subprocess.run([str(self.flood), "/nonexistent-bee-ring-metrics", str(events), str(rate)],
                                      capture_output=True, check=True, stdin=subprocess.DEVNULL)
            produced_at = time.monotonic()
            done = json.loads(producer.stdout)
            after_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            result["producer"] = done
            result["producer_cpu_s"] = round(after_usage.ru_utime + after_usage.ru_stime
                                             - usage.ru_utime - usage.ru_stime, 3)
            if url:  # drained when the metric counted every event, or stopped moving for a second
                counted, quiet_since = -1.0, time.monotonic()
                while time.monotonic() - quiet_since < 1.0 and time.monotonic() - produced_at < 120:
                    now = scrape(url)
                    value = now.get(metric, 0.0) - before.get(metric, 0.0)
                    if value != counted:
                        counted, quiet_since = value, time.monotonic()
                    if counted >= done["opens"]:
                        break
                    time.sleep(0.05)
                result["drain_s"] = round(max(0.0, quiet_since - produced_at), 3)
                ended = quiet_since
                for key, name in (("read", "bee_events_read_total"), ("ring_full", "bee_ringbuf_full_total"),
                                  ("read_errors", "bee_map_read_errors_total")):
                    series_name = f'{name}{{map="{map_name}"}}'
                    result[key] = int(now.get(series_name, 0) - before.get(series_name, 0))
                result["counted"] = int(counted)
            else:
                ended = produced_at
            cpu_after, busy_after = cpu_seconds(proc.pid), machine_busy()
            result["tool_cpu_s"] = round(cpu_after - cpu_before, 3)
            result["busy_s"] = round(ended - started, 3)
            result["peak_rss"] = peak_rss(proc.pid) or 0
            wall = (busy_after[1] - busy_before[1]) / (os.cpu_count() or 1)
            result["machine_busy_cpus"] = round((busy_after[0] - busy_before[0]) / wall, 2) if wall > 0 else None
        finally:
            self.children.stop(proc, signal.SIGINT, 60)
            result["exit_code"] = proc.returncode
        if not tool.is_bee:
            result["counted"] = bpftrace_count(out.read_text(errors="replace"), tool.program)
        result["missing"] = done["opens"] - result["counted"]
        result["cpu_us_per_event"] = round(result["tool_cpu_s"] / done["opens"] * 1e6, 3)
        result["share_of_a_core"] = round(result["tool_cpu_s"] / result["busy_s"], 3) if result["busy_s"] else None
        return result

    def wait_ready(self, tool: Tool, proc: subprocess.Popen[bytes], out: Path, err: Path) -> str | None:
        """bee: its metrics URL once /healthz answers 200; bpftrace: None once its probes are attached."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if tool.is_bee:
                if found := URL.search(err.read_text(errors="replace")):
                    with contextlib.suppress(OSError), urllib.request.urlopen(found[1] + "/healthz", timeout=5) as r:
                        if r.status == 200:
                            return found[1]
            elif b"Attaching" in out.read_bytes():
                time.sleep(0.3)  # the line comes just before the attach
                return None
            time.sleep(0.05)
        raise RuntimeError(f"{tool.name} did not get ready: {err.read_text(errors='replace')[-800:]}")


def report(data: dict[str, Any]) -> str:
    lines = ["## Machine", ""] + [f"- {key}: {value}" for key, value in data["machine"].items()]
    lines += ["", "## Tools", ""] + [f"- {name}: `{command}`" for name, command in data["commands"].items()]
    lines += ["", f"## {data['events']:,} failed openat(2) per run, each one event (median [min–max] of runs)", "",
              "| tool | asked rate/s | produced/s | counted | missing | tool CPU s | CPU µs/event | "
              "share of one core | peak RSS MiB | reads that found the ring full | producer CPU s | runs |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in data["runs"]:
        if "error" not in r:
            groups.setdefault((r["tool"], r["rate_asked"]), []).append(r)
    order = {t: i for i, t in enumerate(data["tools"])}
    for (tool, rate), runs in sorted(groups.items(), key=lambda kv: (kv[0][1] != 0, kv[0][1], order[kv[0][0]])):
        def col(value: Any, fmt: str, runs: list[dict[str, Any]] = runs) -> str:
            return span([value(r) for r in runs], fmt)

        cells = [tool, f"{rate:,}" if rate else "max", col(lambda r: r["producer"]["rate"], "{:,.0f}"),
                 col(lambda r: r["counted"], "{:,.0f}"), col(lambda r: r["missing"], "{:,.0f}"),
                 col(lambda r: r["tool_cpu_s"], "{:.2f}"), col(lambda r: r["cpu_us_per_event"], "{:.2f}"),
                 col(lambda r: r["share_of_a_core"], "{:.0%}"), col(lambda r: r["peak_rss"] / MIB, "{:.0f}"),
                 col(lambda r: r["ring_full"], "{:,.0f}") if "ring_full" in runs[0] else "–",
                 col(lambda r: r["producer_cpu_s"], "{:.2f}"), str(len(runs))]
        lines.append("| " + " | ".join(cells) + " |")
    errors = [r for r in data["runs"] if "error" in r]
    if errors:
        lines += ["", f"{len(errors)} run(s) failed: " + "; ".join(f"{r['tool']}: {r['error']}" for r in errors)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default="bee-counter,bpftrace-counter,bee-hist,bpftrace-hist",
                        help="comma-separated: bee-counter, bee-hist, bpftrace-counter, bpftrace-hist [%(default)s]")
    parser.add_argument("--rates", default="0,500000", help="producer rates per second, 0 = flat out [%(default)s]")
    parser.add_argument("--events", type=int, default=1_000_000, help="opens per run [%(default)s]")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and rate [%(default)s]")
    parser.add_argument("--quick", action="store_true", help="1 run of 200,000 per tool and rate")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument("--report", type=Path, metavar="JSON", help="only print the tables of an earlier --json file")
    parser.add_argument("--bee", default=f"{sys.executable} -m bee",
                        help="how to start bee; this tree by default [%(default)s]")
    parser.add_argument("--also-bee", action="append", default=[], metavar="LABEL=COMMAND",
                        help="another bee to compare, e.g. "
                             "'.venv/bin/python bench/bee_with.py bee.run.outputs.ring=OLD.py --'; repeatable")
    args = parser.parse_args()
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return 0
    if args.quick:
        args.runs, args.events = 1, 200_000
    if os.geteuid() != 0:
        sys.exit("ring_metrics: run as root (BPF programs are loaded)")
    names = [n for n in args.tools.split(",") if n]
    if not shutil.which("bpftrace"):
        log("bpftrace not found: skipping it")
        names = [n for n in names if not n.startswith("bpftrace")]
    tmp = Path(tempfile.mkdtemp(prefix="bee-ring-metrics-"))
    bench = Bench(tmp, shlex.split(args.bee))
    data: dict[str, Any] = {"machine": machine(), "events": args.events, "runs": []}
    previous = {s: signal.signal(s, signal.default_int_handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        bench.prepare()
        tools = bench.tools(names, args.also_bee)
        data["tools"] = [t.name for t in tools]
        data["commands"] = {t.name: shlex.join(t.argv) for t in tools}
        for rate in [int(float(r)) for r in args.rates.split(",") if r]:
            for i in range(args.runs):
                for tool in tools:
                    try:
                        r = bench.one(tool, args.events, rate)
                    except (RuntimeError, subprocess.CalledProcessError, OSError) as exc:
                        r = {"tool": tool.name, "rate_asked": rate, "error": str(exc)[-500:]}
                    data["runs"].append(r)
                    log(f"{tool.name} rate={rate or 'max'} #{i + 1}: "
                        + (r["error"] if "error" in r else
                           f"produced {r['producer']['opens']:,} at {r['producer']['rate']:,.0f}/s, counted "
                           f"{r['counted']:,} ({r['missing']:,} missing), {r['cpu_us_per_event']:.2f} µs/event, "
                           f"{r['share_of_a_core']:.0%} of a core"))
        data["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except KeyboardInterrupt:
        log("interrupted: stopping what runs and cleaning up")
        return 130
    finally:
        bench.children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        for s, h in previous.items():
            signal.signal(s, h)
        if args.json and data["runs"]:
            args.json.write_text(json.dumps(data, indent=1) + "\n")
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
