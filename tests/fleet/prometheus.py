"""A real Prometheus server (Debian's `prometheus`) on a loopback port, for a fleet of runners.

It scrapes the targets of one file-based service-discovery file (`targets.json`), which
`set_targets` rewrites; its config, its TSDB and that file live in a directory the caller owns.
`query` asks its HTTP API (`/api/v1/query`) and returns the result vector.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

PROMETHEUS = "/usr/bin/prometheus"
JOB = "bee-fleet"

CONFIG = """\
global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
  evaluation_interval: {interval}
scrape_configs:
  - job_name: {job}
    file_sd_configs:
      - files: [{targets}]
        refresh_interval: 1s
"""


def prometheus_binary() -> str | None:
    """The server's path, or None when Debian's `prometheus` is not installed."""
    found = shutil.which("prometheus") or PROMETHEUS
    return found if os.access(found, os.X_OK) else None


class Prometheus:
    """One Prometheus process; `start()` returns when it is ready, `stop()` ends it (idempotent)."""

    def __init__(self, directory: Path, port: int, *, interval: str = "1s", scrape: str = "",
                 jobs: str = "") -> None:
        """`scrape`: more YAML lines of the file-discovered job (4 spaces in: `scheme: https`, ...); `jobs`:
        whole further scrape jobs (2 spaces in, each starting `- job_name:`)."""
        self.directory = directory
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.targets_file = directory / "targets.json"
        self.config_file = directory / "prometheus.yml"
        self.log_file = directory / "prometheus.log"
        self.interval = interval
        self.scrape = scrape
        self.jobs = jobs
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        """Write the config and an empty target list, start the server and wait for /-/ready."""
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError(f"Prometheus is not installed ({PROMETHEUS}; scripts/setup.sh installs it)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.set_targets({})
        self.config_file.write_text(CONFIG.format(interval=self.interval, job=JOB,
                                                  targets=json.dumps(str(self.targets_file))) + self.scrape + self.jobs)
        with self.log_file.open("wb") as log:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={self.config_file}", f"--storage.tsdb.path={self.directory / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.directory,
                start_new_session=True)  # a terminal's Ctrl-C goes to the caller, which stops it
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus did not become ready:\n{self.log()}")
            time.sleep(0.2)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def set_targets(self, targets: dict[str, str]) -> None:
        """Scrape `targets` (runner name -> host:port), each with a `runner` label; replaces the file atomically."""
        groups = [{"targets": [address], "labels": {"runner": name}} for name, address in sorted(targets.items())]
        staging = self.targets_file.with_suffix(".tmp")
        staging.write_text(json.dumps(groups, indent=2) + "\n")
        staging.replace(self.targets_file)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector `expr` evaluates to now (raises on an API error)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success" or body["data"]["resultType"] != "vector":
            raise RuntimeError(f"query {expr!r} failed: {body}")
        return list(body["data"]["result"])

    def values(self, expr: str, by: str = "runner") -> dict[str, float]:
        """`query(expr)` as label `by` -> value."""
        return {series["metric"].get(by, ""): float(series["value"][1]) for series in self.query(expr)}

    def log(self) -> str:
        """What the server printed (its last 4000 characters)."""
        return self.log_file.read_text(errors="replace")[-4000:] if self.log_file.exists() else ""

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s) and wait for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
