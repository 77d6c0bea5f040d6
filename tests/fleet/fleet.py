"""A fleet of runner containers scraped by a real Prometheus: what tests/fleet and `make fleet-demo` start.

`Fleet` starts N containers of the runner image (host network, each `bee run --config` on its own
loopback port, its config in a directory of its own mounted at /etc/bee) and a Prometheus server that
finds them through file-based service discovery, with a `runner` label each. The programs are the
committed objects tests/data/obj/fleet_*.o (execs, opens, TCP connects by command name), mounted
read-only at /programs. `configure` rewrites one runner's config in place (a new file renamed over
the old one), which a runner that reloads picks up. `close` removes the containers, stops Prometheus
and deletes the working directory, whatever happened before.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.fleet.events import FleetEvents
from tests.fleet.prometheus import JOB, Prometheus
from tests.goldens import object_bytes

# config name -> the golden object it runs
PROGRAMS = {"execs": "fleet_execs", "opens": "fleet_opens", "connects": "fleet_connects"}
LABEL = "bee-fleet"  # every container carries it (its value: the fleet's tag), for cleanup
CAPABILITIES = ["SYS_ADMIN"]  # `--privileged` is not needed (and not allowed everywhere)
POLL_INTERVAL = 0.2


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def runner_config(programs: Sequence[str], port: int) -> str:
    """The YAML config of one runner running `programs` (names of PROGRAMS), serving on 127.0.0.1:`port`."""
    lines = ["programs:"]
    lines += [f"  - {{program: /programs/{PROGRAMS[name]}.o, name: {name}}}" for name in programs]
    lines += [f"metrics: {{address: 127.0.0.1, port: {port}}}", f"poll_interval: {POLL_INTERVAL}", ""]
    return "\n".join(lines)


@dataclass
class Runner:
    """One runner container: its name (the `runner` label), port and config directory on the host."""

    name: str
    port: int
    directory: Path
    container: Any = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace") if self.container is not None else ""

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/healthz", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.HTTPError):
            return False


class Fleet:
    """`size` runner containers of `image` running `programs`, and a Prometheus scraping them every second."""

    def __init__(self, client: Any, image: str, *, size: int = 5, programs: Sequence[str] = tuple(PROGRAMS),
                 tag: str | None = None) -> None:
        self.client = client
        self.image = image
        self.tag = tag or secrets.token_hex(3)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"bee-fleet-{self.tag}-"))
        self.events = FleetEvents(self.tag, self.workdir / "events")
        self.runners = [Runner(f"runner-{i}", free_port(), self.workdir / "runners" / f"runner-{i}")
                        for i in range(1, size + 1)]
        self.initial = tuple(programs)
        self.prometheus = Prometheus(self.workdir / "prometheus", free_port())

    def __enter__(self) -> Fleet:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def start(self, timeout: float = 90) -> None:
        """Start the runners and Prometheus; return when every runner is healthy and scraped (`up` is 1)."""
        programs = self.workdir / "programs"
        programs.mkdir(parents=True)
        for golden in PROGRAMS.values():
            (programs / f"{golden}.o").write_bytes(object_bytes(golden))
        for runner in self.runners:
            runner.directory.mkdir(parents=True)
            self.configure(runner, self.initial)
            runner.container = self.client.containers.run(
                self.image, ["run", "--no-tty", "--config", "/etc/bee/config.yaml"], detach=True,
                name=f"bee-fleet-{self.tag}-{runner.name}", labels={LABEL: self.tag}, network_mode="host",
                cap_add=CAPABILITIES, volumes={
                    str(runner.directory): {"bind": "/etc/bee", "mode": "ro"},
                    str(programs): {"bind": "/programs", "mode": "ro"},
                    "/sys/kernel/tracing": {"bind": "/sys/kernel/tracing", "mode": "rw"}})
        self.prometheus.start()
        self.prometheus.set_targets({runner.name: runner.address for runner in self.runners})
        for runner in self.runners:
            self.wait(runner.healthy, f"{runner.name} to be healthy", timeout, runner)
        everyone = {runner.name: 1.0 for runner in self.runners}
        self.wait_values(f'up{{job="{JOB}"}}', everyone, timeout)

    def configure(self, runner: Runner, programs: Sequence[str]) -> None:
        """Give `runner` a config running `programs`: written beside it, then renamed over it."""
        staging = runner.directory / ".config.yaml.new"
        staging.write_text(runner_config(programs, runner.port))
        staging.replace(runner.directory / "config.yaml")

    def wait(self, check: Callable[[], object], what: str, timeout: float = 60, runner: Runner | None = None) -> None:
        """Poll `check` until it is true; past `timeout` seconds fail naming `what` (with the runner's log)."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                detail = f"\n{runner.name} log:\n{runner.logs()}" if runner else ""
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{detail}")
            time.sleep(0.25)

    def wait_values(self, expr: str, expected: dict[str, float], timeout: float = 60) -> None:
        """Wait until Prometheus gives `expr` exactly the series `expected` (runner -> value), one per runner."""
        seen: list[dict[str, Any]] = []

        def matches() -> bool:
            seen[:] = self.prometheus.query(expr)
            values = {series["metric"].get("runner", ""): float(series["value"][1]) for series in seen}
            return len(seen) == len(expected) and values == expected

        try:
            self.wait(matches, f"{expr} == {expected}", timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}; Prometheus has: {seen}") from None

    def everyone(self, value: float, *, but: Sequence[Runner] = ()) -> dict[str, float]:
        """runner -> `value` for every runner not in `but`."""
        return {runner.name: value for runner in self.runners if runner not in but}

    def close(self) -> None:
        """Remove every container of this fleet, stop Prometheus, delete the working directory."""
        try:
            for container in self.client.containers.list(all=True, filters={"label": f"{LABEL}={self.tag}"}):
                container.remove(force=True)
        finally:
            try:
                self.prometheus.stop()
            finally:
                shutil.rmtree(self.workdir, ignore_errors=True)
