"""The stages of bee.run composed by hand: the tables that pick outputs and attachers, the fixups, and
several programs read by one ring loop (what a runner of several programs does)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bee.elf.maps import SUPPORTED_OUTPUTS, map_type_name
from bee.elf.spec import load_spec
from bee.run.attach import ATTACHERS
from bee.run.fixups import loadable_bytes, needs_fixups
from bee.run.outputs.factory import HASH_MAKERS, RING_MAKERS, Sinks
from bee.run.prepare import INTERFACE_KINDS, prepare
from bee.run.program import ProgramRun
from bee.run.readers import HashPoller, RingLoop
from bee.sinks.eventlog import EventLog
from bee.sinks.filters import FilterSet
from bee.sinks.metrics import MetricsRegistry
from tests.run.conftest import bpf_link_ids, bpf_prog_ids


def test_the_output_tables_cover_exactly_the_supported_pairings() -> None:
    supported = {(map_type_name(t), output) for t, outputs in SUPPORTED_OUTPUTS.items() for output in outputs}
    assert set(RING_MAKERS) | set(HASH_MAKERS) == supported
    assert not set(RING_MAKERS) & set(HASH_MAKERS)


def test_programs_on_an_interface_have_their_own_attacher() -> None:
    assert set(ATTACHERS) == set(INTERFACE_KINDS)


def test_fixups_change_only_what_libbpf_cannot_load(object_file: Callable[[str], str]) -> None:
    raw = Path(object_file("run_types")).read_bytes()
    spec = load_spec(raw)
    assert needs_fixups(spec)  # Bumblebee-style ring buffers with __type(value, struct ...)
    fixed = loadable_bytes(raw, spec, "run_types.o")
    assert fixed != raw and len(fixed) == len(raw)
    fixed_spec = load_spec(fixed)
    assert not needs_fixups(fixed_spec)
    assert loadable_bytes(fixed, fixed_spec, "run_types.o") is fixed  # nothing to do: the same bytes
    assert [m.name for m in fixed_spec.maps] == [m.name for m in spec.maps]


def test_two_programs_are_read_by_one_ring_loop_and_closed_without_a_trace(
        root: None, object_file: Callable[[str], str], trigger: Callable[[str], None], tmp_path: Path) -> None:
    programs = [ProgramRun(prepare(object_file(name), tmp_path / "store")) for name in ("run_types", "run_tricky")]
    prints = ["print_events", "print_tricky"]
    before = bpf_prog_ids()
    log_path = tmp_path / "events.jsonl"
    registry, stop = MetricsRegistry(), threading.Event()
    with log_path.open("wb") as out:
        event_log = EventLog(out, fmt="json")
        sinks = Sinks(registry, event_log, FilterSet.parse(()))
        try:
            for program in programs:
                program.start_loading(read_in_place=True)
            for program in programs:
                program.make_outputs(sinks)
            for program in programs:
                program.attach()
            ids = bpf_prog_ids()
            rings = [p.ring for p in programs if p.ring is not None]
            assert len(rings) == 2
            loop = RingLoop(rings, stop, registry)
            poller = HashPoller([m for p in programs for m in p.hash_maps], 0.05, stop, registry).start()
            reader = threading.Thread(target=loop.run)
            reader.start()
            trigger("beetrigger")
            trigger("beetricky")
            deadline = time.monotonic() + 10
            while (any(p.outputs.ring[name].events == 0 for p, name in zip(programs, prints, strict=True))
                   and time.monotonic() < deadline):
                time.sleep(0.05)
            started = time.monotonic()
            stop.set()
            loop.wake()
            reader.join(5)
            poller.join()
            assert not reader.is_alive() and time.monotonic() - started < 1  # woken, not timed out
        finally:
            for program in programs:
                program.close()
            event_log.close()
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [e["event"]["comm"] for e in events if e["map"] == "print_events"] == ["beetrigger"], events
    assert [e["event"]["comm"] for e in events if e["map"] == "print_tricky"] == ["beetricky"], events
    assert all(p.ring is None for p in programs)
    ours = ids - before
    assert len(ours) >= 2 * len(programs[0].hooks)  # both programs were really in the kernel
    assert not ours & bpf_prog_ids() and not bpf_link_ids(ours)  # and nothing of them is left
