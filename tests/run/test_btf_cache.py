"""The minimal-BTF cache of `bee run` (bee.run.btfcache): written after a run, used by the next, and
left aside (the load done again against the kernel's BTF) when it does not fit the object."""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bee.elf import parse_btf
from bee.libbpf.object import BpfObject
from bee.run import btfcache
from bee.run.runner import Runner
from bee.run.settings import RunSettings
from tests.goldens import object_bytes
from tests.run.support import running


@pytest.fixture
def cache(root: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private `$XDG_CACHE_HOME`; the cache entries go to `<it>/bee/btf`. The cache is made from the
    kernel's BTF with bpftool (the `kernel` marker's check) for programs loaded as root."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "bee" / "btf"


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str | None]]:
    """The `btf_custom_path` of every `BpfObject.open` meanwhile."""
    seen: list[str | None] = []
    real_open = BpfObject.open.__func__  # type: ignore[attr-defined]

    def spy(cls: type[BpfObject], data: bytes, name: str, **kwargs: object) -> BpfObject:
        seen.append(kwargs.get("btf_custom_path"))  # type: ignore[arg-type]
        return real_open(cls, data, name, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(BpfObject, "open", classmethod(spy))
    yield seen


def _run_until_event(program: Path, tmp_path: Path, marker: str, also: Callable[[], object] = lambda: True
                     ) -> list[str]:
    """Run `program` in-process until an open of a file named `marker` shows in its JSON event log
    (and `also()` is true); returns the lines naming `marker`."""
    settings = RunSettings(programs=(str(program),), no_tty=True, fmt="json", prom_port=0, prom_host="127.0.0.1")
    log = tmp_path / f"{marker}.log"
    with open(log, "wb") as out, open(os.devnull, "w") as err:
        runner = Runner(settings, tmp_path / "store", out=out, err=err)
        thread = threading.Thread(target=runner.run)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while marker not in log.read_text() or not also():
                assert thread.is_alive() and time.monotonic() < deadline, log.read_text()
                if runner.server is not None and runner.server.ready:
                    (tmp_path / marker).touch()
                time.sleep(0.02)
        finally:
            runner.stop()
            thread.join(10)
    assert not thread.is_alive()
    return [line for line in log.read_text().splitlines() if marker in line]


@pytest.fixture
def opensnoop(tmp_path: Path) -> Path:
    """The committed object of examples/opensnoop/opensnoop.c (its programs have CO-RE relocations)."""
    path = tmp_path / "opensnoop.o"
    path.write_bytes(object_bytes("opensnoop"))
    return path


def test_the_first_run_writes_the_entry_the_next_runs_load_with(
        cache: Path, opens: list[str | None], opensnoop: Path, tmp_path: Path) -> None:
    _run_until_event(opensnoop, tmp_path, "first-run", also=lambda: list(cache.glob("*.btf")))
    assert opens == [None]
    (entry,) = cache.glob("*.btf")
    raw = entry.read_bytes()
    assert 0 < len(raw) < 4096 and parse_btf(raw).find("trace_event_raw_sys_enter") is not None
    assert [p.name for p in cache.iterdir()] == [entry.name]  # no temporary files left

    events = _run_until_event(opensnoop, tmp_path, "second-run")
    assert opens == [None, str(entry)]
    assert '"fname": "' in events[0] and "second-run" in events[0]  # decoded as before
    assert entry.read_bytes() == raw


def test_an_entry_that_does_not_fit_is_left_aside(cache: Path, opens: list[str | None], opensnoop: Path,
                                                  tmp_path: Path) -> None:
    """An entry with other types (written for another object): the relocations match nothing, so the
    object is loaded again against the kernel's BTF, and the entry is marked never to be used again."""
    from bee.elf.spec import load_spec
    from bee.libbpf import libbpf_version
    from bee.run.fixups import loadable_bytes

    data = opensnoop.read_bytes()
    entry = btfcache.entry_for(loadable_bytes(data, load_spec(data), str(opensnoop)),
                               ".".join(map(str, libbpf_version())))
    assert entry is not None
    entry.parent.mkdir(parents=True)
    # a valid BTF holding one type, `int`: no candidate for any of opensnoop's relocations
    entry.write_bytes(struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 16, 16, 5)
                      + struct.pack("<IIII", 1, 1 << 24, 4, 32) + b"\0int\0")
    assert [t.name for t in parse_btf(entry.read_bytes()).types] == ["", "int"]
    events = _run_until_event(opensnoop, tmp_path, "misfit")
    assert opens == [str(entry), None]
    assert events and entry.read_bytes() == b""

    _run_until_event(opensnoop, tmp_path, "after-misfit")
    assert opens == [str(entry), None, None]  # never again, and not rewritten
    assert entry.read_bytes() == b""


