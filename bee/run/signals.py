"""Signals of a run: SIGINT and SIGTERM end it cleanly; SIGHUP reloads its runner config, or ends it
cleanly when it has none (a closed terminal). The handlers only ask: the work happens elsewhere."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None], hangup: Callable[[], None] | None = None) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM call `stop()`, and SIGHUP `hangup()` (`stop()` when None); only in
    the main thread, where Python allows handlers (elsewhere nothing changes). The previous handlers come
    back at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    on_hangup = hangup if hangup is not None else stop

    def handler(signum: int, frame: FrameType | None) -> None:
        (on_hangup if signum == signal.SIGHUP else stop)()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
