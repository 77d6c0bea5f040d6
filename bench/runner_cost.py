#!/usr/bin/env python3
"""What one `bee run` runner costs: its memory and CPU with 1, 5 and 10 programs attached, idle and under
a steady open(2) load, and how long a scrape of its /metrics takes with 1,000 to 100,000 series.

Run as root from the repository (see bench/README.md):

    .venv/bin/python bench/runner_cost.py --json bench/results/runner_cost-DATE.json   # ~10 min
    .venv/bin/python bench/runner_cost.py --quick                                       # ~1 min

Every measurement starts one runner as a service would run it, `bee run --config FILE --no-tty`, its
event log (text) going to a file, its metrics on 127.0.0.1 (a free port). The programs are examples/
(opensnoop first: it logs every open(2), so it sees the load), built with `bee build --local`; the
series come from bench/series.c, whose counter_ hash map gets one key per distinct mode a process
named "beeseries" passes to openat(2). The load is bench/flood.c, paced. Everything lives in one
temporary directory, removed at the end; every process started is stopped (SIGINT, then SIGKILL), so
no program stays attached.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# In the order a runner gets them: the first N run together. All attach on a kernel without kprobes.
PROGRAMS = ("opensnoop", "exitsnoop", "tcpconnect", "runqlat", "capable", "tcpconnlat", "activeconn", "oomkill",
            "kprobetcp", "bashreadline")
SERIES_COMM = b"beeseries"  # bench/series.c counts openat(2) of processes of exactly this name
SERIES_METRIC = "ebpf_solo_io_counter_series"
MISSING_DIR = "/nonexistent-bee-runner-cost"  # openat(2) of a path below it fails with ENOENT, mode unread
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
URL = re.compile(r"metrics on (http://\S+)/metrics")
KIB = 1024
MIB = 1 << 20


def log(message: str) -> None:
    print(f"[runner_cost] {message}", file=sys.stderr, flush=True)


# -- processes -----------------------------------------------------------------------------------


class Children:
    """The processes this script started; `stop` ends one, `stop_all` every one left."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30) -> None:
        """Send `sig` and wait for the exit; SIGKILL after `timeout` seconds."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{proc.args!r} did not exit {timeout:.0f} s after signal {sig}: killing it")
                proc.kill()
                proc.wait()
        with contextlib.suppress(ValueError):
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, timeout=10)


class Runner:
    """One `bee run --config CONFIG --no-tty`, stdout to `out` (or /dev/null), stderr to `err`."""

    def __init__(self, children: Children, bee: list[str], env: dict[str, str], config: Path, out: Path | None,
                 err: Path) -> None:
        self.children, self.out, self.err = children, out, err
        with err.open("wb") as err_file:
            if out is None:
                self.proc = children.spawn([*bee, "run", "--config", str(config), "--no-tty"], env=env,
                                           stdout=subprocess.DEVNULL, stderr=err_file)
            else:
                with out.open("wb") as out_file:
                    self.proc = children.spawn([*bee, "run", "--config", str(config), "--no-tty"], env=env,
                                               stdout=out_file, stderr=err_file)
        self.pid = self.proc.pid
        self.url = ""

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until /healthz answers 200 (every program attached); RuntimeError with bee's stderr if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if not self.url and (found := URL.search(self.err.read_text(errors="replace"))):
                self.url = found[1]
            if self.url:
                with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            time.sleep(0.05)
        raise RuntimeError(f"the runner did not get ready: {self.err.read_text(errors='replace')[-800:]}")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=60) as response:
            body: bytes = response.read()
        return body.decode()

    def stop(self) -> None:
        self.children.stop(self.proc, signal.SIGINT, 60)


def bee_env(tmp: Path) -> dict[str, str]:
    """bee runs this tree, its bytecode cached under a private prefix (as after pip install)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
               PYTHONPYCACHEPREFIX=str(tmp / "pycache"), BEE_STORAGE=str(tmp / "store"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# -- what /proc says -----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and all its threads so far."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / tick, sum(ticks) / tick


def peak_rss(pid: int) -> int | None:
    """The largest resident set `pid` had so far (VmHWM), in bytes; None once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * KIB
    return None


def memory(pid: int) -> dict[str, int]:
    """Bytes of `pid`'s memory: rss, pss, anon and uss (private) from smaps_rollup; bpf_maps_rss and
    bpf_maps_pss, the part of those that is BPF maps mapped into the process (ring buffers); and
    bpf_maps_kernel, the kernel memory of the maps it holds (their memlock, each map once)."""
    rollup: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, value = line.partition(":")
        rollup[key] = int(value.split()[0]) * KIB
    result = {"rss": rollup["Rss"], "pss": rollup["Pss"], "anon": rollup["Anonymous"],
              "uss": rollup["Private_Clean"] + rollup["Private_Dirty"], "bpf_maps_rss": 0, "bpf_maps_pss": 0}
    in_map = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if not line[:1].isupper():  # a mapping's first line: its address range, then its name
            in_map = line.endswith("anon_inode:bpf-map")
        elif in_map and line.startswith(("Rss:", "Pss:")):
            result["bpf_maps_" + line[:3].lower()] += int(line.split()[1]) * KIB
    seen: dict[str, int] = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd) != "anon_inode:bpf-map":
                continue
            info = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().splitlines()
                        if ":" in line)
            seen[info["map_id"].strip()] = int(info["memlock"])
    result["bpf_maps_kernel"] = sum(seen.values())
    result["bpf_maps"] = len(seen)
    return result


def bee_counts(text: str) -> dict[str, float]:
    """bee's own counters in an exposition: each series by its name and labels, and each name's total
    under `NAME` (`bee_events_read_total`, ...)."""
    counts: dict[str, float] = {}
    for name, labels, value in SAMPLE.findall(text):
        if name.startswith("bee_") and name.endswith("_total"):
            counts[name + labels] = float(value)
            counts[name] = counts.get(name, 0.0) + float(value)
    return counts


def delta(after: dict[str, float], before: dict[str, float], key: str) -> int:
    return int(after.get(key, 0) - before.get(key, 0))


# -- measurements --------------------------------------------------------------------------------


def window(runner: Runner, seconds: float, others: dict[str, int] | None = None) -> dict[str, Any]:
    """Measure `runner` for `seconds`: its CPU (as % of one core), its memory (sampled every second; the
    largest sample), what bee counted meanwhile, and how busy the machine was. `others` (name → pid):
    processes whose CPU is recorded too."""
    metrics_before = bee_counts(runner.metrics())
    others = others or {}
    other_before = {name: cpu_seconds(pid) for name, pid in others.items()}
    machine_before, cpu_before, started = machine_busy(), cpu_seconds(runner.pid), time.monotonic()
    samples = []
    while (left := started + seconds - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
        samples.append(memory(runner.pid))
    cpu_after, machine_after, wall = cpu_seconds(runner.pid), machine_busy(), time.monotonic() - started
    other_after = {name: cpu_seconds(pid) for name, pid in others.items()}
    metrics_after = bee_counts(runner.metrics())
    cpu = cpu_after - cpu_before
    machine_wall = (machine_after[1] - machine_before[1]) / (os.cpu_count() or 1)
    read = delta(metrics_after, metrics_before, "bee_events_read_total")
    return {
        "seconds": round(wall, 3), "cpu_s": round(cpu, 3), "cpu_pct": round(100 * cpu / wall, 2),
        "machine_busy_cpus": round((machine_after[0] - machine_before[0]) / machine_wall, 2) if machine_wall else None,
        "others_cpu_s": {name: round(other_after[name] - other_before[name], 3) for name in others},
        "events_read": read, "events_read_per_s": round(read / wall),
        "events_lost": delta(metrics_after, metrics_before, "bee_events_lost_total"),
        "ringbuf_full": delta(metrics_after, metrics_before, "bee_ringbuf_full_total"),
        "map_read_errors": delta(metrics_after, metrics_before, "bee_map_read_errors_total"),
        "memory_max": {key: max(s[key] for s in samples) for key in samples[0]},
        "memory_last": samples[-1],
    }


def count_in(path: Path, needle: bytes) -> int:
    """How many times `needle` occurs in the file at `path` (read in chunks; none counted twice)."""
    hits, carry = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            data = carry + chunk
            hits += data.count(needle)
            carry = data[len(data) - len(needle) + 1:]
    return hits


def programs_run(children: Children, tmp: Path, bee: list[str], flood: Path, count: int,
                 args: argparse.Namespace) -> dict[str, Any]:
    """One runner of the first `count` PROGRAMS: a window idle, then one under a flood paced at `args.rate`."""
    names = PROGRAMS[:count]
    config = tmp / f"runner-{count}.yaml"
    config.write_text("programs:\n" + "".join(f"  - {{program: {tmp / name}.o, name: {name}}}\n" for name in names)
                      + "metrics: {address: 127.0.0.1, port: 0}\n")
    out = None if args.devnull else tmp / "events.log"
    runner = Runner(children, bee, bee_env(tmp), config, out, tmp / "runner.err")
    result: dict[str, Any] = {"programs": count, "names": list(names)}
    try:
        runner.wait_ready()
        result["links"] = sum(int(n) for n in re.findall(r"attached (\d+) programs? from",
                                                          runner.err.read_text(errors="replace")))
        time.sleep(args.settle)
        result["idle"] = window(runner, args.idle)
        idle = result["idle"]
        log(f"{count} programs idle: {idle['cpu_pct']} % CPU, RSS {idle['memory_max']['rss'] / MIB:.1f} MiB, "
            f"PSS {idle['memory_max']['pss'] / MIB:.1f} MiB")
        target = tmp / f"flood-{secrets.token_hex(5)}"  # never created: every open fails fast, still one event
        before_flood = bee_counts(runner.metrics())
        producer = children.spawn([str(flood), str(target), "0", str(args.rate)], stdout=subprocess.PIPE)
        time.sleep(args.warmup)
        result["load"] = window(runner, args.load, {"producer": producer.pid})
        children.stop(producer, signal.SIGINT, 10)
        assert producer.stdout is not None
        result["producer"] = json.loads(producer.stdout.read())
        produced = result["producer"]["opens"]
        delivered, quiet_since = -1, time.monotonic()
        while out is not None and time.monotonic() - quiet_since < 2 and delivered < produced:
            time.sleep(0.2)
            if (now := count_in(out, target.name.encode())) != delivered:
                delivered, quiet_since = now, time.monotonic()
        after_flood = bee_counts(runner.metrics())
        result["flood"] = {
            "produced": produced, "delivered": delivered if out is not None else None,
            "missing": produced - delivered if out is not None else None,
            "events_lost": delta(after_flood, before_flood, "bee_events_lost_total"),
            "ringbuf_full": delta(after_flood, before_flood, "bee_ringbuf_full_total"),
            "read_by_opensnoop": delta(after_flood, before_flood,
                                       'bee_events_read_total{map="print_events",program="opensnoop"}'),
        }
        load = result["load"]
        log(f"{count} programs under {result['producer']['rate']:.0f} opens/s: {load['cpu_pct']} % CPU, "
            f"RSS {load['memory_max']['rss'] / MIB:.1f} MiB, delivered {delivered} of {produced}, "
            f"lost {result['flood']['events_lost']}")
    finally:
        runner.stop()
        result["exit_code"] = runner.proc.returncode
        if out is not None:
            out.unlink(missing_ok=True)
    return result


def fill_series(count: int) -> None:
    """In a process named SERIES_COMM: openat(2) a missing path with modes 0..count-1 (one key each)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(15, SERIES_COMM, 0, 0, 0) != 0:  # 15: PR_SET_NAME
        sys.exit(f"prctl(PR_SET_NAME) failed: {os.strerror(ctypes.get_errno())}")
    path = f"{MISSING_DIR}/x"
    for mode in range(count):
        with contextlib.suppress(FileNotFoundError):
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT, mode))


