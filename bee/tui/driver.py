"""textual's Linux driver, drawing on stdout and surviving a terminal that goes away."""

from __future__ import annotations

import sys
from typing import Any

from textual.app import App
from textual.drivers.linux_driver import LinuxDriver


class _Terminal:
    """stdout for the driver's writer thread; once the terminal is gone (EIO after a hang-up),
    writes are dropped instead of killing the writer, whose queue would then block the app's exit."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> None:
        if not self.gone:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self.gone = True

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self.gone = True

    def fileno(self) -> int:
        return int(self._stream.fileno())


class StdoutDriver(LinuxDriver):
    """textual's Linux driver drawing on stdout (the terminal `bee run` checked), not stderr."""

    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._file = _Terminal(sys.__stdout__)  # type: ignore[assignment]
