"""`ProgramRun`: one program of a run, from prepared bytes to attached hooks and its readers' inputs.

Lifecycle: `start_loading()` (open, load on a thread) → `make_outputs()` (meanwhile, no kernel) →
`attach()` (take the loaded object, attach, pin, make its ring buffer) → `close()`. `close()` may be
called at any point and more than once: it waits for a load still running and closes the object,
which destroys links, then frees ring buffers, then closes maps and programs. A runner owns any
number of these; nothing here is shared between programs but the `Sinks` they write to.
"""

from __future__ import annotations

import threading

from bee.records import Record
from bee.run.attach import Hook, PinSet, attach_all, pin_all
from bee.run.load import Loading
from bee.run.outputs.factory import ProgramOutputs, Sinks, make_outputs
from bee.run.outputs.hashmap import HashOutput
from bee.run.prepare import PreparedProgram

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from pathlib import Path

    from bee.libbpf.map import Map
    from bee.libbpf.object import BpfObject
    from bee.libbpf.ringbuf import Handler, RingBuffer
    from bee.libbpf.stats import RunStats
    from bee.run.btfcache import Filler
    from bee.sinks.metrics import ProgramMetrics


class Pins(Record):
    """Where to pin a program's maps and programs (None: not pinned)."""

    maps: Path | None = None
    programs: Path | None = None


class ProgramRun:
    """One program of a run; see the module docstring. Not thread-safe: one thread drives it at a time, but
    `run_stats()` may be called from any thread (a scrape's) and `close()` waits for it."""

    def __init__(self, prepared: PreparedProgram, pins: Pins | None = None, name: str | None = None) -> None:
        """`name`: what the run calls it (default: its source's short name)."""
        self.prepared = prepared
        self.name = name if name is not None else prepared.source.name
        self.metrics: ProgramMetrics | None = None  # how its outputs write metrics, once made
        self.pins = pins or Pins()
        self.outputs = ProgramOutputs()
        self.hooks: list[Hook] = []
        self.ring: RingBuffer | None = None  # over its tracked ring buffers, once attached
        self.hash_maps: list[tuple[Map, HashOutput]] = []  # its tracked hash maps, once attached
        self.pinned = PinSet()  # what `attach()` pinned; `unpin()` undoes it when the run fails at its start
        self._loading: Loading | None = None
        self._obj: BpfObject | None = None
        self._closing = threading.Lock()  # `_obj` is let go under it: `run_stats()` never reads a closed object

    @property
    def location(self) -> str:
        """The program as the user named it (path or reference)."""
        return self.prepared.source.location

    def start_loading(self, *, read_in_place: bool) -> None:
        """Open the object and start its load on its own thread. With `read_in_place`, the pages of its
        `print_` ring buffers are mapped on that thread too, for reading records in place."""
        spec = self.prepared.spec
        rings = [m.name for m in spec.tracked_maps if m.type_name == "ringbuf" and m.output == "print"]
        self._loading = Loading(self.prepared, rings if read_in_place else [])

    def make_outputs(self, sinks: Sinks) -> ProgramOutputs:
        """Make the output of every tracked map (no kernel; may overlap the load) and return them."""
        self.metrics = sinks.metrics
        rodata = self.prepared.rodata
        self.outputs = make_outputs(self.prepared.spec, sinks, rodata.data if rodata is not None else None)
        return self.outputs

    def attach(self) -> None:
        """Wait for the load, attach every program, pin, and make the ring buffer over the tracked ring
        buffers. Raises the load's and attach's errors; the pins made are removed on such an error, whatever
        else was made stays for `close()`."""
        if self._loading is None:
            raise RuntimeError("start_loading() must come first")
        obj = self._obj = self._loading.result()
        self.hooks = attach_all(obj, self.prepared.spec, self.prepared.iface)
        self.pinned = pin_all(obj, self.pins.maps, self.pins.programs)
        try:
            self.hash_maps = [(obj.map(name), out) for name, out in self.outputs.hash]
            stacks = self.outputs.stacks
            if stacks is not None and len(stacks.maps) == 1:
                stacks.bind(obj.map(stacks.maps[0]).lookup)
            handlers: dict[str | Map, Handler] = {name: out for name, out in self.outputs.ring.items()}
            self.ring = obj.ring_buffer(handlers) if handlers else None
        except BaseException:
            self.unpin()
            raise

    def unpin(self) -> None:
        """Remove the pins `attach()` made (a run that failed at its start leaves none); idempotent."""
        self.pinned.undo()

    def run_stats(self) -> dict[str, RunStats]:
        """What the kernel counted of each of its loaded BPF programs (by function) while its run-time
        statistics were on (`bee.libbpf.stats`); {} before the load ended and once closed. Raises the
        LibbpfError of a program the kernel will not tell about."""
        with self._closing:
            obj = self._obj
            if obj is None:
                return {}
            return {name: program.run_stats() for name, program in obj.programs.items() if program.loaded}

    def cache_filler(self) -> Filler | None:
        """The BTF cache filler to start once attached (see `Loading.cache_filler`), or None."""
        return self._loading.cache_filler() if self._loading is not None else None

    def close(self) -> None:
        """Detach and free everything of this program (links → ring buffer → object). Idempotent."""
        with self._closing:
            obj, self._obj, self.ring = self._obj, None, None
        if self.outputs.stacks is not None:
            self.outputs.stacks.bind(None)  # a late reader names no stack from a closed map
        if obj is not None:
            obj.close()
        if self._loading is not None:
            self._loading.close()  # waits for a load still running; a no-op once handed over
