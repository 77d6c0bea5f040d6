"""`bee run`: load a program, attach it, and turn its maps into metrics and event logs until signalled.

Order of work (libbpf-bootstrap's sequence): read and parse the object (no kernel) → check
privileges → open → load on the `bee-load` thread, while this thread binds the metrics port and
builds the outputs → attach → start readers → serve. On SIGINT/SIGTERM, or any failure: stop
readers → destroy links → free ring buffers → close the object (after the load has ended) →
stop the server, in that order, so nothing stays attached in the kernel.

Threads: the ring-buffer poll runs where `_run_kernel` runs (the main thread when logging, a
worker thread under the interactive view, which then owns the main thread); hash maps are read
by the `bee-map-poller` thread; the event log and the metrics server have their own threads.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from bee.elf.maps import BPF_MAP_TYPE_RINGBUF
from bee.elf.spec import KERNEL_BTF_KINDS, ObjectSpec, ProgramSpec, load_spec
from bee.errors import BeeError, UsageError
from bee.log import get as get_logger
from bee.run.settings import RunSettings
from bee.run.source import ProgramSource, load_program

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (bee run's start-up)
if TYPE_CHECKING:
    from typing import IO, Any

    from bee.libbpf.object import BpfObject
    from bee.run.outputs import HashOutput, RingOutput

log = get_logger("bee.run")

INTERFACE_KINDS = {"xdp", "tc"}
POLL_TIMEOUT_MS = 100
#: Seconds between thread switches while the object loads (see `_Loading`).
_SWITCH_INTERVAL = 0.0002


class RunError(BeeError):
    """`bee run` cannot go on (attach target missing, map not usable, no privileges)."""


class Attached:
    """What one run holds in the kernel and in user space, closed by `Runner.close()`."""

    __slots__ = ("programs", "ring_outputs", "hash_outputs")

    def __init__(self) -> None:
        self.programs: list[tuple[str, str, str]] = []  # (function, section, target)
        self.ring_outputs: dict[str, RingOutput] = {}
        self.hash_outputs: list[tuple[str, HashOutput]] = []  # (map name, output)


def _normalized(source: ProgramSource, spec: ObjectSpec) -> bytes:
    """The object bytes libbpf can open: legacy `.maps.<kind>` sections merged into `.maps`, and ring
    buffers without BTF key/value types (created once rather than refused, then retried without BTF)."""
    from bee.elf.ringbuf_btf import untype_ring_buffers

    if not any(m.convention == "section" for m in spec.maps):
        if not any(m.map_type == BPF_MAP_TYPE_RINGBUF and (m.key_type_id or m.value_type_id) for m in spec.maps):
            return source.data
        return untype_ring_buffers(source.data, source.location, elf=spec.elf, btf=spec.btf)
    from bee.elf.normalize import merge_map_sections

    return untype_ring_buffers(merge_map_sections(source.data, source.location), source.location)


def _btf_cache_entry(spec: ObjectSpec, data: bytes) -> Path | None:
    """The `bee.run.btfcache` entry for `data`, for objects whose only use of the kernel's BTF is CO-RE
    (libbpf reads all of it anyway for tp_btf, fentry... programs); None for the others."""
    from bee.elf.btf_ext import core_relocations
    from bee.errors import ElfError

    if any(p.kind in KERNEL_BTF_KINDS for p in spec.programs):
        return None
    try:
        if not core_relocations(spec.elf, spec.btf):
            return None
    except ElfError:  # libbpf ignores a .BTF.ext it cannot read
        return None
    from bee.libbpf import libbpf_version
    from bee.run import btfcache

    return btfcache.entry_for(data, ".".join(map(str, libbpf_version())))


def _interface_index(name: str) -> int:
    try:
        return socket.if_nametoindex(name)
    except OSError:
        raise UsageError(f"there is no network interface named {name!r}") from None


def _start_server(registry: Any, host: str | None, port: int) -> Any:
    """Serve metrics on `host`, or on every interface: `::` (IPv6 and IPv4), else `0.0.0.0` on hosts
    without IPv6. A taken port fails here, before any program is attached."""
    from bee.sinks.http import MetricsServer

    if host is None and socket.has_ipv6:
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            probe.close()
            host = "::"
        except OSError:
            host = None
    server = MetricsServer(registry, host or "0.0.0.0", port)
    server.start()
    return server


class _Loading:
    """A BPF object opened here and loaded into the kernel on a thread of its own (`bee-load`).

    libbpf's load (kernel BTF parsing for CO-RE, map creation, verifier) spends its time in C
    and in the kernel, without the GIL, so it overlaps the Python work the caller does
    meanwhile. `result()` waits and hands over the loaded object, which the caller then
    closes; `close()` waits and closes it unless it was handed over. Either must be called.
    While the load runs, the interpreter switches threads every `_SWITCH_INTERVAL` seconds
    rather than every 5 ms, so that libbpf's log callbacks (Python, on the loading thread)
    do not wait behind the caller's Python work.
    """

    def __init__(self, data: bytes, name: str, btf_cache: Path | None = None, rings: list[str] | None = None) -> None:
        """Open `data` (no kernel; LibbpfError when libbpf cannot parse it) and start loading it.

        `btf_cache` is the `bee.run.btfcache` entry of the object: when it holds a minimal kernel
        BTF, CO-RE is relocated against it, and the load is done again against the kernel's own BTF
        when a relocation does not match it or the load fails. The pages of the ring-buffer maps
        named in `rings` are mapped after the load, on the same thread (`BpfObject.map_rings`)."""
        from bee.libbpf.object import BpfObject

        self._data, self._name, self._cache, self._rings = data, name, btf_cache, rings or []
        self._custom_btf: str | None = None
        if btf_cache is not None:
            from bee.run import btfcache

            self._custom_btf = btfcache.usable(btf_cache)
        self._fill = False
        obj = BpfObject.open(data, name, btf_custom_path=self._custom_btf)
        self._obj: BpfObject | None = obj
        self._error: BaseException | None = None
        self._switch_interval: float | None = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, _SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._load, args=(obj,), name="bee-load", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def _load(self, obj: BpfObject) -> None:
        try:
            self._load_object(obj)
            assert self._obj is not None
            self._obj.map_rings(self._rings)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc

    def _load_object(self, obj: BpfObject) -> None:
        if self._custom_btf is None:
            obj.load()
            self._fill = (self._cache is not None and not obj.unmatched_core_relocations
                          and not self._cache.exists())  # an empty entry says "never"
            return
        try:
            obj.load()
            if not obj.unmatched_core_relocations:
                return
            reason = f"{obj.unmatched_core_relocations} CO-RE relocations matched none of its types"
        except BeeError as exc:
            reason = str(exc)
        log.debug("loading against the minimal BTF %s failed (%s): loading against the kernel's", self._custom_btf,
                  reason)
        obj.close()
        from bee.libbpf.object import BpfObject

        obj = self._obj = BpfObject.open(self._data, self._name)
        obj.load()
        if self._cache is not None:
            from bee.run import btfcache

            btfcache.mark_unusable(self._cache)

    def _wait(self) -> None:
        """Join the loading thread; a KeyboardInterrupt meanwhile is re-raised only once it ended."""
        interrupted: KeyboardInterrupt | None = None
        while self._thread.is_alive():
            try:
                self._thread.join()
            except KeyboardInterrupt as exc:
                interrupted = exc
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        if interrupted is not None:
            self.close()
            raise interrupted

    def result(self) -> BpfObject:
        """The loaded object, now the caller's to close; the load's error (VerifierError, LoadError...)
        with the object closed."""
        self._wait()
        obj, self._obj = self._obj, None
        if obj is None:
            raise RunError("the BPF object was already handed over or closed")
        if self._error is not None:
            obj.close()
            raise self._error
        return obj

    def cache_filler(self) -> Any:
        """A `btfcache.Filler` to start once the run is attached (to `stop()` when it ends), or None:
        only after a load against the kernel's own BTF that matched every CO-RE relocation."""
        if not self._fill or self._cache is None:
            return None
        from bee.run import btfcache

        return btfcache.Filler(self._data, self._cache)

    def close(self) -> None:
        """Wait for the load and close the object unless `result()` handed it over. Idempotent."""
        self._wait()
        obj, self._obj = self._obj, None
        if obj is not None:
            obj.close()


