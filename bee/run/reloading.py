"""`Reloader`: a run with a runner config applies the config's changes while it runs.

It looks at the config file every `CHECK_INTERVAL` seconds (`bee.run.reload.ConfigWatcher`: an edit in place
or a Kubernetes ConfigMap's symbolic-link swap) and reloads at once on `request()` (SIGHUP). A reload
reads and validates the whole file and plans it against the config running (`plan_reload`); a file that
does not parse, or a change no reload can apply (the metrics address, the event log format), is refused
with one line, `bee: reload refused: ...`, and the programs running keep running as they were. Otherwise
the programs removed are detached, those added pulled (per their pull policy) and started (their
"attached" or warning lines), the others left alone (`bee.run.liveset`), and then one line
`bee: reload: +A -R (K unchanged): ...` says what was done.
The work is done on the reloader's own thread, `bee-reload`; the event loop only swaps its rings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from bee.errors import BeeError
from bee.run.config import RunnerConfig, load_config
from bee.run.liveset import LiveSet
from bee.run.reload import ConfigWatcher, ReloadPlan, plan_reload
from bee.run.runconfig import options_of
from bee.run.settings import ProgramOptions

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from typing import IO

#: Seconds between two looks at the config file.
CHECK_INTERVAL = 1.0


class Reloader:
    """Reloads `config`'s file into `live` until `stop` is set; see the module docstring."""

    def __init__(self, config: RunnerConfig, live: LiveSet, stop: threading.Event, err: IO[str],
                 pull: Callable[[ProgramOptions], None] | None = None) -> None:
        """`pull(options)` fetches an added program per its pull policy (BeeError: that program fails)."""
        self.config, self.live, self._stop, self._err, self._pull = config, live, stop, err, pull
        self._watcher = ConfigWatcher(Path(config.file))
        self._asked = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bee-reload", daemon=True)

    def start(self) -> Reloader:
        """Start watching; returns self."""
        self._thread.start()
        return self

    def request(self) -> None:
        """Reload now (from any thread, or the SIGHUP handler: it only sets an event)."""
        self._asked.set()

    def join(self) -> None:
        """Wait for the thread to end, a reload under way included (after `stop` is set)."""
        self._asked.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            asked = self._asked.wait(CHECK_INTERVAL)
            if self._stop.is_set():
                return
            self._asked.clear()
            if self._watcher.changed() or asked:
                self.reload()

    def reload(self) -> ReloadPlan | None:
        """Read the config file again and apply it; returns what was done, or None when it was refused."""
        try:
            new = load_config(Path(self.config.file))
            plan = plan_reload(self.config, new)
        except BeeError as exc:
            running = ", ".join(self.live.lineup.names) or "none"
            self._say(f"reload refused: {exc.message}; the programs running keep running ({running})")
            return None
        self.live.remove([p.name for p in plan.remove])
        self.live.add([options_of(entry) for entry in plan.add], self._pull)
        self.live.poller.interval = new.poll_interval
        self.config = new
        self._say(plan.summary())  # last: once it is written, the scrapes show the new set
        return plan

    def _say(self, line: str) -> None:
        self._err.write(f"bee: {line}\n")
        self._err.flush()
