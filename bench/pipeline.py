#!/usr/bin/env python3
"""Cost per event of each stage of bee's event path, on real samples of examples/opensnoop.

    .venv/bin/python bench/pipeline.py [--events 50000] [--repeat 7] [--compare-eventlog OLD.py]

Loads and attaches opensnoop.o in this process (root needed), lets a child process make `--events`
failed opens while nothing reads the ring buffer (the 16 MiB ring holds ~55,000 of its 304-byte
records), then drains the ring and times it. Stages, each on a freshly filled ring:

  read            RingBuffer.consume() with a handler that does nothing (libbpf + cffi callback + copy)
  read, batches   ... a batch handler that does nothing (the callback only copies; one call per batch)
  decode          ... handler = the compiled decoder of struct event
  emit, records   ... handler = RingPrint called per sample (decode to a dict + EventLog.emit; the
                  writer thread formats the records), as for filtered maps
  emit, batches   ... handler = RingPrint with libbpf reading the ring (batches of copied samples →
                  lines in one generated loop; EventLog.emit_lines), as on other architectures
  emit, in place  ... handler = RingPrint as `bee run` uses it on x86-64: records read in place from
                  the ring memory, split and decoded by one struct.iter_unpack per run of records
                  (bee.libbpf.ringbuf), lines made in the same loop. For these three, EventLog writes
                  JSON to /dev/null from its thread; timed until every event is written.
  format json     EventLog's JSON formatter alone, on 4,096 decoded records at a time (no ring buffer)
  format text     the same, text lines

With --compare-eventlog FILE (e.g. `git show REV:bee/sinks/eventlog.py > FILE`, a version whose EventLog has
the methods this checkout's outputs call: `channel` since 54b0276), the emit and format stages also run with
that version of bee/sinks/eventlog.py, interleaved round by round. Prints the
median and spread (µs per event). Nothing stays attached: the object is closed at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import bee.sinks.eventlog as eventlog  # noqa: E402
from bee.elf.spec import load_spec  # noqa: E402
from bee.libbpf import ringbuf  # noqa: E402
from bee.libbpf.object import BpfObject  # noqa: E402
from bee.run.fixups import loadable_bytes  # noqa: E402
from bee.run.outputs import RingPrint, record_decoder  # noqa: E402
from bee.sinks.filters import FilterSet  # noqa: E402
from bee.sinks.metrics import MetricsRegistry  # noqa: E402


def build(tmp: Path) -> tuple[bytes, Path]:
    obj = tmp / "opensnoop.o"
    subprocess.run([str(REPO / ".venv" / "bin" / "bee"), "build", str(REPO / "examples/opensnoop/opensnoop.c"),
                    "-o", str(obj), "--local", "--binary-only"], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, BEE_STORAGE=str(tmp / "store")))
    flood = tmp / "flood"
    subprocess.run(["clang", "-O2", "-o", str(flood), str(REPO / "bench" / "flood.c")], check=True)
    return obj.read_bytes(), flood


def load_module(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("eventlog_compared", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _NoBatch:
    def handle_batch(self, samples: list[bytes]) -> None:
        pass


def _format_batch(module: ModuleType, fmt: str) -> Any:
    """The record formatter of format `fmt` of an event log module: this checkout's takes it from
    bee.sinks.lines (`json_formatter(heads)`); older single-file versions have `_json_formatter()`,
    with or without the channel heads, returning the formatter or its format_batch directly."""
    make = getattr(module, f"{fmt}_formatter", None) or getattr(module, f"_{fmt}_formatter")
    formatter = make({}) if inspect.signature(make).parameters else make()
    return getattr(formatter, "format_batch", formatter)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compare-eventlog", metavar="FILE", help="another bee/sinks/eventlog.py to compare")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("pipeline: run as root")
    in_place = ringbuf.DIRECT_READ
    variants: list[tuple[str, Any]] = [("", eventlog)]
    if args.compare_eventlog:
        variants = [(" [this checkout]", eventlog), (f" [{args.compare_eventlog}]", load_module(args.compare_eventlog))]
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bee-pipeline-") as tmpdir:
        tmp = Path(tmpdir)
        data, flood = build(tmp)
        spec = load_spec(data, name="opensnoop.o")
        mspec = next(m for m in spec.maps if m.name == "print_events")
        assert spec.btf is not None
        decoder = record_decoder(spec.btf, mspec.value_type_id, "value", spec.endian)
        target = str(tmp / "nonexistent")
        sample = struct.pack("<QIIii16s255s", 2604771933550, 4242, 0, -2, 524288, b"flood",
                             target.encode()).ljust(decoder.size, b"\0")
        now = time.time()
        records = [("print_events", decoder.decode(sample), now + i * 1e-6) for i in range(4096)]
        obj = BpfObject.open(loadable_bytes(data, spec, "opensnoop.o"), "opensnoop")
        sink = open(os.devnull, "wb")  # noqa: SIM115
        try:
            obj.load()
            for program in obj.programs.values():
                program.attach()

            def drain(handler: object) -> tuple[int, float]:
                ring = obj.ring_buffer({"print_events": handler})
                try:
                    ring.consume()  # whatever was there before
                    subprocess.run([str(flood), target, str(args.events)], check=True, stdout=subprocess.DEVNULL)
                    started = time.perf_counter()
                    return ring.consume(), started
                finally:
                    ring.close()

            def add(stage: str, seconds: float, count: int) -> None:
                results.setdefault(stage, []).append(seconds / count * 1e6)

            for _ in range(args.repeat):
                n, started = drain(lambda sample: None)
                add("read", time.perf_counter() - started, n)
                n, started = drain(_NoBatch())
                add("read, batches", time.perf_counter() - started, n)
                n, started = drain(decoder.decode)
                add("decode (read + decode)", time.perf_counter() - started, n)
                for label, module in variants:
                    for path in ("records", "batches", "in place"):
                        log = module.EventLog(sink, fmt="json", queue_size=1 << 20)
                        out = RingPrint(mspec, decoder, MetricsRegistry(), log, FilterSet())
                        ringbuf.DIRECT_READ = path == "in place" and in_place
                        n, started = drain(out if path != "records" else out.__call__)
                        ringbuf.DIRECT_READ = in_place
                        while log.written < n:
                            time.sleep(0.0005)
                        add(f"emit, {path} (read + decode + format + write){label}", time.perf_counter() - started,
                            n)
                        log.close()
                for fmt in ("json", "text"):  # variants alternate batch by batch: load changes hit both alike
                    formatters = [(label, _format_batch(module, fmt)) for label, module in variants]
                    spent = dict.fromkeys([label for label, _ in variants], 0.0)
                    for _ in range(5):
                        for label, format_batch in formatters:
                            started = time.perf_counter()
                            format_batch(records)
                            spent[label] += time.perf_counter() - started
                    for label, seconds in spent.items():
                        add(f"format {fmt}{label}", seconds, 5 * len(records))
        finally:
            sink.close()
            obj.close()
    width = max(len(k) for k in results)
    print(f"{'stage':<{width}}  µs/event: median [min–max] of {args.repeat} rounds ({args.events:,} events each)")
    for name, values in results.items():
        print(f"{name:<{width}}  {statistics.median(values):6.2f} [{min(values):.2f}–{max(values):.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