class Runner:
    """One `bee run`. Use `run()`; `stop()` may be called from any thread or a signal handler."""

    def __init__(self, settings: RunSettings, store_root: Path, *, out: IO[bytes] | None = None,
                 err: IO[str] | None = None, on_ready: Callable[[], None] | None = None) -> None:
        """`on_ready` is called once every program is attached and the readers run (from the thread
        that runs the kernel work), after the "attached" line."""
        self.settings = settings
        self._on_ready = on_ready
        self.store_root = store_root
        self.out = out if out is not None else sys.stdout.buffer
        self.err = err if err is not None else sys.stderr
        self._stop = threading.Event()
        self._ring: Any = None  # the ring buffer the event loop polls, while it does
        self.server: Any = None
        self.registry: Any = None

    # -- public -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to end; it detaches everything and returns from `run()` within a second."""
        self._stop.set()
        ring = self._ring
        if ring is not None:
            ring.wake()  # the event loop's wait ends now, not at its next timeout

    def run(self) -> None:
        """Run until `stop()` or a signal. Raises BeeError subclasses for every expected failure.

        On a terminal (stdout and stdin TTYs, no `--no-tty`, no `out` given) the interactive view
        owns the main thread and the kernel work runs in a worker thread; otherwise events are logged.
        The filters are read and the metrics port bound before anything touches the kernel (a bad
        regex or a taken port costs no load); the object is then loaded on its own thread
        (`_Loading`) while the outputs are made; any failure waits for that load and closes the object.
        """
        settings = self.settings
        source = load_program(settings.program, self.store_root)
        spec = load_spec(source.data, name=source.location)
        self._check_spec(spec)
        data = _normalized(source, spec)
        self._check_privileges(spec)

        with contextlib.ExitStack() as stack:
            from bee.sinks.filters import FilterSet
            from bee.sinks.metrics import MetricsRegistry

            filters = FilterSet.parse(settings.filters)
            self.registry = MetricsRegistry()
            self.server = _start_server(self.registry, settings.prom_host, settings.prom_port)
            stack.callback(self.server.stop)
            # print maps are read in place (unless filtered): their pages are mapped on the load thread
            rings = [] if self._interactive() else [m.name for m in spec.tracked_maps
                                                     if m.type_name == "ringbuf" and m.output == "print"]
            loading = _Loading(data, source.name, _btf_cache_entry(spec, data), rings)
            stack.callback(loading.close)  # after a failure here: wait for the load, close the object
            # From here on, Python work (imports included) overlaps the load.
            attached = Attached()
            if not self._interactive():
                from bee.sinks.eventlog import EventLog

                event_log = EventLog(self.out, fmt=settings.fmt)  # type: ignore[arg-type]
                stack.callback(event_log.close)
                self.registry.on_collect(lambda: self._publish_lost(event_log))
                self._make_outputs(spec, attached, event_log, filters, None)
                self._run_kernel(loading, spec, attached, lambda: self._announce(source, attached))
                return
            from bee.tui.model import TuiModel
            from bee.tui.session import run_session

            view = TuiModel.for_spec(spec, source.location, self.server.url + "/metrics", filters)
            self._make_outputs(spec, attached, None, filters, view)
            run_session(view, lambda: self._run_kernel(loading, spec, attached,
                                                       lambda: view.attached(attached.programs)),
                        self._stop)

    def _interactive(self) -> bool:
        """True when the run shows the interactive view rather than the event log."""
        if self.settings.no_tty or self.out is not sys.stdout.buffer:
            return False
        try:
            return sys.stdout.isatty() and sys.stdin.isatty()
        except (AttributeError, ValueError):
            return False

    def _run_kernel(self, loading: _Loading, spec: ObjectSpec, attached: Attached,
                    on_ready: Callable[[], None]) -> None:
        """Take the loaded object, attach, then read until stopped; closes links → ring buffers → object
        on the way out.

        Runs on the main thread (event log) or on the view's worker thread; SIGINT/SIGTERM are
        handled here only on the main thread."""
        with contextlib.ExitStack() as stack:
            obj = loading.result()
            stack.callback(obj.close)  # links → ring buffers → object
            self._attach(obj, spec, attached)
            self._pin(obj)
            maps = [(obj.map(name), out) for name, out in attached.hash_outputs]
            handlers: dict[Any, Callable[[bytes], object]] = dict(attached.ring_outputs)
            ring = obj.ring_buffer(handlers) if handlers else None
            self._ring = ring
            if ring is not None:
                self.registry.on_collect(lambda: self._publish_full(ring))
            stack.callback(setattr, self, "_ring", None)
            with self._signals_handled():
                poller = self._start_poller(maps)
                stack.callback(poller.join)
                stack.callback(self._stop.set)
                self.server.mark_ready()
                on_ready()
                if self._on_ready is not None:
                    self._on_ready()
                filler = loading.cache_filler()
                if filler is not None:
                    filler.start()
                    stack.callback(filler.stop)
                self._loop(ring)

    # -- checks -------------------------------------------------------------------------------

    def _check_spec(self, spec: ObjectSpec) -> None:
        if not spec.programs:
            raise RunError(f"{spec.name} has no BPF programs to attach")
        for m in spec.maps:
            if m.unsupported:
                raise RunError(m.unsupported)
        needs_iface = [p for p in spec.programs if p.kind in INTERFACE_KINDS]
        if needs_iface and not self.settings.iface:
            p = needs_iface[0]
            raise UsageError(f"program {p.function} (section {p.section}) attaches to a network interface; "
                             "name one with --iface NAME")
        if needs_iface:
            _interface_index(self.settings.iface or "")  # a wrong name fails before the port is bound

    def _check_privileges(self, spec: ObjectSpec) -> None:
        """RunError before the kernel is touched: missing privileges, or an object that needs the
        kernel's BTF (CO-RE relocations, tp_btf/fentry/fexit/lsm/iter/struct_ops programs) on a
        kernel without it. An object that needs no kernel BTF runs on such a kernel silently."""
        from bee.libbpf import system

        network = any(p.kind in INTERFACE_KINDS for p in spec.programs)
        problem = system.privilege_problem(network=network)
        if problem:
            raise RunError(problem)
        if not system.kernel_has_btf():
            needs = spec.kernel_btf_needs()
            if needs:
                more = f" (and {len(needs) - 1} more like it)" if len(needs) > 1 else ""
                raise RunError(f"{needs[0]}{more}, which needs the kernel's BTF, but this kernel has none "
                               f"({system.VMLINUX_BTF} is missing): the kernel must be built with "
                               "CONFIG_DEBUG_INFO_BTF=y")

    # -- attach -------------------------------------------------------------------------------

    def _attach(self, obj: Any, spec: ObjectSpec, attached: Attached) -> None:
        from bee.libbpf import system

        if any(p.kind in ("tracepoint", "tp", "ksyscall", "kprobe", "kretprobe", "uprobe", "uretprobe")
               for p in spec.programs):
            system.ensure_tracefs()
        by_function = {p.function: p for p in spec.programs}
        for name, program in obj.programs.items():
            pspec: ProgramSpec | None = by_function.get(name)
            kind = pspec.kind if pspec else None
            section = pspec.section if pspec else program.section
            if kind == "xdp":
                program.attach_xdp(_interface_index(self.settings.iface or ""))
                target = f"xdp on {self.settings.iface}"
            elif kind == "tc":
                direction = "egress" if "egress" in section else "ingress"
                program.attach_tc(_interface_index(self.settings.iface or ""), direction)
                target = f"tc {direction} on {self.settings.iface}"
            else:
                program.attach()
                target = (pspec.hook if pspec and pspec.hook else section)
            attached.programs.append((name, section, target))

    def _pin(self, obj: Any) -> None:
        from bee.libbpf import system

        settings = self.settings
        for directory, items in ((settings.pin_maps, obj.maps), (settings.pin_progs, obj.programs)):
            if directory is None:
                continue
            system.ensure_bpffs(directory)  # a fresh boot has none mounted at /sys/fs/bpf
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RunError(f"cannot create the pin directory {directory}: {exc.strerror or exc}") from exc
            for name, item in items.items():
                if not name.startswith("."):  # .rodata/.bss internal maps are not pinned
                    item.pin(str(directory / name))

    # -- outputs ------------------------------------------------------------------------------

    def _make_outputs(self, spec: ObjectSpec, attached: Attached, event_log: Any, filters: Any,
                      view: Any) -> None:
        """One output per tracked map (no kernel needed): events go to `event_log`, or to `view`'s tables."""
        from bee.run.outputs import (
            HashCounter,
            HashGauge,
            HashPrint,
            RingCounter,
            RingHistogram,
            RingPrint,
            RunSetupError,
            hash_value_format,
            record_decoder,
        )

        btf = spec.btf
        fields: dict[str, tuple[str, ...]] = {}
        for m in spec.tracked_maps:
            if btf is None:
                raise RunError(f"map {m.name}: the object has no BTF, so its records cannot be decoded")
            if m.type_name == "ringbuf":
                if not m.value_type_id:
                    raise RunSetupError(f"map {m.name}: declare its event type with __type(value, struct ...)")
                decoder = record_decoder(btf, m.value_type_id, "value", spec.endian)
                fields[m.name] = decoder.fields
                show = view.table(m.name).show_event(decoder.fields) if view is not None else None
                out: RingOutput
                if m.output == "print":
                    out = RingPrint(m, decoder, self.registry, event_log, filters, show)
                elif m.output == "counter":
                    out = RingCounter(m, decoder, self.registry, show)
                else:  # hist
                    value_key = self.settings.hist_value_keys.get(m.name, "le")
                    out = RingHistogram(m, decoder, self.registry, value_key,
                                        self.settings.hist_buckets.get(m.name), show)
                attached.ring_outputs[m.name] = out
            else:
                if not m.key_type_id:
                    raise RunSetupError(f"map {m.name}: declare its key type with __type(key, struct ...)")
                key = record_decoder(btf, m.key_type_id, "key", spec.endian)
                fields[m.name] = (*key.fields, "value")
                value = hash_value_format(m, btf, spec.endian)
                shows = view.table(m.name).show_entries(fields[m.name]) if view is not None else None
                hout: HashOutput
                if m.output == "counter":
                    hout = HashCounter(m, key, value, self.registry, shows)
                elif m.output == "gauge":
                    hout = HashGauge(m, key, value, self.registry, shows)
                else:
                    hout = HashPrint(m, key, value, event_log, filters, shows)
                attached.hash_outputs.append((m.name, hout))
        filters.validate(fields)

    def _publish_full(self, ring: Any) -> None:
        for name, count in ring.full_counts().items():
            self.registry.ringbuf_full.follow((name,), count)

    def _publish_lost(self, event_log: Any) -> None:
        for name, lost in event_log.lost_by_map().items():
            self.registry.events_lost.follow((name,), lost)

    # -- readers ------------------------------------------------------------------------------

    def _start_poller(self, maps: list[tuple[Any, HashOutput]]) -> threading.Thread:
        def poll() -> None:
            while True:
                for bpf_map, output in maps:
                    try:
                        output.update(bpf_map.items())
                    except BeeError as exc:
                        self.registry.map_read_errors.inc((output.name,))
                        log.warning("reading map %s failed: %s", output.name, exc)
                if self._stop.wait(self.settings.poll_interval):
                    return

        thread = threading.Thread(target=poll, name="bee-map-poller", daemon=True)
        thread.start()
        return thread

    def _loop(self, ring: Any) -> None:
        from bee.libbpf.errors import LibbpfError

        while not self._stop.is_set():
            if ring is None:
                self._stop.wait(POLL_TIMEOUT_MS / 1000)
                continue
            try:
                if ring.poll(POLL_TIMEOUT_MS) == 0:
                    # nothing woke us: read what programs submitted with BPF_RB_NO_WAKEUP (batching)
                    ring.consume()
            except LibbpfError as exc:
                self.registry.ringbuf_poll_errors.inc(())
                log.warning("ring buffer poll failed: %s", exc)
                self._stop.wait(POLL_TIMEOUT_MS / 1000)

    @contextlib.contextmanager
    def _signals_handled(self) -> Iterator[None]:
        """SIGINT and SIGTERM end the run cleanly (only in the main thread, where Python allows it)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def _announce(self, source: ProgramSource, attached: Attached) -> None:
        count = len(attached.programs)
        hooks = ", ".join(target for _, _, target in attached.programs)
        self.err.write(f"bee: attached {count} program{'s' if count != 1 else ''} from {source.location} "
                       f"({hooks}); metrics on {self.server.url}/metrics\n")
        self.err.flush()
