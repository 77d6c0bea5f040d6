"""bee's arm64 builds on a real arm64 kernel: Debian's cloud kernel in qemu-system-aarch64 (TCG).

The objects are built on this host (`bee build --local --platform linux/arm64`, so against bee's
pinned arm64 kernel types with -D__TARGET_ARCH_arm64) and run by bee's own runner inside the VM
(`bee run OBJ --no-tty`, Debian's arm64 Python, _cffi_backend and libbpf). One boot runs the three
steps; each test reads its step's events from the serial console and checks their values:
opensnoop (syscall tracepoints), exitsnoop (sched_process_exit, CO-RE reads of task_struct) and
kprobe_openat2.c (a kprobe reading its three arguments with PT_REGS_PARM1..3 and a counter_ hash).

The VM (tests/arm64/vm.py) is assembled from Debian's arm64 packages and cached under
$BEE_ARM64_CACHE or $XDG_CACHE_HOME/bee-arm64. Needs qemu-system-aarch64 (apt-get install
qemu-system-arm) and apt; `python -m tests.arm64.vm` boots the same VM by hand.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.arm64 import vm
from tests.helpers import REPO, require

pytestmark = pytest.mark.clang  # the objects are built here, with bee's local toolchain

HERE = Path(__file__).resolve().parent
SOURCES = {
    "opensnoop": REPO / "examples/opensnoop/opensnoop.c",
    "exitsnoop": REPO / "examples/exitsnoop/exitsnoop.c",
    "kprobe_openat2": HERE / "kprobe_openat2.c",
}
TOKEN = f"bee{os.getpid()}x{int(time.time()) % 100000}"  # file names no other process in the VM opens
OPENED = f"/tmp/{TOKEN}.open"
MISSING = f"/tmp/{TOKEN}.missing"
CREATED = f"/tmp/{TOKEN}.kprobe"
RELATIVE = f"{TOKEN}.rel"
EXIT_SCRIPT = "/tmp/beeexit42"  # the comm of a script run by its #! line is the script's name
KILL_SCRIPT = "/tmp/beekill9"
# arm64's open flags (asm-generic): O_WRONLY 1, O_CREAT 0o100, O_EXCL 0o200, O_TRUNC 0o1000,
# O_LARGEFILE 0o400000 (added by openat(2) on 64-bit), O_CLOEXEC 0o2000000 (added by Python's os.open).
# x86-64's O_LARGEFILE is 0o100000: the flags tell which architecture's values the kernel used.
ARM64_O_LARGEFILE = 0o400000
O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_CLOEXEC = 0o1, 0o100, 0o200, 0o1000, 0o2000000
AT_FDCWD = -100
TIMEOUT = float(os.environ.get("BEE_ARM64_TIMEOUT", "600"))

PY_OPEN = f"""
import os
os.close(os.open({CREATED!r}, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
d = os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY)
os.close(os.open({RELATIVE!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=d))
print("dirfd", d)
"""


def steps() -> str:
    """The shell /init runs: one `bee run` step per program, each with the events it must see."""
    exit_scripts = (f"printf '#!/bin/sh\\nexit 42\\n' > {EXIT_SCRIPT}; printf '#!/bin/sh\\nkill -9 $$\\n' > "
                    f"{KILL_SCRIPT}; chmod +x {EXIT_SCRIPT} {KILL_SCRIPT}\n")
    return exit_scripts + "".join((
        vm.bee_step(
            "opensnoop", "/bee-arm64/opensnoop.o --no-tty",
            trigger=f"sh -c 'echo hello > {OPENED}'; cat {OPENED}; cat {MISSING}",
            wait_for=f"fname={MISSING}$"),
        vm.bee_step(
            "exitsnoop", "/bee-arm64/exitsnoop.o --no-tty",
            trigger=f"{EXIT_SCRIPT} & echo exit42_pid=$!; wait; {KILL_SCRIPT} & echo kill9_pid=$!; wait",
            wait_for="comm=beekill9$"),
        vm.bee_step(
            "kprobe_openat2", "/bee-arm64/kprobe_openat2.o --no-tty --poll-interval 0.2",
            trigger="python3.11 /bee-arm64/open.py",
            wait_for=f"fname={RELATIVE}$",
            after="sleep 1; echo '--- metrics'; wget -q -O - http://127.0.0.1:9091/metrics | grep counter_opens"),
    ))


def build(source: Path, out: Path) -> Path:
    """`bee build SOURCE --local --platform linux/arm64 --binary-only -o OUT`, on this host."""
    proc = subprocess.run([sys.executable, "-m", "bee", "build", str(source), "--local", "--platform", "linux/arm64",
                           "--binary-only", "-o", str(out)], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def boot(tmp_path_factory: pytest.TempPathFactory) -> vm.Boot:
    """One boot of the VM running every step; fails with the console's tail unless it ran to the end."""
    problem = vm.missing_tools()
    require(problem is None, problem or "")
    started = time.monotonic()
    objects = tmp_path_factory.mktemp("arm64-objects")
    built = [build(source, objects / f"{name}.o") for name, source in SOURCES.items()]
    kit = vm.prepare()
    prepared = time.monotonic()
    result = vm.boot(kit, steps(), built, timeout=TIMEOUT, files={"open.py": PY_OPEN.encode()})
    assert not result.timed_out, f"QEMU ran past {TIMEOUT:.0f} s and was killed; console:\n{result.tail()}"
    assert f"{vm.MARK} INIT" in result.marks, f"the VM did not reach /init; console:\n{result.tail()}"
    assert f"{vm.MARK} DONE" in result.marks, f"/init did not finish its steps; console:\n{result.tail()}"
    assert result.returncode == 0, f"QEMU exited with {result.returncode}; console:\n{result.tail()}"
    print(f"\narm64 VM: kernel {kit.release}; initramfs {kit.base.stat().st_size / 2**20:.1f} MiB (cached base, gzip) "
          f"+ {result.payload_bytes / 2**20:.1f} MiB (this run: bee, objects, steps); build + prepare "
          f"{prepared - started:.1f} s, QEMU start to /init {result.marks[f'{vm.MARK} INIT']:.1f} s, "
          f"QEMU total {result.seconds:.1f} s")
    return result


def events(lines: list[str], ring: str) -> list[dict[str, str]]:
    """The fields of each `TIME RING k=v ...` event line of ring buffer `ring` (values have no spaces),
    and the line itself as `_line`."""
    found = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) > 2 and parts[1] == ring:
            found.append({"_line": line, **dict(p.split("=", 1) for p in parts[2:] if "=" in p)})
    return found


def show(*found: dict[str, str]) -> None:
    """Print the event lines a test checked (the proof, with pytest -s)."""
    for event in found:
        print(f"  {event['_line']}")


def step(boot: vm.Boot, name: str) -> vm.Section:
    """Step `name`, checked to have attached, exited 0 and printed events; its timings printed."""
    section = boot.section(name)
    stderr = section.part("stderr")
    assert any(line.startswith("bee: attached") for line in stderr), f"bee did not attach:\n{section.text}"
    assert section.rc == 0, f"bee run exited {section.rc}:\n{section.text}"
    print(f"\n{name}: bee run start to attached {section.uptime('ATTACHED') - section.uptime('BEGIN'):.2f} s, "
          f"step {section.uptime('END') - section.uptime('BEGIN'):.2f} s (VM uptime)")
    return section


def test_opensnoop_sees_opens_with_their_file_names(boot: vm.Boot) -> None:
    section = step(boot, "opensnoop")
    attached = next(line for line in section.part("stderr") if line.startswith("bee: attached"))
    # arm64 has openat(2) only: the example leaves its open(2) programs out of an arm64 build
    assert "attached 2 programs" in attached and "syscalls/sys_enter_openat" in attached, attached
    opens = events(section.part("stdout"), "print_events")
    by_comm = {(e.get("comm"), e.get("fname")): e for e in opens}
    written = by_comm.get(("sh", OPENED))
    read = by_comm.get(("cat", OPENED))
    missing = by_comm.get(("cat", MISSING))
    assert written and read and missing, f"events missing:\n{section.text}"
    assert int(written["flags"]) == O_WRONLY | O_CREAT | O_TRUNC and int(written["ret"]) >= 0, written
    assert int(read["flags"]) == 0 and int(read["ret"]) >= 0, read
    assert int(missing["ret"]) == -2, missing  # ENOENT
    assert read["uid"] == "0" and int(read["pid"]) > 1, read
    show(written, read, missing)


def test_exitsnoop_sees_exit_codes_and_signals(boot: vm.Boot) -> None:
    section = step(boot, "exitsnoop")
    trigger = "\n".join(section.part("trigger"))
    pids = dict(re.findall(r"^(exit42|kill9)_pid=(\d+)$", trigger, re.MULTILINE))
    assert set(pids) == {"exit42", "kill9"}, f"trigger output:\n{section.text}"
    exits = events(section.part("stdout"), "print_exits")
    exited = [e for e in exits if e.get("comm") == "beeexit42"]
    killed = [e for e in exits if e.get("comm") == "beekill9"]
    assert len(exited) == 1 and len(killed) == 1, f"events:\n{section.text}"
    assert exited[0]["pid"] == exited[0]["tid"] == pids["exit42"], exited
    assert (exited[0]["exit_code"], exited[0]["sig"]) == ("42", "0"), exited
    assert killed[0]["pid"] == pids["kill9"], killed
    assert (killed[0]["exit_code"], killed[0]["sig"]) == ("0", "9"), killed
    assert int(exited[0]["exit_time"]) > int(exited[0]["start_time"]) > 0, exited  # CO-RE read of task_struct
    show(exited[0], killed[0])


def test_kprobe_reads_its_arguments_with_arm64_registers(boot: vm.Boot) -> None:
    section = step(boot, "kprobe_openat2")
    found = re.search(r"^dirfd (\d+)$", "\n".join(section.part("trigger")), re.MULTILINE)
    assert found, f"trigger output:\n{section.text}"
    opens = {e.get("fname"): e for e in events(section.part("stdout"), "print_opens")}
    created, relative = opens.get(CREATED), opens.get(RELATIVE)
    assert created and relative, f"events missing:\n{section.text}"
    # PARM1: the directory fd; PARM2: the user-space file name (matched above); PARM3: struct open_how
    assert int(created["dfd"]) == AT_FDCWD, created
    assert int(relative["dfd"]) == int(found.group(1)), relative
    assert int(created["mode"]) == 0o640 and int(relative["mode"]) == 0o600, (created, relative)
    assert int(created["flags"]) == O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | ARM64_O_LARGEFILE, created
    assert int(relative["flags"]) == O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | ARM64_O_LARGEFILE, relative
    assert created["comm"] == relative["comm"] == "python3.11", created
    metrics = section.part("metrics")
    counted = [line for line in metrics if 'key="python3.11"' in line and not line.startswith("#")]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) >= 2, f"metrics:\n{section.text}"
    show(created, relative)
    print(f"  {counted[0]}")
