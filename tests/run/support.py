"""Running a `Runner` in this process, on a thread, for tests that look at it from inside."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from bee.run.runner import Runner
from bee.run.settings import RunSettings


@contextlib.contextmanager
def running(settings: RunSettings, store: Path) -> Iterator[Runner]:
    """A Runner started on a thread (output to /dev/null), given once its metrics server is ready or
    after 6 s (the caller asserts what it expects); stopped on the way out, which must end the run
    within 10 s."""
    with open(os.devnull, "wb") as out, open(os.devnull, "w") as err:
        runner = Runner(settings, store, out=out, err=err)
        thread = threading.Thread(target=runner.run)
        thread.start()
        try:
            for _ in range(600):
                if runner.server is not None and runner.server.ready:
                    break
                thread.join(0.01)
            yield runner
        finally:
            runner.stop()
            thread.join(10)
        assert not thread.is_alive(), "the run did not end within 10 s of stop()"
