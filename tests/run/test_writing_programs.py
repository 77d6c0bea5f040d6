"""Every program of docs/writing-programs.md, as the page shows it: compiled with `bee build --local`,
run with `bee run --no-tty`, given the events its comment names, and its output checked.

A program's comment (`<!-- checked by tests/run/test_writing_programs.py ... -->`, just before its
```c block) says, one per line: `run:` extra `bee run` arguments; `cause:` events, separated by `;`
(`exec NAME [PROGRAM ARGS...]` runs PROGRAM, /bin/true by default, under the command name NAME;
`connect PORT` tries a TCP connection to 127.0.0.1:PORT); `metrics:` a regular expression the
scrape must match; `no metrics:` one it must not; `events:` one some stdout line must match.
"""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run.conftest import BeeRun

pytestmark = pytest.mark.clang

PAGE = Path(__file__).resolve().parents[2] / "docs" / "writing-programs.md"
MARK = "<!-- checked by tests/run/test_writing_programs.py"
BLOCK = re.compile(re.escape(MARK) + r"\n(?P<spec>.*?)-->\n```c\n(?P<source>.*?)```", re.S)


class DocProgram:
    """One program of the page and what its comment asks."""

    def __init__(self, spec: str, source: str) -> None:
        self.source = source
        self.name = re.search(r"^// (\w+):", source, re.M).group(1)  # type: ignore[union-attr]
        self.run: list[str] = []
        self.causes: list[list[str]] = []
        self.metrics: list[str] = []
        self.no_metrics: list[str] = []
        self.events: list[str] = []
        for line in spec.strip().splitlines():
            key, _, value = line.partition(":")
            value = value.strip()
            if key == "run":
                self.run = shlex.split(value)
            elif key == "cause":
                self.causes = [shlex.split(part) for part in value.split(";")]
            elif key == "metrics":
                self.metrics.append(value)
            elif key == "no metrics":
                self.no_metrics.append(value)
            elif key == "events":
                self.events.append(value)
            else:
                raise AssertionError(f"unknown line in a checked program's comment: {line!r}")


def doc_programs() -> list[DocProgram]:
    programs = [DocProgram(m["spec"], m["source"]) for m in BLOCK.finditer(PAGE.read_text())]
    assert len(programs) == PAGE.read_text().count(MARK), "a checked comment not followed by a ```c block"
    return programs


def test_every_c_block_of_the_page_is_checked() -> None:
    text = PAGE.read_text()
    assert text.count("```c\n") == len(doc_programs()) >= 7


def cause(event: list[str], tmp_path: Path) -> None:
    what, *args = event
    if what == "exec":
        name, program, *rest = [*args, "/bin/true"] if len(args) == 1 else args
        path = tmp_path / "bin" / name
        path.parent.mkdir(exist_ok=True)
        if not path.exists():
            path.write_bytes(Path(program).read_bytes())
            path.chmod(0o755)
        subprocess.run([str(path), *rest], capture_output=True, timeout=30, check=False)
    elif what == "connect":
        with socket.socket() as sock, pytest.raises(OSError):
            sock.settimeout(5)
            sock.connect(("127.0.0.1", int(args[0])))  # nothing listens: refused, after SYN_SENT
    else:
        raise AssertionError(f"unknown cause {what!r}")


@pytest.mark.parametrize("program", doc_programs(), ids=lambda p: p.name)
def test_the_program_builds_runs_and_shows_what_the_page_says(program: DocProgram, bee_run, tmp_path: Path) -> None:
    source = tmp_path / f"{program.name}.c"
    source.write_text(program.source)
    built = subprocess.run([sys.executable, "-m", "bee", "build", str(source), "--local", "--binary-only",
                            "-o", str(tmp_path / f"{program.name}.o")], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    run: BeeRun = bee_run(str(tmp_path / f"{program.name}.o"), *program.run)
    for event in program.causes:
        cause(event, tmp_path)
    for pattern in program.metrics:
        run.wait_for(lambda p=pattern: re.search(p, run.scrape()), what=f"metrics matching {pattern!r}")
    for pattern in program.events:
        run.wait_for(lambda p=pattern: any(re.search(p, line) for line in list(run.stdout_lines)),
                     what=f"an event matching {pattern!r}")
    text = run.scrape()
    for pattern in program.no_metrics:
        assert not re.search(pattern, text), f"{pattern!r} in {text}"
    run.stop()
