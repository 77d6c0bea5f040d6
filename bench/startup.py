#!/usr/bin/env python3
"""Where `bee run` spends its start-up: a timeline from process spawn to the first ring-buffer event.

    .venv/bin/python bench/startup.py [--runs 10] [REF]

Builds examples/opensnoop into a temporary store (unless REF names one in $BEE_STORAGE), then starts
`python bench/startup.py --child REF` --runs times. The child wraps the steps of bee's Runner with
timers, runs `bee run REF --no-tty --format json` in-process, and stops at the first event. The
parent prints the median and spread of each step (ms since spawn, and the step's own duration).
Bytecode is cached under a private PYTHONPYCACHEPREFIX (one warm-up start, not counted).
"""

from __future__ import annotations

import os
import sys
import time

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--child":
    _T0 = float(os.environ["BEE_STARTUP_T0"])
    _marks: list[tuple[str, float, float]] = [
        ("interpreter ready (site, before any bee import)", time.time() - _T0, 0.0)]


def child(ref: str) -> None:
    import gc

    gc.disable()  # as bee.cli does before its own imports (the run turns it back on once attached)
    import contextlib
    import json

    _marks.append(("imports of this script (contextlib, json)", time.time() - _T0, 0.0))
    started = time.time()
    import bee.cli  # noqa: F401  (what the `bee` entry point imports first)
    import bee.commands.fastparse  # noqa: F401  (reads `bee run` command lines without click)
    import bee.run.start  # noqa: F401
    _marks.append(("import bee.cli + bee.commands.fastparse + bee.run.start", time.time() - _T0, time.time() - started))
    started = time.time()
    import bee.run.runner as runner
    _marks.append(("import bee.run.runner (elf, oci...)", time.time() - _T0, time.time() - started))
    # bee imports the libbpf binding on first use, in the privilege check; timed here on its own.
    started = time.time()
    import bee.libbpf.system  # noqa: F401
    _marks.append(("import bee.libbpf (cffi)", time.time() - _T0, time.time() - started))

    def timed(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            t = time.time()
            try:
                return original(*args, **kwargs)
            finally:
                _marks.append((label, time.time() - _T0, time.time() - t))

        setattr(owner, name, wrapper)

    from bee.run import load, prepare, program

    timed(prepare, "load_program", "read the program from the local store")
    timed(prepare, "load_spec", "parse ELF + BTF (load_spec)")
    timed(runner, "check_privileges", "privilege and BTF checks")
    timed(runner, "start_metrics_server", "start the metrics server (imports bee.sinks.http)")
    from bee.libbpf.object import BpfObject
    from bee.libbpf.ringbuf import RingBuffer

    timed(BpfObject, "open", "bpf_object__open_mem")
    timed(BpfObject, "load", "bpf_object__load (verifier; bee-load thread)")
    timed(BpfObject, "map_rings", "map the ring's pages (bee-load thread)")
    timed(load.Loading, "result", "wait for the load to end")
    timed(program, "attach_all", "attach 4 tracepoints")
    timed(program, "make_outputs", "compile decoders, make outputs")
    timed(BpfObject, "ring_buffer", "make the ring-buffer reader")
    timed(runner.Runner, "_announce", "print 'bee: attached'")

    add = RingBuffer.add
    seen: list[bool] = []

    def mark() -> None:
        if not seen:
            seen.append(True)
            _marks.append(("first event handed to the decoder", time.time() - _T0, 0.0))
            os.kill(os.getpid(), 2)  # SIGINT: bee stops cleanly

    def add_marked(self: RingBuffer, source: object, handler: object, pages: object = None) -> None:
        """The same handler, marking the first sample (or batch, or run of records read in place) it gets."""
        if hasattr(handler, "handle_batch"):
            class Marked:
                def handle_batch(self, samples: list[bytes]) -> object:
                    mark()
                    return handler.handle_batch(samples)  # type: ignore[attr-defined]

                def record_reader(self) -> object:
                    got = handler.record_reader() if hasattr(handler, "record_reader") else None  # type: ignore[attr-defined]
                    if got is None:
                        return None
                    size, read = got

                    def marked_read(region: memoryview) -> int:
                        mark()
                        return read(region)  # type: ignore[no-any-return]

                    return size, marked_read

            add(self, source, Marked(), pages)  # type: ignore[arg-type]
        else:
            def marked(sample: bytes) -> object:
                mark()
                return handler(sample)  # type: ignore[operator]

            add(self, source, marked, pages)  # type: ignore[arg-type]

    RingBuffer.add = add_marked  # type: ignore[method-assign,assignment]
    from bee.cli import main

    timed(runner.Runner, "run", "Runner.run (until the end)")
    run_method = runner.Runner.run

    def entered(self: object) -> None:
        _marks.append(("command line read; Runner.run starts", time.time() - _T0, 0.0))
        run_method(self)  # type: ignore[arg-type]

    runner.Runner.run = entered  # type: ignore[method-assign]

    with contextlib.suppress(SystemExit):
        main(["run", ref, "--no-tty", "--format", "json", "--prom-addr", "127.0.0.1", "--prom-port", "0"])
    os.write(int(os.environ["BEE_STARTUP_FD"]), json.dumps(_marks).encode())


def parent() -> int:
    import argparse
    import json
    import shutil
    import statistics
    import subprocess
    import tempfile
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("ref", nargs="?")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bee-startup-"))
    ticker: subprocess.Popen[bytes] | None = None
    try:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ref = args.ref
        if ref is None:
            ref = "opensnoop:startup"
            env["BEE_STORAGE"] = str(tmp / "store")
            subprocess.run([str(repo / ".venv/bin/bee"), "build", str(repo / "examples/opensnoop/opensnoop.c"), ref,
                            "--local", "-o", str(tmp / "opensnoop.o")], env=env, check=True, stdout=subprocess.DEVNULL)
        # A file opened every millisecond, so an event follows the attach within ~1 ms.
        subprocess.run(["clang", "-O2", "-o", str(tmp / "flood"), str(repo / "bench" / "flood.c")], check=True)
        (tmp / "tick").write_bytes(b"")
        ticker = subprocess.Popen([str(tmp / "flood"), str(tmp / "tick"), "0", "1000"], stdout=subprocess.DEVNULL)
        runs: list[list[tuple[str, float, float]]] = []
        for i in range(args.runs + 1):
            read, write = os.pipe()
            env["BEE_STARTUP_FD"] = str(write)
            env["BEE_STARTUP_T0"] = repr(time.time())
            proc = subprocess.Popen([sys.executable, __file__, "--child", ref], env=env, pass_fds=(write,),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            os.close(write)
            with os.fdopen(read, "rb") as r:
                data = r.read()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if i and data:  # the first start writes the bytecode cache
                runs.append(json.loads(data))
        # Steps by label (the load runs on its own thread, so marks may come in a different order),
        # in the order of their median end.
        by_label: dict[str, list[tuple[float, float]]] = {}
        for r in runs:
            for label, at_s, took_s in r:
                by_label.setdefault(label, []).append((at_s * 1000, took_s * 1000))
        labels = sorted(by_label, key=lambda label: statistics.median(a for a, _ in by_label[label]))
        print(f"{'step':<62} {'at (ms since spawn)':>22} {'took (ms)':>18}")
        for label in labels:
            at = [a for a, _ in by_label[label]]
            took = [t for _, t in by_label[label]]
            print(f"{label:<62} {statistics.median(at):8.1f} [{min(at):.0f}–{max(at):.0f}]"
                  f" {statistics.median(took):8.1f} [{min(took):.0f}–{max(took):.0f}]")
        print(f"({len(runs)} starts; median [min–max])")
    finally:
        if ticker is not None:
            ticker.terminate()
            ticker.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        sys.exit(parent())
