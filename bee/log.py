"""bee's loggers, which import `logging` only when a message is really logged.

`get(name)` gives a `Logger` with the calls bee uses (`debug`, `info`, `warning`, `exception`,
`log`, `isEnabledFor`), each forwarded to `logging.getLogger(name)`. Until `configure()` is
called, every call is forwarded, so library users and pytest's `caplog` see what `logging`
would show. The CLI calls `configure(level)`: from then on a call below `level` returns at once,
and `logging` (about 10 ms of imports) is imported and set up by the first message that passes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
FORMAT = "bee: %(levelname)s: %(message)s"

_threshold = 0  # 0: not configured, forward everything
_pending: dict[str, Any] | None = None  # basicConfig arguments applied at the first message


def configure(level: int) -> None:
    """Log messages of `level` and above to stderr as "bee: LEVEL: message"; drop the others cheaply."""
    global _threshold, _pending
    _threshold = level
    _pending = {"level": level, "format": FORMAT}
    if level < WARNING:  # debug or verbose output: set `logging` up now, since it will be used
        setup()


def setup() -> Any:
    """Import `logging`, apply what `configure` asked for if not done yet, and return the module
    (for code that installs handlers of its own, like the interactive view)."""
    global _pending
    import logging

    if _pending is not None:
        logging.basicConfig(**_pending)
        _pending = None
    return logging


class Logger:
    """A named logger; see the module docstring."""

    __slots__ = ("name", "_logger")

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger: Any = None

    def _real(self) -> Any:
        if self._logger is None or _pending is not None:
            self._logger = setup().getLogger(self.name)
        return self._logger

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging's name
        if level < _threshold:
            return False
        return bool(self._real().isEnabledFor(level))

    def log(self, level: int, msg: str, *args: object, **kwargs: Any) -> None:
        if level >= _threshold:
            self._real().log(level, msg, *args, **kwargs)

    def debug(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(DEBUG, msg, *args, **kwargs)

    def info(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(INFO, msg, *args, **kwargs)

    def warning(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(WARNING, msg, *args, **kwargs)

    def exception(self, msg: str, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self.log(ERROR, msg, *args, **kwargs)


def get(name: str) -> Logger:
    """The logger called `name` (a new facade each call; they share the `logging` logger)."""
    return Logger(name)
