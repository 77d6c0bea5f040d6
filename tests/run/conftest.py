"""Fixtures for `bee run` tests: the real CLI in a subprocess, the real kernel, real scrapes.

`bee_run(program, *args)` starts `python -m bee run PROGRAM --no-tty --format json` on a free
port and waits for its "attached" line; the handle scrapes metrics, reads events, triggers
processes under chosen names, and stops the run with a signal, checking it exits 0.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bpf_prog_ids(name: str | None = None) -> set[int]:
    """Ids of loaded BPF programs (called `name`, if given: other tests may load programs meanwhile)."""
    out = subprocess.run(["bpftool", "-j", "prog", "list"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out or "[]") if name is None or p.get("name") == name}


def bpf_link_ids(prog_ids: set[int] | None = None) -> set[int]:
    """Ids of BPF links (of the programs `prog_ids`, if given)."""
    out = subprocess.run(["bpftool", "-j", "link", "list"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out or "[]") if prog_ids is None or p.get("prog_id") in prog_ids}


class BeeRun:
    """One running `bee run` process."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.stderr_lines: list[str] = []
        self.stdout_lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr_lines.append(line)
            if line.startswith("bee: attached"):
                self._ready.set()
        self._ready.set()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.stdout_lines.append(raw.decode(errors="replace").rstrip("\n"))

    def wait_ready(self, timeout: float = 30) -> None:
        self._ready.wait(timeout)
        assert self.proc.poll() is None, f"bee run exited {self.proc.returncode}: {self.stderr_lines}"
        assert any(line.startswith("bee: attached") for line in self.stderr_lines), self.stderr_lines

    def scrape(self, path: str = "/metrics") -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
            return response.read().decode()

    def metric_lines(self, prefix: str) -> list[str]:
        return [line for line in self.scrape().splitlines() if line.startswith(prefix)]

    def wait_for(self, check: Callable[[], object], timeout: float = 10, what: str = "condition") -> object:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; stderr: {self.stderr_lines}")
            time.sleep(0.05)

    def events(self, map_name: str | None = None) -> list[dict]:
        parsed = [json.loads(line) for line in list(self.stdout_lines) if line.startswith("{")]
        return [e for e in parsed if map_name is None or e["map"] == map_name]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 5) -> float:
        """Signal the run; return how long it took to exit (it must exit 0)."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        elapsed = time.monotonic() - started
        assert rc == 0, f"bee run exited {rc}: {self.stderr_lines}"
        return elapsed


class BeeRuns:
    """Starts `python -m bee ARGV --prom-port PORT` processes (a free port each) with `env`, each behind
    the command `prefix` if given (`setpriv ... --`); `close()` kills those still running."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.runs: list[BeeRun] = []

    def start(self, *argv: str, wait: bool = True, prefix: Sequence[str] = ()) -> BeeRun:
        port = free_port()
        proc = subprocess.Popen([*prefix, sys.executable, "-m", "bee", *argv, "--prom-port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        run = BeeRun(proc, port)
        self.runs.append(run)
        if wait:
            run.wait_ready()
        return run

    def close(self) -> None:
        for run in self.runs:
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()


@pytest.fixture
def bee_run(root: None, store_dir: Path) -> Iterator[Callable[..., BeeRun]]:
    runs = BeeRuns(dict(os.environ, BEE_STORAGE=str(store_dir)))

    def start(program: str, *args: str, fmt: str = "json", wait: bool = True, prefix: Sequence[str] = ()) -> BeeRun:
        return runs.start("run", program, "--no-tty", "--format", fmt, "--poll-interval", "0.1", *args, wait=wait,
                          prefix=prefix)

    yield start
    runs.close()


@pytest.fixture
def trigger(tmp_path: Path) -> Callable[[str], None]:
    """Exec /bin/true under `name` (its comm), and wait for it."""

    def run(name: str, program: str = "/bin/true", *args: str) -> None:
        path = tmp_path / "bin" / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            shutil.copy(program, path)
        subprocess.run([str(path), *args], check=False, capture_output=True)

    return run


@pytest.fixture
def object_file(tmp_path: Path) -> Callable[[str], str]:
    """Copy the committed object of tests/data/src/<name>.c into the test's directory; returns its path."""
    from tests.goldens import object_bytes

    def copy(name: str) -> str:
        path = tmp_path / f"{name}.o"
        path.write_bytes(object_bytes(name))
        return str(path)

    return copy
