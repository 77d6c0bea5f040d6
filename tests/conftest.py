"""Suite-wide fixtures, the capability markers, and the CI rule: in CI (CI=true or BEE_STRICT=1) a skip is a failure.

A test that needs a capability carries its marker (pyproject.toml declares them):

| marker | the test needs |
|---|---|
| `root` | to run as root |
| `kernel` | the running kernel's BPF and BTF (it loads programs or reads kernel state, with bpftool) |
| `clang` | bee's local build: clang, llvm-strip, libbpf headers, the running kernel's vmlinux.h |
| `bpftool` | bpftool, as an oracle on object files (no kernel) |
| `docker` | a Docker engine |
| `registry` | Debian's docker-registry, for real registries on 127.0.0.1 |
| `kubectl` | kubectl, for `kubectl kustomize` (offline: no cluster) |
| `fuzz` | atheris (a test extra), for the coverage-guided runs of the fuzz targets (a few minutes) |

The marker is set on the test (`@pytest.mark.clang`, a module's `pytestmark`) or comes from a
fixture it requests, directly or through other fixtures (`FIXTURE_NEEDS`). Before a marked test
runs its capabilities are checked: one that is missing skips the test with the reason (and fails it
in CI). A test that reaches a fixture of `FIXTURE_NEEDS` without its markers (through
`request.getfixturevalue`) fails, so the markers stay right. Everything else (tools such as
readelf, IPv6 on lo) is checked with `require(...)` where it is used.

The offline subset, which needs none of them but `kubectl` (it works offline and unprivileged), and
leaves out the `fuzz` runs (offline too, but minutes long, and already run by `make test`):
`scripts/test-offline.sh` (`make test-offline`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import require, strict

# Real-registry fixtures (docker-registry processes, token server, proxy), shared by every directory.
pytest_plugins = ["tests.registry.fixtures"]

# Fixtures that stand for capabilities: requesting one (directly or through another fixture) marks the test.
FIXTURE_NEEDS: dict[str, tuple[str, ...]] = {
    "root": ("root", "kernel"),  # loads BPF programs
    "examples_store": ("clang",),  # tests/examples: every example built with `make examples`
    "docker_client": ("docker",),
    **{name: ("registry",) for name in (  # tests.registry.fixtures that start a registry
        "registry_factory", "registry_plain", "registry_tls", "registry_basic", "registry_basic_plain",
        "registry_token")},
}


def _find_bpftool() -> str | None:
    return shutil.which("bpftool") or next(
        (p for p in ("/usr/sbin/bpftool", "/sbin/bpftool") if os.access(p, os.X_OK)), None)


def _root() -> str | None:
    return None if os.geteuid() == 0 else "needs root"


def _kernel() -> str | None:
    if not Path("/sys/kernel/btf/vmlinux").exists():
        return "needs a kernel with BPF and BTF (/sys/kernel/btf/vmlinux)"
    return None if _find_bpftool() else "needs bpftool to look at the kernel's BPF objects (apt-get install bpftool)"


def _clang() -> str | None:
    from bee.compile import headers
    from bee.compile.toolchain import find_tool, target_arch
    from bee.errors import BuildError

    try:
        find_tool("clang")
        find_tool("llvm-strip")
        headers.include_dirs(target_arch())  # libbpf's headers and the pinned vmlinux.h of this host's arch
    except BuildError as exc:
        return f"needs bee's local build toolchain: {exc}"
    return None


def _bpftool() -> str | None:
    return None if _find_bpftool() else "needs bpftool (apt-get install bpftool)"


def _docker() -> str | None:
    try:
        import docker

        client = docker.from_env()
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure means no engine to use
        return f"needs a running Docker engine (scripts/docker-up.sh): {exc}"
    return None


def _kubectl() -> str | None:
    return None if shutil.which("kubectl") else "needs kubectl for `kubectl kustomize` (apt-get install kubectl)"


def _registry() -> str | None:
    from tests.registry.servers import registry_available

    return None if registry_available() else "needs Debian's docker-registry at /usr/bin/docker-registry"


def _atheris() -> str | None:
    import importlib.util

    return None if importlib.util.find_spec("atheris") else "needs atheris (pip install -e '.[test]')"


# marker → a check giving None when the capability is there, else the reason (checked once per session)
CAPABILITIES: dict[str, Callable[[], str | None]] = {
    name: functools.cache(check) for name, check in (
        ("root", _root), ("kernel", _kernel), ("clang", _clang), ("bpftool", _bpftool),
        ("docker", _docker), ("registry", _registry), ("kubectl", _kubectl),
        ("fuzz", _atheris))
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test the markers of the capability fixtures it requests."""
    for item in items:
        have = {mark.name for mark in item.iter_markers()}
        for fixture in getattr(item, "fixturenames", ()):
            for name in FIXTURE_NEEDS.get(fixture, ()):
                if name not in have:
                    item.add_marker(name)
                    have.add(name)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (in CI: fail) a test whose capabilities are missing, before any of its fixtures is set up."""
    for name, check in CAPABILITIES.items():
        if item.get_closest_marker(name) is not None:
            problem = check()
            require(problem is None, problem or "")


@pytest.fixture(autouse=True)
def _markers_cover_the_fixtures(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test: a capability fixture it reached without carrying its markers (through
    `request.getfixturevalue`, which collection cannot see) fails it, so the markers stay right."""
    yield
    missing = sorted({name for fixture in request.fixturenames for name in FIXTURE_NEEDS.get(fixture, ())
                      if request.node.get_closest_marker(name) is None})
    if missing:
        pytest.fail(f"{request.node.nodeid} uses capability fixtures but is not marked: "
                    + ", ".join(f"@pytest.mark.{name}" for name in missing), pytrace=False)


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


@pytest.fixture
def root() -> None:
    """Requesting it marks the test `root` and `kernel` (FIXTURE_NEEDS): the test loads BPF programs."""
