"""Run the view on the main thread while the kernel work runs in a worker thread.

`run_session(model, kernel, stop)`:
- the worker (`bee-kernel`) calls `kernel()`: open → load → attach → read until `stop` is set,
  closing links → ring buffers → object before it returns. A failure is kept in the model
  and shown; the view then exits on a keypress and the error is raised here.
- the main thread runs the app. SIGINT and SIGTERM set `stop` (the app leaves at its next tick);
  `q` and Ctrl-C quit the app, which sets `stop` too. Either way the worker is joined before
  `run_session` returns, so nothing stays attached.
- should the view not leave within `EXIT_GRACE` seconds of a stop (its terminal hung up and
  blocks), the process exits anyway, the worker having detached everything first.
- log records (bee's and libbpf's) are shown in the view instead of being written over it,
  and the last ones are printed on stderr once the screen is restored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from bee import log
from bee.extras import require
from bee.tui.model import TuiModel

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_GRACE = 5.0  # seconds the view may take to leave once everything is detached


class _ModelHandler(logging.Handler):
    """Log records → `model.notice` (shown by the view)."""

    def __init__(self, model: TuiModel) -> None:
        super().__init__()
        self.model = model
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a bad log call must not break the view
            return
        self.model.notice(text)
        self.lines = [*self.lines[-49:], text]


@contextlib.contextmanager
def _logs_to(model: TuiModel) -> Iterator[_ModelHandler]:
    log.setup()  # bee's stderr handler exists before it is swapped out, and comes back after
    root = logging.getLogger()
    handler = _ModelHandler(model)
    handler.setFormatter(logging.Formatter(log.FORMAT))
    previous = root.handlers[:]
    root.handlers[:] = [handler]
    try:
        yield handler
    finally:
        root.handlers[:] = previous


@contextlib.contextmanager
def _signals_stop(stop: threading.Event) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_session(model: TuiModel, kernel: Callable[[], None], stop: threading.Event) -> None:
    """Show `model` until the user quits or `stop` is set; raise the kernel work's error, if any.

    The kernel work starts before the view's modules are imported (textual: about a quarter of a
    second), so the programs are attached and their events kept meanwhile. Without textual (bee[tui])
    it raises `MissingExtraError` before the kernel work starts."""
    require("textual", "the interactive view of bee run", instead="run with --no-tty for the event log")

    def work() -> None:
        try:
            kernel()
        except BaseException as exc:  # noqa: BLE001 - shown in the view, raised after it
            model.fail(exc)

    worker = threading.Thread(target=work, name="bee-kernel", daemon=True)
    finished = threading.Event()
    with _signals_stop(stop), _logs_to(model) as logs:
        worker.start()
        threading.Thread(target=_watchdog, args=(stop, worker, finished, model), name="bee-exit-guard",
                         daemon=True).start()
        try:
            from bee.tui.app import BeeApp  # textual (bee[tui], ~160 ms): after the kernel work has started

            BeeApp(model, stop).run()
        finally:
            stop.set()
            worker.join()
            finished.set()
    for line in logs.lines:
        print(line, file=sys.stderr)
    if model.error is not None:
        raise model.error


def _watchdog(stop: threading.Event, worker: threading.Thread, finished: threading.Event, model: TuiModel) -> None:
    """Once stopped and detached, end the process if the view cannot leave (a terminal that hangs)."""
    stop.wait()
    worker.join()
    if not finished.wait(EXIT_GRACE):
        os._exit(1 if model.error is not None else 0)
