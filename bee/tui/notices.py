"""`Notices`: where a run on a terminal writes its stderr lines ("bee: warning: program ... did not start")
while the view is up, so that they never land on the screen the view draws.

Each complete line is kept (the last `KEEP`) and, once `show_in(model)` is called, handed to the model,
which shows it under the table; lines written before that are handed over then. `replay(stream)` writes
the lines kept to `stream` (the real stderr) once the view has closed. Thread-safe: the kernel thread
writes while the main thread draws.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import IO

from bee.tui.model import TuiModel

KEEP = 50


class Notices:
    """A text stream (`write`, `flush`) of lines for the view; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._partial = ""
        self._lines: deque[str] = deque(maxlen=KEEP)
        self._model: TuiModel | None = None

    def write(self, text: str) -> int:
        """Take `text`; every line it completes is kept and shown. Returns len(text)."""
        with self._lock:
            *lines, self._partial = (self._partial + text).split("\n")
            self._lines.extend(lines)
            model = self._model
        if model is not None:
            for line in lines:
                model.notice(line)
        return len(text)

    def flush(self) -> None:
        """Nothing to do: lines are shown as they are completed."""

    def show_in(self, model: TuiModel) -> None:
        """Show the lines kept so far, and every line written from now on, in `model`."""
        with self._lock:
            self._model = model
            lines = list(self._lines)
        for line in lines:
            model.notice(line)

    def replay(self, stream: IO[str]) -> None:
        """Write the lines kept (and an unfinished one) to `stream` and flush it."""
        with self._lock:
            lines = [*self._lines, *([self._partial] if self._partial else [])]
        stream.writelines(line + "\n" for line in lines)
        stream.flush()
