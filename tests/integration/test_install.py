"""Installing bee as a user would, without the repository's set-up: `pip install .` into a fresh virtualenv
(what `pipx install .` does) gives a `bee` that builds an example with its pinned kernel types, describes it
and runs it. Needs PyPI (the build backend and bee's dependencies), as any `pip install` does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bee import __version__
from tests.helpers import REPO


@pytest.mark.clang  # bee build --local
@pytest.mark.kernel
@pytest.mark.root
def test_pip_install_of_the_checkout_gives_a_working_bee(tmp_path: Path) -> None:
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin") or sys.executable
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    source = tmp_path / "src"  # a copy without the checkout's .venv and caches: what a clone has
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.o", "dist",
                                                                "build", ".fuzz-work", ".*_cache"))
    installed = subprocess.run([venv / "bin" / "pip", "install", "-q", str(source)], capture_output=True, text=True,
                               timeout=600, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    bee = str(venv / "bin" / "bee")
    env = {**os.environ, "BEE_STORAGE": str(tmp_path / "store"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([bee, *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
                              check=False)

    version = run("version")
    assert version.returncode == 0 and version.stdout.splitlines()[0] == __version__, version.stderr
    shutil.copy(REPO / "examples" / "opensnoop" / "opensnoop.c", tmp_path / "opensnoop.c")
    built = run("build", "opensnoop.c", "opensnoop:installed", "--local")
    assert built.returncode == 0, built.stderr
    where = subprocess.run([venv / "bin" / "python", "-c", "import bee; print(bee.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, check=True).stdout.strip()
    assert where.startswith(str(venv)), where  # the installed bee, not this checkout's
    started = subprocess.Popen([bee, "run", "opensnoop:installed", "--no-tty", "--prom-port", "0"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert started.stderr is not None
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = started.stderr.readline()
            lines.append(line)
            if line.startswith("bee: attached") or not line:
                break
        assert lines[-1].startswith("bee: attached 4 programs from opensnoop:installed"), lines
    finally:
        started.terminate()
        assert started.wait(timeout=30) == 0
