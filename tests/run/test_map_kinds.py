"""Counters, gauges and print maps of every common map kind (ARRAY, PERCPU_ARRAY, LRU_HASH, PERCPU_HASH,
LRU_PERCPU_HASH) through the real CLI and the real kernel: exact series after exec's of processes with names
of their own, per-CPU values summed (checked against the per-CPU values bpftool reads), and array entries
that never counted anything left out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import require
from tests.run.test_several import scrape_until


@pytest.fixture
def run_on_cpu(tmp_path: Path) -> Callable[[str, int], None]:
    """Exec /bin/true under `name` (its comm) pinned to CPU `cpu`, and wait for it."""
    require(len(os.sched_getaffinity(0)) >= 2, "needs two CPUs to put a per-CPU value on each")

    def run(name: str, cpu: int) -> None:
        path = tmp_path / "pinned" / name
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            shutil.copy("/bin/true", path)
        subprocess.run([str(path)], check=True, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))

    return run


def ours(lines: list[str]) -> list[str]:
    return sorted(line for line in lines if line.startswith("ebpf_solo_io_"))


@pytest.fixture
def pins() -> Iterator[Path]:
    """A directory on bpffs to pin the run's maps in (so bpftool can read them), removed afterwards."""
    require(Path("/sys/fs/bpf").is_dir() and shutil.which("bpftool") is not None, "needs bpffs and bpftool")
    path = Path("/sys/fs/bpf") / f"bee-test-kinds-{os.getpid()}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def per_cpu_values(pinned: Path) -> list[list[int]]:
    """The per-CPU values (as signed 64-bit integers) of every entry of the pinned map, as bpftool reads them."""
    dumped = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "pinned", str(pinned)], capture_output=True,
                                       text=True, check=True).stdout)
    return [[int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little", signed=True) for v in entry["values"]]
            for entry in dumped]


def test_array_maps(bee_run, object_file, trigger, run_on_cpu, pins: Path) -> None:
    run = bee_run(object_file("maps_arrays"), "--pin-maps", str(pins))
    # an array of one entry has one unlabelled series from the first read; the others nothing yet
    first = scrape_until(run, lambda text: "ebpf_solo_io_gauge_pcpu_level 0" in text, "the one-entry gauges")
    assert ours(first) == ["ebpf_solo_io_gauge_arr_one 0", "ebpf_solo_io_gauge_pcpu_level 0"]
    trigger("beearray")
    run.wait_for(lambda: run.events("print_arr"), what="the first print_arr event")
    trigger("beearray")
    run.wait_for(lambda: len(run.events("print_arr")) == 2, what="the second print_arr event")
    assert [e["event"] for e in run.events("print_arr")] == [{"index": 1, "value": 1}, {"index": 1, "value": 2}]
    run_on_cpu("beeup", 0)
    run_on_cpu("beeup", 0)
    run_on_cpu("beedown", 1)
    lines = scrape_until(run, lambda text: "ebpf_solo_io_gauge_pcpu_level 1" in text
                         and 'ebpf_solo_io_counter_pcpu_arr{index="1"} 2' in text, "the per-CPU sums")
    assert ours(lines) == [
        'ebpf_solo_io_counter_arr{index="3"} 2',  # indexes 0-2, 4, 6 and 7 never counted: not shown
        'ebpf_solo_io_counter_arr{index="5"} 4',
        'ebpf_solo_io_counter_pcpu_arr{index="1"} 2',
        "ebpf_solo_io_gauge_arr_one -5",
        "ebpf_solo_io_gauge_pcpu_level 1",  # 2 on CPU 0, 2^64 - 1 on CPU 1: summed as a u64 holds it
    ]
    assert per_cpu_values(pins / "gauge_pcpu_level")[0][:2] == [2, -1]
    run.stop()


def test_lru_and_per_cpu_hash_maps(bee_run, object_file, trigger, run_on_cpu, pins: Path) -> None:
    run = bee_run(object_file("maps_hashes"), "--pin-maps", str(pins))
    trigger("beehash")
    run.wait_for(lambda: run.events("print_pcpu"), what="the first print_pcpu event")
    trigger("beehash")
    run.wait_for(lambda: len(run.events("print_pcpu")) == 2, what="the second print_pcpu event")
    assert [e["event"] for e in run.events("print_pcpu")] == [{"comm": "beehash", "value": 1},
                                                              {"comm": "beehash", "value": 2}]
    run_on_cpu("beeup", 0)
    run_on_cpu("beeup", 0)
    run_on_cpu("beedown", 1)
    lines = scrape_until(run, lambda text: 'ebpf_solo_io_gauge_lru_pcpu{comm="level"} 1' in text
                         and 'ebpf_solo_io_counter_pcpu{comm="beehash"} 4' in text, "the per-CPU sums")
    assert ours(lines) == [
        'ebpf_solo_io_counter_lru{comm="beehash"} 2',
        'ebpf_solo_io_counter_pcpu{comm="beehash"} 4',
        'ebpf_solo_io_gauge_lru_pcpu{comm="level"} 1',  # s64: 2 on CPU 0, -1 on CPU 1
        'ebpf_solo_io_gauge_lru{comm="beehash"} 9',
    ]
    assert per_cpu_values(pins / "gauge_lru_pcpu")[0][:2] == [2, -1]
    assert "# HELP ebpf_solo_io_counter_pcpu counter from BPF map counter_pcpu (percpu_hash)" in lines
    assert "# HELP ebpf_solo_io_gauge_lru_pcpu gauge from BPF map gauge_lru_pcpu (lru_percpu_hash)" in lines
    run.stop()
