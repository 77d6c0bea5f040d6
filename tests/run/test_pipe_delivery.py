"""`bee run ... --no-tty | consumer`: each event line reaches the pipe while bee runs, without waiting for a
block buffer to fill or for the exit (the event log writes and flushes what each read gave)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run.conftest import BeeRuns


@pytest.fixture
def runs(root: None, store_dir: Path) -> Iterator[BeeRuns]:
    """bee as a user's shell starts it: without PYTHONUNBUFFERED, so standard output is block-buffered
    by Python unless bee flushes it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    started = BeeRuns(dict(env, BEE_STORAGE=str(store_dir)))
    yield started
    started.close()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_each_event_line_reaches_a_pipe_while_bee_runs(runs: BeeRuns, object_file, trigger, fmt: str) -> None:
    run = runs.start("run", object_file("run_types"), "--no-tty", "--format", fmt)  # stdout: a pipe read by line

    def lines_naming_the_trigger() -> list[str]:
        return [line for line in list(run.stdout_lines) if "beetrigger" in line and "print_events" in line]

    for expected in (1, 2):  # the second too: not only the first write of the run is flushed
        trigger("beetrigger")
        run.wait_for(lambda expected=expected: len(lines_naming_the_trigger()) >= expected,
                     what=f"event line {expected} on the pipe")
        assert run.proc.poll() is None  # delivered while running, not at the exit's flush
    assert len(lines_naming_the_trigger()) == 2
    run.stop()