def test_parameters_survive_the_load_done_again(cache: Path, opens: list[str | None], opensnoop: Path,
                                                tmp_path: Path) -> None:
    """The object opened again for the kernel's BTF gets its parameters' `.rodata` too."""
    from bee.libbpf import libbpf_version
    from bee.run.load import Loading
    from bee.run.prepare import prepare, with_params

    prepared = with_params(prepare(str(opensnoop), tmp_path / "store"), {"target_pid": "4242"}, "opensnoop")
    assert prepared.rodata is not None
    entry = btfcache.entry_for(prepared.data, ".".join(map(str, libbpf_version())))
    assert entry is not None
    entry.parent.mkdir(parents=True)
    entry.write_bytes(struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 16, 16, 5)  # `int` only: fits nothing
                      + struct.pack("<IIII", 1, 1 << 24, 4, 32) + b"\0int\0")
    with Loading(prepared).result() as obj:
        assert opens == [str(entry), None]
        (rodata,) = [m for m in obj.maps.values() if m.btf_value_type_id == prepared.rodata.datasec_id]
        assert rodata.lookup(bytes(4)) == prepared.rodata.data
        assert prepared.rodata.data[:4] == (4242).to_bytes(4, "little")  # target_pid, first in .rodata


def test_an_entry_libbpf_cannot_read_is_left_aside(cache: Path, opens: list[str | None], opensnoop: Path,
                                                   tmp_path: Path) -> None:
    _run_until_event(opensnoop, tmp_path, "fill", also=lambda: list(cache.glob("*.btf")))
    (entry,) = cache.glob("*.btf")
    entry.write_bytes(b"not BTF at all")
    assert _run_until_event(opensnoop, tmp_path, "garbage")
    assert opens == [None, str(entry), None] and entry.read_bytes() == b""


def test_objects_without_core_relocations_have_no_entry(cache: Path, opens: list[str | None],
                                                       object_file: Callable[[str], str], tmp_path: Path) -> None:
    settings = RunSettings(programs=(object_file("run_types"),), no_tty=True, fmt="json", prom_port=0,
                           prom_host="127.0.0.1", poll_interval=0.05)
    with running(settings, tmp_path / "store") as runner:
        assert runner.server is not None and runner.server.ready
    assert opens == [None] and not cache.exists()


def test_stopping_a_fill_leaves_nothing(cache: Path, opensnoop: Path) -> None:
    entry = cache / "x.btf"
    filler = btfcache.Filler(opensnoop.read_bytes(), entry)
    filler.start()
    filler.stop(grace=0)
    assert not [p for p in cache.glob(".tmp-*")] and (not entry.exists() or parse_btf(entry.read_bytes()))


def test_the_oldest_entries_beyond_the_limit_are_removed(tmp_path: Path) -> None:
    """No kernel needed: eviction looks only at the entries' files and their times."""
    now = time.time()
    for i in range(300):
        entry = tmp_path / f"{i:040x}-kernel.btf"
        entry.write_bytes(b"" if i % 7 == 0 else b"btf")  # empty entries ("never") count too
        os.utime(entry, (now - 1000 + i, now - 1000 + i))
    (tmp_path / ".tmp-running").mkdir()  # a fill in progress is not an entry
    btfcache.evict(tmp_path, 256)
    assert sorted(p.name for p in tmp_path.glob("*.btf")) == [f"{i:040x}-kernel.btf" for i in range(44, 300)]
    assert (tmp_path / ".tmp-running").is_dir()
