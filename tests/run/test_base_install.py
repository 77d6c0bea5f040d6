"""bee's base install (its declared `dependencies`, no extra) in a fresh virtualenv: `bee run` builds,
pushes, pulls, loads and attaches there, and a command of an extra says in one sentence which to install.

The virtualenv is made offline: `python -m venv --without-pip`, then the files of the installed
distributions that bee's base requirements resolve to (read from bee's installed metadata, markers
evaluated without extras) are copied in, and bee itself is put on its path. The extras' packages are
checked to be absent, so a base requirement that pulled one in would fail these tests.
"""

from __future__ import annotations

import importlib.metadata
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bee.extras import EXTRAS
from bee.oci.store import LocalStore
from tests.helpers import DATA, REPO, assert_one_line_error
from tests.run.conftest import BeeRun, free_port


def _base_distributions() -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions bee's base requirements need, transitively, by canonical name."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(importlib.metadata.requires("bee") or [])
    while todo:
        requirement = Requirement(todo.pop())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        found[name] = importlib.metadata.distribution(requirement.name)
        todo.extend(found[name].requires or [])
    return found


def _make_base_env(root: Path) -> Path:
    """A virtualenv at `root` with bee and its base requirements only; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=60)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for dist in _base_distributions().values():
        for file in dist.files or ():
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # scripts in bin/, caches
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(dist.locate_file(file))), target)
    (root / "src").mkdir()
    (root / "src" / "bee").symlink_to(REPO / "bee")  # only the package, not the checkout's other directories
    (site / "bee-checkout.pth").write_text(f"{root / 'src'}\n")
    return python


@pytest.fixture(scope="module")
def base_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = _make_base_env(tmp_path_factory.mktemp("base-venv") / "venv")
    probe = ("import importlib.util, sys; import bee.cli, click, cffi, requests; "
             f"print([m for m in {sorted(m for ms in EXTRAS.values() for m in ms)!r} if importlib.util.find_spec(m)])")
    shown = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=_env(), check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[]", f"an extra's package is in the base install: {shown.stdout}"
    return python


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BEE_DEBUG", "VIRTUAL_ENV")}
    return {**env, **extra}


@pytest.fixture
def base_bee(base_python: Path, store_dir: Path, tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`base_bee(*args)`: `python -m bee --config-dir DIR *args` in the base install, with the test's store."""
    env = _env(BEE_STORAGE=str(store_dir), DOCKER_CONFIG=str(tmp_path / "no-docker-config"))

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(base_python), "-m", "bee", "--config-dir", str(tmp_path / "cfg"), *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout, check=False)

    return run


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    """Run `args` with stdin, stdout and stderr on a pseudo-terminal; its exit code and the lines shown."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd,
                            env={**env, "TERM": "xterm"})
    os.close(follower)
    shown = b""
    try:
        while select.select([leader], [], [], 30)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    return proc.wait(30), shown.decode(errors="replace").strip().splitlines()


@pytest.mark.root
@pytest.mark.kernel
@pytest.mark.registry
@pytest.mark.clang  # bee build --local
def test_base_install_builds_pushes_pulls_and_runs(base_python: Path, base_bee, registry_plain, store_dir: Path,
                                                   tmp_path: Path, trigger) -> None:
    ref = registry_plain.ref("base/tiny", "v1")
    built = base_bee("build", str(DATA / "src" / "tiny.c"), ref, "--local", "-o", str(tmp_path / "tiny.o"))
    assert built.returncode == 0, built.stderr
    for args in (("describe", ref), ("tag", ref, "tiny:v1"), ("list",), ("rm", "tiny:v1")):
        done = base_bee(*args)
        assert done.returncode == 0, done.stderr
    assert "print_events" in base_bee("describe", ref).stdout
    env = _env(BEE_STORAGE=str(store_dir), DOCKER_CONFIG=str(tmp_path / "none"))
    code, shown = _on_a_terminal([str(base_python), "-m", "bee", "--config-dir", str(tmp_path / "cfg"), "--plain-http",
                                  "push", ref], env, tmp_path)
    digest = LocalStore(store_dir).resolve(ref).digest
    assert (code, shown) == (0, [f"Pushed {ref} ({digest})"]), shown  # without rich: no progress bars
    assert base_bee("rm", ref).returncode == 0
    port = free_port()
    proc = subprocess.Popen([str(base_python), "-m", "bee", "--config-dir", str(tmp_path / "cfg"), "--plain-http",
                             "run", ref, "--no-tty", "--format", "json", "--prom-port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = BeeRun(proc, port)
    try:
        run.wait_ready()
        assert any(line.startswith(f"bee: pulled {ref}") for line in run.stderr_lines), run.stderr_lines
        trigger("beebase")
        run.wait_for(lambda: [e for e in run.events("print_events") if e["event"]["comm"] == "beebase"],
                     what="an event from the base install")
        read = run.metric_lines('bee_events_read_total{map="print_events"}')
        assert read and float(read[0].rsplit(" ", 1)[1]) >= 1, read
        run.stop(signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_commands_of_an_extra_name_it(base_bee, tmp_path: Path, store_dir: Path) -> None:
    init = base_bee("init", "--program-type", "Network", "-m", "HashMap", "-o", "counter", "-f", "p.c")
    assert_one_line_error(init, "Error: bee init needs the Python package jinja2 from bee's build extra, which is "
                                "not installed: pip install 'bee[build]'")
    assert not (tmp_path / "p.c").exists()
    build = base_bee("build", str(DATA / "src" / "hello.c"), "hello:v1")
    assert_one_line_error(build, "building in a container needs the Python package docker from bee's build extra",
                          "pip install 'bee[build]', or build with --local")
    package = base_bee("package", "hello:v1", "bee-test/hello:v1")
    assert_one_line_error(package, "bee package needs the Python package docker", "pip install 'bee[build]'")
    for proc in (init, build, package):
        assert proc.returncode == 1


@pytest.mark.root
@pytest.mark.kernel
def test_interactive_view_without_textual_says_so(base_python: Path, object_file, tmp_path: Path,
                                                  store_dir: Path) -> None:
    """On a terminal, `bee run` without bee[tui] fails before attaching, naming the extra and --no-tty."""
    code, shown = _on_a_terminal([str(base_python), "-m", "bee", "run", object_file("tiny"), "--prom-port",
                                  str(free_port())], _env(BEE_STORAGE=str(store_dir)), tmp_path)
    assert code == 1
    assert shown == ["Error: the interactive view of bee run needs the Python package textual from bee's tui extra, "
                     "which is not installed: pip install 'bee[tui]', or run with --no-tty for the event log"], shown
