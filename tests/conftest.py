"""Suite-wide fixtures and the CI rule: in CI (CI=true or BEE_STRICT=1) a skip is a failure.

Tests that need root, the kernel, Docker or a registry call `require(...)`, which skips
on a developer machine that lacks the capability and fails in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import strict

# Real-registry fixtures (docker-registry processes, token server, proxy), shared by every directory.
pytest_plugins = ["tests.registry.fixtures"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI, any skip (importorskip, skipif, a fixture's skip) is reported as a failure."""
    outcome = yield
    report = outcome.get_result()
    if strict() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {report.longrepr}"


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """An empty local store location for one test."""
    return tmp_path / "store"


@pytest.fixture
def bee(store_dir: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real `bee` CLI in a subprocess with its own store and cache; returns the completed process."""
    base_env = dict(os.environ, BEE_STORAGE=str(store_dir), XDG_CACHE_HOME=os.environ.get(
        "XDG_CACHE_HOME", str(Path.home() / ".cache")))
    base_env.pop("BEE_DEBUG", None)

    def run(*args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bee", *args], input=input, cwd=cwd or tmp_path,
                              env={**base_env, **(env or {})}, capture_output=True, text=True, timeout=timeout,
                              check=False)

    return run


@pytest.fixture(scope="session")
def compile_c(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], bytes]:
    """Compile a committed C source with bee's compile line; returns the object's bytes (cached per source)."""
    from bee.build.compiler import compile_bpf

    out_dir = tmp_path_factory.mktemp("objects")
    cache: dict[Path, bytes] = {}

    def build(source: Path) -> bytes:
        source = Path(source)
        if source not in cache:
            output = out_dir / (source.stem + ".o")
            compile_bpf(source, output)
            cache[source] = output.read_bytes()
        return cache[source]

    return build
