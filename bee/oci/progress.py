"""Transfer progress: rich bars on a terminal, nothing otherwise.

`progress_for(stream)` returns a `Progress`; `rich` is imported only when `stream` is a TTY,
so scripted pushes and pulls print nothing but their result line. Without rich (it comes with
bee[tui]) there are no bars, on a terminal either. Use it as a context
manager; `task(name, total)` returns the function to call with each number of bytes moved
(and `reset` to call before a retry starts the transfer over).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, Protocol

Advance = Callable[[int], None]


class Task(Protocol):
    def advance(self, count: int) -> None: ...
    def reset(self) -> None: ...
    def finish(self, note: str = "") -> None: ...


class Progress(Protocol):
    def task(self, name: str, total: int) -> Task: ...
    def __enter__(self) -> Progress: ...
    def __exit__(self, *exc: object) -> None: ...


class _SilentTask:
    def advance(self, count: int) -> None:
        pass

    def reset(self) -> None:
        pass

    def finish(self, note: str = "") -> None:
        pass


class Silent:
    """No output at all."""

    def task(self, name: str, total: int) -> Task:
        return _SilentTask()

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _RichTask:
    def __init__(self, bars: Any, task_id: Any, total: int) -> None:
        self.bars, self.task_id, self.total = bars, task_id, total

    def advance(self, count: int) -> None:
        self.bars.advance(self.task_id, count)

    def reset(self) -> None:
        self.bars.reset(self.task_id, total=self.total)

    def finish(self, note: str = "") -> None:
        fields = {"description": f"{self.bars.tasks[self.task_id].description} {note}".rstrip()} if note else {}
        self.bars.update(self.task_id, completed=self.total, **fields)


class Bars:
    """One rich bar per blob, on `stream`."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._bars = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                              TransferSpeedColumn(), console=Console(file=stream))

    def task(self, name: str, total: int) -> Task:
        return _RichTask(self._bars, self._bars.add_task(name, total=total), total)

    def __enter__(self) -> Bars:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()


def progress_for(stream: IO[str]) -> Progress:
    """Bars on `stream` when it is a terminal and rich is installed, else silence."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return Silent()
    try:
        return Bars(stream)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "rich":
            raise
        return Silent()
