#!/usr/bin/env python3
"""bee against libbpf-tools opensnoop and bpftrace: time to the first event, and delivery under an open(2) flood.

Run as root from the repository (see bench/README.md):

    .venv/bin/python bench/bench.py                 # everything, defaults below
    .venv/bin/python bench/bench.py --quick         # a smoke run (3 starts, 200,000-event floods)

Everything it makes lives in one temporary directory (the local store, the compiled flood generator,
the tools' output) that is removed at the end; every tool it starts is stopped (SIGINT, then SIGKILL),
so no program stays attached. Metrics are served and scraped on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import pty
import re
import resource
import secrets
import selectors
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
# bench.runner_cost's helpers, whether run as a file or with -m: as a file, bench/ itself is on the path
# first, where this file would shadow the bench directory
sys.path[:] = [str(REPO), *(p for p in sys.path if p and Path(p).resolve() != BENCH)]
from bench.runner_cost import peak_rss  # noqa: E402

OPENSNOOP_C = REPO / "examples" / "opensnoop" / "opensnoop.c"
REF = "opensnoop:bench"

# bpftrace's opensnoop: the file name saved on entry, printed with the result on exit (openat only).
BPFTRACE_SCRIPT = (
    "tracepoint:syscalls:sys_enter_openat { @fname[tid] = args->filename; } "
    "tracepoint:syscalls:sys_exit_openat /@fname[tid]/ { "
    'printf("%d %s %d %s\\n", pid, comm, args->ret, str(@fname[tid])); delete(@fname[tid]); } '
    "END { clear(@fname); }"
)
LOST = re.compile(rb"Lost (\d+) events")
METRIC = re.compile(r'^(bee_events_(?:read|lost)_total)\{map="([^"]*)"\} (\S+)$', re.M)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- tools -------------------------------------------------------------------------------------


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset
    is_bee: bool = False
    note: str = ""


@dataclass
class Setup:
    tmp: Path
    bee: Path
    flood: Path
    store: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)
        self.children.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGINT, timeout: float = 30) -> None:
        """Signal `proc` and wait; SIGKILL if it has not exited after `timeout` seconds."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{proc.args[0]} ignored signal {sig} for {timeout:.0f} s: killing it")
                proc.kill()
                proc.wait()
        with contextlib.suppress(ValueError):
            self.children.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.children):
            self.stop(proc, timeout=10)


