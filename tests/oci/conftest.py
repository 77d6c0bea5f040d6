"""Fixtures for `bee push`, `bee pull`, `bee login` and `bee run` pulling, against real registries.

The registries (plain HTTP, TLS, htpasswd basic, token auth), the tampering proxy and the Docker
credential fixtures are the suite's shared ones from `tests.registry.fixtures`. Here: `beecli`,
the real CLI in a subprocess with its own store, config dir and Docker config (never the user's);
`program` and `stored`, a compiled program and a way to put it in the store as `bee build` does;
`store_snapshot`, every file of the store with its bytes, to prove a failure changed nothing; and
`run_bee`, `bee run` of a reference in the kernel, waiting until it is attached.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.goldens import object_bytes
from tests.run.conftest import BeeRun, BeeRuns

CliRun = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """bee's `--config-dir` for one test (where `bee login` saves)."""
    return tmp_path / "bee-config"


@pytest.fixture
def beecli(store_dir: Path, config_dir: Path, tmp_path: Path) -> CliRun:
    """`beecli(*args, input=None, env=None)`: `python -m bee --config-dir DIR *args` with its own store.

    The environment is read at each call (so `monkeypatch.setenv` applies); `DOCKER_CONFIG` points at
    an empty directory unless the test set one, so the user's Docker credentials are never read.
    """
    empty_docker = tmp_path / "no-docker-config"

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = dict(os.environ, BEE_STORAGE=str(store_dir), **(env or {}))
        full_env.pop("BEE_DEBUG", None)
        if "DOCKER_CONFIG" not in full_env:
            empty_docker.mkdir(exist_ok=True)
            full_env["DOCKER_CONFIG"] = str(empty_docker)
        return subprocess.run([sys.executable, "-m", "bee", "--config-dir", str(config_dir), *args], input=input,
                              cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=timeout,
                              check=False)

    return run


@pytest.fixture(scope="session")
def program() -> bytes:
    """The committed object of tests/data/src/tiny.c: one tracepoint program and a `print_events` ring buffer."""
    return object_bytes("tiny")


@pytest.fixture
def stored(store_dir: Path, program: bytes) -> Callable[..., str]:
    """`stored(ref, description=None)`: save `program` under `ref` as `bee build` does; returns the digest."""
    from bee.oci.store import LocalStore, Platform

    def save(ref: str, description: str | None = None, data: bytes | None = None) -> str:
        entry = LocalStore(store_dir).save_program(ref, data or program, platform=Platform.host(),
                                                   description=description)
        return entry.digest

    return save


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path → bytes); empty when `root` does not exist."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def store_snapshot(store_dir: Path) -> Callable[[], dict[str, bytes]]:
    return lambda: snapshot(store_dir)


@pytest.fixture
def run_bee(root: None, store_dir: Path, config_dir: Path, tmp_path: Path) -> Iterator[Callable[..., BeeRun]]:
    """`run_bee(ref, *run_args)`: `bee --plain-http run REF --no-tty --format json ...`, waiting until attached."""
    runs = BeeRuns(dict(os.environ, BEE_STORAGE=str(store_dir), DOCKER_CONFIG=str(tmp_path / "no-docker")))

    def start(ref: str, *args: str) -> BeeRun:
        return runs.start("--config-dir", str(config_dir), "--plain-http", "run", ref, "--no-tty", "--format", "json",
                          *args)

    yield start
    runs.close()