def series_lines(text: str) -> tuple[int, int]:
    """(series of SERIES_METRIC, all series) in an exposition."""
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    return sum(line.startswith(SERIES_METRIC + "{") for line in samples), len(samples)


def series_run(children: Children, tmp: Path, bee: list[str], count: int, args: argparse.Namespace) -> dict[str, Any]:
    """One runner of bench/series.c holding `count` series: its idle cost, then `args.scrapes` timed scrapes."""
    config = tmp / "series.yaml"
    config.write_text(f"programs:\n  - {{program: {tmp / 'series.o'}, name: series}}\n"
                      "metrics: {address: 127.0.0.1, port: 0}\n")
    runner = Runner(children, bee, bee_env(tmp), config, None if args.devnull else tmp / "series.log",
                    tmp / "series.err")
    result: dict[str, Any] = {"series": count}
    try:
        runner.wait_ready()
        started = time.monotonic()
        subprocess.run([sys.executable, __file__, "--fill", str(count)], check=True, stdin=subprocess.DEVNULL)
        filled = time.monotonic()
        while (seen := series_lines(runner.metrics())[0]) < count and time.monotonic() - filled < 120:
            time.sleep(0.5)
        result.update(fill_s=round(filled - started, 2), exported_after_s=round(time.monotonic() - filled, 2))
        if seen != count:
            result["error"] = f"the runner exports {seen} series of {SERIES_METRIC}, not {count}"
            log(result["error"])
            return result
        time.sleep(args.settle)
        result["idle"] = window(runner, args.series_idle)
        durations, sizes, counts = [], [], []
        cpu_before, scrapes_started = cpu_seconds(runner.pid), time.monotonic()
        for _ in range(args.scrapes):
            time.sleep(args.scrape_pause)
            t0 = time.perf_counter()
            with urllib.request.urlopen(runner.url + "/metrics", timeout=120) as response:
                body = response.read()
            durations.append(time.perf_counter() - t0)
            sizes.append(len(body))
            counts.append(series_lines(body.decode()))
        # bee's CPU over the scrapes, less what it spends idle in as long (its poller reads the map every second)
        cpu, wall = cpu_seconds(runner.pid) - cpu_before, time.monotonic() - scrapes_started
        idle_cpu = result["idle"]["cpu_s"] / result["idle"]["seconds"] * wall
        result.update(scrapes_wall_s=round(wall, 3), scrapes_cpu_s=round(cpu, 3),
                      scrape_cpu_above_idle_s=round(max(0.0, cpu - idle_cpu) / args.scrapes, 4))
        result.update(scrape_s=[round(d, 5) for d in durations], bytes=sizes,
                      map_series=[c[0] for c in counts], all_series=[c[1] for c in counts])
        log(f"{count} series: scrape median {statistics.median(durations) * 1000:.1f} ms, "
            f"{statistics.median(sizes) / MIB:.2f} MiB, {counts[-1][0]} series of the map, {counts[-1][1]} in all")
    finally:
        runner.stop()
        result["exit_code"] = runner.proc.returncode
    return result


