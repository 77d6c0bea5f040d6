"""The start-up budget of `bee run` (docs/dev/startup.md): up to the "attached" line, the real entry point
imports none of the costly third-party modules and no bee module the budget does not list.

Both lists are read from the fenced blocks of docs/dev/startup.md, so the page and the check cannot differ.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

BUDGET_PAGE = REPO / "docs" / "dev" / "startup.md"
#: At least these must stay banned (the page may add more).
COSTLY = {"click", "textual", "rich", "requests", "urllib3", "oras", "docker", "jinja2", "prometheus_client"}


def fenced_block(name: str) -> list[tuple[str, str]]:
    """The (first word, rest of the line) pairs of the page's ```name block, comments and blank lines left out."""
    lines = BUDGET_PAGE.read_text().splitlines()
    start = lines.index(f"```{name}") + 1
    end = lines.index("```", start)
    pairs = []
    for line in lines[start:end]:
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, reason = line.strip().partition(" ")
            pairs.append((word, reason.strip()))
    return pairs


def in_budget(module: str, patterns: list[str]) -> bool:
    """Whether `patterns` name `module`: itself, or `package.*` for a package and all its modules."""
    return any(module == p.removesuffix(".*") or (p.endswith(".*") and module.startswith(p[:-1])) for p in patterns)


def test_the_budget_lists_real_modules_each_with_a_reason() -> None:
    budget = fenced_block("startup-budget")
    banned = fenced_block("startup-banned")
    assert budget and all(reason for _, reason in budget + banned), "every line says why"
    for pattern, _ in budget:
        assert pattern.startswith("bee"), pattern
        assert importlib.util.find_spec(pattern.removesuffix(".*")) is not None, f"{pattern} does not exist"
    assert {name for name, _ in banned} >= COSTLY
    assert in_budget("bee.run", ["bee.run.*"]) and in_budget("bee.run.runner", ["bee.run.*"])
    assert not in_budget("bee.runner", ["bee.run.*"]) and not in_budget("bee.elf.btf", ["bee.elf"])


WATCHER = """\
import sys
from bee.run import start

watched = start.end_of_start_up

def watching():
    modules = sorted(sys.modules)
    import json, os, signal
    print('modules:', json.dumps(modules), file=sys.stderr, flush=True)
    watched()
    os.kill(os.getpid(), signal.SIGINT)

start.end_of_start_up = watching
from bee.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("stored", [False, True], ids=["file-json", "store-text"])
def test_bee_run_imports_only_its_budget_until_attached(object_file, root, tmp_path: Path, stored: bool) -> None:
    """The real entry point, a program file with JSON lines or a stored program with text lines (as the
    benchmark runs it): the modules imported when `end_of_start_up` runs are within the budget."""
    program = object_file("run_types")
    store = tmp_path / "store"
    fmt = "json"
    if stored:
        from bee.oci.index import Platform
        from bee.oci.store import LocalStore

        LocalStore(store).save_program("budget:test", Path(program).read_bytes(), platform=Platform.host())
        program, fmt = "budget:test", "text"
    wrapper = tmp_path / "watch_modules.py"
    wrapper.write_text(WATCHER)
    proc = subprocess.run([sys.executable, str(wrapper), "--storage", str(store), "run", program, "--no-tty",
                           "--format", fmt, "--prom-port", "0", "--prom-addr", "127.0.0.1"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("modules: "))
    modules = json.loads(line.removeprefix("modules: "))
    assert "bee.run.start" in modules and "bee.libbpf.link" in modules  # it did get as far as attaching
    banned = {name for name, _ in fenced_block("startup-banned")}
    assert sorted(m for m in modules if m.split(".")[0] in banned) == []
    budget = [pattern for pattern, _ in fenced_block("startup-budget")]
    assert [m for m in modules if m.split(".")[0] == "bee" and not in_budget(m, budget)] == []