def tool_env(tool: Tool) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in tool.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def make_tools(setup: Setup, names: list[str], bee_nocache: bool, others: list[str] = ()) -> list[Tool]:
    """The tools named (see --tools), then one bee per `LABEL=COMMAND` of `others`."""
    # Bytecode cached: every .pyc (stdlib, site-packages, bee) under a private prefix, written by the
    # warm-up start. Without: PYTHONDONTWRITEBYTECODE=1 and no prefix, as an editable checkout runs when
    # its __pycache__ directories were never written.
    env_bee: dict[str, str | None] = {"BEE_STORAGE": str(setup.store), "PYTHONDONTWRITEBYTECODE": None,
                                      "PYTHONPYCACHEPREFIX": str(setup.tmp / "pycache")}
    env_bee_cold: dict[str, str | None] = {"BEE_STORAGE": str(setup.store), "PYTHONDONTWRITEBYTECODE": "1",
                                           "PYTHONPYCACHEPREFIX": None}
    bee_argv = [str(setup.bee), "run", REF, "--no-tty", "--format", "json",
                "--prom-addr", "127.0.0.1", "--prom-port", "0"]
    cached = (REPO / "bee" / "__pycache__").is_dir()
    catalogue = {
        "bee": Tool("bee", bee_argv, env_bee, True, "bytecode cached (as after pip install)"),
        "bee-nopyc": Tool("bee-nopyc", bee_argv, env_bee_cold, True,
                          "PYTHONDONTWRITEBYTECODE=1"
                          + ("" if cached else ", bee's own modules compiled at every start")),
        "bee-text": Tool("bee-text", [("text" if arg == "json" else arg) for arg in bee_argv], env_bee, True,
                         "bytecode cached, event lines in text"),
        "bee-filter": Tool("bee-filter", [*bee_argv, "-f", "print_events,comm,."], env_bee, True,
                           "bytecode cached, JSON, a -f filter every event passes"),
        "opensnoop": Tool("opensnoop", [shutil.which("opensnoop") or "/usr/sbin/opensnoop"], {},
                          note="libbpf-tools, perf buffer 64 pages/CPU"),
        "bpftrace": Tool("bpftrace", [shutil.which("bpftrace") or "bpftrace", "-e", BPFTRACE_SCRIPT], {},
                         note="perf buffer 64 pages/CPU (default)"),
        "bpftrace-16M": Tool("bpftrace-16M", [shutil.which("bpftrace") or "bpftrace", "-e", BPFTRACE_SCRIPT],
                             {"BPFTRACE_PERF_RB_PAGES": str((16 << 20) // 4096 // (os.cpu_count() or 1))},
                             note=f"BPFTRACE_PERF_RB_PAGES: 16 MiB over {os.cpu_count()} CPUs"),
    }
    if bee_nocache and "bee" in names and "bee-nopyc" not in names:
        names = [*names[: names.index("bee") + 1], "bee-nopyc", *names[names.index("bee") + 1:]]
    tools = [catalogue[n] for n in names]
    for other in others:
        label, _, command = other.partition("=")
        tools.append(Tool(label, [*shlex.split(command), *bee_argv[1:]], env_bee, True, f"{command}, bytecode cached"))
    return tools


# -- environment and preparation ---------------------------------------------------------------


def run_text(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "libbpf": os.path.realpath("/usr/lib/x86_64-linux-gnu/libbpf.so.1").rsplit(".so.", 1)[-1]
        if Path("/usr/lib/x86_64-linux-gnu/libbpf.so.1").exists()
        else run_text(["dpkg-query", "-W", "-f", "${Version}", "libbpf1"]),
        "libbpf_tools": run_text(["dpkg-query", "-W", "-f", "${Version}", "libbpf-tools"]),
        "bpftrace": run_text(["bpftrace", "--version"]),
        "clang": run_text(["clang", "--version"]).splitlines()[0] if shutil.which("clang") else "?",
        "bee_commit": run_text(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "bee_uncommitted": " ".join(line.split(maxsplit=1)[-1] for line in run_text(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "bee"]).splitlines()) or "none",
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def prepare(setup: Setup) -> dict[str, Any]:
    """Build opensnoop into the temporary store and compile the flood generator; returns facts about both."""
    if not Path("/sys/kernel/tracing/events/syscalls").is_dir():
        sys.exit("bench: tracefs is not mounted at /sys/kernel/tracing (mount -t tracefs none /sys/kernel/tracing)")
    env = dict(os.environ, BEE_STORAGE=str(setup.store))
    obj = setup.tmp / "opensnoop.o"
    subprocess.run([str(setup.bee), "build", str(OPENSNOOP_C), REF, "--local", "-o", str(obj)], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["clang", "-O2", "-Wall", "-o", str(setup.flood), str(BENCH / "flood.c")], check=True)
    facts: dict[str, Any] = {}
    with contextlib.suppress(Exception):  # informative only
        sys.path.insert(0, str(REPO))
        from bee.elf.spec import load_spec

        spec = load_spec(obj.read_bytes(), name=str(obj))
        for m in spec.maps:
            if m.name == "print_events":
                facts["ringbuf_bytes"] = m.max_entries
        from bee.decode import compile_decoder

        for m in spec.maps:
            if m.name == "print_events" and spec.btf is not None and m.value_type_id:
                facts["event_bytes"] = compile_decoder(spec.btf, m.value_type_id).size
    if "event_bytes" in facts:
        record = (facts["event_bytes"] + 8 + 7) // 8 * 8  # 8-byte header, 8-byte alignment
        facts["ring_records"] = facts.get("ringbuf_bytes", 0) // record
    return facts


# -- time to first event -----------------------------------------------------------------------


def first_event(setup: Setup, tool: Tool, marker: bytes, timeout: float) -> dict[str, float | None]:
    """Spawn `tool` on a pseudo-terminal; seconds from spawn to its first line naming `marker`, and
    from the SIGINT sent then to the tool's exit (`stop`, watched through a pidfd)."""
    master, slave = pty.openpty()
    sel = selectors.DefaultSelector()
    ready_re = {"opensnoop": re.compile(rb"PID +COMM")}.get(tool.name)
    result: dict[str, float | None] = {"first_event": None, "ready": None, "stop": None}
    tail = b""
    started = time.monotonic()
    proc = setup.spawn(tool.argv, stdout=slave, stderr=subprocess.PIPE, env=tool_env(tool))
    os.close(slave)
    assert proc.stderr is not None
    sel.register(master, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    err = b""
    try:
        while result["first_event"] is None:
            left = started + timeout - time.monotonic()
            if left <= 0:
                log(f"{tool.name}: no event within {timeout:.0f} s")
                break
            for key, _ in sel.select(left):
                now = time.monotonic()
                if key.data == "out":
                    try:
                        chunk = os.read(master, 1 << 16)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        sel.unregister(master)
                        continue
                    if result["ready"] is None and ready_re is not None and ready_re.search(tail + chunk):
                        result["ready"] = now - started
                    if marker in tail + chunk:
                        result["first_event"] = now - started
                    tail = chunk[-len(marker):]
                else:
                    chunk = os.read(proc.stderr.fileno(), 1 << 16)
                    if not chunk:
                        sel.unregister(proc.stderr)
                        continue
                    err += chunk
                    if result["ready"] is None and tool.is_bee and b"bee: attached" in err:
                        result["ready"] = now - started
            if proc.poll() is not None and result["first_event"] is None:
                log(f"{tool.name} exited ({proc.returncode}): {err.decode(errors='replace').strip()[-500:]}")
                break
    finally:
        try:
            pidfd: int | None = os.pidfd_open(proc.pid)
            sel.register(pidfd, selectors.EVENT_READ, "exit")
        except OSError:  # already reaped: it exited on its own
            pidfd = None
        interrupted = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
        deadline = time.monotonic() + 15
        exited = None
        while exited is None and proc.returncode is None and time.monotonic() < deadline:  # read on: it flushes
            for key, _ in sel.select(0.05):
                if key.data == "exit":
                    exited = time.monotonic()
                    continue
                with contextlib.suppress(OSError):
                    if not os.read(key.fd if key.data == "out" else proc.stderr.fileno(), 1 << 16):
                        sel.unregister(key.fileobj)
        if interrupted is not None and exited is not None and result["first_event"] is not None:
            result["stop"] = exited - interrupted
        if pidfd is not None:
            os.close(pidfd)
        setup.stop(proc, signal.SIGKILL, 5)
        sel.close()
        os.close(master)
        proc.stderr.close()
    return result


def bench_first_event(setup: Setup, tools: list[Tool], runs: int) -> dict[str, list[dict[str, float | None]]]:
    marker_path = setup.tmp / f"ttfe-{secrets.token_hex(4)}"
    marker_path.write_bytes(b"")
    ticker = setup.spawn([str(setup.flood), str(marker_path), "0", "1000"], stdout=subprocess.DEVNULL)
    results: dict[str, list[dict[str, float | None]]] = {t.name: [] for t in tools}
    try:
        for tool in tools:  # one warm-up start each (page cache, bytecode cache, BTF), not counted
            first_event(setup, tool, marker_path.name.encode(), 30)
        for i in range(runs):
            order = tools[i % len(tools):] + tools[: i % len(tools)]  # rotate: no tool always goes first
            for tool in order:
                r = first_event(setup, tool, marker_path.name.encode(), 30)
                results[tool.name].append(r)
                fe = r["first_event"]
                log(f"first event {tool.name} #{i + 1}: " + (f"{fe * 1000:.1f} ms" if fe is not None else "none"))
    finally:
        setup.stop(ticker, signal.SIGTERM)
    return results


# -- flood -------------------------------------------------------------------------------------


def scrape(url: str | None) -> dict[str, float]:
    if url is None:
        return {}
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return {}
    return {f"{name}:{map_name}": float(value) for name, map_name, value in METRIC.findall(text)}


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` and its threads so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_times() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for(path: Path, needle: bytes, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    offset = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with path.open("rb") as f:
            f.seek(max(0, offset - len(needle)))
            data = f.read()
        if needle in data:
            return True
        offset += len(data) - min(offset, len(needle))
        time.sleep(0.02)
    return False


class Tail:
    """Counts `needle` (and lines) in a growing file, reading only what was added since the last call."""

    def __init__(self, path: Path, needle: bytes) -> None:
        self.path, self.needle = path, needle
        self.offset = self.hits = self.lines = 0
        self.carry = b""  # the last len(needle) - 1 bytes: too short to hold a needle, so none counts twice

    def update(self) -> int:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            while chunk := f.read(1 << 22):
                self.offset += len(chunk)
                self.lines += chunk.count(b"\n")
                data = self.carry + chunk
                self.hits += data.count(self.needle)
                self.carry = data[len(data) - len(self.needle) + 1:]
        return self.hits


def flood_run(setup: Setup, tool: Tool, events: int, rate: int, keep: bool) -> dict[str, Any]:
    """One flood: `events` failed opens of a unique path (paced at `rate`/s, 0: flat out) while `tool` logs
    every open to a file. Counts what reached the file and what the tool says it lost."""
    token = secrets.token_hex(5)
    target = setup.tmp / f"f{token}"  # never created: each open fails fast with ENOENT, still one event
    ready = setup.tmp / f"r{token}"
    ready.write_bytes(b"")
    out_path, err_path = setup.tmp / f"out-{tool.name}.log", setup.tmp / f"err-{tool.name}.log"
    result: dict[str, Any] = {"tool": tool.name, "rate_asked": rate, "events": events}
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = setup.spawn(tool.argv, stdout=out, stderr=err, env=tool_env(tool))
    try:
        # Attached when an open of `ready` shows in the output (a 1 kHz ticker fills any stdio buffer fast).
        ticker = setup.spawn([str(setup.flood), str(ready), "0", "1000"], stdout=subprocess.DEVNULL)
        ok = wait_for(out_path, ready.name.encode(), proc, 60)
        setup.stop(ticker, signal.SIGTERM)
        if not ok:
            result["error"] = f"not attached after 60 s: {err_path.read_text(errors='replace')[-500:]}"
            return result
        time.sleep(0.3)
        url = None
        if tool.is_bee:
            found = re.search(r"metrics on (http://\S+/metrics)", err_path.read_text(errors="replace"))
            url = found[1] if found else None
        before = scrape(url)
        cpu_before = proc_cpu_seconds(proc.pid)
        machine_before, producer_before = cpu_times(), children_cpu()
        started = time.monotonic()
        producer = subprocess.run([str(setup.flood), str(target), str(events), str(rate)], capture_output=True,
                                  stdin=subprocess.DEVNULL)
        produced_at = time.monotonic()
        if producer.returncode != 0:
            result["error"] = f"the flood generator failed: {producer.stderr.decode(errors='replace')[-500:]}"
            return result
        result["producer"] = json.loads(producer.stdout)
        # Drained when every produced event arrived, or none arrived for a second.
        produced = result["producer"]["opens"]
        seen = Tail(out_path, target.name.encode())
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 1.0 and time.monotonic() - produced_at < 300:
            if seen.update() != last:
                last, quiet_since = seen.hits, time.monotonic()
            if last >= produced:
                break
            time.sleep(0.05)
        result["drain_s"] = max(0.0, quiet_since - produced_at)
        result["busy_s"] = quiet_since - started
        after = scrape(url)
        cpu_after = proc_cpu_seconds(proc.pid)
        machine_after, producer_after = cpu_times(), children_cpu()
        peak = peak_rss(proc.pid)
        result["peak_rss_mib"] = round(peak / 2**20, 1) if peak is not None else None
        if cpu_before is not None and cpu_after is not None:
            result["tool_cpu_s"] = round(cpu_after - cpu_before, 2)
            result["cpu_us_per_event"] = round((cpu_after - cpu_before) / max(1, produced) * 1e6, 2)
            # CPUs busy meanwhile (machine-wide), and how much of that was neither the tool nor the producer:
            # other jobs on the machine (the BPF programs run inside the producer's syscalls, in its time).
            wall = (machine_after[1] - machine_before[1]) / (os.cpu_count() or 1)
            busy = (machine_after[0] - machine_before[0]) / wall if wall > 0 else 0.0
            result["producer_cpu_s"] = round(producer_after - producer_before, 2)
            result["machine_busy_cpus"] = round(busy, 2)
            result["other_busy_cpus"] = round(
                busy - (result["tool_cpu_s"] + result["producer_cpu_s"]) / wall if wall > 0 else 0.0, 2)
    finally:
        setup.stop(proc, signal.SIGINT, 60)
        result["exit_code"] = proc.returncode
        ready.unlink(missing_ok=True)
    final = Tail(out_path, target.name.encode())
    delivered, lines = final.update(), final.lines
    text_err = err_path.read_bytes()
    result.update(delivered=delivered, lines=lines, missing=produced - delivered,
                  delivered_per_s=round(delivered / result["producer"]["seconds"]))
    if tool.is_bee:
        read = after.get("bee_events_read_total:print_events", 0) - before.get("bee_events_read_total:print_events", 0)
        lost = after.get("bee_events_lost_total:print_events", 0) - before.get("bee_events_lost_total:print_events", 0)
        # missing = dropped in the kernel (ring buffer full) + dropped by bee's event queue; the latter is
        # bee_events_lost_total (nearly all of it the flood's events: nothing else opens much meanwhile).
        result.update(read=int(read), userspace_lost=int(lost), ring_drops_est=max(0, produced - delivered - int(lost)))
    else:  # "Lost N events" (bpftrace, on stdout) or "Lost N events on CPU #C!" (opensnoop, on stderr)
        reported = sum(int(n) for n in LOST.findall(text_err))
        with out_path.open("rb") as f:
            carry = b""
            while chunk := f.read(1 << 22):
                data = carry + chunk
                cut = data.rfind(b"\n") + 1  # whole lines only; the rest goes with the next chunk
                reported += sum(int(n) for n in LOST.findall(data[:cut]))
                carry = data[cut:]
            reported += sum(int(n) for n in LOST.findall(carry))
        result["reported_lost"] = reported
    if keep:
        out_path.rename(setup.tmp.parent / f"bee-bench-{tool.name}-{rate}-{token}.log")
    else:
        out_path.unlink()
    err_path.unlink()
    return result


def bench_flood(setup: Setup, tools: list[Tool], rates: list[int], events: int, runs: int,
                keep: bool) -> list[dict[str, Any]]:
    results = []
    for rate in rates:
        for i in range(runs):
            for tool in tools:
                r = flood_run(setup, tool, events, rate, keep)
                results.append(r)
                if "error" in r:
                    log(f"flood {tool.name} rate={rate or 'max'} #{i + 1}: {r['error']}")
                    continue
                log(f"flood {tool.name} rate={rate or 'max'} #{i + 1}: produced {r['producer']['opens']} "
                    f"at {r['producer']['rate']:.0f}/s, delivered {r['delivered']} ({r['missing']} missing)"
                    + (f", read {r['read']}, userspace lost {r['userspace_lost']}" if "read" in r else
                       f", tool reported {r['reported_lost']} lost"))
    return results


def bee_ceiling(setup: Setup, tool: Tool, results: list[dict[str, Any]], events: int, runs: int,
                keep: bool, precision: float) -> dict[str, Any]:
    """Bisect the highest paced rate at which bee loses nothing in `runs` runs out of `runs`."""
    def zero_loss(rate: int) -> bool:
        mine = [r for r in results if r["tool"] == tool.name and r["rate_asked"] == rate and "error" not in r]
        return bool(mine) and all(r["missing"] == 0 for r in mine)

    tried = sorted({r["rate_asked"] for r in results if r["tool"] == tool.name and r["rate_asked"] > 0})
    good = max((r for r in tried if zero_loss(r)), default=0)
    bad = min((r for r in tried if r > good and not zero_loss(r)), default=0)
    if not bad:
        return {"zero_loss_max": good, "lossy_min": None, "note": "no lossy paced rate was tried"}
    lo, hi = good or max(1000, bad // 8), bad
    while hi - lo > precision * lo:
        mid = int(round((lo + hi) / 2, -3))
        if mid in (lo, hi):
            break
        for i in range(runs):
            r = flood_run(setup, tool, events, mid, keep)
            results.append(r)
            log(f"ceiling {tool.name} rate={mid} #{i + 1}: delivered {r.get('delivered')} ({r.get('missing')} missing)")
            if r.get("missing", 1):
                break
        lo, hi = (mid, hi) if zero_loss(mid) else (lo, mid)
    return {"zero_loss_max": lo if zero_loss(lo) else 0, "lossy_min": hi}


# -- report ------------------------------------------------------------------------------------


def ms(values: list[float], q: float | None = None) -> str:
    if not values:
        return "–"
    if q is None:
        return f"{statistics.median(values) * 1000:.0f}"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000:.0f}"


def report(data: dict[str, Any]) -> str:
    lines = ["## Machine", ""]
    for key, value in data["machine"].items():
        lines.append(f"- {key}: {value}")
    lines += ["", f"- opensnoop.o print_events: {data['facts']}", "", "## Tools", ""]
    for name, command in data.get("commands", {}).items():
        env = {k: v for k, v in data.get("envs", {}).get(name, {}).items() if v is not None and k != "BEE_STORAGE"}
        lines.append(f"- {name} ({data['notes'].get(name, '')}): `{command}`"
                     + (f" with {', '.join(f'{k}={v}' for k, v in env.items())}" if env else ""))
    lines.append("")
    if data.get("first_event"):
        lines += ["## Time to first event (ms, spawn → first line naming the opened file)", "",
                  "| tool | runs | median | p90 | min | max | attached (median) | exit after SIGINT (median, max) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, runs in data["first_event"].items():
            fe = [r["first_event"] for r in runs if r["first_event"] is not None]
            rd = [r["ready"] for r in runs if r["ready"] is not None]
            st = [r["stop"] for r in runs if r.get("stop") is not None]
            lines.append(f"| {name} | {len(fe)}/{len(runs)} | {ms(fe)} | {ms(fe, 0.9)} | {ms(fe, 0.0)} | "
                         f"{ms(fe, 1.0)} | {ms(rd) if rd else '–'} | {f'{ms(st)}, {ms(st, 1.0)}' if st else '–'} |")
        lines.append("")
    if data.get("flood"):
        lines += [f"## Flood: {data['events']:,} failed openat(2) calls per run (median [min–max] of runs)", "",
                  "| tool | asked rate/s | produced/s | delivered | missing | lost (tool's count) | "
                  "bee read | tool CPU s | CPU µs/event | peak RSS MiB | other jobs (CPUs busy, ±0.3) | drain s | "
                  "runs |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for r in data["flood"]:
            if "error" not in r:
                groups.setdefault((r["tool"], r["rate_asked"]), []).append(r)

        def span(values: list[float], fmt: str = "{:,.0f}") -> str:
            if not values:
                return "–"
            med = fmt.format(statistics.median(values))
            return med if min(values) == max(values) else f"{med} [{fmt.format(min(values))}–{fmt.format(max(values))}]"

        order = {t: i for i, t in enumerate(data["tools"])}
        def place(kv: tuple[tuple[str, int], Any]) -> tuple[bool, int, int]:
            (tool, rate), _ = kv
            return rate == 0, rate, order.get(tool, 99)

        for (tool, rate), runs in sorted(groups.items(), key=place):
            lost = [r.get("userspace_lost", r.get("reported_lost", 0)) for r in runs]
            lines.append(
                f"| {tool} | {rate:,} |" if rate else f"| {tool} | max |")
            lines[-1] += (f" {span([r['producer']['rate'] for r in runs])} | {span([r['delivered'] for r in runs])} |"
                          f" {span([r['missing'] for r in runs])} | {span(lost)} |"
                          f" {span([r['read'] for r in runs]) if 'read' in runs[0] else '–'} |"
                          f" {span([r.get('tool_cpu_s', 0) for r in runs], '{:.1f}')} |"
                          f" {span([r.get('cpu_us_per_event', 0) for r in runs], '{:.2f}')} |"
                          f" {span([r.get('peak_rss_mib') or 0 for r in runs], '{:.0f}')} |"
                          f" {span([max(0.0, r.get('other_busy_cpus', 0)) for r in runs], '{:.1f}')} |"
                          f" {span([r['drain_s'] for r in runs], '{:.1f}')} | {len(runs)} |")
        lines.append("")
        lines += ["Highest asked rate at which every run delivered every event:", ""]
        for tool in sorted({t for t, _ in groups}, key=lambda t: order.get(t, 99)):
            clean = [rate for (t, rate), runs in groups.items() if t == tool and rate
                     and all(r["missing"] == 0 for r in runs)]
            lossy = [rate for (t, rate), runs in groups.items() if t == tool and rate
                     and any(r["missing"] for r in runs)]
            lines.append(f"- {tool}: {max(clean):,}/s" if clean else f"- {tool}: none of the paced rates")
            if lossy:
                lines[-1] += f" (losses from {min(lossy):,}/s)"
        lines.append("")
    if data.get("ceiling"):
        c = data["ceiling"]
        lines += [f"Bisected zero-loss ceiling of bee: {c['zero_loss_max']:,}/s"
                  + (f" (losses at {c['lossy_min']:,}/s)" if c.get("lossy_min") else ""), ""]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", default="bee,opensnoop,bpftrace",
                        help="comma-separated: bee, bee-text, bee-filter, bee-nopyc, opensnoop, bpftrace, bpftrace-16M "
                             "[%(default)s]")
    parser.add_argument("--flood-tools", default="bee,bee-text,opensnoop,bpftrace,bpftrace-16M",
                        help="tools of the flood part [%(default)s]")
    parser.add_argument("--runs", type=int, default=15, help="starts per tool for the first event [%(default)s]")
    parser.add_argument("--flood-runs", type=int, default=3, help="floods per tool and rate [%(default)s]")
    parser.add_argument("--events", type=int, default=1_000_000, help="opens per flood [%(default)s]")
    parser.add_argument("--rates", default="0,50000,100000,200000,400000",
                        help="producer rates per second, 0 = as fast as it goes [%(default)s]")
    parser.add_argument("--ceiling", action="store_true", help="bisect bee's zero-loss rate afterwards")
    parser.add_argument("--no-first-event", action="store_true", help="skip the time-to-first-event part")
    parser.add_argument("--no-flood", action="store_true", help="skip the flood part")
    parser.add_argument("--no-nopyc", action="store_true", help="do not add bee without bytecode cache")
    parser.add_argument("--quick", action="store_true", help="3 starts, 1 flood of 200,000 per rate")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument("--keep-logs", action="store_true", help="keep flood outputs in the temp dir's parent")
    parser.add_argument("--bee", type=Path, default=REPO / ".venv" / "bin" / "bee", help="the bee executable")
    parser.add_argument("--also-bee", action="append", default=[], metavar="LABEL=COMMAND",
                        help="another bee to compare, e.g. an older checkout's .venv/bin/bee, or "
                             "'.venv/bin/python bench/bee_with.py bee.sinks.eventlog=OLD.py --'; repeatable")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.flood_runs, args.events = 3, 1, 200_000
    if os.geteuid() != 0:
        sys.exit("bench: run as root (BPF programs are loaded)")
    names = [n for n in args.tools.split(",") if n]
    flood_names = [n for n in args.flood_tools.split(",") if n]
    for exe in {"opensnoop": "opensnoop", "bpftrace": "bpftrace", "bpftrace-16M": "bpftrace"}.items():
        if not shutil.which(exe[1], path=os.environ.get("PATH", "") + ":/usr/sbin"):
            log(f"{exe[1]} not found: skipping {exe[0]}")
            names = [n for n in names if n != exe[0]]
            flood_names = [n for n in flood_names if n != exe[0]]
    if not shutil.which("clang"):
        sys.exit("bench: clang is needed to build the flood generator")

    tmp = Path(tempfile.mkdtemp(prefix="bee-bench-"))
    setup = Setup(tmp=tmp, bee=args.bee, flood=tmp / "flood", store=tmp / "store")
    previous = {s: signal.signal(s, interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    data: dict[str, Any] = {"machine": machine(), "events": args.events}
    try:
        data["facts"] = prepare(setup)
        log(f"built {REF} in {setup.store}; {data['facts']}")
        tools = make_tools(setup, names, not args.no_nopyc, args.also_bee)
        data["tools"] = [t.name for t in tools] + [n for n in flood_names if n not in names] + [
            o.partition("=")[0] for o in args.also_bee if o.partition("=")[0] not in [t.name for t in tools]]
        data["notes"] = {t.name: t.note for t in tools}
        data["commands"] = {t.name: shlex.join(t.argv) for t in tools}
        data["envs"] = {t.name: t.env for t in tools}
        if not args.no_first_event:
            data["first_event"] = bench_first_event(setup, tools, args.runs)
        if not args.no_flood:
            flood_tools = make_tools(setup, flood_names, False, args.also_bee)
            data["notes"].update({t.name: t.note for t in flood_tools})
            data["commands"].update({t.name: shlex.join(t.argv) for t in flood_tools})
            data["envs"].update({t.name: t.env for t in flood_tools})
            rates = [int(float(r)) for r in args.rates.split(",") if r]
            data["flood"] = bench_flood(setup, flood_tools, rates, args.events, args.flood_runs, args.keep_logs)
            bee = next((t for t in flood_tools if t.is_bee), None)
            if args.ceiling and bee is not None:
                data["ceiling"] = bee_ceiling(setup, bee, data["flood"], args.events, args.flood_runs,
                                              args.keep_logs, 0.1)
        data["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    except KeyboardInterrupt:
        log("interrupted: stopping what runs and cleaning up")
        return 130
    finally:
        setup.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        for s, h in previous.items():
            signal.signal(s, h)
        if args.json and len(data) > 2:
            args.json.write_text(json.dumps(data, indent=1) + "\n")
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
