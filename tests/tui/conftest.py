"""Fixtures for the interactive view: `bee run` in a real terminal (tmux), driven by keys and read back.

Each test gets its own tmux server (its socket in the test's directory, killed in a finalizer) whose panes
stay open after their process exits (`remain-on-exit`), so a test reads what was printed after
the view left the screen. The pane's shell runs `bee run` as its child and writes its exit
status to a file (tmux 3.3 does not always reap a pane's process, leaving `#{pane_dead_status}` empty).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.goldens import object_bytes
from tests.helpers import require
from tests.run.conftest import free_port, trigger  # noqa: F401 - `trigger` is a fixture here too


class Pane:
    """One `bee run` in a tmux pane of its own server."""

    def __init__(self, socket: str, name: str, port: int, env: dict[str, str], status_file: Path) -> None:
        self.socket = socket
        self.name = name
        self.port = port
        self.env = env
        self.status_file = status_file
        self._pid: int | None = None

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, *args], env=self.env, capture_output=True, text=True,
                              timeout=10, check=True)
        return done.stdout

    def screen(self) -> str:
        """The visible screen, one line per row."""
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def send(self, *keys: str) -> None:
        """Keys as tmux names them (`Tab`, `C-n`, `Enter`, `Escape`); `-l` sends literal text."""
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def field(self, name: str) -> str:
        return self.tmux("display-message", "-p", "-t", self.name, f"#{{{name}}}").strip()

    @property
    def pid(self) -> int:
        """The `bee run` process (the child of the pane's shell)."""
        if self._pid is None:
            shell = int(self.field("pane_pid"))
            deadline = time.monotonic() + 10
            while not (children := Path(f"/proc/{shell}/task/{shell}/children").read_text().split()):
                assert time.monotonic() < deadline, "bee run did not start"
                time.sleep(0.02)
            self._pid = int(children[0])
        return self._pid

    def exit_status(self, timeout: float = 10) -> int:
        """Wait for `bee run` to end; its exit status."""
        deadline = time.monotonic() + timeout
        while not (text := self.status_file.read_text().strip() if self.status_file.exists() else ""):
            if time.monotonic() > deadline:
                raise AssertionError(f"bee run did not exit; screen:\n{self.screen()}")
            time.sleep(0.05)
        return int(text)

    def wait(self, check: str | Callable[[str], object], timeout: float = 20, what: str = "") -> str:
        """Wait until the screen contains `check` (a string) or `check(screen)` is true; the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if (check in screen) if isinstance(check, str) else check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or check!r}; screen:\n{screen}")
            time.sleep(0.05)

    def status_line(self) -> str:
        """The line under the table: `<map>  [filter ...]  <shown> shown  <counts>  <kind>·<output>`."""
        lines = self.screen().rstrip("\n").split("\n")
        return lines[-2]

    def prog_ids(self) -> set[int]:
        """Ids of the BPF programs the process holds (its fds' `prog_id`), whatever else is loaded meanwhile."""
        ids = set()
        for info in Path(f"/proc/{self.pid}/fdinfo").iterdir():
            try:
                match = re.search(r"^prog_id:\s+(\d+)", info.read_text(), re.M)
            except OSError:
                continue
            if match:
                ids.add(int(match.group(1)))
        return ids

    def rss_kb(self) -> int:
        text = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
        assert match, text
        return int(match.group(1))

    def scrape(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
            return response.read().decode()

    def metric(self, series: str) -> float | None:
        for line in self.scrape().splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
        return None


@pytest.fixture
def tui(root: None, store_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    """`tui(program, *args, width=80, height=24)` starts `bee run` (no --no-tty) in a fresh tmux, serving
    metrics on a free port. With `flags=False` the port, address and poll interval are not given (a runner
    config sets them): `port` says which port the run serves on."""
    require(shutil.which("tmux") is not None, "needs tmux (apt-get install tmux)")
    socket = str(tmp_path / "tmux.sock")
    config = tmp_path / "tmux.conf"
    config.write_text("set -g remain-on-exit on\nset -g status off\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX") and
           not k.startswith("TEXTUAL")}
    # SHELL: tmux runs commands with it, else with the login shell (nologin for a system user)
    env.update(BEE_STORAGE=str(store_dir), TERM="xterm-256color", SHELL="/bin/sh")
    started = False

    def start(program: str, *args: str, width: int = 80, height: int = 24, flags: bool = True,
              port: int = 0) -> Pane:
        nonlocal started
        port = free_port() if flags else port
        served = ["--prom-port", str(port), "--prom-addr", "127.0.0.1", "--poll-interval", "0.2"] if flags else []
        command = shlex.join([sys.executable, "-m", "bee", "run", program, *served, *args])
        name = f"s{uuid.uuid4().hex[:8]}"
        status_file = tmp_path / f"{name}.status"
        first = ["-f", str(config)] if not started else []
        subprocess.run(["tmux", "-S", socket, *first, "new-session", "-d", "-s", name, "-x", str(width),
                        "-y", str(height), f"cd {shlex.quote(str(tmp_path))}; {command}; "
                        f"echo $? > {shlex.quote(str(status_file))}"],
                       env=env, check=True, timeout=10)
        started = True
        return Pane(socket, name, port, env, status_file)

    yield start
    if started:
        subprocess.run(["tmux", "-S", socket, "kill-server"], env=env, capture_output=True, timeout=10, check=False)


@pytest.fixture
def tui_object(tmp_path: Path) -> Callable[[str], str]:
    """Copy the committed object of tests/data/src/<name>.c into the test's directory; returns its path."""

    def copy(name: str) -> str:
        path = tmp_path / f"{name}.o"
        path.write_bytes(object_bytes(name))
        return str(path)

    return copy


def flood(count: int, name: str = "beeflood") -> None:
    """Call getppid() `count` times from a process named `name` (tests/data/src/tui_flood.c counts them)."""
    code = ("import ctypes, os, sys\n"
            "ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)\n"
            "g = os.getppid\n"
            "for _ in range(int(sys.argv[2])):\n"
            "    g()\n")
    subprocess.run([sys.executable, "-c", code, name, str(count)], check=True, timeout=60)