# -- preparation and report ----------------------------------------------------------------------


def text_of(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return {
        "kernel": platform.release(), "cpus": os.cpu_count(), "cpu_model": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "libbpf": text_of(["dpkg-query", "-W", "-f", "${Version}", "libbpf1"]),
        "bee_commit": text_of(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "bee_uncommitted": text_of(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "bee"])
        or "none",
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def prepare(tmp: Path, bee: list[str], names: tuple[str, ...]) -> Path:
    """Build the programs `names` and bench/series.c into `tmp` (NAME.o), and bench/flood.c; the flood's path."""
    env = bee_env(tmp)
    sources = [(REPO / "examples" / name / f"{name}.c", tmp / f"{name}.o") for name in names]
    for source, obj in [*sources, (BENCH / "series.c", tmp / "series.o")]:
        subprocess.run([*bee, "build", str(source), "--local", "--binary-only", "-o", str(obj)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    flood = tmp / "flood"
    subprocess.run(["clang", "-O2", "-Wall", "-o", str(flood), str(BENCH / "flood.c")], check=True)
    return flood


def span(values: list[float], fmt: str = "{:,.1f}") -> str:
    """The median, with [min–max] when the values differ."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = fmt.format(statistics.median(values))
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return med if low == high else f"{med} [{low}–{high}]"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(data: dict[str, Any]) -> str:
    """Markdown tables of the measurements in `data` (medians of the rounds, [min–max])."""
    lines = ["## Machine", ""] + [f"- {key}: {value}" for key, value in data["machine"].items()] + [""]
    runs = [r for r in data.get("runner", []) if "load" in r]
    if runs:
        lines += ["## One runner, N programs (medians of the rounds, [min–max])", "",
                  "| programs (BPF programs) | state | events/s bee read | CPU % of one core | RSS MiB | PSS MiB "
                  "| rings mapped: RSS / PSS MiB | rest: RSS / PSS MiB | kernel map memory MiB |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for count in sorted({r["programs"] for r in runs}):
            mine = [r for r in runs if r["programs"] == count]
            for state in ("idle", "load"):
                ws = [r[state] for r in mine]
                mem = [w["memory_max"] for w in ws]
                label = "idle" if state == "idle" else f"{data['args']['rate']:,} opens/s"
                lines.append(
                    f"| {count} ({span([r['links'] for r in mine], '{:.0f}')}) | {label} "
                    f"| {span([w['events_read_per_s'] for w in ws], '{:,.0f}')} | {span([w['cpu_pct'] for w in ws])} "
                    f"| {span([m['rss'] / MIB for m in mem])} | {span([m['pss'] / MIB for m in mem])} "
                    f"| {span([m['bpf_maps_rss'] / MIB for m in mem], '{:.0f}')} / "
                    f"{span([m['bpf_maps_pss'] / MIB for m in mem], '{:.0f}')} "
                    f"| {span([(m['rss'] - m['bpf_maps_rss']) / MIB for m in mem])} / "
                    f"{span([(m['pss'] - m['bpf_maps_pss']) / MIB for m in mem])} "
                    f"| {span([m['bpf_maps_kernel'] / MIB for m in mem])} |")
        lines += ["", "Under load (the whole flood, from its start to the last event written):", "",
                  "| programs | produced/s | produced | delivered | missing | bee_events_lost | bee_ringbuf_full "
                  "| producer CPU % | machine busy (CPUs of 2) |", "|---|---|---|---|---|---|---|---|---|"]
        for count in sorted({r["programs"] for r in runs}):
            mine = [r for r in runs if r["programs"] == count]
            lines.append(
                f"| {count} | {span([r['producer']['rate'] for r in mine], '{:,.0f}')} "
                f"| {span([r['flood']['produced'] for r in mine], '{:,.0f}')} "
                f"| {span([r['flood']['delivered'] for r in mine], '{:,.0f}')} "
                f"| {span([r['flood']['missing'] for r in mine], '{:,.0f}')} "
                f"| {span([r['flood']['events_lost'] for r in mine], '{:,.0f}')} "
                f"| {span([r['flood']['ringbuf_full'] for r in mine], '{:,.0f}')} "
                f"| {span([100 * r['load']['others_cpu_s']['producer'] / r['load']['seconds'] for r in mine])} "
                f"| {span([r['load']['machine_busy_cpus'] for r in mine], '{:.2f}')} |")
        lines.append("")
    series = [r for r in data.get("series", []) if "scrape_s" in r]
    if series:
        lines += [f"## /metrics with N series ({data['args']['scrapes']} scrapes per round; medians of the rounds)", "",
                  "| series of the map | series in the response | response MiB | scrape median ms | p90 ms | max ms "
                  "| bee CPU ms per scrape (above idle) | idle CPU % | RSS MiB | PSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for count in sorted({r["series"] for r in series}):
            mine = [r for r in series if r["series"] == count]
            lines.append(
                f"| {count:,} | {span([statistics.median(r['all_series']) for r in mine], '{:,.0f}')} "
                f"| {span([statistics.median(r['bytes']) / MIB for r in mine], '{:.2f}')} "
                f"| {span([statistics.median(r['scrape_s']) * 1000 for r in mine])} "
                f"| {span([quantile(r['scrape_s'], 0.9) * 1000 for r in mine])} "
                f"| {span([max(r['scrape_s']) * 1000 for r in mine])} "
                f"| {span([r['scrape_cpu_above_idle_s'] * 1000 for r in mine])} "
                f"| {span([r['idle']['cpu_pct'] for r in mine])} "
                f"| {span([r['idle']['memory_max']['rss'] / MIB for r in mine])} "
                f"| {span([r['idle']['memory_max']['pss'] / MIB for r in mine])} |")
        lines.append("")
    return "\n".join(lines)


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--fill":  # the child that fills bench/series.c's map
        fill_series(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", default="1,5,10", help="numbers of programs per runner [%(default)s]")
    parser.add_argument("--series", default="1000,10000,100000", help="series counts to scrape [%(default)s]")
    parser.add_argument("--rate", type=int, default=50_000, help="opens per second of the load [%(default)s]")
    parser.add_argument("--rounds", type=int, default=3, help="runners per measurement [%(default)s]")
    parser.add_argument("--idle", type=float, default=20, help="seconds of the idle window [%(default)s]")
    parser.add_argument("--load", type=float, default=20, help="seconds of the window under load [%(default)s]")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before its window [%(default)s]")
    parser.add_argument("--settle", type=float, default=3, help="seconds after start-up before measuring [%(default)s]")
    parser.add_argument("--series-idle", type=float, default=10,
                        help="seconds of the idle window holding the series [%(default)s]")
    parser.add_argument("--scrapes", type=int, default=20, help="timed scrapes per series count [%(default)s]")
    parser.add_argument("--scrape-pause", type=float, default=0.2, help="seconds between scrapes [%(default)s]")
    parser.add_argument("--devnull", action="store_true", help="event log to /dev/null (delivery not counted)")
    parser.add_argument("--bee", default=str(Path(sys.executable).with_name("bee")),
                        help="the bee command, run with this tree first on PYTHONPATH [%(default)s]")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 and 2 programs, 1,000 series, 3 s windows")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.programs, args.series, args.rounds, args.scrapes = "1,2", "1000", 1, 5
        args.idle = args.load = args.series_idle = args.warmup = args.settle = 3
    if os.geteuid() != 0:
        sys.exit("runner_cost: run as root (BPF programs are loaded)")
    if not shutil.which("clang"):
        sys.exit("runner_cost: clang is needed to build the programs and the flood generator")
    if not Path("/sys/kernel/tracing/events/syscalls").is_dir():
        sys.exit("runner_cost: tracefs is not mounted at /sys/kernel/tracing "
                 "(mount -t tracefs none /sys/kernel/tracing)")
    counts = [int(n) for n in args.programs.split(",") if n]
    if max(counts, default=0) > len(PROGRAMS):
        sys.exit(f"runner_cost: at most {len(PROGRAMS)} programs ({', '.join(PROGRAMS)})")
    series_counts = [int(n) for n in args.series.split(",") if n]
    bee = shlex.split(args.bee)

    tmp = Path(tempfile.mkdtemp(prefix="bee-runner-cost-"))
    children = Children()
    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    data: dict[str, Any] = {"machine": machine(), "args": {k: v for k, v in vars(args).items() if k != "json"},
                            "command": shlex.join([*bee, "run", "--config", "FILE", "--no-tty"]),
                            "bee_tree": str(REPO),  # first on the runner's PYTHONPATH
                            "runner": [], "series": []}
    try:
        names = PROGRAMS[: max(counts, default=0)]
        flood = prepare(tmp, bee, names)
        log(f"built {', '.join((*names, 'series'))} and flood in {tmp}")
        for round_ in range(args.rounds):
            for count in counts:
                log(f"round {round_ + 1}: a runner of {count} programs")
                data["runner"].append(programs_run(children, tmp, bee, flood, count, args))
            for count in series_counts:
                log(f"round {round_ + 1}: a runner holding {count:,} series")
                data["series"].append(series_run(children, tmp, bee, count, args))
        data["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except KeyboardInterrupt:
        log("interrupted: stopping what runs and cleaning up")
        return 130
    finally:
        children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        for s, handler in previous.items():
            signal.signal(s, handler)
        if args.json and (data["runner"] or data["series"]):
            args.json.write_text(json.dumps(data, indent=1) + "\n")
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
